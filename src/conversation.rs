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
use crate::tokens::{TokenCount, TokenCounter};

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
    /// Tokens of each transcript turn as a request message, counted once (see [`Self::prepare`]).
    ledger: TokenLedger,
}

/// Per-turn token counts, so a long conversation does not recount its history every turn.
#[derive(Clone, Debug, Default)]
struct TokenLedger {
    /// The model the counts were made for: another tokenizer means counting again.
    model: String,
    tokens: Vec<u64>,
    approximate: bool,
}

/// A request ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub messages: Vec<Message>,
    pub prompt: TokenCount,
    /// Follow-up questions (their text) left out of the request so that it fits the window.
    pub left_out: Vec<String>,
}

/// The next request cannot fit the context window even without any follow-up exchange.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the request needs {needed} prompt tokens but the context window of {model} is {window}; \
     use a model with a larger window, or set context_window in its profile if it is wrong"
)]
pub struct TooLarge {
    pub needed: TokenCount,
    pub window: u32,
    pub model: String,
}

impl Conversation {
    pub fn new(transcript: Transcript, planned: Vec<PlannedTurn>) -> Conversation {
        Conversation { transcript, pending: planned.into(), ledger: TokenLedger::default() }
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// The transcript's front matter (title, topics, ...); the turns change only through
    /// the methods here, which keep the token counts in step.
    pub fn meta_mut(&mut self) -> &mut crate::session::Meta {
        &mut self.transcript.meta
    }

    pub fn into_transcript(self) -> Transcript {
        self.transcript
    }

    /// Plans one more user turn, after those already planned.
    pub fn push(&mut self, turn: PlannedTurn) {
        self.pending.push_back(turn);
    }

    /// Drops a last exchange whose answer failed or was interrupted, so that a resumed run
    /// asks it again; returns whether there was one.
    pub fn drop_unfinished_tail(&mut self) -> bool {
        let turns = &mut self.transcript.turns;
        let unfinished = turns.len() >= 2
            && turns[turns.len() - 1].role == Role::Assistant
            && matches!(
                turns[turns.len() - 1].info.status,
                Some(AnswerStatus::Failed | AnswerStatus::Interrupted)
            )
            && turns[turns.len() - 2].role == Role::User;
        if unfinished {
            turns.truncate(turns.len() - 2);
            self.ledger.tokens.truncate(turns.len());
            self.recount_usage();
        }
        unfinished
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
    /// Failed exchanges are left out: the model never saw an answer to them.
    pub fn next_messages(&self) -> Option<Vec<Message>> {
        let next = self.pending.front()?;
        let turns = &self.transcript.turns;
        let mut messages: Vec<Message> = exchanges(turns)
            .into_iter()
            .flat_map(|(q, a)| [&turns[q], &turns[a]])
            .map(|t| Message { role: t.role, content: t.text.clone() })
            .collect();
        messages.push(Message::user(next.text.clone()));
        Some(messages)
    }

    /// The request for the next planned turn, counted for `counter`'s model and fitted to
    /// `window`: when it would not fit, the oldest follow-up exchanges are left out (never
    /// the priming or topic prompts and their answers). Each turn is counted once over the
    /// life of the conversation. `None` when nothing is planned.
    pub fn prepare(
        &mut self,
        model: &str,
        window: Option<u32>,
    ) -> Option<Result<Prepared, TooLarge>> {
        let next = self.pending.front()?.clone();
        let counter = TokenCounter::for_model(model);
        self.ledger.update(model, &counter, &self.transcript.turns);
        let turns = &self.transcript.turns;
        let mut kept = exchanges(turns);
        let next_tokens = counter.count_message(&Message::user(next.text.clone())).tokens;
        let pair = |(q, a): (usize, usize)| self.ledger.tokens[q] + self.ledger.tokens[a];
        let mut total = REQUEST_OVERHEAD + next_tokens + kept.iter().map(|&p| pair(p)).sum::<u64>();
        let mut left_out = Vec::new();
        if let Some(window) = window {
            while total > u64::from(window) {
                let Some(i) = kept.iter().position(|&(q, _)| is_droppable(&turns[q])) else {
                    let needed = TokenCount { tokens: total, approximate: self.ledger.approximate };
                    return Some(Err(TooLarge { needed, window, model: model.to_string() }));
                };
                let dropped = kept.remove(i);
                total -= pair(dropped);
                left_out.push(turns[dropped.0].text.clone());
            }
        }
        let mut messages: Vec<Message> = kept
            .into_iter()
            .flat_map(|(q, a)| [&turns[q], &turns[a]])
            .map(|t| Message { role: t.role, content: t.text.clone() })
            .collect();
        messages.push(Message::user(next.text));
        let prompt = TokenCount { tokens: total, approximate: self.ledger.approximate };
        Some(Ok(Prepared { messages, prompt, left_out }))
    }

    /// Removes the last exchange (question and answer, whatever its status) and returns the
    /// question, so it can be asked again (`/retry`) or dropped (`/undo`).
    pub fn undo(&mut self) -> Option<PlannedTurn> {
        let turns = &mut self.transcript.turns;
        let answer_at = turns.iter().rposition(|t| t.role == Role::Assistant)?;
        let question_at = turns[..answer_at].iter().rposition(|t| t.role == Role::User)?;
        let question = turns.remove(question_at);
        turns.truncate(question_at);
        self.ledger.tokens.truncate(question_at);
        self.recount_usage();
        Some(PlannedTurn {
            kind: question.info.kind.unwrap_or(TurnKind::Followup),
            text: question.text,
        })
    }

    fn recount_usage(&mut self) {
        let mut usage = Usage::default();
        for turn in &self.transcript.turns {
            if let Some(u) = turn.info.usage {
                usage += u;
            }
        }
        self.transcript.meta.usage = usage;
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
                finish_reason: Some(answer.finish_reason),
                usage: Some(answer.usage),
                usage_counted: answer.usage_counted,
                coverage: answer.coverage,
                model: Some(answer.model),
                ..TurnInfo::default()
            },
        );
        self.transcript.meta.status = SessionStatus::InProgress;
    }

