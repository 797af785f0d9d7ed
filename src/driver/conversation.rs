//! The conversation core: what a request holds and what is recorded. No IO, so chat, batch
//! and replay share it, and unit tests cover it without a server. What to ask next is not
//! decided here but by an [`Agenda`](super::Agenda).

use crate::message::{FinishReason, Message, Usage};
use crate::session::{
    AnswerStatus, Coverage, Exchange, Meta, SessionStatus, TopicCoverage, Transcript, Turn,
    TurnInfo, TurnKind,
};
use crate::tokens::{CountTokens, TokenCount};

use crate::message::Role;

/// A user turn that is about to be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTurn {
    pub kind: TurnKind,
    pub text: String,
}

impl PlannedTurn {
    pub fn followup(text: impl Into<String>) -> PlannedTurn {
        PlannedTurn { kind: TurnKind::Followup, text: text.into() }
    }

    /// A short name for what is asked: "priming prompt", "topic health-checks", or the
    /// question's first line.
    pub fn label(&self) -> String {
        match &self.kind {
            TurnKind::Priming => "priming prompt".to_string(),
            TurnKind::Topic(slug) => format!("topic {slug}"),
            TurnKind::Followup => crate::render::first_line(&self.text, 100),
        }
    }
}

/// An answer as received, ready to be recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub text: String,
    pub finish_reason: FinishReason,
    pub usage: Option<Usage>,
    /// True when `usage` was counted locally because the server did not report it.
    pub usage_counted: bool,
    pub model: String,
    pub coverage: Option<Coverage>,
}

/// A conversation in progress: the transcript so far.
#[derive(Clone, Debug)]
pub struct Conversation {
    transcript: Transcript,
}

/// A request ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub messages: Vec<Message>,
    /// The prompt's tokens, when they were counted: only a request that might not fit the
    /// context window needs a count (see [`Conversation::prepare`]).
    pub prompt: Option<TokenCount>,
    /// Follow-up questions (their text) left out of the request so that it fits the window.
    pub left_out: Vec<String>,
}

/// The next request cannot fit the context window even without any follow-up exchange.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the request needs {needed} prompt tokens and one for the answer, but the context window of \
     {model} is {window}; use a model with a larger window, or set context_window in its profile \
     if it is wrong"
)]
pub struct TooLarge {
    pub needed: TokenCount,
    pub window: u32,
    pub model: String,
}

/// What limits a request's size.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// The model's context window in tokens, when known.
    pub window: Option<u32>,
    /// The answer's token limit (`max_tokens`), when set.
    pub max_tokens: Option<u32>,
}

