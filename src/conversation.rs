//! The conversation core: what to send next and what to record. No IO, so the batch runner
//! (and later chat and replay) share it, and unit tests cover it without a server.
//!
//! A conversation is the priming prompt as the first user turn, then each topic prompt, each
//! followed by its answer. The stack line ("We're using …") is joined to the priming turn rather
//! than sent as a turn of its own: the guide places it right after the priming prompt, and
//! joining them saves a whole request-and-answer round trip per conversation (twenty in a full
//! batch) while the model still reads the priming text verbatim first.

use std::collections::VecDeque;

use crate::message::{FinishReason, Message, Role, Usage};
use crate::prompts::{Library, Topic, stack_line};
use crate::session::{AnswerStatus, Coverage, SessionStatus, Transcript, Turn, TurnInfo, TurnKind};

/// A user turn that is planned but not yet answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTurn {
    pub kind: TurnKind,
    pub text: String,
}

/// The user turns that open a conversation: priming (with the stack line), then each topic.
pub fn opening_turns(
    library: &Library,
    stack: Option<&str>,
    topics: &[&Topic],
) -> Vec<PlannedTurn> {
    let priming = match stack.map(str::trim).filter(|s| !s.is_empty()) {
        Some(stack) => format!("{}\n\n{}", library.priming().trim_end(), stack_line(stack)),
        None => library.priming().to_string(),
    };
    let mut turns = vec![PlannedTurn { kind: TurnKind::Priming, text: priming }];
    turns.extend(topics.iter().map(|topic| PlannedTurn {
        kind: TurnKind::Topic(topic.slug.clone()),
        text: topic.prompt.clone(),
    }));
    turns
}

/// An answer as received, ready to be recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub text: String,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    /// True when `usage` was counted locally because the server did not report it.
    pub usage_counted: bool,
    pub model: String,
    pub coverage: Option<Coverage>,
}

/// A conversation in progress: the transcript so far plus the user turns still to send.
#[derive(Clone, Debug)]
pub struct Conversation {
    transcript: Transcript,
    pending: VecDeque<PlannedTurn>,
}

