//! A typed, streaming client for OpenAI-compatible `POST /chat/completions`, with timeouts
//! and retries. It prints nothing: answer text and retries are reported through a callback.

mod backend;
mod classify;
mod error;
mod exchange;
pub mod limiter;
mod paced;
mod retry;
mod sse;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::message::{FinishReason, Message, Usage};
use crate::secret::{ApiKey, KeySource};

pub use backend::ChatBackend;
pub use error::ApiError;
pub use limiter::AdaptiveLimiter;
pub use paced::send;
pub use retry::RetryPolicy;

/// Where and how to reach the server.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Up to and including the API version, e.g. `https://api.openai.com/v1`; a trailing
    /// slash is fine.
    pub base_url: String,
    pub api_key: Option<ApiKey>,
    /// Where `api_key` came from, named in authentication errors.
    pub key_source: KeySource,
    /// Extra headers sent with every request (e.g. for gateways). Treated as sensitive.
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// The longest wait for the response headers and for each next piece of the body.
    pub idle_timeout: Duration,
    /// Stream the answer (SSE); `false` asks for one whole JSON response.
    pub stream: bool,
    /// Ask for a final usage chunk (`stream_options.include_usage`) when streaming.
    pub include_usage: bool,
}

impl Endpoint {
    /// An endpoint without a key, streaming with usage, connect timeout 10 s, idle timeout 60 s.
    pub fn new(base_url: impl Into<String>) -> Endpoint {
        Endpoint {
            base_url: base_url.into(),
            api_key: None,
            key_source: KeySource::None,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            stream: true,
            include_usage: true,
        }
    }
}

/// One chat-completions request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// The caller's local count of the prompt's tokens; not sent, only quoted in a
    /// context-length error.
    pub prompt_tokens: Option<u64>,
    /// Return a rate-limit answer (429) at once instead of retrying it: for a caller that
    /// paces many requests together (a batch's adaptive limiter) and retries them itself.
    pub rate_limits_to_caller: bool,
}

/// A complete answer (possibly truncated by the server: see `finish_reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub finish_reason: FinishReason,
    /// As reported by the server; `None` when it reported nothing.
    pub usage: Option<Usage>,
    /// How many attempts it took (1 = no retry).
    pub attempts: u32,
    /// The endpoint's `x-ratelimit-*-requests` headers on the answer, when it sent them (for
    /// a batch's pacing).
    pub rate_limits: Option<limiter::RateLimits>,
}

/// What the client reports while it works.
#[derive(Clone, Debug)]
pub enum ClientEvent<'a> {
    /// More answer text. Without streaming, the whole text arrives as one delta.
    Delta(&'a str),
    /// A failed attempt will be retried after `wait`; `attempt` is the number of the attempt
    /// about to be made (2 for the first retry). A caller running many requests can slow down
    /// as a whole when `error` is a rate limit ([`ApiError::is_rate_limit`]).
    Retrying { attempt: u32, max_attempts: u32, wait: Duration, error: &'a ApiError },
    /// The failed attempt had already sent deltas: discard the partial text, the next
    /// attempt starts the answer again. Sent just before `Retrying` or `RateLimited`.
    Restart,
    /// Under a batch's limiter ([`send`]): the endpoint rate-limited the request, and it is
    /// sent again once the limiter lets it, at least `wait` from now.
    RateLimited { wait: Duration, error: &'a ApiError },
}

/// A chat-completions client for one endpoint.
pub struct ChatClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    url: String,
    retry: RetryPolicy,
    /// Set once the server rejected `stream_options`; it is not sent again.
    no_stream_options: AtomicBool,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient").field("url", &self.url).finish_non_exhaustive()
    }
}

impl ChatClient {
    /// Checks the endpoint's headers and builds the HTTP client; nothing is sent yet.
    pub fn new(endpoint: Endpoint, retry: RetryPolicy) -> Result<ChatClient, ApiError> {
        let url = format!("{}/chat/completions", endpoint.base_url.trim_end_matches('/'));
        reqwest::Url::parse(&url).map_err(|e| {
            ApiError::InvalidEndpoint(format!(
                "base URL `{}` is not a valid URL ({e}); use e.g. http://localhost:8080/v1",
                endpoint.base_url
            ))
        })?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(endpoint.connect_timeout)
            .default_headers(default_headers(&endpoint)?);
        if url.starts_with("http://") {
            // A plain-HTTP endpoint (a local server) needs no certificates: loading the
            // system's root store would only slow down every start.
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let http = builder.build().map_err(|e| {
            ApiError::InvalidEndpoint(format!("could not set up the HTTP client: {e}"))
        })?;
        Ok(ChatClient { http, endpoint, url, retry, no_stream_options: AtomicBool::new(false) })
    }

    /// The full URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `req`, retrying as the policy allows, and returns the complete answer.
    ///
    /// Cancel-safe: dropping the future aborts the request and any backoff wait.
    pub async fn complete(
        &self,
        req: &ChatRequest,
        on_event: &mut (dyn FnMut(ClientEvent<'_>) + Send),
    ) -> Result<Completion, ApiError> {
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let mut emitted = false;
            let mut track = |event: ClientEvent<'_>| {
                emitted = true;
                on_event(event);
            };
            let error = match self.attempt(req, &mut track).await {
                Ok((answer, rate_limits)) => {
                    return Ok(Completion {
                        text: answer.text,
                        finish_reason: answer.finish_reason,
                        usage: answer.usage,
                        attempts: attempt,
                        rate_limits,
                    });
                }
                Err(exchange::Failure::StreamOptionsRejected) => {
                    // Not the server failing: ask again at once, without the option.
                    self.no_stream_options.store(true, Ordering::Relaxed);
                    continue;
                }
                Err(exchange::Failure::Api(error)) => error,
            };
            let rate_limited = matches!(error, ApiError::RateLimited { .. });
            if !error.is_retryable() || (rate_limited && req.rate_limits_to_caller) {
                return Err(error);
            }
            if attempt >= max_attempts {
                return Err(if attempt > 1 {
                    ApiError::RetriesExhausted { attempts: attempt, last: Box::new(error) }
                } else {
                    error
                });
            }
            let wait = error.retry_after().unwrap_or_else(|| self.retry.backoff(attempt));
            if emitted {
                on_event(ClientEvent::Restart);
            }
            attempt += 1;
            on_event(ClientEvent::Retrying { attempt, max_attempts, wait, error: &error });
            tokio::time::sleep(wait).await;
        }
    }
}

/// `Authorization` and the extra headers, all marked sensitive so that they are never shown.
fn default_headers(endpoint: &Endpoint) -> Result<HeaderMap, ApiError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = &endpoint.api_key {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                ApiError::InvalidEndpoint(format!(
                    "the API key from {} contains characters that cannot be sent in an HTTP header",
                    endpoint.key_source
                ))
            })?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    for (name, value) in &endpoint.headers {
        let invalid = || {
            ApiError::InvalidEndpoint(format!(
                "extra header `{name}` is not a valid HTTP header name and value"
            ))
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}
