//! The JSON shapes of the chat-completions API, typed. Unknown fields are ignored, and
//! fields that servers disagree on (`code` as number or string, `error` as object or
//! string, `usage: null`) are optional.
//!
//! Only what an answer needs (its content and its finish_reason) can make a response
//! unreadable. Every optional field is read leniently: `usage` with `null`, negative, float
//! or absurd counts means "usage unknown", `index: null` is the first choice, `choices: null`
//! is no choices, and a field of an unexpected type is ignored rather than costing the answer.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::message::{FinishReason, Message, Usage};

/// The request body of `POST /chat/completions`.
#[derive(Serialize)]
pub(crate) struct WireRequest<'a> {
    pub model: &'a str,
    pub messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<&'a Value>,
}

#[derive(Serialize)]
pub(crate) struct StreamOptions {
    pub include_usage: bool,
}

/// One `data:` event of a streamed answer.
#[derive(Deserialize)]
pub(crate) struct ChatChunk {
    #[serde(default, deserialize_with = "null_is_default")]
    pub choices: Vec<ChunkChoice>,
    #[serde(default, deserialize_with = "lenient_usage")]
    pub usage: Option<Usage>,
    /// Any non-null `error` means the server reports a failure (its text is read from the
    /// raw event).
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct ChunkChoice {
    /// `null`, missing or not a number: the first choice.
    #[serde(default, deserialize_with = "lenient_index")]
    pub index: u64,
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default, deserialize_with = "lenient_reason")]
    pub finish_reason: Option<FinishReason>,
}

/// A streamed piece of the answer; the first one often carries only the role.
#[derive(Deserialize)]
pub(crate) struct Delta {
    #[serde(default)]
    pub content: Option<String>,
}

/// A whole (non-streamed) answer.
#[derive(Deserialize)]
pub(crate) struct ChatResponse {
    pub choices: Vec<ResponseChoice>,
    #[serde(default, deserialize_with = "lenient_usage")]
    pub usage: Option<Usage>,
}

#[derive(Deserialize)]
pub(crate) struct ResponseChoice {
    pub message: ResponseMessage,
    #[serde(default, deserialize_with = "lenient_reason")]
    pub finish_reason: Option<FinishReason>,
}

#[derive(Deserialize)]
pub(crate) struct ResponseMessage {
    #[serde(default)]
    pub content: Option<String>,
}

/// Token counts above this are not believed: no request has a trillion tokens, and sums of
/// such counts could overflow.
const MAX_BELIEVABLE_TOKENS: u64 = 1_000_000_000_000;

/// `usage`: known only when both counts are believable numbers (a whole float is accepted);
/// anything else (`null`, a string, a negative or absurd count, a missing field) is unknown.
fn lenient_usage<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Usage>, D::Error> {
    let value = Value::deserialize(d)?;
    let count = |name: &str| -> Option<u64> {
        let n = value.get(name)?;
        let n = n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= MAX_BELIEVABLE_TOKENS as f64)
                .then_some(f as u64)
        })?;
        (n <= MAX_BELIEVABLE_TOKENS).then_some(n)
    };
    Ok(match (count("prompt_tokens"), count("completion_tokens")) {
        (Some(prompt_tokens), Some(completion_tokens)) => {
            // OpenAI's (and vLLM's) prompt-cache report; absent, `null` or odd elsewhere.
            let cached = value
                .get("prompt_tokens_details")
                .and_then(|d| d.get("cached_tokens"))
                .and_then(Value::as_u64)
                .filter(|n| *n <= prompt_tokens)
                .unwrap_or(0);
            Some(Usage { prompt_tokens, completion_tokens, cached_tokens: cached })
        }
        _ => None,
    })
}

/// A choice's `index`: a non-negative integer, or 0 for anything else.
fn lenient_index<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Value::deserialize(d)?.as_u64().unwrap_or(0))
}

/// `finish_reason`: a string; `null` (or an empty string) is none; any other value is a
/// reason of its own, kept as its JSON text.
fn lenient_reason<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FinishReason>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(FinishReason::from_server(&s)),
        other => Some(FinishReason::from_server(&other.to_string())),
    })
}

/// A list that a server may send as `null`.
fn null_is_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An error body: OpenAI's `{"error":{...}}`, Ollama's `{"error":"..."}`, or FastAPI-style
/// `{"detail":"..."}` / `{"message":"..."}`.
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: Option<ErrorField>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub detail: Option<Detail>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ErrorField {
    Object(WireError),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Detail {
    Text(String),
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize, Default)]
pub(crate) struct WireError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<Code>,
    /// llama.cpp's context-size error carries the counts as fields.
    #[serde(default)]
    pub n_prompt_tokens: Option<u64>,
    #[serde(default)]
    pub n_ctx: Option<u64>,
}

/// `code` is a string at OpenAI and a number (the HTTP status) at some other servers.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Code {
    Text(String),
    Other(serde::de::IgnoredAny),
}