impl Conversation {
    pub fn new(transcript: Transcript) -> Conversation {
        Conversation { transcript }
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// The transcript's front matter (title, topics, ...); the turns change only through
    /// the methods here.
    pub fn meta_mut(&mut self) -> &mut Meta {
        &mut self.transcript.meta
    }

    pub fn into_transcript(self) -> Transcript {
        self.transcript
    }

    /// Drops a last exchange whose answer failed, was interrupted or never came, so that a
    /// resumed run asks it again; returns whether there was one.
    pub fn drop_unfinished_tail(&mut self) -> bool {
        let unfinished = self.transcript.last_exchange().is_some_and(|e| e.is_unfinished());
        if unfinished {
            self.transcript.pop_exchange();
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

    /// The exchanges the model has seen: their questions and answers are the history of the
    /// next request. Failed exchanges are left out: the model never saw an answer to them.
    fn history(&self) -> Vec<Exchange<'_>> {
        self.transcript.exchanges().filter(Exchange::is_seen).collect()
    }

    /// The request for `next`: every exchange the model has seen, then `next`, fitted to
    /// the context window. When it would not fit, the oldest follow-up exchanges are left out
    /// (never the priming or topic prompts and their answers).
    ///
    /// Counting tokens is only needed near the limit: a BPE token is at least one byte, so a
    /// request whose bytes (plus framing, plus `max_tokens`) fit the window fits for sure and
    /// is sent uncounted. `count` is asked only otherwise, or when `want_count` is set.
    pub fn prepare(
        &self,
        next: &PlannedTurn,
        model: &str,
        limits: Limits,
        count: &dyn CountTokens,
        want_count: bool,
    ) -> Result<Prepared, TooLarge> {
        let mut kept = self.history();
        let request = |kept: &[Exchange<'_>]| -> Vec<Message> {
            let mut messages: Vec<Message> = kept
                .iter()
                .filter_map(|e| Some([e.question, e.answer?]))
                .flatten()
                .map(|t| Message { role: t.role, content: t.text.clone() })
                .collect();
            messages.push(Message::user(next.text.clone()));
            messages
        };
        let mut messages = request(&kept);
        let Some(window) = limits.window else {
            let prompt = want_count.then(|| count.count_request(&messages));
            return Ok(Prepared { messages, prompt, left_out: Vec::new() });
        };
        let room = u64::from(window);
        if byte_bound(&messages) + u64::from(limits.max_tokens.unwrap_or(0)) <= room {
            let prompt = want_count.then(|| count.count_request(&messages));
            return Ok(Prepared { messages, prompt, left_out: Vec::new() });
        }
        // The answer needs a token at least: a prompt that fills the window leaves it none
        // (the local engine refuses it, a server can only stop at once). `max_tokens` is not
        // reserved in full: servers that would exceed the window cut the answer off there.
        let mut left_out = Vec::new();
        loop {
            let prompt = count.count_request(&messages);
            if prompt.tokens < room {
                return Ok(Prepared { messages, prompt: Some(prompt), left_out });
            }
            let Some(i) = kept.iter().position(|e| is_droppable(e.kind())) else {
                return Err(TooLarge { needed: prompt, window, model: model.to_string() });
            };
            left_out.push(kept.remove(i).question_text().to_string());
            messages = request(&kept);
        }
    }

    /// Removes the last exchange (question and answer, whatever its status) and returns the
    /// question, so it can be asked again (`/retry`) or dropped (`/undo`).
    pub fn undo(&mut self) -> Option<PlannedTurn> {
        let question = self.transcript.pop_exchange()?;
        self.recount_usage();
        Some(PlannedTurn {
            kind: question.info.kind.unwrap_or(TurnKind::Followup),
            text: question.text,
        })
    }

    /// Totals from the answers' usage and the coverage judge's (which stays paid for when
    /// the exchange it judged is removed).
    fn recount_usage(&mut self) {
        let mut usage = self.transcript.meta.judge_usage();
        for exchange in self.transcript.exchanges() {
            if let Some(u) = exchange.usage() {
                usage += u;
            }
        }
        self.transcript.meta.usage = usage;
    }

    /// Records `answer` to `turn`.
    pub fn record_answer(&mut self, turn: PlannedTurn, answer: Answer) {
        let status = if answer.finish_reason.is_truncated() {
            AnswerStatus::Truncated
        } else {
            AnswerStatus::Complete
        };
        if let Some(usage) = answer.usage {
            self.transcript.meta.usage += usage;
        }
        self.push_exchange(
            turn,
            answer.text,
            TurnInfo {
                status: Some(status),
                finish_reason: Some(answer.finish_reason),
                usage: answer.usage,
                usage_counted: answer.usage_counted,
                coverage: answer.coverage,
                model: Some(answer.model),
                ..TurnInfo::default()
            },
        );
        self.transcript.meta.status = SessionStatus::InProgress;
    }

    /// Records the verdicts on a topic's points after its latest answer, with the judge's
    /// tokens `spent` on them (see [`Transcript::record_coverage`]).
    pub fn record_coverage(&mut self, entry: TopicCoverage, spent: Usage) {
        self.transcript.record_coverage(entry, spent);
    }

    /// Records that `turn` got no usable answer, keeping the `partial` text that arrived.
    pub fn record_failure(&mut self, turn: PlannedTurn, error: &str, partial: String) {
        let info = TurnInfo {
            status: Some(AnswerStatus::Failed),
            error: Some(error.to_string()),
            ..TurnInfo::default()
        };
        self.push_exchange(turn, partial, info);
        self.transcript.meta.status = SessionStatus::Failed;
    }

    /// Records that the user stopped the answer to `turn`: the text that arrived is kept and
    /// marked interrupted.
    pub fn record_interruption(&mut self, turn: PlannedTurn, partial: String, model: &str) {
        let info = TurnInfo {
            status: Some(AnswerStatus::Interrupted),
            model: Some(model.to_string()),
            ..TurnInfo::default()
        };
        self.push_exchange(turn, partial, info);
        self.transcript.meta.status = SessionStatus::Interrupted;
    }

    fn push_exchange(&mut self, turn: PlannedTurn, answer: String, info: TurnInfo) {
        let question = Turn {
            role: Role::User,
            text: turn.text,
            info: TurnInfo { kind: Some(turn.kind), ..TurnInfo::default() },
        };
        let answer = Turn { role: Role::Assistant, text: answer, info };
        self.transcript.push_exchange(question, answer);
        self.transcript.meta.updated = crate::session::now();
    }
}

/// Framing a request adds, per message and once: generous, so the byte bound stays an
/// upper bound on every tokenizer's count (role names and template tokens included).
const FRAMING_PER_MESSAGE: u64 = 16;
const FRAMING_PER_REQUEST: u64 = 64;

/// An upper bound on the request's prompt tokens: a BPE token is at least one byte.
fn byte_bound(messages: &[Message]) -> u64 {
    let bytes: usize = messages.iter().map(|m| m.content.len()).sum();
    bytes as u64 + FRAMING_PER_MESSAGE * messages.len() as u64 + FRAMING_PER_REQUEST
}

/// Follow-up exchanges may be left out of a request to fit the window; the priming and topic
/// prompts (and stack line) carry the context everything else depends on.
fn is_droppable(kind: &TurnKind) -> bool {
    !matches!(kind, TurnKind::Priming | TurnKind::Topic(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::agenda::opening_turns;
    use crate::prompts::Library;
    use crate::tokens::TokenCounter;

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
            usage: Some(Usage { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0 }),
            usage_counted: false,
            model: "m".into(),
            coverage: None,
        }
    }

    /// The opening turns of a conversation on topics 15 and 16, in order.
    fn opening(stack: Option<&str>) -> Vec<PlannedTurn> {
        let library = Library::builtin();
        let topics = library.resolve_all(&["15".into(), "16".into()]).unwrap();
        opening_turns(&library, stack, &topics)
    }

    /// A conversation whose opening turns are answered "ack", "health", "shutdown".
    fn answered() -> Conversation {
        let mut conv = Conversation::new(empty_transcript());
        for (turn, text) in opening(None).into_iter().zip(["ack", "health", "shutdown"]) {
            conv.record_answer(turn, answer(text, FinishReason::Stop));
        }
        conv
    }

    fn gpt4o() -> TokenCounter {
        TokenCounter::for_model("gpt-4o")
    }

    fn prepare(conv: &Conversation, next: &PlannedTurn, window: Option<u32>) -> Prepared {
        let limits = Limits { window, max_tokens: None };
        conv.prepare(next, "gpt-4o", limits, &gpt4o(), true).unwrap()
    }

    #[test]
    fn each_request_carries_the_history_then_the_next_turn() {
        let mut conv = Conversation::new(empty_transcript());
        let turns = opening(None);
        let first = prepare(&conv, &turns[0], None).messages;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].role, Role::User);
        conv.record_answer(turns[0].clone(), answer("ack", FinishReason::Stop));
        let second = prepare(&conv, &turns[1], None).messages;
        assert_eq!(second.len(), 3);
        assert_eq!(second[1], Message::assistant("ack"));
        assert_eq!(second[2].content, turns[1].text);
    }

