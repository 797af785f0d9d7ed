//! Assembling a [`Library`]: parsing the built-in files, applying a user prompts directory,
//! and checking the whole (unique numbers, existing related topics).

use std::fs;
use std::path::{Path, PathBuf};

use super::error::FileProblem;
use super::topic_file::{self, trim_blank_ends};
use super::{Library, Origin, PromptError, Topic, builtin, followups};

const PRIMING_FILE: &str = "priming.md";
const FOLLOWUPS_FILE: &str = "followups.toml";
const TOPICS_DIR: &str = "topics";
/// Lets a copy of the built-in `prompts/` directory serve as a user directory.
const README_FILE: &str = "README.md";

/// Parses the compiled-in prompt files.
pub(super) fn builtin() -> Result<Library, PromptError> {
    let topics = builtin::TOPICS
        .iter()
        .map(|(path, text)| {
            topic_file::parse(text, Origin::Builtin).map_err(|problem| invalid(path, problem))
        })
        .collect::<Result<Vec<Topic>, PromptError>>()?;
    let (followups_path, followups_text) = builtin::FOLLOWUPS;
    let followups =
        followups::parse(followups_text).map_err(|problem| invalid(followups_path, problem))?;
    let mut library =
        Library { priming: trim_blank_ends(builtin::PRIMING.1).to_string(), topics, followups };
    check(&mut library)?;
    Ok(library)
}

/// Applies a user prompts directory on top of `library`.
pub(super) fn apply_user_dir(library: &mut Library, dir: &Path) -> Result<(), PromptError> {
    if !dir.is_dir() {
        return Err(PromptError::MissingDir { path: dir.to_path_buf() });
    }
    let priming_path = dir.join(PRIMING_FILE);
    if priming_path.is_file() {
        let text = read(&priming_path)?;
        let priming = trim_blank_ends(&text);
        if priming.trim().is_empty() {
            return Err(invalid(&priming_path, FileProblem::Empty));
        }
        library.priming = priming.to_string();
    }

    let mut files = markdown_files(dir)?;
    let topics_dir = dir.join(TOPICS_DIR);
    if topics_dir.is_dir() {
        files.extend(markdown_files(&topics_dir)?);
    }
    let mut user_topics: Vec<Topic> = Vec::with_capacity(files.len());
    for path in files {
        let text = read(&path)?;
        let topic = topic_file::parse(&text, Origin::File(path.clone()))
            .map_err(|problem| invalid(&path, problem))?;
        if let Some(earlier) = user_topics.iter().find(|t| t.slug == topic.slug) {
            let other = earlier.origin.to_string();
            return Err(invalid(&path, FileProblem::DuplicateSlug { slug: topic.slug, other }));
        }
        user_topics.push(topic);
    }
    for topic in user_topics {
        match library.topics.iter_mut().find(|t| t.slug == topic.slug) {
            Some(existing) => *existing = topic,
            None => library.topics.push(topic),
        }
    }

    let followups_path = dir.join(FOLLOWUPS_FILE);
    if followups_path.is_file() {
        let text = read(&followups_path)?;
        let extra = followups::parse(&text).map_err(|problem| invalid(&followups_path, problem))?;
        followups::merge(&mut library.followups, extra);
    }
    check(library)
}

/// Sorts topics by number and checks that numbers are unique and related slugs exist.
fn check(library: &mut Library) -> Result<(), PromptError> {
    library.topics.sort_by_key(|t| t.number);
    for pair in library.topics.windows(2) {
        let (first, second) = (&pair[0], &pair[1]);
        if first.number == second.number {
            // Blame the user's file rather than a built-in.
            let (culprit, other) = match second.origin {
                Origin::File(_) => (second, first),
                Origin::Builtin => (first, second),
            };
            return Err(invalid(
                source_path(culprit),
                FileProblem::DuplicateNumber {
                    number: culprit.number,
                    other: other.slug.clone(),
                    origin: other.origin.to_string(),
                },
            ));
        }
    }
    for topic in &library.topics {
        if let Some(missing) = topic.related.iter().find(|r| library.topic_by_slug(r).is_none()) {
            return Err(invalid(source_path(topic), FileProblem::UnknownRelated(missing.clone())));
        }
    }
    Ok(())
}

