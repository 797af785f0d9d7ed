//! Turns server-sent events into an answer, deciding when a stream counts as complete.
//!
//! A stream is complete only when it carried a `finish_reason` and then either `[DONE]` or a
//! clean end of body. Everything else (no finish_reason, a chunk that is not JSON, an error
//! event) is an error. Each event costs work proportional to its own size: the delta is
//! appended and handed out, the answer so far is never re-scanned.
//!
//! What a server can make deepdive hold is bounded by [`AnswerLimits`]: an answer that runs
//! well past `max_tokens` is cut and counts as truncated, and one that passes the size
//! ceiling is an error.

use crate::message::{FinishReason, Usage};
use crate::secret::Secrets;

use super::classify::{malformed, stream_error};
use super::error::ApiError;
use super::event_stream::Event;
use super::wire::ChatChunk;

/// What one event meant.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    /// New answer text.
    Delta(&'a str),
    /// Nothing to show (a role-only delta, the usage chunk, a finish_reason).
    Nothing,
    /// `[DONE]` after a finish_reason: the answer is complete, stop reading.
    Done,
    /// The last text: the answer ran well past `max_tokens` and was cut here; it is complete
    /// (truncated), stop reading.
    Cut(&'a str),
}

/// How much answer text one response may bring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AnswerLimits {
    /// Beyond this many bytes the answer is an error ([`ApiError::TooLarge`]).
    pub max_bytes: usize,
    /// With `max_tokens` set: at this many bytes the answer is cut and recorded as
    /// truncated (see [`AnswerLimits::new`]).
    pub cut_at: Option<usize>,
}

/// Bytes of text allowed per requested token before an answer counts as running past
/// `max_tokens`: about twice the 4 bytes an average token of English or code takes, and
/// well above the 3 bytes of a CJK token, so only an answer that ignores the limit is cut.
const BYTES_PER_TOKEN: usize = 8;

impl AnswerLimits {
    pub fn new(max_bytes: usize, max_tokens: Option<u32>) -> AnswerLimits {
        let cut_at = max_tokens
            .map(|t| (t as usize).saturating_mul(BYTES_PER_TOKEN).saturating_add(1024))
            .filter(|&cut| cut < max_bytes);
        AnswerLimits { max_bytes, cut_at }
    }

    /// What may happen to an answer of `len` bytes that grows by `more`.
    fn check(&self, len: usize, more: usize) -> Growth {
        let after = len.saturating_add(more);
        match self.cut_at {
            Some(cut) if after > cut => Growth::CutAt(cut - len.min(cut)),
            _ if after > self.max_bytes => Growth::TooLarge,
            _ => Growth::Fits,
        }
    }

    /// The text of a whole (non-streamed) answer within the limits: `Ok((text, true))` when
    /// it was cut.
    pub fn apply(&self, mut text: String) -> Result<(String, bool), ApiError> {
        match self.check(0, text.len()) {
            Growth::Fits => Ok((text, false)),
            Growth::TooLarge => Err(ApiError::TooLarge { limit: self.max_bytes }),
            Growth::CutAt(room) => {
                text.truncate(floor_boundary(&text, room));
                Ok((text, true))
            }
        }
    }
}

enum Growth {
    Fits,
    /// Only this many more bytes fit before the cut.
    CutAt(usize),
    TooLarge,
}

/// The largest character boundary of `s` at or before `at`.
fn floor_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The answer a complete stream produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub text: String,
    pub finish_reason: FinishReason,
    pub usage: Option<Usage>,
}

/// Accumulates one streamed answer.
pub(crate) struct Assembler<'a> {
    text: String,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
    limits: AnswerLimits,
    /// Masked in the text of errors the stream reports.
    secrets: &'a Secrets,
}

