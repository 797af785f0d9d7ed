//! Turns server-sent events into an answer, deciding when a stream counts as complete.
//!
//! A stream is complete only when it carried a `finish_reason` and then either `[DONE]` or a
//! clean end of body. Everything else (no finish_reason, a chunk that is not JSON, an error
//! event) is an error. Each event costs work proportional to its own size: the delta is
//! appended and handed out, the answer so far is never re-scanned.

use eventsource_stream::Event;

use crate::message::{FinishReason, Usage};

use super::classify::stream_error;
use super::error::{ApiError, truncate};
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
}

/// The answer a complete stream produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub text: String,
    pub finish_reason: FinishReason,
    pub usage: Option<Usage>,
}

/// Accumulates one streamed answer.
#[derive(Default)]
pub(crate) struct Assembler {
    text: String,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
}

impl Assembler {
    /// Applies one event.
    pub fn push(&mut self, event: &Event) -> Result<Step<'_>, ApiError> {
        if event.event == "error" {
            return Err(stream_error(&event.data));
        }
        let data = event.data.trim();
        if data == "[DONE]" {
            return match self.finish_reason {
                Some(_) => Ok(Step::Done),
                None => Err(ApiError::Unfinished { saw_done: true }),
            };
        }
        let chunk: ChatChunk = serde_json::from_str(data)
            .map_err(|_| ApiError::Malformed { snippet: truncate(data, 80) })?;
        if chunk.error.is_some() {
            return Err(stream_error(data));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        let start = self.text.len();
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(content) = choice.delta.and_then(|d| d.content) {
                self.text.push_str(&content);
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish_reason = Some(FinishReason::from_server(&reason));
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

    fn data(s: &str) -> Event {
        Event { event: "message".into(), data: s.into(), ..Event::default() }
    }

    fn delta(content: &str) -> Event {
        data(&serde_json::json!({"choices":[{"index":0,"delta":{"content":content}}]}).to_string())
    }

    #[test]
    fn a_typical_openai_stream() {
        let mut a = Assembler::default();
        let role = data(r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#);
        assert_eq!(a.push(&role).unwrap(), Step::Nothing);
        assert_eq!(a.push(&delta("Hel")).unwrap(), Step::Delta("Hel"));
        assert_eq!(a.push(&delta("lo")).unwrap(), Step::Delta("lo"));
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
        a.push(&delta("partial")).unwrap();
        assert!(matches!(a.push(&data("[DONE]")), Err(ApiError::Unfinished { saw_done: true })));
        let mut b = Assembler::default();
        b.push(&delta("partial")).unwrap();
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
        let event = Event {
            event: "error".into(),
            data: r#"{"message":"boom"}"#.into(),
            ..Event::default()
        };
        assert!(a.push(&event).unwrap_err().to_string().contains("boom"));
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