    #[test]
    fn a_truncated_answer_is_recorded_as_such() {
        let mut conv = Conversation::new(empty_transcript());
        let turns = opening(None);
        conv.record_answer(turns[0].clone(), answer("ack", FinishReason::Stop));
        conv.record_answer(turns[1].clone(), answer("health", FinishReason::Length));
        let t = conv.transcript();
        assert_eq!(t.turns[3].info.status, Some(AnswerStatus::Truncated));
        assert_eq!(t.turns[3].info.finish_reason, Some(FinishReason::Length));
        assert_eq!(
            t.meta.usage,
            Usage { prompt_tokens: 20, completion_tokens: 10, cached_tokens: 0 }
        );
    }

    #[test]
    fn a_failure_is_recorded_and_left_out_of_the_history() {
        let mut conv = Conversation::new(empty_transcript());
        let turns = opening(None);
        conv.record_answer(turns[0].clone(), answer("ack", FinishReason::Stop));
        conv.record_failure(turns[1].clone(), "HTTP 500", "half an".into());
        let t = conv.transcript();
        assert_eq!(t.meta.status, SessionStatus::Failed);
        assert_eq!(t.turns[3].info.status, Some(AnswerStatus::Failed));
        assert_eq!(t.turns[3].info.error.as_deref(), Some("HTTP 500"));
        assert_eq!(t.turns[3].text, "half an");
        // The failed exchange is not part of what the model has seen.
        let next = prepare(&conv, &turns[1], None).messages;
        assert_eq!(next.len(), 3);
        assert_eq!(next[1], Message::assistant("ack"));
    }

