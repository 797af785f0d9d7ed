//! Errors of the prompt library: unknown topic names and malformed prompt files.

use std::path::PathBuf;

/// What went wrong while loading the prompt library or looking up a topic.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// No topic has this number, slug or slug prefix.
    #[error("{}", unknown_message(name, suggestions))]
    UnknownTopic { name: String, suggestions: Vec<String> },

    /// The name is a prefix of several slugs.
    #[error(
        "topic '{name}' is ambiguous: it could be {}; type more of the slug or use the number",
        candidates.join(", ")
    )]
    AmbiguousTopic { name: String, candidates: Vec<String> },

    /// The user prompts directory does not exist (or is not a directory).
    #[error(
        "prompts directory {} does not exist or is not a directory: create it or fix the prompts setting",
        path.display()
    )]
    MissingDir { path: PathBuf },

    /// A prompt file or directory could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },

    /// A prompt file was read but its content is not valid.
    #[error("{}: {problem}", path.display())]
    InvalidFile { path: PathBuf, problem: FileProblem },
}

fn unknown_message(name: &str, suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        format!("unknown topic '{name}': run 'deepdive topics' to list them")
    } else {
        format!(
            "unknown topic '{name}' (did you mean {}?): run 'deepdive topics' to list them",
            suggestions.join(", ")
        )
    }
}

/// What is wrong inside one prompt file; [`PromptError::InvalidFile`] adds the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    #[error(
        "missing front matter: a topic file starts with a '+++' line, then number, slug, title and related, then '+++'"
    )]
    NoFrontMatter,

    #[error("front matter opened with '+++' on line 1 is never closed: add a '+++' line after it")]
    UnclosedFrontMatter,

    /// Invalid TOML, a missing key, an unknown key or a value of the wrong type.
    #[error("line {line}: {message}")]
    Toml { line: usize, message: String },

    #[error(
        "slug '{0}' is not valid: use lowercase letters, digits and '-', starting with a letter"
    )]
    InvalidSlug(String),

    #[error("number must be 1 or more")]
    ZeroNumber,

    #[error("title is empty: give the topic a title")]
    EmptyTitle,

    #[error("the file is empty: write the prompt text")]
    Empty,

    #[error(
        "no \"Cover:\" list: add a line \"Cover:\" followed by '- ' bullets naming the points to cover"
    )]
    NoCover,

    #[error(
        "no closing request after the \"Cover:\" list: add a paragraph such as \"Include a checklist of ...\""
    )]
    NoInclude,

    #[error(
        "number {number} is already used by topic '{other}' ({origin}): give this topic a free number"
    )]
    DuplicateNumber { number: u32, other: String, origin: String },

    #[error("slug '{slug}' is also defined in {other}: keep one file per slug")]
    DuplicateSlug { slug: String, other: String },

    #[error("related topic '{0}' does not exist: run 'deepdive topics' to list the slugs")]
    UnknownRelated(String),

    #[error(
        "follow-up name '{0}' is not valid: use lowercase letters, digits and '-', starting with a letter"
    )]
    InvalidFollowupName(String),

    #[error("follow-up '{0}' is defined twice in this file: keep one")]
    DuplicateFollowup(String),

    #[error("follow-up '{0}' has an empty text: write the message to send")]
    EmptyFollowup(String),
}

/// Whether `s` is a valid slug or follow-up name: lowercase ASCII letters, digits and '-',
/// starting with a letter.
pub(super) fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_with_dashes() {
        assert!(is_slug("health-checks"));
        assert!(is_slug("db2-connections"));
        assert!(!is_slug(""));
        assert!(!is_slug("Health"));
        assert!(!is_slug("2fa"));
        assert!(!is_slug("health checks"));
        assert!(!is_slug("health_checks"));
    }

    #[test]
    fn unknown_topic_message_lists_suggestions_and_the_topics_command() {
        let err = PromptError::UnknownTopic {
            name: "helth".into(),
            suggestions: vec!["health-checks".into(), "alerting".into()],
        };
        assert_eq!(
            err.to_string(),
            "unknown topic 'helth' (did you mean health-checks, alerting?): run 'deepdive topics' to list them"
        );
        let err = PromptError::UnknownTopic { name: "zz".into(), suggestions: vec![] };
        assert_eq!(err.to_string(), "unknown topic 'zz': run 'deepdive topics' to list them");
    }
}
