//! The JSON shapes of the chat-completions API, typed. Unknown fields are ignored, and
//! fields that servers disagree on (`code` as number or string, `error` as object or
//! string, `usage: null`) are optional.

use serde::{Deserialize, Serialize};

use crate::message::{Message, Usage};

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
}

#[derive(Serialize)]
pub(crate) struct StreamOptions {
    pub include_usage: bool,
}

/// One `data:` event of a streamed answer.
#[derive(Deserialize)]
pub(crate) struct ChatChunk {
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default)]
    pub error: Option<ErrorField>,
}

#[derive(Deserialize)]
pub(crate) struct ChunkChoice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
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
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(crate) struct ResponseChoice {
    pub message: ResponseMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ResponseMessage {
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    /// OpenAI's (and vLLM's) prompt-cache report; absent or `null` elsewhere.
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Deserialize)]
pub(crate) struct PromptTokensDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cached_tokens: u.prompt_tokens_details.and_then(|d| d.cached_tokens).unwrap_or(0),
        }
    }
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

    #[test]
    fn cached_prompt_tokens_reach_usage_when_reported() {
        let usage = |json: &str| Usage::from(serde_json::from_str::<WireUsage>(json).unwrap());
        let cached = usage(
            r#"{"prompt_tokens":1200,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":1024}}"#,
        );
        assert_eq!(cached.cached_tokens, 1024);
        assert_eq!(usage(r#"{"prompt_tokens":1,"completion_tokens":1}"#).cached_tokens, 0);
        let null = r#"{"prompt_tokens":1,"completion_tokens":1,"prompt_tokens_details":null}"#;
        assert_eq!(usage(null).cached_tokens, 0);
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
