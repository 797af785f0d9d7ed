//! A typed, streaming client for OpenAI-compatible `POST /chat/completions`, with timeouts
//! and retries. It prints nothing: answer text and retries are reported through a callback.

mod backend;
mod classify;
mod error;
mod event_stream;
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
use crate::secret::{ApiKey, KeySource, Secrets, redact_url};

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
    /// The profile these settings come from, named in authentication errors.
    pub profile: String,
    /// Extra headers sent with every request (e.g. for gateways). Treated as sensitive:
    /// the values of secret ones are masked in everything the server says.
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// The longest wait for the response headers and for each next piece of the body (any
    /// bytes count, SSE comments such as `: ping` included).
    pub idle_timeout: Duration,
    /// The longest one attempt may take from sending to the last byte of the answer.
    pub request_timeout: Duration,
    /// The most answer text one response may bring, streamed or not.
    pub max_answer_bytes: usize,
    /// Stream the answer (SSE); `false` asks for one whole JSON response.
    pub stream: bool,
    /// Ask for a final usage chunk (`stream_options.include_usage`) when streaming.
    pub include_usage: bool,
}

impl Endpoint {
    /// An endpoint without a key (profile `default`), streaming with usage, connect timeout
    /// 10 s, idle timeout 60 s, request deadline 30 min, answers up to 8 MiB.
    pub fn new(base_url: impl Into<String>) -> Endpoint {
        Endpoint {
            base_url: base_url.into(),
            api_key: None,
            key_source: KeySource::None,
            profile: "default".to_string(),
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30 * 60),
            max_answer_bytes: 8 * 1024 * 1024,
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
    /// Sent as `response_format` (structured output, e.g. a JSON schema) unless the server
    /// rejected it before: a 400 that names `response_format` is asked again without it, once
    /// for the client's lifetime, as `stream_options` is. The local backend ignores it.
    pub response_format: Option<serde_json::Value>,
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
    /// Where requests go, credentials included.
    request_url: String,
    /// `request_url` with its credentials redacted: what errors and status lines show.
    shown_url: String,
    /// The key, secret header values and URL credentials, masked in all server text.
    secrets: Secrets,
    retry: RetryPolicy,
    /// Set once the server rejected `stream_options`; it is not sent again.
    no_stream_options: AtomicBool,
    /// Set once the server rejected `response_format`; it is not sent again.
    no_response_format: AtomicBool,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient").field("url", &self.shown_url).finish_non_exhaustive()
    }
}

impl ChatClient {
    /// Checks the endpoint's headers and builds the HTTP client; nothing is sent yet.
    pub fn new(endpoint: Endpoint, retry: RetryPolicy) -> Result<ChatClient, ApiError> {
        let parsed = chat_completions_url(&endpoint.base_url)?;
        let request_url = parsed.to_string();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(endpoint.connect_timeout)
            .redirect(same_origin_redirects(&parsed))
            .default_headers(default_headers(&endpoint)?);
        if request_url.starts_with("http://") {
            // A plain-HTTP endpoint (a local server) needs no certificates: loading the
            // system's root store would only slow down every start.
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let http = builder.build().map_err(|e| {
            ApiError::InvalidEndpoint(format!("could not set up the HTTP client: {e}"))
        })?;
        let secrets =
            Secrets::new(endpoint.api_key.as_ref(), &endpoint.headers, &endpoint.base_url);
        Ok(ChatClient {
            http,
            shown_url: redact_url(&request_url),
            secrets,
            endpoint,
            request_url,
            retry,
            no_stream_options: AtomicBool::new(false),
            no_response_format: AtomicBool::new(false),
        })
    }

    /// The full URL requests go to, as it may be shown: credentials in it are redacted.
    pub fn url(&self) -> &str {
        &self.shown_url
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
                Err(exchange::Failure::ResponseFormatRejected) => {
                    self.no_response_format.store(true, Ordering::Relaxed);
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

/// `<base URL>/chat/completions`; a query in the base URL (`?api-version=…`, as some
/// gateways want) stays a query.
fn chat_completions_url(base_url: &str) -> Result<reqwest::Url, ApiError> {
    let invalid = |why: &str| {
        ApiError::InvalidEndpoint(format!(
            "base URL `{}` is not a valid URL ({why}); use e.g. http://localhost:8080/v1",
            redact_url(base_url)
        ))
    };
    let mut url = reqwest::Url::parse(base_url).map_err(|e| invalid(&e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| invalid("it cannot have a path"))?
        .pop_if_empty()
        .extend(["chat", "completions"]);
    Ok(url)
}

/// Redirects within the base URL's origin (scheme, host and port) are followed, as usual (at
/// most 10). A redirect to any other origin is not: the 3xx response comes back as it is and
/// becomes [`ApiError::Redirected`], so the request body, the key and the profile's headers
/// never reach another server. (reqwest itself drops only `Authorization` and cookies there.)
fn same_origin_redirects(base: &reqwest::Url) -> reqwest::redirect::Policy {
    let origin = base.origin();
    let limited = reqwest::redirect::Policy::limited(10);
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.url().origin() == origin { limited.redirect(attempt) } else { attempt.stop() }
    })
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
