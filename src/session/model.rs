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
        }
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

/// The current time truncated to whole seconds, so that the file shows tidy timestamps
/// (the codec keeps sub-second times exactly, but prints all nine digits for them).
pub fn now() -> SystemTime {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}