impl Conversation {
    pub fn new(transcript: Transcript, planned: Vec<PlannedTurn>) -> Conversation {
        Conversation { transcript, pending: planned.into() }
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    pub fn into_transcript(self) -> Transcript {
        self.transcript
    }

    /// Plans one more user turn, after those already planned.
    pub fn push(&mut self, turn: PlannedTurn) {
        self.pending.push_back(turn);
    }

    /// Drops a failed last exchange (a question without an answer), so that a resumed run
    /// asks it again; returns whether there was one.
    pub fn drop_failed_tail(&mut self) -> bool {
        let turns = &mut self.transcript.turns;
        let failed = turns.len() >= 2
            && turns[turns.len() - 1].role == Role::Assistant
            && turns[turns.len() - 1].info.status == Some(AnswerStatus::Failed)
            && turns[turns.len() - 2].role == Role::User;
        if failed {
            turns.truncate(turns.len() - 2);
        }
        failed
    }

    /// Marks the conversation as done: nothing more will be asked.
    pub fn finish(&mut self) {
        self.transcript.meta.status = SessionStatus::Complete;
        self.transcript.meta.updated = crate::session::now();
    }

    /// Marks the conversation as running again (after a resume).
    pub fn reopen(&mut self) {
        self.transcript.meta.status = SessionStatus::InProgress;
    }

    /// The next user turn to send, if any.
    pub fn next_turn(&self) -> Option<&PlannedTurn> {
        self.pending.front()
    }

    /// The request for the next planned turn: every answered exchange so far, then the turn.
    /// Failed exchanges (no answer) are left out: the model never saw them.
    pub fn next_messages(&self) -> Option<Vec<Message>> {
        let next = self.pending.front()?;
        let mut messages = history(&self.transcript.turns);
        messages.push(Message::user(next.text.clone()));
        Some(messages)
    }

    /// Records the answer to the next planned turn.
    pub fn record_answer(&mut self, answer: Answer) {
        let Some(turn) = self.pending.pop_front() else { return };
        let status = if answer.finish_reason.is_truncated() {
            AnswerStatus::Truncated
        } else {
            AnswerStatus::Complete
        };
        self.transcript.meta.usage += answer.usage;
        self.push_exchange(
            turn,
            answer.text,
            TurnInfo {
                status: Some(status),
                finish_reason: Some(answer.finish_reason.as_str().to_string()),
                usage: Some(answer.usage),
                usage_counted: answer.usage_counted,
                coverage: answer.coverage,
                model: Some(answer.model),
                ..TurnInfo::default()
            },
        );
        self.transcript.meta.status = SessionStatus::InProgress;
    }

    /// Records that the next planned turn got no usable answer; the conversation stops there.
    pub fn record_failure(&mut self, error: &str) {
        let Some(turn) = self.pending.pop_front() else { return };
        self.pending.clear();
        self.push_exchange(
            turn,
            String::new(),
            TurnInfo {
                status: Some(AnswerStatus::Failed),
                error: Some(error.to_string()),
                ..TurnInfo::default()
            },
        );
        self.transcript.meta.status = SessionStatus::Failed;
    }

    /// Marks the conversation as stopped by the user before its planned turns were done.
    pub fn record_interruption(&mut self) {
        if !self.pending.is_empty() {
            self.transcript.meta.status = SessionStatus::Interrupted;
        }
    }

    fn push_exchange(&mut self, turn: PlannedTurn, answer: String, info: TurnInfo) {
        self.transcript.turns.push(Turn {
            role: Role::User,
            text: turn.text,
            info: TurnInfo { kind: Some(turn.kind), ..TurnInfo::default() },
        });
        self.transcript.turns.push(Turn { role: Role::Assistant, text: answer, info });
        self.transcript.meta.updated = crate::session::now();
    }
}

/// The messages the model has seen: user turns followed by an answer that was not a failure.
fn history(turns: &[Turn]) -> Vec<Message> {
    let mut messages = Vec::with_capacity(turns.len());
    let mut iter = turns.iter().peekable();
    while let Some(turn) = iter.next() {
        if turn.role != Role::User {
            continue;
        }
        let Some(answer) = iter.next_if(|t| t.role == Role::Assistant) else { continue };
        if answer.info.status == Some(AnswerStatus::Failed) {
            continue;
        }
        messages.push(Message::user(turn.text.clone()));
        messages.push(Message::assistant(answer.text.clone()));
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Meta;

    fn empty_transcript() -> Transcript {
        let now = crate::session::now();
        Transcript {
            meta: Meta {
                title: "t".into(),
                topics: vec![],
                stack: None,
                model: "m".into(),
                endpoint: "http://localhost/v1".into(),
                profile: None,
                created: now,
                updated: now,
                status: SessionStatus::InProgress,
                usage: Usage::default(),
                replay_of: None,
            },
            turns: vec![],
        }
    }

    fn answer(text: &str, finish: FinishReason) -> Answer {
        Answer {
            text: text.into(),
            finish_reason: finish,
            usage: Usage { prompt_tokens: 10, completion_tokens: 5 },
            usage_counted: false,
            model: "m".into(),
            coverage: None,
        }
    }

    fn conversation(stack: Option<&str>) -> Conversation {
        let library = Library::builtin();
        let topics = library.resolve_all(&["15".into(), "16".into()]).unwrap();
        Conversation::new(empty_transcript(), opening_turns(&library, stack, &topics))
    }

    #[test]
    fn the_stack_line_is_joined_to_the_priming_turn() {
        let library = Library::builtin();
        let turns = opening_turns(&library, Some(" PostgreSQL, EKS "), &[]);
        assert_eq!(turns.len(), 1);
        assert!(turns[0].text.starts_with(library.priming()));
        assert!(turns[0].text.ends_with("\n\nWe're using PostgreSQL, EKS."));
        assert_eq!(opening_turns(&library, Some("  "), &[])[0].text, library.priming());
    }

    #[test]
    fn each_request_carries_the_history_then_the_next_turn() {
        let mut conv = conversation(None);
        let first = conv.next_messages().unwrap();
        assert_eq!(first.len(), 1);
        conv.record_answer(answer("ack", FinishReason::Stop));
        let second = conv.next_messages().unwrap();
        assert_eq!(second.len(), 3);
        assert_eq!(second[1], Message::assistant("ack"));
        assert!(second[2].content.contains("health checks"));
        conv.record_answer(answer("health", FinishReason::Length));
        conv.record_answer(answer("shutdown", FinishReason::Stop));
        assert!(conv.next_messages().is_none());
        assert_eq!(conv.transcript().meta.status, SessionStatus::InProgress);
        conv.finish();
        let t = conv.transcript();
        assert_eq!(t.meta.status, SessionStatus::Complete);
        assert_eq!(t.turns.len(), 6);
        assert_eq!(t.turns[3].info.status, Some(AnswerStatus::Truncated));
        assert_eq!(t.meta.usage, Usage { prompt_tokens: 30, completion_tokens: 15 });
    }

    #[test]
    fn a_failure_ends_the_conversation_and_is_recorded() {
        let mut conv = conversation(None);
        conv.record_answer(answer("ack", FinishReason::Stop));
        conv.record_failure("HTTP 500");
        assert!(conv.next_turn().is_none());
        let t = conv.transcript();
        assert_eq!(t.meta.status, SessionStatus::Failed);
        assert_eq!(t.turns[3].info.status, Some(AnswerStatus::Failed));
        assert_eq!(t.turns[3].info.error.as_deref(), Some("HTTP 500"));
        // The failed exchange is not part of what the model has seen.
        assert_eq!(history(&t.turns).len(), 2);
    }

    #[test]
    fn an_interruption_before_the_end_marks_the_session_interrupted() {
        let mut conv = conversation(None);
        conv.record_answer(answer("ack", FinishReason::Stop));
        conv.record_interruption();
        assert_eq!(conv.transcript().meta.status, SessionStatus::Interrupted);
    }
}
