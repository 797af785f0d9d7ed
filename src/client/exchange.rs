//! One attempt: send the request, wait (with the idle timeout) for the headers and for each
//! piece of the body, and turn the response into an answer or a classified error. The whole
//! attempt is bounded by the request deadline, and the answer by [`AnswerLimits`].

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use reqwest::Response;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION};
use tokio::time::timeout;

use crate::message::FinishReason;
use crate::secret::{Secrets, redact_url};

use super::classify::{self, RequestFacts};
use super::error::{self, ApiError};
use super::event_stream::{EventStream, StreamError};
use super::limiter::RateLimits;
use super::retry::{parse_retry_after, parse_retry_after_ms};
use super::sse::{Answer, AnswerLimits, Assembler, Step};
use super::wire::{ChatResponse, StreamOptions, WireRequest};
use super::{ChatClient, ChatRequest, ClientEvent};

/// Error bodies beyond this size are cut; only their start is ever shown.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Why an attempt produced no answer.
pub(super) enum Failure {
    /// The server does not know `stream_options`; ask again without it.
    StreamOptionsRejected,
    /// The server does not take `response_format`; ask again without it.
    ResponseFormatRejected,
    Api(ApiError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure::Api(e)
    }
}

type OnEvent<'a> = dyn FnMut(ClientEvent<'_>) + Send + 'a;

impl ChatClient {
    /// One attempt: the answer, and the rate-limit headers that came with it.
    pub(super) async fn attempt(
        &self,
        req: &ChatRequest,
        on_event: &mut OnEvent<'_>,
    ) -> Result<(Answer, Option<RateLimits>), Failure> {
        let deadline = self.endpoint.request_timeout;
        let result = match timeout(deadline, self.try_attempt(req, on_event)).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::Deadline { after: deadline }.into()),
        };
        result.map_err(|f| match f {
            Failure::Api(e) => Failure::Api(e.mask(&self.secrets)),
            other => other,
        })
    }

    async fn try_attempt(
        &self,
        req: &ChatRequest,
        on_event: &mut OnEvent<'_>,
    ) -> Result<(Answer, Option<RateLimits>), Failure> {
        let stream = self.endpoint.stream;
        let idle = self.endpoint.idle_timeout;
        let with_options = stream
            && self.endpoint.include_usage
            && !self.no_stream_options.load(Ordering::Relaxed);
        let body = WireRequest {
            model: &req.model,
            messages: &req.messages,
            temperature: req.temperature,
            max_tokens: req.max_tokens,
            stream,
            stream_options: with_options.then_some(StreamOptions { include_usage: true }),
            response_format: req
                .response_format
                .as_ref()
                .filter(|_| !self.no_response_format.load(Ordering::Relaxed)),
        };
        let with_format = body.response_format.is_some();
        let body = serde_json::to_vec(&body)
            .map_err(|e| ApiError::InvalidEndpoint(format!("could not encode the request: {e}")))?;
        let request = self
            .http
            .post(&self.request_url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, if stream { "text/event-stream" } else { "application/json" })
            .body(body);
        let response = match timeout(idle, request.send()).await {
            Err(_) => return Err(ApiError::NoResponse { after: idle }.into()),
            Ok(Err(e)) => return Err(self.send_error(&e).into()),
            Ok(Ok(response)) => response,
        };

        let status = response.status().as_u16();
        if response.status().is_redirection() {
            // Only a redirect to another origin comes back (see `same_origin_redirects`).
            let location = response
                .headers()
                .get(LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_else(|| "no Location given".to_string());
            let location = error::server_text(&redact_url(&location), &self.secrets, 200);
            return Err(
                ApiError::Redirected { status, url: self.shown_url.clone(), location }.into()
            );
        }
        let limits = AnswerLimits::new(self.endpoint.max_answer_bytes, req.max_tokens);
        if !response.status().is_success() {
            let retry_after = retry_after(response.headers());
            let text = read_body(response, idle, ERROR_BODY_LIMIT)
                .await
                .map(|body| body.text)
                .unwrap_or_default();
            if with_options && classify::rejects_stream_options(status, &text) {
                return Err(Failure::StreamOptionsRejected);
            }
            if with_format && classify::rejects_response_format(status, &text) {
                return Err(Failure::ResponseFormatRejected);
            }
            let facts = RequestFacts {
                url: &self.shown_url,
                model: &req.model,
                key_source: &self.endpoint.key_source,
                key_sent: self.endpoint.api_key.is_some(),
                profile: &self.endpoint.profile,
                prompt_tokens: req.prompt_tokens,
                secrets: &self.secrets,
            };
            return Err(classify::classify(status, retry_after, &text, &facts).into());
        }

        let headers = response.headers();
        let rate_limits = RateLimits::from_headers(|name| headers.get(name)?.to_str().ok());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !stream || content_type.contains("json") || content_type.contains("html") {
            // Asked for JSON, or a server that ignored `stream: true`, or a web page.
            let body = read_body(response, idle, body_limit(&limits)).await?;
            if body.cut {
                return Err(ApiError::TooLarge { limit: limits.max_bytes }.into());
            }
            let answer = whole_answer(status, body.text, &limits, &self.secrets, on_event)?;
            return Ok((answer, rate_limits));
        }
        Ok((read_stream(response, idle, &limits, &self.secrets, on_event).await?, rate_limits))
    }

    fn send_error(&self, e: &reqwest::Error) -> ApiError {
        let base_url = redact_url(&self.endpoint.base_url);
        if e.is_connect() && e.is_timeout() {
            let after = humantime::format_duration(self.endpoint.connect_timeout);
            ApiError::Connect { base_url, detail: format!("no connection within {after}") }
        } else if e.is_connect() {
            ApiError::Connect { base_url, detail: root_cause(e) }
        } else {
            ApiError::Transport { detail: root_cause(e) }
        }
    }
}

