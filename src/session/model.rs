//! The transcript as the program sees it, independent of how it is written to disk.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::message::{FinishReason, Message, Role, Usage};

/// One saved conversation: what replay and listing need, plus every turn verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    pub meta: Meta,
    pub turns: Vec<Turn>,
}

impl Transcript {
    /// The turns as chat messages, in order, ready to send again.
    pub fn messages(&self) -> Vec<Message> {
        self.turns.iter().map(|t| Message { role: t.role, content: t.text.clone() }).collect()
    }

    /// Stores `entry` as the verdicts on its topic (in place of an earlier entry), records
    /// its covered/total on the last turn when that is an answer, and adds `spent`, the
    /// judge's tokens for it, to the entry's and the transcript's totals.
    pub fn record_coverage(&mut self, mut entry: TopicCoverage, spent: Usage) {
        let earlier = self.meta.coverage.iter().position(|c| c.topic == entry.topic);
        let before = earlier.and_then(|i| self.meta.coverage[i].usage);
        if before.is_some() || spent.total() > 0 {
            let mut usage = before.unwrap_or_default();
            usage += spent;
            entry.usage = Some(usage);
        }
        self.meta.usage += spent;
        if let Some(last) = self.turns.last_mut().filter(|t| t.role == Role::Assistant) {
            last.info.coverage = Some(entry.summary());
        }
        match earlier {
            Some(i) => self.meta.coverage[i] = entry,
            None => self.meta.coverage.push(entry),
        }
    }
}

/// What a transcript says about itself (the front matter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub title: String,
    /// Topic slugs, in the order they were added.
    pub topics: Vec<String>,
    pub stack: Option<String>,
    pub model: String,
    /// The endpoint's base URL. When written, user info, query and fragment are dropped,
    /// so a key smuggled into the URL never reaches the file.
    pub endpoint: String,
    pub profile: Option<String>,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub status: SessionStatus,
    /// Totals over all answers.
    pub usage: Usage,
    /// Set when this transcript is a replay of another one.
    pub replay_of: Option<ReplayOf>,
    /// The verdicts on each topic's "Cover:" points, one entry per topic, in the order the
    /// topics were first judged (format version 2's `[[coverage]]`).
    pub coverage: Vec<TopicCoverage>,
}

impl Meta {
    /// The front matter of a conversation starting now: in progress, no usage yet, no topics,
    /// stack or profile (set those with struct update syntax).
    pub fn started(title: String, model: String, endpoint: String) -> Meta {
        let now = super::now();
        Meta {
            title,
            topics: Vec::new(),
            stack: None,
            model,
            endpoint,
            profile: None,
            created: now,
            updated: now,
            status: SessionStatus::InProgress,
            usage: Usage::default(),
            replay_of: None,
            coverage: Vec::new(),
        }
    }

    /// The stored verdicts on `slug`'s points, if any.
    pub fn coverage_of(&self, slug: &str) -> Option<&TopicCoverage> {
        self.coverage.iter().find(|c| c.topic == slug)
    }

    /// The model judge's tokens over all topics (they are part of [`Meta::usage`] too).
    pub fn judge_usage(&self) -> Usage {
        let mut usage = Usage::default();
        for entry in &self.coverage {
            usage += entry.usage.unwrap_or_default();
        }
        usage
    }
}

/// Where a replayed transcript came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOf {
    /// The source transcript, as the user named it.
    pub file: String,
    /// The model that answered in the source transcript.
    pub model: String,
    /// How many user turns were sent again.
    pub turns: u32,
}

/// How the session as a whole ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStatus {
    Complete,
    Interrupted,
    Failed,
    InProgress,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 4] = [
        SessionStatus::Complete,
        SessionStatus::Interrupted,
        SessionStatus::Failed,
        SessionStatus::InProgress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Complete => "complete",
            SessionStatus::Interrupted => "interrupted",
            SessionStatus::Failed => "failed",
            SessionStatus::InProgress => "in-progress",
        }
    }

    pub fn parse(s: &str) -> Option<SessionStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub role: Role,
    /// Exactly what was sent or received, byte for byte.
    pub text: String,
    pub info: TurnInfo,
}

/// What is known about a turn besides its text. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TurnInfo {
    pub kind: Option<TurnKind>,
    /// For answers: whether the answer arrived whole.
    pub status: Option<AnswerStatus>,
    /// Why the server stopped (its `finish_reason`).
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<Usage>,
    /// True when `usage` was counted locally because the server did not report it.
    pub usage_counted: bool,
    /// How many of the topic's "Cover:" points the answer addressed.
    pub coverage: Option<Coverage>,
    /// The model that wrote this answer, when it differs from or refines the session's.
    pub model: Option<String>,
    /// Why a failed answer failed (one line, as shown to the user).
    pub error: Option<String>,
}

/// Why a user turn was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnKind {
    /// The guide's priming prompt.
    Priming,
    /// A topic prompt, by slug.
    Topic(String),
    /// Anything asked after an answer.
    Followup,
}

