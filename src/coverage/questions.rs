//! Follow-up questions that ask for the points an answer missed.

use crate::prompts::Topic;

/// A follow-up asking for one missed point of `topic`.
pub fn gap_question(topic: &Topic, point: &str) -> String {
    format!(
        "Your answer on {} did not cover this point: {}. Please address it in the same depth, with concrete examples and steps for our environment.",
        topic.noun,
        point.trim_end_matches('.')
    )
}

/// One follow-up asking for every point the answers `missing`; `None` when none is missing.
/// A single missed point gives the same text as [`gap_question`].
pub fn gaps_question(topic: &Topic, missing: &[&str]) -> Option<String> {
    match missing {
        [] => None,
        [point] => Some(gap_question(topic, point)),
        points => {
            let list: String = points.iter().map(|p| format!("\n- {p}")).collect();
            Some(format!(
                "Your answer on {} did not cover these points. Please address each of them in the same depth, with concrete examples and steps for our environment:{list}",
                topic.noun
            ))
        }
    }
}
