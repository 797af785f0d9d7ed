//! What can go wrong talking to an endpoint.
//!
//! Every message is one line that says what happened and what to do. No variant holds the
//! API key or a header map; server-supplied text is scrubbed of the key before it gets here.

use std::time::Duration;

use humantime::format_duration;

use crate::secret::KeySource;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid endpoint setting: {0}")]
    InvalidEndpoint(String),

    #[error("{url} rejected the API key (HTTP {status}): {message}; {}", auth_hint(key_source))]
    Auth { status: u16, url: String, key_source: KeySource, message: String },

    #[error(
        "{url} answered 404 Not Found for model `{model}`: {message}; check the base URL (it often \
         needs to end in /v1) and the model name"
    )]
    NotFound { url: String, model: String, message: String },

    #[error(
        "could not connect to {base_url} ({detail}); is the server running and is the base URL right?"
    )]
    Connect { base_url: String, detail: String },

    #[error(
        "the server did not start answering within {} (the idle timeout); it may be overloaded, \
         or raise the idle timeout",
        format_duration(*after)
    )]
    NoResponse { after: Duration },

    #[error(
        "the answer stream stalled: nothing arrived for {} (the idle timeout); the server may be \
         overloaded, or raise the idle timeout",
        format_duration(*after)
    )]
    Stalled { after: Duration },

    #[error("{}", context_message(*sent, *server_count, *limit, message))]
    ContextLength {
        sent: Option<u64>,
        server_count: Option<u64>,
        limit: Option<u64>,
        message: String,
    },

    #[error(
        "the server answered HTTP {status} with {body} where JSON was expected; check that the base \
         URL points at an OpenAI-compatible API (it often needs to end in /v1)"
    )]
    NotJson { status: u16, body: String },

    #[error(
        "the account's quota or billing is exhausted (HTTP {status}): {message}; add credit or raise \
         the limit of this account, or use another key"
    )]
    Quota { status: u16, message: String },

    #[error(
        "the endpoint is rate-limiting requests (HTTP 429): {message}; wait, or lower the concurrency"
    )]
    RateLimited { message: String, retry_after: Option<Duration> },

    #[error(
        "the server failed with HTTP {status} {}: {message}; this is usually temporary, try again \
         later",
        reason_phrase(*status)
    )]
    Server { status: u16, message: String, retry_after: Option<Duration> },

    #[error(
        "the endpoint refused the request (HTTP {status}): {message}; check the model name and the \
         request options (temperature, max tokens)"
    )]
    BadRequest { status: u16, message: String },

    #[error(
        "the request failed before an answer arrived ({detail}); check the network and the base URL"
    )]
    Transport { detail: String },

    #[error("the answer stream broke off before it was complete ({detail}); try again")]
    Broken { detail: String },

    #[error(
        "the server sent a stream chunk that is not chat-completions JSON: `{snippet}`; try again, \
         or use --no-stream"
    )]
    Malformed { snippet: String },

    #[error(
        "the answer stream ended without a finish_reason{}, so the answer may be cut off; try again",
        if *saw_done { " (it sent [DONE] too early)" } else { "" }
    )]
    Unfinished { saw_done: bool },

    #[error("the server reported an error while answering: {message}")]
    Reported { message: String },

    /// The in-process model failed (`crate::local`); the message says what to do.
    #[error("{message}")]
    Local { message: String },

    #[error("{last} (gave up after {attempts} attempts)")]
    RetriesExhausted { attempts: u32, last: Box<ApiError> },
}