impl Code {
    pub fn is(&self, name: &str) -> bool {
        matches!(self, Code::Text(t) if t == name)
    }
}

impl ErrorBody {
    /// The error object, normalised so that a plain-string error is its message.
    pub fn into_error(self) -> Option<WireError> {
        match self.error {
            Some(ErrorField::Object(e)) => Some(e),
            Some(ErrorField::Text(message)) => {
                Some(WireError { message: Some(message), ..WireError::default() })
            }
            None => {
                let message = self.message.or(match self.detail {
                    Some(Detail::Text(t)) => Some(t),
                    _ => None,
                })?;
                Some(WireError { message: Some(message), ..WireError::default() })
            }
        }
    }
}

impl WireError {
    /// True when `type` or `code` names `name` (servers use either).
    pub fn names(&self, name: &str) -> bool {
        self.kind.as_deref() == Some(name) || self.code.as_ref().is_some_and(|c| c.is(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_with_role_only_and_null_content() {
        let c: ChatChunk = serde_json::from_str(
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}],"usage":null}"#,
        )
        .unwrap();
        assert!(c.choices[0].delta.as_ref().unwrap().content.is_none());
        assert!(c.usage.is_none());
    }

    fn chunk(json: &str) -> ChatChunk {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn odd_optional_fields_never_cost_the_chunk() {
        let odd_usages = [
            r#"null"#,
            r#"{"prompt_tokens":null,"completion_tokens":3}"#,
            r#"{"prompt_tokens":1.5,"completion_tokens":3}"#,
            r#"{"prompt_tokens":-1,"completion_tokens":3}"#,
            r#"{"prompt_tokens":1e30,"completion_tokens":3}"#,
            r#"{"prompt_tokens":18446744073709551616,"completion_tokens":3}"#,
            r#"{"prompt_tokens":"7","completion_tokens":3}"#,
            r#"{"completion_tokens":3}"#,
            r#""lots""#,
            r#"[1,2]"#,
        ];
        for usage in odd_usages {
            let c = chunk(&format!(
                r#"{{"choices":[{{"index":0,"delta":{{"content":"a"}},"finish_reason":"stop"}}],"usage":{usage},"extra":{{"x":[1]}}}}"#
            ));
            assert!(c.usage.is_none(), "{usage}");
            assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Stop), "{usage}");
        }
        let whole = chunk(r#"{"choices":[],"usage":{"prompt_tokens":7.0,"completion_tokens":2}}"#);
        assert_eq!(
            whole.usage,
            Some(Usage { prompt_tokens: 7, completion_tokens: 2, cached_tokens: 0 })
        );

        let c =
            chunk(r#"{"choices":[{"index":null,"delta":{"content":"x"},"finish_reason":null}]}"#);
        assert_eq!(c.choices[0].index, 0);
        assert!(c.choices[0].finish_reason.is_none());
        let c = chunk(r#"{"choices":null,"error":null}"#);
        assert!(c.choices.is_empty() && c.error.is_none());
        let c = chunk(r#"{"choices":[{"index":-3,"delta":null,"finish_reason":7}]}"#);
        assert_eq!(
            (c.choices[0].index, c.choices[0].finish_reason.clone()),
            (0, Some(FinishReason::Other("7".into())))
        );
    }

    #[test]
    fn cached_prompt_tokens_reach_usage_when_reported() {
        let usage = |usage: &str| {
            chunk(&format!(r#"{{"choices":[],"usage":{usage}}}"#)).usage.unwrap().cached_tokens
        };
        let details = r#"{"prompt_tokens":1200,"completion_tokens":5,"prompt_tokens_details":"#;
        assert_eq!(usage(&format!(r#"{details}{{"cached_tokens":1024}}}}"#)), 1024);
        assert_eq!(usage(r#"{"prompt_tokens":1,"completion_tokens":1}"#), 0);
        assert_eq!(usage(&format!("{details}null}}")), 0);
        assert_eq!(usage(&format!(r#"{details}{{"cached_tokens":"x"}}}}"#)), 0);
    }

    #[test]
    fn error_shapes() {
        let numeric: ErrorBody =
            serde_json::from_str(r#"{"error":{"code":400,"message":"m"}}"#).unwrap();
        assert_eq!(numeric.into_error().unwrap().message.as_deref(), Some("m"));
        let text: ErrorBody = serde_json::from_str(r#"{"error":"model 'x' not found"}"#).unwrap();
        assert_eq!(text.into_error().unwrap().message.as_deref(), Some("model 'x' not found"));
        let detail: ErrorBody =
            serde_json::from_str(r#"{"detail":[{"loc":["body"],"msg":"bad"}]}"#).unwrap();
        assert!(detail.into_error().is_none());
        let quota: ErrorBody = serde_json::from_str(
            r#"{"error":{"type":"insufficient_quota","code":"insufficient_quota"}}"#,
        )
        .unwrap();
        assert!(quota.into_error().unwrap().names("insufficient_quota"));
    }
}