/// How an answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerStatus {
    Complete,
    /// The server stopped at its token limit.
    Truncated,
    /// The user stopped it; the text is what arrived.
    Interrupted,
    /// The stream broke off; the text is what arrived.
    Failed,
}

impl AnswerStatus {
    pub const ALL: [AnswerStatus; 4] = [
        AnswerStatus::Complete,
        AnswerStatus::Truncated,
        AnswerStatus::Interrupted,
        AnswerStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnswerStatus::Complete => "complete",
            AnswerStatus::Truncated => "truncated",
            AnswerStatus::Interrupted => "interrupted",
            AnswerStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<AnswerStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// `covered` of `total` checklist points addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Coverage {
    pub covered: u32,
    pub total: u32,
}

/// The verdicts on one topic's "Cover:" points, stored so that they are paid for once and read
/// without scanning the answers again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicCoverage {
    pub topic: String,
    pub method: CoverageMethod,
    /// How many of the topic's answers the verdicts cover: fewer than the topic has now
    /// (a follow-up answered later) makes the entry stale.
    pub answers: u32,
    /// Why the verdicts are not what was asked for, e.g. "the judge failed (HTTP 500):
    /// lexical verdicts".
    pub note: Option<String>,
    /// One verdict per point, in the topic's Cover: order.
    pub points: Vec<PointVerdict>,
    /// The judge's tokens for this topic, every request made for it included (model only).
    pub usage: Option<Usage>,
}

impl TopicCoverage {
    /// Covered of total, as recorded on the answer.
    pub fn summary(&self) -> Coverage {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Coverage {
            covered: count(self.points.iter().filter(|p| p.covered).count()),
            total: count(self.points.len()),
        }
    }
}

/// How verdicts were made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoverageMethod {
    /// Term matching (`crate::coverage`): no model call.
    Lexical,
    /// A model graded each point; `judge` is the model that did.
    Model { judge: String },
}

impl CoverageMethod {
    /// How the method is named where coverage is shown: "lexical", "model judge gpt-4o-mini".
    pub fn label(&self) -> String {
        match self {
            CoverageMethod::Lexical => "lexical".to_string(),
            CoverageMethod::Model { judge } => format!("model judge {judge}"),
        }
    }
}

/// The verdict on one point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PointVerdict {
    pub covered: bool,
    /// The judge's quote from the answers (model only).
    pub quote: Option<String>,
    /// True when the judge called the point covered with this quote, which is not in the
    /// answers: the point then counts as not covered.
    pub quote_not_found: bool,
}

/// The current time truncated to whole seconds, so that the file shows tidy timestamps
/// (the codec keeps sub-second times exactly, but prints all nine digits for them).
pub fn now() -> SystemTime {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(topic: &str, covered: &[bool]) -> TopicCoverage {
        TopicCoverage {
            topic: topic.into(),
            method: CoverageMethod::Model { judge: "j".into() },
            answers: 1,
            note: None,
            points: covered
                .iter()
                .map(|&covered| PointVerdict { covered, ..PointVerdict::default() })
                .collect(),
            usage: None,
        }
    }

    #[test]
    fn recorded_verdicts_replace_the_topics_entry_and_add_up_the_judges_tokens() {
        let mut t =
            Transcript { meta: Meta::started("t".into(), "m".into(), "u".into()), turns: vec![] };
        t.turns.push(Turn { role: Role::User, text: "q".into(), info: TurnInfo::default() });
        t.turns.push(Turn { role: Role::Assistant, text: "a".into(), info: TurnInfo::default() });
        let spent = Usage { prompt_tokens: 100, completion_tokens: 10, cached_tokens: 0 };
        t.record_coverage(entry("a", &[true, false]), spent);
        t.record_coverage(entry("b", &[true]), Usage::default());
        assert_eq!(t.turns[1].info.coverage, Some(Coverage { covered: 1, total: 1 }));
        t.record_coverage(entry("a", &[true, true]), spent);
        assert_eq!(t.meta.coverage.len(), 2);
        let a = t.meta.coverage_of("a").unwrap();
        assert_eq!(a.summary(), Coverage { covered: 2, total: 2 });
        assert_eq!(
            a.usage,
            Some(Usage { prompt_tokens: 200, completion_tokens: 20, cached_tokens: 0 })
        );
        assert_eq!(t.meta.coverage_of("b").unwrap().usage, None, "no judge tokens, no usage");
        assert_eq!(
            t.meta.usage,
            Usage { prompt_tokens: 200, completion_tokens: 20, cached_tokens: 0 }
        );
        assert_eq!(t.meta.judge_usage(), t.meta.usage);
        assert_eq!(t.turns[1].info.coverage, Some(Coverage { covered: 2, total: 2 }));
        assert_eq!(CoverageMethod::Lexical.label(), "lexical");
        assert_eq!(a.method.label(), "model judge j");
    }
}