impl ApiError {
    /// True when trying the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::Connect { .. }
                | ApiError::NoResponse { .. }
                | ApiError::Stalled { .. }
                | ApiError::RateLimited { .. }
                | ApiError::Server { .. }
                | ApiError::Transport { .. }
                | ApiError::Broken { .. }
                | ApiError::Malformed { .. }
                | ApiError::Unfinished { .. }
                | ApiError::Reported { .. }
        )
    }

    /// True when every other request to this endpoint would fail the same way (bad key, wrong
    /// URL or model, no quota, a request option the server refuses), so a batch can stop
    /// launching new work.
    pub fn is_fatal_for_endpoint(&self) -> bool {
        matches!(
            self,
            ApiError::InvalidEndpoint(_)
                | ApiError::Auth { .. }
                | ApiError::NotFound { .. }
                | ApiError::Quota { .. }
                | ApiError::BadRequest { .. }
                | ApiError::NotJson { .. }
                | ApiError::Local { .. }
        )
    }

    /// The wait the server asked for, if any.
    /// True for HTTP 429: the endpoint asks for fewer requests.
    pub fn is_rate_limit(&self) -> bool {
        matches!(self, ApiError::RateLimited { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. } | ApiError::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The same error with every occurrence of `secret` in its texts replaced, in case a server
    /// or a proxy echoed the key back.
    pub(crate) fn redact(mut self, secret: &str) -> ApiError {
        if !secret.is_empty() {
            for text in self.texts_mut() {
                if text.contains(secret) {
                    *text = text.replace(secret, "<redacted>");
                }
            }
        }
        self
    }

    fn texts_mut(&mut self) -> Vec<&mut String> {
        match self {
            ApiError::Auth { url, message, key_source, .. } => match key_source {
                KeySource::Env(s) | KeySource::Command(s) => vec![url, message, s],
                KeySource::None => vec![url, message],
            },
            ApiError::NotFound { url, model, message } => vec![url, model, message],
            ApiError::Connect { base_url, detail } => vec![base_url, detail],
            ApiError::InvalidEndpoint(message)
            | ApiError::ContextLength { message, .. }
            | ApiError::Quota { message, .. }
            | ApiError::RateLimited { message, .. }
            | ApiError::Server { message, .. }
            | ApiError::BadRequest { message, .. }
            | ApiError::Reported { message }
            | ApiError::Local { message } => vec![message],
            ApiError::NotJson { body: text, .. }
            | ApiError::Transport { detail: text }
            | ApiError::Broken { detail: text }
            | ApiError::Malformed { snippet: text } => vec![text],
            ApiError::NoResponse { .. }
            | ApiError::Stalled { .. }
            | ApiError::Unfinished { .. } => vec![],
            ApiError::RetriesExhausted { last, .. } => last.texts_mut(),
        }
    }

    /// A few words on why an attempt failed, for a "retrying" notice.
    pub fn reason(&self) -> String {
        match self {
            ApiError::RateLimited { message, .. } => {
                with_message("HTTP 429 Too Many Requests".to_string(), message)
            }
            ApiError::Server { status, message, .. } => {
                with_message(format!("HTTP {status} {}", reason_phrase(*status)), message)
            }
            ApiError::Connect { detail, .. } => format!("connection failed: {detail}"),
            ApiError::NoResponse { after } => {
                format!("no response for {}", format_duration(*after))
            }
            ApiError::Stalled { after } => {
                format!("stream stalled for {}", format_duration(*after))
            }
            ApiError::Broken { .. } => "stream broke off".to_string(),
            ApiError::Malformed { .. } => "malformed stream chunk".to_string(),
            ApiError::Unfinished { .. } => "stream ended without finish_reason".to_string(),
            ApiError::Reported { message } => format!("server error: {message}"),
            ApiError::Transport { detail } => format!("request failed: {detail}"),
            other => one_line(&other.to_string()),
        }
    }
}

/// `head: message`, with the server's message cut to one short line (it can be a whole page).
fn with_message(head: String, message: &str) -> String {
    let line = one_line(message);
    if line.is_empty() {
        return head;
    }
    format!("{head}: {}", truncate(&line, 100))
}

fn auth_hint(source: &KeySource) -> String {
    match source {
        KeySource::None => {
            "no API key is configured: set OPENAI_API_KEY or the profile's key source".to_string()
        }
        other => format!(
            "the key comes from {other}: check that it is current and valid for this endpoint"
        ),
    }
}

fn context_message(
    sent: Option<u64>,
    server_count: Option<u64>,
    limit: Option<u64>,
    message: &str,
) -> String {
    let sent = match (sent, server_count) {
        (Some(s), Some(n)) => {
            format!("{s} tokens were sent (counted locally; the server counted {n})")
        }
        (Some(s), None) => format!("{s} tokens were sent (counted locally)"),
        (None, Some(n)) => format!("the server counted {n} tokens"),
        (None, None) => "the request is too long".to_string(),
    };
    let limit = match limit {
        Some(l) => format!("the model's limit is {l} tokens"),
        None => "the server did not state its limit".to_string(),
    };
    format!(
        "the conversation does not fit the model's context: {sent}, {limit}; shorten the conversation, \
         lower the max tokens or set the profile's context window (server said: {message})"
    )
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

/// Newlines and runs of whitespace collapsed to single spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, with `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_reaches_every_text() {
        let err = ApiError::RetriesExhausted {
            attempts: 3,
            last: Box::new(ApiError::Server {
                status: 500,
                message: "bad key sk-abc echoed".into(),
                retry_after: None,
            }),
        };
        let shown = err.redact("sk-abc").to_string();
        assert!(!shown.contains("sk-abc") && shown.contains("<redacted>"), "{shown}");
    }
}
