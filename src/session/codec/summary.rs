//! What `deepdive sessions` shows of a transcript beyond its metadata: the number of turns and
//! the topics' coverage. The writer copies the turn count into the front matter, which also
//! holds the topics' verdicts (`[[coverage]]`), so that a listing reads a file's header and
//! never its body.

use crate::message::Role;
use crate::session::model::{Coverage, Meta, TopicCoverage, Transcript, TurnKind};

/// A transcript's turn count and coverage, as its front matter records them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub turns: usize,
    /// Per topic of the conversation, its covered and total points, summed over the topics;
    /// `None` when no topic has any.
    pub coverage: Option<Coverage>,
}

impl Summary {
    /// The summary a listing shows: the coverage by the stored verdicts (what the front matter
    /// tells without the body); a transcript without any (version 1) by the coverage recorded
    /// on each topic's last answer.
    pub fn of(t: &Transcript) -> Summary {
        match Summary::of_entries(&t.meta.coverage) {
            Some(coverage) => Summary { turns: t.turns.len(), coverage: Some(coverage) },
            None => Summary::of_answers(t),
        }
    }

    /// The stored verdicts, summed over the topics.
    pub fn of_entries(entries: &[TopicCoverage]) -> Option<Coverage> {
        sum(entries.iter().map(TopicCoverage::summary))
    }

    /// Per topic, the coverage recorded on its last answer (which counts every answer since
    /// the topic prompt), summed.
    fn of_answers(t: &Transcript) -> Summary {
        let mut per_topic: Vec<Coverage> = Vec::new();
        let mut in_topic = false;
        for turn in &t.turns {
            if matches!(turn.info.kind, Some(TurnKind::Topic(_))) {
                in_topic = false;
            }
            if let (Role::Assistant, Some(c)) = (turn.role, turn.info.coverage) {
                if in_topic {
                    per_topic.pop();
                }
                per_topic.push(c);
                in_topic = true;
            }
        }
        Summary { turns: t.turns.len(), coverage: sum(per_topic.into_iter()) }
    }
}

/// Coverages added up: covered and total points.
pub fn sum(items: impl Iterator<Item = Coverage>) -> Option<Coverage> {
    items.reduce(|a, b| Coverage { covered: a.covered + b.covered, total: a.total + b.total })
}

/// What a transcript's front matter says, read without its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub meta: Meta,
    /// `None` in a version 1 file, which has no summary, or when it was removed by hand.
    pub summary: Option<Summary>,
}
