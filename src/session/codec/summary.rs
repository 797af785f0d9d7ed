//! What `deepdive sessions` shows of a transcript beyond its metadata: the number of turns and
//! the topics' coverage. Both come from the body; the writer copies them into the front
//! matter, so that a listing reads a file's header and never its body.

use crate::message::Role;
use crate::session::model::{Coverage, Meta, Transcript, TurnKind};

/// A transcript's turn count and coverage, as its front matter records them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub turns: usize,
    /// Per topic of the conversation, the coverage recorded on its last answer (which counts
    /// every answer since the topic prompt), summed over the topics; `None` when no answer
    /// has a coverage.
    pub coverage: Option<Coverage>,
}

impl Summary {
    pub fn of(t: &Transcript) -> Summary {
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
