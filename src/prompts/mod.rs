//! The guide's prompt library: the priming prompt, the 20 topic prompts (with their
//! "Cover:" points parsed into data), the follow-up templates and the "Advanced Usage" texts.
//!
//! The built-in set is compiled from `prompts/`; [`Library::load`] adds a user prompts
//! directory whose files add topics and override built-ins by slug.

mod builtin;
mod error;
mod followups;
mod load;
mod lookup;
mod topic_file;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use error::{FileProblem, PromptError};
pub use followups::{FollowupKind, FollowupTemplate, stack_line};

/// One topic prompt and the data parsed from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic {
    pub number: u32,
    pub slug: String,
    pub title: String,
    /// Noun phrase that fills `[topic]` in follow-ups, e.g. "health checks".
    pub noun: String,
    /// Slugs of topics worth adding to the same conversation.
    pub related: Vec<String>,
    /// The prompt text exactly as sent.
    pub prompt: String,
    /// The "Cover:" bullets, without their "- ".
    pub cover: Vec<String>,
    /// The closing request, e.g. "Include a checklist of …".
    pub include: String,
    pub origin: Origin,
}

/// Where a topic comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The prompts deepdive can send: priming, topics sorted by number, follow-up templates.
#[derive(Clone, Debug)]
pub struct Library {
    priming: String,
    topics: Vec<Topic>,
    followups: Vec<FollowupTemplate>,
}

impl Library {
    /// The compiled-in library, parsed on first use and cloned afterwards.
    ///
    /// # Panics
    /// Only if the compiled-in prompt files are malformed, which the unit tests rule out.
    pub fn builtin() -> Library {
        static BUILTIN: OnceLock<Library> = OnceLock::new();
        BUILTIN
            .get_or_init(|| match load::builtin() {
                Ok(library) => library,
                Err(err) => panic!("the built-in prompt library is malformed: {err}"),
            })
            .clone()
    }

    /// The built-in library plus, when given, a user prompts directory: `priming.md`,
    /// topic files (`*.md` in the directory or in its `topics/`) and `followups.toml`.
    pub fn load(user_dir: Option<&Path>) -> Result<Library, PromptError> {
        let mut library = Library::builtin();
        if let Some(dir) = user_dir {
            load::apply_user_dir(&mut library, dir)?;
        }
        Ok(library)
    }

    pub fn priming(&self) -> &str {
        &self.priming
    }

    /// All topics, sorted by number.
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The topic named by a number (`15`), a slug (`health-checks`) or a unique slug
    /// prefix (`health`), case-insensitively.
    pub fn resolve(&self, name: &str) -> Result<&Topic, PromptError> {
        lookup::resolve(&self.topics, name)
    }

    /// [`Library::resolve`] for each name, in order, without repeating a topic.
    pub fn resolve_all(&self, names: &[String]) -> Result<Vec<&Topic>, PromptError> {
        lookup::resolve_all(&self.topics, names)
    }