    #[test]
    fn an_interruption_keeps_the_partial_answer_in_the_history() {
        let mut conv = Conversation::new(empty_transcript());
        let turns = opening(None);
        conv.record_answer(turns[0].clone(), answer("ack", FinishReason::Stop));
        conv.record_interruption(turns[1].clone(), "the first half".into(), "m");
        let t = conv.transcript();
        assert_eq!(t.meta.status, SessionStatus::Interrupted);
        assert_eq!(t.turns[3].info.status, Some(AnswerStatus::Interrupted));
        let messages = prepare(&conv, &PlannedTurn::followup("go on"), None).messages;
        assert_eq!(messages[3], Message::assistant("the first half"));
        // A resumed batch asks the interrupted question again instead.
        let mut conv = conv.clone();
        assert!(conv.drop_unfinished_tail());
        assert_eq!(conv.transcript().turns.len(), 2);
        assert!(!conv.drop_unfinished_tail());
    }

    fn followup(conv: &mut Conversation, question: &str, reply: &str) {
        conv.record_answer(PlannedTurn::followup(question), answer(reply, FinishReason::Stop));
    }

    #[test]
    fn the_oldest_follow_ups_are_left_out_when_the_window_is_full() {
        let mut conv = answered();
        let long = "word ".repeat(300);
        followup(&mut conv, "first follow-up", &long);
        followup(&mut conv, "second follow-up", &long);
        let third = PlannedTurn::followup("third");
        let all = prepare(&conv, &third, None);
        assert!(all.left_out.is_empty());
        let all_tokens = all.prompt.unwrap().tokens;
        assert_eq!(all_tokens, gpt4o().count_request(&all.messages).tokens);
        // A window that holds everything but one long follow-up exchange.
        let window = (all_tokens - 200) as u32;
        let fitted = prepare(&conv, &third, Some(window));
        assert_eq!(fitted.left_out, ["first follow-up"]);
        assert!(fitted.prompt.unwrap().tokens < u64::from(window));
        // The answer needs a token at least.
        let exact = prepare(&conv, &third, Some(all_tokens as u32));
        assert_eq!(exact.left_out, ["first follow-up"], "no token left for the answer");
        assert!(prepare(&conv, &third, Some(all_tokens as u32 + 1)).left_out.is_empty());
        assert_eq!(fitted.messages.len(), all.messages.len() - 2);
        assert!(fitted.messages.iter().any(|m| m.content == "second follow-up"));
        // Priming and topic prompts are never left out: too small a window is an error.
        let limits = Limits { window: Some(100), max_tokens: None };
        let err = conv.prepare(&third, "gpt-4o", limits, &gpt4o(), false).unwrap_err();
        assert_eq!(err.window, 100);
        assert!(err.to_string().contains("context window of gpt-4o is 100"));
    }

