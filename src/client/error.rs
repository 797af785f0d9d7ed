//! What can go wrong talking to an endpoint.
//!
//! Every message is one line that says what happened and what to do. No variant holds the
//! API key or a header map; server-supplied text passes through [`server_text`] (secrets
//! masked, control characters made visible, then cut) before it gets here, and URLs are
//! shown with their credentials redacted.

use std::time::Duration;

use humantime::format_duration;

use crate::render::sanitize::visible;
use crate::secret::{KeySource, Secrets};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid endpoint setting: {0}")]
    InvalidEndpoint(String),

    #[error("{}", auth_message(*status, url, key_source, *key_sent, profile, message))]
    Auth {
        status: u16,
        url: String,
        key_source: KeySource,
        /// False when the request carried no key at all.
        key_sent: bool,
        /// The profile whose key settings to fix.
        profile: String,
        message: String,
    },

    #[error(
        "{url} answered HTTP {status} with a redirect to another server ({location}); deepdive \
         does not follow it, so neither the request nor its key goes there: if that server is \
         the right one, set it as the base URL"
    )]
    Redirected { status: u16, url: String, location: String },

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

    #[error(
        "the answer passed {} (limits.max_answer_mb), so deepdive stopped reading it; the server \
         may be stuck repeating itself: set max_tokens, or raise limits.max_answer_mb",
        megabytes(*limit)
    )]
    TooLarge { limit: usize },

    #[error(
        "the server sent one stream line of more than {} without ending it, which no \
         chat-completions stream does, so deepdive stopped reading; try --no-stream",
        megabytes(*limit)
    )]
    LongLine { limit: usize },

    #[error(
        "the answer took longer than {} (the request deadline, timeouts.request_secs) and was \
         stopped; raise the deadline for very long answers",
        format_duration(*after)
    )]
    Deadline { after: Duration },

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
                | ApiError::Redirected { .. }
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

    /// The same error with every secret in its texts masked. Server text is masked before it
    /// is cut (see [`server_text`]); this second pass covers every other text (URLs, details
    /// from the HTTP stack).
    pub(crate) fn mask(mut self, secrets: &Secrets) -> ApiError {
        for text in self.texts_mut() {
            *text = secrets.mask(text);
        }
        self
    }

    fn texts_mut(&mut self) -> Vec<&mut String> {
        match self {
            ApiError::Auth { url, message, .. } => vec![url, message],
            ApiError::Redirected { url, location, .. } => vec![url, location],
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
            | ApiError::Unfinished { .. }
            | ApiError::TooLarge { .. }
            | ApiError::LongLine { .. }
            | ApiError::Deadline { .. } => vec![],
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

fn auth_message(
    status: u16,
    url: &str,
    source: &KeySource,
    key_sent: bool,
    profile: &str,
    message: &str,
) -> String {
    if key_sent {
        return format!(
            "{url} rejected the API key (HTTP {status}): {message}; the key comes from {source}: \
             check that it is current and valid for this endpoint"
        );
    }
    let how = match source {
        KeySource::None => format!(
            "profile `{profile}` is set to send none (api_key_env = \"\"); name the key with \
             api_key_env or api_key_cmd in [profiles.{profile}]"
        ),
        KeySource::Env(var) => format!(
            "{var} is not set; export {var}, or name the key with api_key_env or api_key_cmd in \
             [profiles.{profile}]"
        ),
        KeySource::Command(_) => {
            format!("name the key with api_key_env or api_key_cmd in [profiles.{profile}]")
        }
    };
    format!("{url} answered HTTP {status} ({message}): no API key was sent; {how}")
}

/// A byte count in whole megabytes when it is one ("8 MB"), else in bytes.
fn megabytes(bytes: usize) -> String {
    const MB: usize = 1024 * 1024;
    if bytes >= MB && bytes % MB == 0 {
        format!("{} MB", bytes / MB)
    } else {
        format!("{bytes} bytes")
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

/// Server text as deepdive shows and stores it: secrets masked (on the whole text, so a key
/// that crosses the cut is still found), control characters made visible, whitespace
/// collapsed to single spaces, then cut to `max` characters.
pub(crate) fn server_text(text: &str, secrets: &Secrets, max: usize) -> String {
    truncate(&one_line(&visible(&secrets.mask(text))), max)
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

    use crate::secret::ApiKey;

    #[test]
    fn masking_reaches_every_text() {
        let err = ApiError::RetriesExhausted {
            attempts: 3,
            last: Box::new(ApiError::Server {
                status: 500,
                message: "bad key sk-abcdef echoed".into(),
                retry_after: None,
            }),
        };
        let secrets = Secrets::new(ApiKey::new("sk-abcdef").as_ref(), &[], "");
        let shown = err.mask(&secrets).to_string();
        assert!(!shown.contains("sk-abcdef") && shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn server_text_masks_before_it_cuts() {
        let key = "sk-straddle-0123456789";
        let secrets = Secrets::new(ApiKey::new(key).as_ref(), &[], "");
        // The key starts 10 characters before the cut and ends after it.
        let text = format!("{}{key} and more", "x".repeat(70));
        let shown = server_text(&text, &secrets, 80);
        assert!(!shown.contains("sk-straddle"), "{shown}");
        assert!(shown.starts_with(&"x".repeat(70)) && shown.ends_with('…'), "{shown}");
        assert_eq!(server_text("a\x1b]0;t\x07\n b", &Secrets::default(), 80), "a^[]0;t^G b");
    }

    #[test]
    fn a_401_without_a_key_says_none_was_sent_and_how_to_set_one() {
        let err = ApiError::Auth {
            status: 401,
            url: "http://h/v1/chat/completions".into(),
            key_source: KeySource::Env("OPENAI_API_KEY".into()),
            key_sent: false,
            profile: "default".into(),
            message: "Unauthorized".into(),
        };
        let shown = err.to_string();
        assert!(shown.contains("no API key was sent"), "{shown}");
        assert!(shown.contains("export OPENAI_API_KEY") && shown.contains("[profiles.default]"));
    }
}