    /// The topic with exactly this slug.
    pub fn topic_by_slug(&self, slug: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.slug == slug)
    }

    pub fn followups(&self) -> &[FollowupTemplate] {
        &self.followups
    }

    pub fn followup(&self, name: &str) -> Option<&FollowupTemplate> {
        self.followups.iter().find(|f| f.name == name)
    }

    /// The guide's "Combining Prompts" section, verbatim.
    pub fn combining(&self) -> &'static str {
        builtin::COMBINING.trim_end()
    }

    /// The guide's "Adapting to Your Technology Stack" section, verbatim.
    pub fn adapting(&self) -> &'static str {
        builtin::ADAPTING.trim_end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLUGS: [&str; 20] = [
        "multi-replica-testing",
        "data-durability",
        "observability",
        "runbooks",
        "blue-green",
        "load-testing",
        "chaos-engineering",
        "service-mesh",
        "resource-sizing",
        "alerting",
        "secrets",
        "configuration",
        "persistent-storage",
        "db-connections",
        "health-checks",
        "graceful-shutdown",
        "logging",
        "incident-response",
        "pre-production-gates",
        "capacity-planning",
    ];

    /// "Cover:" bullets per topic, counted in the guide.
    const BULLETS: [usize; 20] =
        [7, 9, 9, 10, 11, 10, 10, 11, 10, 11, 11, 10, 10, 10, 10, 10, 11, 11, 10, 11];

    #[test]
    fn builtin_priming_is_the_guides_text_verbatim() {
        let library = Library::builtin();
        let priming = library.priming();
        assert!(priming.starts_with(
            "I am an experienced technical architect with a background in traditional Unix and PC server deployments."
        ));
        assert!(
            priming.contains(
                "- Make it robust under non-ideal conditions  \n- Achieve data durability"
            )
        );
        assert!(priming.contains(
            "- Tier 3: My development and DevOps team handles complex issues and code changes\n\nI want to minimize"
        ));
        assert!(priming.ends_with(
            "need help translating them into concrete practices for my production environment."
        ));
    }

    #[test]
    fn builtin_topics_have_the_fixed_slugs_numbers_and_titles() {
        let library = Library::builtin();
        let slugs: Vec<&str> = library.topics().iter().map(|t| t.slug.as_str()).collect();
        assert_eq!(slugs, SLUGS);
        for (i, topic) in library.topics().iter().enumerate() {
            assert_eq!(topic.number as usize, i + 1);
            assert_eq!(topic.origin, Origin::Builtin);
        }
        assert_eq!(library.topics()[4].title, "Blue/Green Deployment Implementation");
        assert_eq!(library.topics()[14].title, "Health Checks and Readiness Probes");
        assert_eq!(library.topics()[14].noun, "health checks");
    }

    #[test]
    fn every_builtin_topic_parses_its_cover_bullets_and_include() {
        let library = Library::builtin();
        for (topic, bullets) in library.topics().iter().zip(BULLETS) {
            assert_eq!(topic.cover.len(), bullets, "{}", topic.slug);
            assert!(topic.include.starts_with("Include"), "{}", topic.slug);
            assert!(topic.prompt.starts_with("Provide "), "{}", topic.slug);
            assert!(topic.prompt.ends_with(&topic.include), "{}", topic.slug);
            assert!(topic.cover.iter().all(|c| !c.is_empty() && !c.starts_with('-')));
        }
        let first = &library.topics()[0];
        assert_eq!(first.cover[0], "Specific test scenarios that reveal hidden state dependencies");
        assert_eq!(
            library.topics()[5].cover[2],
            "Progressive load testing (baseline \u{2192} expected \u{2192} peak \u{2192} breaking point)"
        );
        assert_eq!(
            library.topics()[19].include,
            "Include a capacity planning worksheet and monitoring checklist."
        );
    }

    #[test]
    fn builtin_related_topics_exist_and_follow_the_guides_combining_example() {
        let library = Library::builtin();
        for topic in library.topics() {
            assert!((2..=4).contains(&topic.related.len()), "{}", topic.slug);
            assert!(!topic.related.contains(&topic.slug), "{}", topic.slug);
            assert!(topic.related.iter().all(|r| library.topic_by_slug(r).is_some()));
        }
        let related = |slug| &library.topic_by_slug(slug).unwrap().related;
        assert!(related("multi-replica-testing").contains(&"load-testing".to_string()));
        assert!(related("load-testing").contains(&"chaos-engineering".to_string()));
    }

    #[test]
    fn advanced_usage_texts_are_verbatim() {
        let library = Library::builtin();
        assert!(
            library
                .combining()
                .starts_with("You can combine related prompts in a single conversation.")
        );
        assert!(
            library.combining().contains("1. Use the \"Multi-Replica State Discovery\" prompt\n")
        );
        assert!(
            library
                .combining()
                .ends_with("This creates a comprehensive testing and validation conversation.")
        );
        assert!(
            library
                .adapting()
                .starts_with("After the priming prompt, mention your specific technologies:")
        );
        assert!(library.adapting().contains("- \"We use Istio as our service mesh\"\n"));
    }

    #[test]
    fn topic_by_slug_needs_the_exact_slug() {
        let library = Library::builtin();
        assert_eq!(library.topic_by_slug("logging").unwrap().number, 17);
        assert!(library.topic_by_slug("log").is_none());
        assert!(library.topic_by_slug("17").is_none());
    }

    #[test]
    fn origin_displays_as_built_in_or_the_path() {
        assert_eq!(Origin::Builtin.to_string(), "built-in");
        assert_eq!(Origin::File(PathBuf::from("my/t.md")).to_string(), "my/t.md");
    }
}