/// The most bytes a body (a whole answer, or one SSE event) may have for an answer within
/// `limits`: twice the answer (JSON escapes) plus room for the envelope.
fn body_limit(limits: &AnswerLimits) -> usize {
    limits.max_bytes.saturating_mul(2).saturating_add(64 * 1024)
}

/// The longest SSE line accepted: a line that never ends would otherwise be held whole. One
/// chunk of a chat-completions stream is a few hundred bytes, and 1 MiB still holds a whole
/// long answer sent as one delta.
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// Reads SSE events until the answer is complete; see [`Assembler`] for the rules. The idle
/// timeout applies to each piece of the body, so any bytes (an SSE comment such as `: ping`
/// included) count as life; an event that never ends (no blank line within the body limit)
/// or a line longer than [`MAX_LINE`] is stopped before it is buffered further.
async fn read_stream(
    response: Response,
    idle: Duration,
    limits: &AnswerLimits,
    secrets: &Secrets,
    on_event: &mut OnEvent<'_>,
) -> Result<Answer, ApiError> {
    let mut body = response.bytes_stream();
    let mut events = EventStream::new(MAX_LINE, body_limit(limits));
    let mut answer = Assembler::new(*limits, secrets);
    loop {
        while let Some(event) = events.next().map_err(|e| match e {
            StreamError::NotUtf8 => {
                ApiError::Malformed { snippet: "(bytes that are not UTF-8)".to_string() }
            }
            StreamError::LongLine => ApiError::LongLine { limit: MAX_LINE },
            StreamError::LongEvent => ApiError::TooLarge { limit: limits.max_bytes },
        })? {
            match answer.push(&event)? {
                Step::Delta(text) => on_event(ClientEvent::Delta(text)),
                Step::Nothing => {}
                Step::Done => return answer.finish(),
                Step::Cut(text) => {
                    on_event(ClientEvent::Delta(text));
                    return answer.finish();
                }
            }
        }
        match timeout(idle, body.next()).await {
            Err(_) => return Err(ApiError::Stalled { after: idle }),
            Ok(None) => return answer.finish(),
            Ok(Some(Err(e))) => return Err(ApiError::Broken { detail: root_cause(&e) }),
            Ok(Some(Ok(piece))) => events.feed(&piece),
        }
    }
}

/// Parses a whole (non-streamed) answer and hands its text out as one delta.
fn whole_answer(
    status: u16,
    body: String,
    limits: &AnswerLimits,
    secrets: &Secrets,
    on_event: &mut OnEvent<'_>,
) -> Result<Answer, ApiError> {
    let parsed = serde_json::from_str::<ChatResponse>(&body).ok();
    let Some((choice, usage)) = parsed.and_then(|r| Some((r.choices.into_iter().next()?, r.usage)))
    else {
        return Err(classify::unexpected_body(status, &body, secrets));
    };
    drop(body);
    let (content, cut) = limits.apply(choice.message.content.unwrap_or_default())?;
    if !content.is_empty() {
        on_event(ClientEvent::Delta(&content));
    }
    // A whole JSON document cannot be cut off; servers that leave this out finished normally.
    let finish_reason = match (cut, choice.finish_reason) {
        (true, _) => FinishReason::Length,
        (false, Some(reason)) => reason,
        (false, None) => FinishReason::Stop,
    };
    Ok(Answer { text: content, finish_reason, usage })
}

/// A body read up to a limit.
struct Body {
    text: String,
    /// The body went on beyond the limit (what is held is its start).
    cut: bool,
}

/// Reads a body (at most about `limit` bytes), waiting at most `idle` for each piece.
async fn read_body(response: Response, idle: Duration, limit: usize) -> Result<Body, ApiError> {
    let expected = response.content_length().map_or(0, |n| n.min(limit as u64) as usize);
    let mut body = response.bytes_stream();
    let mut bytes = Vec::with_capacity(expected);
    let mut cut = false;
    loop {
        match timeout(idle, body.next()).await {
            Err(_) => return Err(ApiError::Stalled { after: idle }),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::Broken { detail: root_cause(&e) });
            }
            Ok(Some(Ok(piece))) => {
                let room = limit - bytes.len();
                if piece.len() > room {
                    bytes.extend_from_slice(&piece[..room]);
                    cut = true;
                    break;
                }
                bytes.extend_from_slice(&piece);
            }
        }
    }
    // Valid UTF-8 (the usual case) is taken over without a copy.
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(Body { text, cut })
}

/// The server's requested wait: `retry-after-ms` (OpenAI) or `Retry-After`, else, when no
/// request is left, the reset time of `x-ratelimit-*-requests`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("retry-after-ms")
        .and_then(parse_retry_after_ms)
        .or_else(|| header("retry-after").and_then(|v| parse_retry_after(v, SystemTime::now())))
        .or_else(|| {
            let limits = RateLimits::from_headers(header)?;
            (limits.remaining == Some(0)).then_some(limits.reset?)
        })
}

/// The innermost cause, which names what actually happened ("Connection refused", ...).
fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    error::one_line(&cause.to_string())
}
