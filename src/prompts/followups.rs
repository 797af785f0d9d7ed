//! Follow-up templates (the guide's depth questions, format requests and tips) and the
//! stack line of "Adapting to Your Technology Stack".

use serde::Deserialize;

use super::Topic;
use super::error::{FileProblem, is_slug};
use super::topic_file::toml_problem;

/// Which part of the guide a follow-up comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowupKind {
    /// "Following Up for Depth".
    Depth,
    /// "Requesting Specific Formats".
    Format,
    /// "Tips for Best Results", phrased as a request.
    Tip,
}

/// A follow-up message with placeholders (`[topic]`, `[concept]`, `[your context]`,
/// `[specific technology]`) filled by [`FollowupTemplate::instantiate`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowupTemplate {
    pub name: String,
    pub kind: FollowupKind,
    pub text: String,
    /// The guide's own sentence when `text` is a request phrased from it (the tips).
    #[serde(default)]
    pub guide: Option<String>,
}

/// What `[your context]` becomes when no technology is named: the priming prompt's setting.
const DEFAULT_CONTEXT: &str = "managed Kubernetes";
/// What `[specific technology]` becomes when no technology is named.
const DEFAULT_TECHNOLOGY: &str = "a different technology stack";

impl FollowupTemplate {
    /// The message to send after an answer on `topic`; `technology` (e.g. one item of the
    /// user's stack) fills `[your context]` and `[specific technology]`.
    pub fn instantiate(&self, topic: &Topic, technology: Option<&str>) -> String {
        let technology = technology.map(str::trim).filter(|t| !t.is_empty());
        self.text
            .replace("[topic]", &topic.noun)
            .replace("[concept]", &topic.noun)
            .replace("[your context]", technology.unwrap_or(DEFAULT_CONTEXT))
            .replace("[specific technology]", technology.unwrap_or(DEFAULT_TECHNOLOGY))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowupFile {
    #[serde(default)]
    followup: Vec<FollowupTemplate>,
}

/// Parses a `followups.toml` file: `[[followup]]` tables with `name`, `kind`, `text`
/// and, for tips, `guide`.
pub(super) fn parse(text: &str) -> Result<Vec<FollowupTemplate>, FileProblem> {
    let file: FollowupFile = toml::from_str(text).map_err(|e| toml_problem(text, &e, 0))?;
    for (i, f) in file.followup.iter().enumerate() {
        if !is_slug(&f.name) {
            return Err(FileProblem::InvalidFollowupName(f.name.clone()));
        }
        if f.text.trim().is_empty() {
            return Err(FileProblem::EmptyFollowup(f.name.clone()));
        }
        if file.followup[..i].iter().any(|earlier| earlier.name == f.name) {
            return Err(FileProblem::DuplicateFollowup(f.name.clone()));
        }
    }
    Ok(file.followup)
}

/// Adds `extra` to `base`, replacing (in place) any template with the same name.
pub(super) fn merge(base: &mut Vec<FollowupTemplate>, extra: Vec<FollowupTemplate>) {
    for template in extra {
        match base.iter_mut().find(|t| t.name == template.name) {
            Some(existing) => *existing = template,
            None => base.push(template),
        }
    }
}

/// The guide's "Adapting to Your Technology Stack" sentence for a stack:
/// `stack_line("PostgreSQL, Spring Boot, EKS, Istio")` is
/// `"We're using PostgreSQL, Spring Boot, EKS, Istio."`. Callers pass a non-empty stack.
pub fn stack_line(stack: &str) -> String {
    let stack = stack.trim().trim_end_matches('.').trim_end();
    format!("We're using {stack}.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::Library;

    fn instantiate(name: &str, topic: &str, technology: Option<&str>) -> String {
        let library = Library::builtin();
        let topic = library.resolve(topic).unwrap();
        library.followup(name).unwrap().instantiate(topic, technology)
    }

    #[test]
    fn depth_questions_fill_topic_concept_and_context() {
        assert_eq!(
            instantiate("mistakes", "health-checks", None),
            "What are the most common mistakes teams make with health checks?"
        );
        assert_eq!(
            instantiate("metrics", "load-testing", Some("k6")),
            "What metrics or KPIs should we track for load testing?"
        );
        assert_eq!(
            instantiate("example", "secrets", None),
            "Can you provide a specific example of secrets management in a managed Kubernetes environment?"
        );
        assert_eq!(
            instantiate("example", "secrets", Some(" Spring Boot ")),
            "Can you provide a specific example of secrets management in a Spring Boot environment?"
        );
        assert_eq!(
            instantiate("differ", "db-connections", Some("PostgreSQL")),
            "How would this approach differ if we were using PostgreSQL?"
        );
        assert_eq!(
            instantiate("differ", "db-connections", Some("  ")),
            "How would this approach differ if we were using a different technology stack?"
        );
        assert_eq!(
            instantiate("failure-scenario", "runbooks", Some("Istio")),
            "Can you walk through a specific failure scenario and how to diagnose it?"
        );
    }

    #[test]
    fn format_requests_are_sent_as_the_guide_words_them() {
        for technology in [None, Some("Istio")] {
            assert_eq!(
                instantiate("step-by-step", "service-mesh", technology),
                "Provide this as a step-by-step implementation guide"
            );
            assert_eq!(
                instantiate("decision-tree", "alerting", technology),
                "Create this as a decision tree for troubleshooting"
            );
        }
    }

    #[test]
    fn tips_become_requests_and_keep_the_guide_sentence() {
        assert_eq!(
            instantiate("checklist", "graceful-shutdown", None),
            "Can you give me an evaluation checklist or readiness assessment for graceful shutdown?"
        );
        assert_eq!(
            instantiate("scenarios", "blue-green", Some("Argo Rollouts")),
            "What specific failure scenarios or edge cases should we consider for blue/green deployments?"
        );
        let library = Library::builtin();
        let concrete = library.followup("concrete").unwrap();
        assert_eq!(concrete.kind, FollowupKind::Tip);
        assert!(concrete.guide.as_deref().unwrap().starts_with("**Be specific in follow-ups**"));
    }

    #[test]
    fn builtin_followups_have_the_guides_names_and_kinds() {
        let library = Library::builtin();
        let names = |kind| -> Vec<&str> {
            let templates = library.followups().iter().filter(|f| f.kind == kind);
            templates.map(|f| f.name.as_str()).collect()
        };
        assert_eq!(
            names(FollowupKind::Depth),
            ["example", "mistakes", "differ", "failure-scenario", "metrics"]
        );
        assert_eq!(
            names(FollowupKind::Format),
            ["step-by-step", "decision-tree", "training", "comparison-table", "example-configs"]
        );
        assert_eq!(names(FollowupKind::Tip), ["checklist", "scenarios", "concrete"]);
        assert!(
            library.followups().iter().all(|f| (f.kind == FollowupKind::Tip) == f.guide.is_some())
        );
    }

    #[test]
    fn parse_rejects_bad_entries() {
        let entry = |name: &str, kind: &str, text: &str| {
            format!("[[followup]]\nname = \"{name}\"\nkind = \"{kind}\"\ntext = \"{text}\"\n")
        };
        assert!(matches!(
            parse(&entry("x", "question", "Why?")),
            Err(FileProblem::Toml { line: 3, message }) if message.contains("question")
        ));
        assert_eq!(
            parse(&entry("Bad Name", "depth", "Why?")),
            Err(FileProblem::InvalidFollowupName("Bad Name".into()))
        );
        assert_eq!(
            parse(&entry("why", "depth", " ")),
            Err(FileProblem::EmptyFollowup("why".into()))
        );
        let twice = entry("why", "depth", "Why?") + &entry("why", "tip", "Really?");
        assert_eq!(parse(&twice), Err(FileProblem::DuplicateFollowup("why".into())));
        assert!(matches!(
            parse("[[followup]]\nname = \"why\"\nkind = \"depth\"\n"),
            Err(FileProblem::Toml { message, .. }) if message.contains("text")
        ));
    }

    #[test]
    fn merge_replaces_by_name_in_place_and_appends_new_ones() {
        let mut base = parse(include_str!("../../prompts/followups.toml")).unwrap();
        let extra = parse(
            "[[followup]]\nname = \"mistakes\"\nkind = \"depth\"\ntext = \"Worst mistakes with [topic]?\"\n\
             [[followup]]\nname = \"costs\"\nkind = \"depth\"\ntext = \"What does [topic] cost?\"\n",
        )
        .unwrap();
        let count = base.len();
        merge(&mut base, extra);
        assert_eq!(base.len(), count + 1);
        assert_eq!(base[1].name, "mistakes");
        assert_eq!(base[1].text, "Worst mistakes with [topic]?");
        assert_eq!(base[count].name, "costs");
    }

    #[test]
    fn stack_line_follows_the_guide_pattern() {
        assert_eq!(
            stack_line("PostgreSQL, Spring Boot, EKS, Istio"),
            "We're using PostgreSQL, Spring Boot, EKS, Istio."
        );
        assert_eq!(stack_line("  PostgreSQL, EKS.  \n"), "We're using PostgreSQL, EKS.");
        assert_eq!(stack_line("Istio"), "We're using Istio.");
    }
}