    #[test]
    fn a_request_that_surely_fits_is_not_counted() {
        /// Counts nothing: a request that reaches it fails the test.
        struct NoCounting;
        impl CountTokens for NoCounting {
            fn count_request(&self, _: &[Message]) -> TokenCount {
                panic!("counted a request whose bytes fit the window")
            }
            fn count_text(&self, _: &str) -> TokenCount {
                panic!("counted a text")
            }
            fn count_message(&self, _: &Message) -> TokenCount {
                panic!("counted a message")
            }
            fn request_framing(&self) -> u64 {
                panic!("counted the framing")
            }
        }
        let conv = answered();
        let next = PlannedTurn::followup("why?");
        let limits = Limits { window: Some(1_000_000), max_tokens: Some(4_000) };
        let prepared = conv.prepare(&next, "m", limits, &NoCounting, false).unwrap();
        assert_eq!(prepared.prompt, None);
        assert_eq!(prepared.messages.len(), 7);
        // Without a window there is nothing to fit.
        let limits = Limits { window: None, max_tokens: None };
        assert_eq!(conv.prepare(&next, "m", limits, &NoCounting, false).unwrap().prompt, None);
        // Near the limit it counts: max_tokens takes the room the byte bound needs.
        let bytes = byte_bound(&prepared.messages);
        let limits = Limits { window: Some(bytes as u32), max_tokens: Some(1) };
        let counted = conv.prepare(&next, "gpt-4o", limits, &gpt4o(), false).unwrap();
        assert!(counted.prompt.is_some());
        assert!(counted.left_out.is_empty(), "the exact count fits");
    }

    #[test]
    fn undo_removes_the_last_exchange_and_returns_its_question() {
        let mut conv = answered();
        followup(&mut conv, "why?", "because");
        let undone = conv.undo().unwrap();
        assert_eq!((undone.kind, undone.text.as_str()), (TurnKind::Followup, "why?"));
        assert_eq!(conv.transcript().turns.len(), 6);
        assert_eq!(
            conv.transcript().meta.usage,
            Usage { prompt_tokens: 30, completion_tokens: 15, cached_tokens: 0 }
        );
        let prepared = prepare(&conv, &PlannedTurn::followup("next"), None);
        assert_eq!(
            prepared.prompt.unwrap().tokens,
            gpt4o().count_request(&prepared.messages).tokens
        );
    }

    #[test]
    fn the_judges_tokens_stay_in_the_totals_when_an_exchange_is_undone() {
        let mut conv = Conversation::new(empty_transcript());
        conv.record_answer(PlannedTurn::followup("q"), answer("a", FinishReason::Stop));
        let entry = TopicCoverage {
            topic: "t".into(),
            method: crate::session::CoverageMethod::Model { judge: "j".into() },
            answers: 1,
            note: None,
            points: vec![],
            usage: None,
        };
        conv.record_coverage(
            entry,
            Usage { prompt_tokens: 7, completion_tokens: 3, cached_tokens: 0 },
        );
        assert_eq!(
            conv.transcript().meta.usage,
            Usage { prompt_tokens: 17, completion_tokens: 8, cached_tokens: 0 }
        );
        conv.undo();
        assert_eq!(
            conv.transcript().meta.usage,
            Usage { prompt_tokens: 7, completion_tokens: 3, cached_tokens: 0 }
        );
    }
}