    /// Records that the next planned turn got no usable answer (keeping the `partial` text
    /// that arrived, if any); the planned turns after it are dropped.
    pub fn record_failure(&mut self, error: &str, partial: String) {
        let info = TurnInfo {
            status: Some(AnswerStatus::Failed),
            error: Some(error.to_string()),
            ..TurnInfo::default()
        };
        self.stop(partial, info, SessionStatus::Failed);
    }

    /// Records that the user stopped the answer in flight: the text that arrived is kept and
    /// marked interrupted; the planned turns after it are dropped.
    pub fn record_interruption(&mut self, partial: String, model: &str) {
        let info = TurnInfo {
            status: Some(AnswerStatus::Interrupted),
            model: Some(model.to_string()),
            ..TurnInfo::default()
        };
        self.stop(partial, info, SessionStatus::Interrupted);
    }

    /// Ends the conversation at the next planned turn with an unfinished answer.
    fn stop(&mut self, partial: String, info: TurnInfo, status: SessionStatus) {
        let Some(turn) = self.pending.pop_front() else { return };
        self.pending.clear();
        self.push_exchange(turn, partial, info);
        self.transcript.meta.status = status;
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

/// Framing tokens a request adds once, as in [`TokenCounter::count_request`].
const REQUEST_OVERHEAD: u64 = 3;

/// The exchanges the model has seen, as (question, answer) turn indices: a user turn followed
/// by an answer that did not fail.
fn exchanges(turns: &[Turn]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::with_capacity(turns.len() / 2);
    let mut i = 0;
    while i + 1 < turns.len() {
        let (q, a) = (&turns[i], &turns[i + 1]);
        if q.role == Role::User && a.role == Role::Assistant {
            if a.info.status != Some(AnswerStatus::Failed) {
                pairs.push((i, i + 1));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    pairs
}

/// Follow-up exchanges may be left out of a request to fit the window; the priming and topic
/// prompts (and stack line) carry the context everything else depends on.
fn is_droppable(question: &Turn) -> bool {
    !matches!(question.info.kind, Some(TurnKind::Priming | TurnKind::Topic(_)))
}

impl TokenLedger {
    /// Counts the turns not counted yet (all of them after a model change).
    fn update(&mut self, model: &str, counter: &TokenCounter, turns: &[Turn]) {
        if self.model != model {
            self.model = model.to_string();
            self.tokens.clear();
        }
        self.approximate = !counter.is_exact();
        self.tokens.truncate(turns.len());
        for turn in &turns[self.tokens.len()..] {
            let message = Message { role: turn.role, content: turn.text.clone() };
            self.tokens.push(counter.count_message(&message).tokens);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Meta;

    fn empty_transcript() -> Transcript {
        Transcript {
            meta: Meta::started("t".into(), "m".into(), "http://localhost/v1".into()),
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
        conv.record_failure("HTTP 500", "half an".into());
        assert!(conv.next_turn().is_none());
        let t = conv.transcript();
        assert_eq!(t.meta.status, SessionStatus::Failed);
        assert_eq!(t.turns[3].info.status, Some(AnswerStatus::Failed));
        assert_eq!(t.turns[3].info.error.as_deref(), Some("HTTP 500"));
        assert_eq!(t.turns[3].text, "half an");
        // The failed exchange is not part of what the model has seen.
        assert_eq!(exchanges(&t.turns), [(0, 1)]);
    }

    #[test]
    fn an_interruption_keeps_the_partial_answer_in_the_history() {
        let mut conv = conversation(None);
        conv.record_answer(answer("ack", FinishReason::Stop));
        conv.record_interruption("the first half".into(), "m");
        let t = conv.transcript();
        assert_eq!(t.meta.status, SessionStatus::Interrupted);
        assert_eq!(t.turns[3].info.status, Some(AnswerStatus::Interrupted));
        conv.push(PlannedTurn { kind: TurnKind::Followup, text: "go on".into() });
        let messages = conv.next_messages().unwrap();
        assert_eq!(messages[3], Message::assistant("the first half"));
        // A resumed batch asks the interrupted question again instead.
        let mut conv = conv.clone();
        conv.drop_unfinished_tail();
        assert_eq!(conv.transcript().turns.len(), 2);
    }

    fn followup(conv: &mut Conversation, question: &str, reply: &str) {
        conv.push(PlannedTurn { kind: TurnKind::Followup, text: question.into() });
        conv.record_answer(answer(reply, FinishReason::Stop));
    }

    #[test]
    fn the_oldest_follow_ups_are_left_out_when_the_window_is_full() {
        let mut conv = conversation(None);
        conv.record_answer(answer("ack", FinishReason::Stop));
        conv.record_answer(answer("health answer", FinishReason::Stop));
        conv.record_answer(answer("shutdown answer", FinishReason::Stop));
        let long = "word ".repeat(300);
        followup(&mut conv, "first follow-up", &long);
        followup(&mut conv, "second follow-up", &long);
        conv.push(PlannedTurn { kind: TurnKind::Followup, text: "third".into() });
        let all = conv.prepare("gpt-4o", None).unwrap().unwrap();
        assert!(all.left_out.is_empty());
        assert_eq!(
            all.prompt.tokens,
            TokenCounter::for_model("gpt-4o").count_request(&all.messages).tokens
        );
        // A window that holds everything but one long follow-up exchange.
        let window = (all.prompt.tokens - 200) as u32;
        let fitted = conv.prepare("gpt-4o", Some(window)).unwrap().unwrap();
        assert_eq!(fitted.left_out, ["first follow-up"]);
        assert!(fitted.prompt.tokens <= u64::from(window));
        assert_eq!(fitted.messages.len(), all.messages.len() - 2);
        assert!(fitted.messages.iter().any(|m| m.content == "second follow-up"));
        // Priming and topic prompts are never left out: too small a window is an error.
        let err = conv.prepare("gpt-4o", Some(100)).unwrap().unwrap_err();
        assert_eq!(err.window, 100);
        assert!(err.to_string().contains("context window of gpt-4o is 100"));
    }

    #[test]
    fn undo_removes_the_last_exchange_and_returns_its_question() {
        let mut conv = conversation(None);
        for _ in 0..3 {
            conv.record_answer(answer("ack", FinishReason::Stop));
        }
        followup(&mut conv, "why?", "because");
        conv.push(PlannedTurn { kind: TurnKind::Followup, text: "next".into() });
        conv.prepare("gpt-4o", None);
        let undone = conv.undo().unwrap();
        assert_eq!((undone.kind, undone.text.as_str()), (TurnKind::Followup, "why?"));
        assert_eq!(conv.transcript().turns.len(), 6);
        assert_eq!(
            conv.transcript().meta.usage,
            Usage { prompt_tokens: 30, completion_tokens: 15 }
        );
        // Counts stay right after the undo: the ledger forgot the removed turns.
        let prepared = conv.prepare("gpt-4o", None).unwrap().unwrap();
        let counter = TokenCounter::for_model("gpt-4o");
        assert_eq!(prepared.prompt.tokens, counter.count_request(&prepared.messages).tokens);
    }
}
