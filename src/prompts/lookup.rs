//! Finding a topic by what a user types: its number, its slug or a unique slug prefix.

use super::{PromptError, Topic};

/// How similar a name must be to a slug, a title or one of their words to be suggested.
const SUGGESTION_THRESHOLD: f64 = 0.85;
const MAX_SUGGESTIONS: usize = 3;

/// Looks `name` up case-insensitively: a number, a slug, or a prefix of exactly one slug.
pub(super) fn resolve<'a>(topics: &'a [Topic], name: &str) -> Result<&'a Topic, PromptError> {
    let name = name.trim();
    let key = name.to_lowercase();
    if let Ok(number) = key.parse::<u32>() {
        return topics
            .iter()
            .find(|t| t.number == number)
            .ok_or_else(|| PromptError::UnknownTopic { name: name.into(), suggestions: vec![] });
    }
    if let Some(topic) = topics.iter().find(|t| t.slug == key) {
        return Ok(topic);
    }
    let mut matches = topics.iter().filter(|t| !key.is_empty() && t.slug.starts_with(&key));
    match (matches.next(), matches.next()) {
        (Some(topic), None) => Ok(topic),
        (None, _) => Err(PromptError::UnknownTopic {
            name: name.into(),
            suggestions: suggestions(topics, &key),
        }),
        (Some(first), Some(second)) => {
            let candidates = [first, second].into_iter().chain(matches);
            Err(PromptError::AmbiguousTopic {
                name: name.into(),
                candidates: candidates.map(|t| t.slug.clone()).collect(),
            })
        }
    }
}

/// Resolves every name, keeping the first occurrence of each topic in the given order.
pub(super) fn resolve_all<'a>(
    topics: &'a [Topic],
    names: &[String],
) -> Result<Vec<&'a Topic>, PromptError> {
    let mut resolved: Vec<&Topic> = Vec::with_capacity(names.len());
    for name in names {
        let topic = resolve(topics, name)?;
        if !resolved.iter().any(|t| t.slug == topic.slug) {
            resolved.push(topic);
        }
    }
    Ok(resolved)
}

/// Up to three slugs whose slug or title (or one of their words) resembles `key`, best
/// first; when some slug or title contains `key`, only those are suggested.
fn suggestions(topics: &[Topic], key: &str) -> Vec<String> {
    if key.is_empty() {
        return vec![];
    }
    let mut scored: Vec<(f64, &Topic)> = topics
        .iter()
        .map(|t| (similarity(key, t), t))
        .filter(|(score, _)| *score >= SUGGESTION_THRESHOLD)
        .collect();
    // Names contained in a slug or title are better evidence than spelling resemblance.
    if scored.iter().any(|(score, _)| *score >= 1.0) {
        scored.retain(|(score, _)| *score >= 1.0);
    }
    // Stable sort: equal scores stay in topic order.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(MAX_SUGGESTIONS).map(|(_, t)| t.slug.clone()).collect()
}

fn similarity(key: &str, topic: &Topic) -> f64 {
    let title = topic.title.to_lowercase();
    if key.len() >= 3 && (topic.slug.contains(key) || title.contains(key)) {
        return 1.0;
    }
    let words = topic.slug.split('-').chain(title.split([' ', '/', '-']));
    let whole = [topic.slug.as_str(), title.as_str()];
    whole
        .into_iter()
        .chain(words.filter(|w| w.len() >= 3))
        .map(|candidate| strsim::jaro_winkler(key, candidate))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use crate::prompts::{Library, PromptError};

    fn slug(library: &Library, name: &str) -> String {
        library.resolve(name).unwrap().slug.clone()
    }

    fn suggestions_for(name: &str) -> Vec<String> {
        match Library::builtin().resolve(name) {
            Err(PromptError::UnknownTopic { suggestions, .. }) => suggestions,
            other => panic!("expected an unknown topic, got {other:?}"),
        }
    }

    #[test]
    fn resolves_numbers_slugs_and_unique_prefixes_case_insensitively() {
        let library = Library::builtin();
        assert_eq!(slug(&library, "15"), "health-checks");
        assert_eq!(slug(&library, "01"), "multi-replica-testing");
        assert_eq!(slug(&library, "health-checks"), "health-checks");
        assert_eq!(slug(&library, "Health-Checks"), "health-checks");
        assert_eq!(slug(&library, "health"), "health-checks");
        assert_eq!(slug(&library, " GRACE "), "graceful-shutdown");
        // "secrets" is a slug and no other slug starts with it.
        assert_eq!(slug(&library, "secret"), "secrets");
    }

    #[test]
    fn an_ambiguous_prefix_lists_the_candidates() {
        match Library::builtin().resolve("c") {
            Err(err @ PromptError::AmbiguousTopic { .. }) => {
                let message = err.to_string();
                assert!(message.contains("chaos-engineering, configuration, capacity-planning"));
                assert!(message.contains("'c'"));
            }
            other => panic!("expected ambiguity, got {other:?}"),
        }
        assert!(matches!(
            Library::builtin().resolve("p"),
            Err(PromptError::AmbiguousTopic { candidates, .. })
                if candidates == ["persistent-storage", "pre-production-gates"]
        ));
    }

    #[test]
    fn an_unknown_name_suggests_the_closest_topics() {
        assert_eq!(suggestions_for("helth-checks")[0], "health-checks");
        assert_eq!(suggestions_for("shutdown"), ["graceful-shutdown"]);
        assert_eq!(suggestions_for("backup")[0], "data-durability");
        assert_eq!(suggestions_for("mesh"), ["service-mesh"]);
        assert!(suggestions_for("loging").contains(&"logging".to_string()));
        assert!(suggestions_for("xyzzy").is_empty());
        assert!(suggestions_for("42").is_empty());
        assert!(suggestions_for("").is_empty());
        let message = Library::builtin().resolve("shutdown").unwrap_err().to_string();
        assert_eq!(
            message,
            "unknown topic 'shutdown' (did you mean graceful-shutdown?): run 'deepdive topics' to list them"
        );
    }

    #[test]
    fn names_found_inside_slugs_or_titles_beat_lookalikes() {
        assert_eq!(suggestions_for("probes"), ["health-checks"]);
        assert_eq!(suggestions_for("storage"), ["persistent-storage"]);
        assert_eq!(suggestions_for("database"), ["db-connections"]);
        assert_eq!(suggestions_for("testing"), ["multi-replica-testing", "load-testing"]);
    }

    #[test]
    fn suggestions_are_at_most_three() {
        assert_eq!(suggestions_for("ing").len(), 3);
    }

    #[test]
    fn resolve_all_keeps_order_and_drops_duplicates() {
        let library = Library::builtin();
        let names: Vec<String> =
            ["6", "multi-replica-testing", "load", "chaos"].map(String::from).to_vec();
        let slugs: Vec<&str> =
            library.resolve_all(&names).unwrap().iter().map(|t| t.slug.as_str()).collect();
        assert_eq!(slugs, ["load-testing", "multi-replica-testing", "chaos-engineering"]);
        let bad = ["15".to_string(), "nope".to_string()];
        assert!(matches!(library.resolve_all(&bad), Err(PromptError::UnknownTopic { .. })));
    }
}