impl<'a> Assembler<'a> {
    pub fn new(limits: AnswerLimits, secrets: &'a Secrets) -> Assembler<'a> {
        Assembler { text: String::new(), finish_reason: None, usage: None, limits, secrets }
    }

    /// Applies one event.
    pub fn push(&mut self, event: &Event<'_>) -> Result<Step<'_>, ApiError> {
        if event.kind == "error" {
            return Err(stream_error(event.data, self.secrets));
        }
        let data = event.data.trim();
        if data == "[DONE]" {
            return match self.finish_reason {
                Some(_) => Ok(Step::Done),
                None => Err(ApiError::Unfinished { saw_done: true }),
            };
        }
        let chunk: ChatChunk =
            serde_json::from_str(data).map_err(|_| malformed(data, self.secrets))?;
        if chunk.error.as_ref().is_some_and(|e| !e.is_null()) {
            return Err(stream_error(data, self.secrets));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        let start = self.text.len();
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
            let Some(content) = choice.delta.and_then(|d| d.content) else { continue };
            match self.limits.check(self.text.len(), content.len()) {
                Growth::Fits => self.text.push_str(&content),
                Growth::TooLarge => {
                    return Err(ApiError::TooLarge { limit: self.limits.max_bytes });
                }
                Growth::CutAt(room) => {
                    self.text.push_str(&content[..floor_boundary(&content, room)]);
                    self.finish_reason = Some(FinishReason::Length);
                    return Ok(Step::Cut(&self.text[start..]));
                }
            }
        }
        Ok(if self.text.len() > start { Step::Delta(&self.text[start..]) } else { Step::Nothing })
    }

    /// The answer, when the stream ended (by `[DONE]` or a clean end of body) after a
    /// finish_reason.
    pub fn finish(self) -> Result<Answer, ApiError> {
        match self.finish_reason {
            Some(finish_reason) => Ok(Answer { text: self.text, finish_reason, usage: self.usage }),
            None => Err(ApiError::Unfinished { saw_done: false }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NO_SECRETS: std::sync::LazyLock<Secrets> = std::sync::LazyLock::new(Secrets::default);

    impl Default for Assembler<'static> {
        fn default() -> Self {
            Assembler::new(AnswerLimits::new(1 << 20, None), &NO_SECRETS)
        }
    }

    fn data(s: &str) -> Event<'_> {
        Event { kind: "message", data: s }
    }

    /// Pushes an event whose data is the JSON of one content delta.
    fn push_delta<'a>(a: &'a mut Assembler<'_>, content: &str) -> Result<Step<'a>, ApiError> {
        let json =
            serde_json::json!({"choices":[{"index":0,"delta":{"content":content}}]}).to_string();
        a.push(&data(&json))
    }

    #[test]
    fn a_typical_openai_stream() {
        let mut a = Assembler::default();
        let role = data(r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#);
        assert_eq!(a.push(&role).unwrap(), Step::Nothing);
        assert_eq!(push_delta(&mut a, "Hel").unwrap(), Step::Delta("Hel"));
        assert_eq!(push_delta(&mut a, "lo").unwrap(), Step::Delta("lo"));
        let stop =
            data(r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#);
        assert_eq!(a.push(&stop).unwrap(), Step::Nothing);
        let usage = data(
            r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}"#,
        );
        assert_eq!(a.push(&usage).unwrap(), Step::Nothing);
        assert_eq!(a.push(&data("[DONE]")).unwrap(), Step::Done);
        let answer = a.finish().unwrap();
        assert_eq!(answer.text, "Hello");
        assert_eq!(answer.finish_reason, FinishReason::Stop);
        assert_eq!(
            answer.usage,
            Some(Usage { prompt_tokens: 7, completion_tokens: 2, cached_tokens: 0 })
        );
    }

    #[test]
    fn no_finish_reason_is_unfinished() {
        let mut a = Assembler::default();
        push_delta(&mut a, "partial").unwrap();
        assert!(matches!(a.push(&data("[DONE]")), Err(ApiError::Unfinished { saw_done: true })));
        let mut b = Assembler::default();
        push_delta(&mut b, "partial").unwrap();
        assert!(matches!(b.finish(), Err(ApiError::Unfinished { saw_done: false })));
    }

    #[test]
    fn length_is_a_complete_truncated_answer() {
        let mut a = Assembler::default();
        a.push(&data(
            r#"{"choices":[{"index":0,"delta":{"content":"cut"},"finish_reason":"length"}]}"#,
        ))
        .unwrap();
        assert_eq!(a.finish().unwrap().finish_reason, FinishReason::Length);
    }

    #[test]
    fn bad_chunks_and_errors() {
        let mut a = Assembler::default();
        assert!(matches!(a.push(&data("{not json")), Err(ApiError::Malformed { .. })));
        let err = a
            .push(&data(r#"{"error":{"message":"overloaded","type":"server_error"}}"#))
            .unwrap_err();
        assert!(err.to_string().contains("overloaded"));
        let event = Event { kind: "error", data: r#"{"message":"boom"}"# };
        assert!(a.push(&event).unwrap_err().to_string().contains("boom"));
    }

    #[test]
    fn an_answer_well_past_max_tokens_is_cut_and_truncated() {
        let limits = AnswerLimits::new(1 << 20, Some(10));
        assert_eq!(limits.cut_at, Some(10 * BYTES_PER_TOKEN + 1024));
        let mut a = Assembler::new(limits, &NO_SECRETS);
        let long = "é".repeat(700); // 1400 bytes: past the cut at 1104
        let Step::Cut(text) = push_delta(&mut a, &long).unwrap() else { panic!("not cut") };
        assert_eq!(text.len(), 1104);
        let answer = a.finish().unwrap();
        assert_eq!(answer.finish_reason, FinishReason::Length);
        assert!(answer.text.chars().all(|c| c == 'é'));
    }

    #[test]
    fn an_answer_past_the_ceiling_is_an_error() {
        let mut a = Assembler::new(AnswerLimits::new(100, None), &NO_SECRETS);
        assert_eq!(push_delta(&mut a, &"x".repeat(60)).unwrap(), Step::Delta(&"x".repeat(60)));
        let err = push_delta(&mut a, &"x".repeat(60)).unwrap_err();
        assert!(matches!(err, ApiError::TooLarge { limit: 100 }), "{err:?}");
        assert!(!err.is_retryable());
        // A cut beyond the ceiling never applies: the ceiling decides.
        assert_eq!(AnswerLimits::new(100, Some(1000)).cut_at, None);
    }

    #[test]
    fn whole_answers_are_held_to_the_same_limits() {
        let limits = AnswerLimits::new(4096, Some(1));
        let (text, cut) = limits.apply("y".repeat(2000)).unwrap();
        assert!(cut && text.len() == 1032);
        assert!(AnswerLimits::new(10, None).apply("y".repeat(11)).is_err());
        assert_eq!(
            AnswerLimits::new(10, None).apply("short".into()).unwrap(),
            ("short".into(), false)
        );
    }

    #[test]
    fn odd_usage_keeps_the_answer() {
        let mut a = Assembler::default();
        push_delta(&mut a, "kept").unwrap();
        a.push(&data(r#"{"choices":[{"index":null,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":-4,"completion_tokens":1.5}}"#)).unwrap();
        let answer = a.finish().unwrap();
        assert_eq!((answer.text.as_str(), answer.usage), ("kept", None));
    }

    #[test]
    fn other_choices_are_ignored() {
        let mut a = Assembler::default();
        let two = data(
            r#"{"choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]}"#,
        );
        assert_eq!(a.push(&two).unwrap(), Step::Delta("A"));
    }
}