/// The path an error about `topic` names (built-ins have only their slug).
fn source_path(topic: &Topic) -> PathBuf {
    match &topic.origin {
        Origin::File(path) => path.clone(),
        Origin::Builtin => PathBuf::from(format!("built-in topic '{}'", topic.slug)),
    }
}

/// The topic files directly in `dir` (`*.md` except `priming.md` and `README.md`), sorted.
fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>, PromptError> {
    let read_error = |error| PromptError::Read { path: dir.to_path_buf(), error };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let is_markdown = path.extension().is_some_and(|ext| ext == "md");
        let is_topic = !path.ends_with(PRIMING_FILE) && !path.ends_with(README_FILE);
        if is_markdown && is_topic && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String, PromptError> {
    fs::read_to_string(path).map_err(|error| PromptError::Read { path: path.to_path_buf(), error })
}

fn invalid(path: impl Into<PathBuf>, problem: FileProblem) -> PromptError {
    PromptError::InvalidFile { path: path.into(), problem }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use tempfile::TempDir;

    use crate::prompts::{FollowupKind, Library, Origin, PromptError, Topic};

    fn topic_file(number: u32, slug: &str, title: &str, related: &str) -> String {
        format!(
            "+++\nnumber = {number}\nslug = \"{slug}\"\ntitle = \"{title}\"\nrelated = [{related}]\n+++\n\
             Provide guidance on {title}.\n\nCover:\n- One point\n- Another point\n\nInclude a checklist.\n"
        )
    }

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn load_err(dir: &TempDir) -> String {
        Library::load(Some(dir.path())).unwrap_err().to_string()
    }

    #[test]
    fn without_a_user_dir_the_builtins_load() {
        let library = Library::load(None).unwrap();
        assert_eq!(library.topics().len(), 20);
        assert_eq!(library.priming(), Library::builtin().priming());
    }

    #[test]
    fn a_missing_user_dir_is_an_error_naming_it() {
        let dir = TempDir::new().unwrap();
        let missing = dir.path().join("nope");
        let err = Library::load(Some(&missing)).unwrap_err();
        assert!(matches!(err, PromptError::MissingDir { .. }));
        assert!(err.to_string().contains(&missing.display().to_string()));
    }

    #[test]
    fn user_topics_override_builtins_by_slug_and_add_custom_ones() {
        let dir = TempDir::new().unwrap();
        let custom =
            topic_file(15, "health-checks", "Health Checks for Spring Boot", "\"blue-green\"");
        write(dir.path(), "topics/health.md", &custom);
        let new =
            topic_file(21, "feature-flags", "Feature Flags", "\"health-checks\", \"blue-green\"");
        write(dir.path(), "flags.md", &new);
        let library = Library::load(Some(dir.path())).unwrap();

        assert_eq!(library.topics().len(), 21);
        let health = library.resolve("health-checks").unwrap();
        assert_eq!(health.title, "Health Checks for Spring Boot");
        assert_eq!(health.cover, ["One point", "Another point"]);
        assert_eq!(health.origin, Origin::File(dir.path().join("topics/health.md")));
        assert_eq!(library.topics()[14].slug, "health-checks");

        let flags = library.resolve("21").unwrap();
        assert_eq!(flags.slug, "feature-flags");
        assert_eq!(flags.noun, "feature flags");
        assert_eq!(library.topics().last().unwrap().slug, "feature-flags");
        assert_eq!(library.resolve("feat").unwrap().number, 21);
    }

    #[test]
    fn user_priming_and_followups_override_the_builtins() {
        let dir = TempDir::new().unwrap();
        write(dir.path(), "priming.md", "\nWe run a bank.\n\n");
        write(
            dir.path(),
            "followups.toml",
            "[[followup]]\nname = \"metrics\"\nkind = \"depth\"\ntext = \"Which SLOs for [topic]?\"\n\
             [[followup]]\nname = \"audit\"\nkind = \"tip\"\ntext = \"What would an auditor ask about [topic]?\"\n",
        );
        let library = Library::load(Some(dir.path())).unwrap();
        assert_eq!(library.priming(), "We run a bank.");
        // priming.md is the priming prompt, not a topic.
        assert_eq!(library.topics().len(), 20);
        let topic = library.resolve("logging").unwrap();
        assert_eq!(
            library.followup("metrics").unwrap().instantiate(topic, None),
            "Which SLOs for logging?"
        );
        assert_eq!(library.followup("audit").unwrap().kind, FollowupKind::Tip);
        assert_eq!(library.followups().len(), Library::builtin().followups().len() + 1);
    }

    #[test]
    fn each_malformed_file_is_an_error_naming_the_file_and_the_problem() {
        let good = topic_file(21, "feature-flags", "Feature Flags", "");
        let cases: [(&str, String, &str); 10] = [
            (
                "no-front.md",
                "Provide guidance.\n\nCover:\n- a\n\nInclude x.\n".into(),
                "missing front matter",
            ),
            ("unclosed.md", "+++\nnumber = 21\n".into(), "never closed"),
            ("no-slug.md", good.replace("slug = \"feature-flags\"\n", ""), "missing field `slug`"),
            ("bad-toml.md", good.replace("number = 21", "number = twenty"), "line 2:"),
            (
                "extra-key.md",
                good.replace("related", "owner = \"ops\"\nrelated"),
                "unknown field `owner`",
            ),
            ("no-cover.md", good.replace("Cover:", "Points:"), "no \"Cover:\" list"),
            ("no-include.md", good.replace("\nInclude a checklist.\n", ""), "no closing request"),
            (
                "dup-number.md",
                topic_file(15, "probes", "Probes", ""),
                "number 15 is already used by topic 'health-checks' (built-in)",
            ),
            (
                "bad-related.md",
                topic_file(21, "feature-flags", "Flags", "\"nope\""),
                "related topic 'nope' does not exist",
            ),
            (
                "bad-slug.md",
                good.replace("\"feature-flags\"", "\"Feature Flags\""),
                "slug 'Feature Flags' is not valid",
            ),
        ];
        for (name, text, expected) in cases {
            let dir = TempDir::new().unwrap();
            write(dir.path(), name, &text);
            let message = load_err(&dir);
            assert!(message.contains(name), "{name}: {message}");
            assert!(message.contains(expected), "{name}: {message}");
        }
    }

    #[test]
    fn two_user_files_with_one_slug_or_number_are_errors() {
        let dir = TempDir::new().unwrap();
        write(dir.path(), "a.md", &topic_file(21, "flags", "Flags", ""));
        write(dir.path(), "topics/b.md", &topic_file(22, "flags", "Flags again", ""));
        let message = load_err(&dir);
        assert!(message.contains("b.md: slug 'flags' is also defined in"), "{message}");
        assert!(message.contains("a.md"), "{message}");

        let dir = TempDir::new().unwrap();
        write(dir.path(), "a.md", &topic_file(21, "flags", "Flags", ""));
        write(dir.path(), "b.md", &topic_file(21, "toggles", "Toggles", ""));
        let message = load_err(&dir);
        assert!(message.contains("b.md: number 21 is already used by topic 'flags'"), "{message}");
    }

    #[test]
    fn malformed_user_priming_or_followups_name_their_file() {
        let dir = TempDir::new().unwrap();
        write(dir.path(), "priming.md", " \n");
        assert!(load_err(&dir).contains("priming.md: the file is empty"));

        let dir = TempDir::new().unwrap();
        write(dir.path(), "followups.toml", "[[followup]]\nname = \"x\"\nkind = \"depth\"\n");
        let message = load_err(&dir);
        assert!(message.contains("followups.toml: line 1: missing field `text`"), "{message}");
    }

    #[test]
    fn a_copy_of_the_builtin_directory_loads_as_the_same_library() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let library = Library::load(Some(&dir)).unwrap();
        let builtin = Library::builtin();
        assert_eq!(library.priming(), builtin.priming());
        assert_eq!(library.followups(), builtin.followups());
        assert_eq!(library.topics().len(), builtin.topics().len());
        for (loaded, original) in library.topics().iter().zip(builtin.topics()) {
            assert!(matches!(&loaded.origin, Origin::File(path) if path.starts_with(&dir)));
            assert_eq!(Topic { origin: Origin::Builtin, ..loaded.clone() }, *original);
        }
    }

    #[test]
    fn files_that_are_not_topics_are_ignored() {
        let dir = TempDir::new().unwrap();
        write(dir.path(), "README.md", "# My prompts\n");
        write(dir.path(), "guide/notes.md", "not scanned");
        write(dir.path(), "notes.txt", "not a topic");
        write(dir.path(), "topics/README", "not a topic either");
        assert_eq!(Library::load(Some(dir.path())).unwrap().topics().len(), 20);
    }
}
