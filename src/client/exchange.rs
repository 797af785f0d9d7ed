//! One attempt: send the request, wait (with the idle timeout) for the headers and for each
//! piece of the body, and turn the response into an answer or a classified error.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use reqwest::Response;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use tokio::time::timeout;

use crate::message::FinishReason;

use super::classify::{self, RequestFacts};
use super::error::{self, ApiError};
use super::limiter::RateLimits;
use super::retry::{parse_retry_after, parse_retry_after_ms};
use super::sse::{Answer, Assembler, Step};
use super::wire::{ChatResponse, StreamOptions, WireRequest};
use super::{ChatClient, ChatRequest, ClientEvent};

/// Error bodies beyond this size are cut; only their start is ever shown.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Why an attempt produced no answer.
pub(super) enum Failure {
    /// The server does not know `stream_options`; ask again without it.
    StreamOptionsRejected,
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
        self.try_attempt(req, on_event).await.map_err(|f| match f {
            Failure::Api(e) => Failure::Api(match &self.endpoint.api_key {
                Some(key) => e.redact(key.expose()),
                None => e,
            }),
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
        };
        let body = serde_json::to_vec(&body)
            .map_err(|e| ApiError::InvalidEndpoint(format!("could not encode the request: {e}")))?;
        let request = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, if stream { "text/event-stream" } else { "application/json" })
            .body(body);
        let response = match timeout(idle, request.send()).await {
            Err(_) => return Err(ApiError::NoResponse { after: idle }.into()),
            Ok(Err(e)) => return Err(self.send_error(&e).into()),
            Ok(Ok(response)) => response,
        };

        let status = response.status().as_u16();
        if !response.status().is_success() {
            let retry_after = retry_after(response.headers());
            let text = read_body(response, idle, ERROR_BODY_LIMIT).await.unwrap_or_default();
            if with_options && classify::rejects_stream_options(status, &text) {
                return Err(Failure::StreamOptionsRejected);
            }
            let facts = RequestFacts {
                url: &self.url,
                model: &req.model,
                key_source: &self.endpoint.key_source,
                prompt_tokens: req.prompt_tokens,
            };
            return Err(classify::classify(status, retry_after, &text, &facts).into());
        }

        let headers = response.headers();
        let limits = RateLimits::from_headers(|name| headers.get(name)?.to_str().ok());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !stream || content_type.contains("json") || content_type.contains("html") {
            // Asked for JSON, or a server that ignored `stream: true`, or a web page.
            let text = read_body(response, idle, usize::MAX).await?;
            return Ok((whole_answer(status, &text, on_event)?, limits));
        }
        Ok((read_stream(response, idle, on_event).await?, limits))
    }

    fn send_error(&self, e: &reqwest::Error) -> ApiError {
        let base_url = self.endpoint.base_url.clone();
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

/// The SSE parser copies its buffer once per line it takes off the front, so its cost grows
/// with the square of the piece it is fed. A client that falls behind receives big pieces
/// (hundreds of KiB); cutting them into slices of at most this size (zero-copy `Bytes`
/// views) keeps the work per streamed chunk constant. Measured in `benches/core.rs`.
const MAX_PIECE: usize = 1024;

fn small_pieces<E>(
    piece: Result<Bytes, E>,
) -> futures_util::stream::Iter<std::vec::IntoIter<Result<Bytes, E>>> {
    let pieces = match piece {
        Ok(bytes) if bytes.len() > MAX_PIECE => (0..bytes.len())
            .step_by(MAX_PIECE)
            .map(|start| Ok(bytes.slice(start..(start + MAX_PIECE).min(bytes.len()))))
            .collect(),
        other => vec![other],
    };
    futures_util::stream::iter(pieces)
}

/// Reads SSE events until the answer is complete; see [`Assembler`] for the rules.
async fn read_stream(
    response: Response,
    idle: Duration,
    on_event: &mut OnEvent<'_>,
) -> Result<Answer, ApiError> {
    let mut events = response.bytes_stream().flat_map(small_pieces).eventsource();
    let mut answer = Assembler::default();
    loop {
        let next =
            timeout(idle, events.next()).await.map_err(|_| ApiError::Stalled { after: idle })?;
        let event = match next {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(EventStreamError::Transport(e))) => {
                return Err(ApiError::Broken { detail: root_cause(&e) });
            }
            Some(Err(EventStreamError::Utf8(_))) => {
                return Err(ApiError::Malformed {
                    snippet: "(bytes that are not UTF-8)".to_string(),
                });
            }
            Some(Err(EventStreamError::Parser(e))) => {
                return Err(ApiError::Malformed { snippet: error::truncate(&e.input, 80) });
            }
        };
        match answer.push(&event)? {
            Step::Delta(text) => on_event(ClientEvent::Delta(text)),
            Step::Nothing => {}
            Step::Done => break,
        }
    }
    answer.finish()
}

/// Parses a whole (non-streamed) answer and hands its text out as one delta.
fn whole_answer(status: u16, text: &str, on_event: &mut OnEvent<'_>) -> Result<Answer, ApiError> {
    let parsed = serde_json::from_str::<ChatResponse>(text).ok();
    let Some((choice, usage)) = parsed.and_then(|r| Some((r.choices.into_iter().next()?, r.usage)))
    else {
        return Err(classify::unexpected_body(status, text));
    };
    let content = choice.message.content.unwrap_or_default();
    if !content.is_empty() {
        on_event(ClientEvent::Delta(&content));
    }
    Ok(Answer {
        text: content,
        // A whole JSON document cannot be cut off; servers that leave this out finished normally.
        finish_reason: choice
            .finish_reason
            .as_deref()
            .map_or(FinishReason::Stop, FinishReason::from_server),
        usage: usage.map(Into::into),
    })
}

/// Reads a body (at most about `limit` bytes), waiting at most `idle` for each piece.
async fn read_body(response: Response, idle: Duration, limit: usize) -> Result<String, ApiError> {
    let mut body = response.bytes_stream();
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match timeout(idle, body.next()).await {
            Err(_) => return Err(ApiError::Stalled { after: idle }),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::Broken { detail: root_cause(&e) });
            }
            Ok(Some(Ok(piece))) => bytes.extend_from_slice(&piece),
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn big_pieces_are_cut_into_small_zero_copy_slices() {
        let body = Bytes::from(vec![b'x'; 2 * MAX_PIECE + 10]);
        let pieces: Vec<Result<Bytes, ()>> = small_pieces(Ok(body.clone())).collect().await;
        let sizes: Vec<usize> = pieces.iter().map(|p| p.as_ref().map_or(0, Bytes::len)).collect();
        assert_eq!(sizes, [MAX_PIECE, MAX_PIECE, 10]);
        let small: Vec<Result<Bytes, ()>> =
            small_pieces(Ok(Bytes::from_static(b"ok"))).collect().await;
        assert_eq!(small, [Ok(Bytes::from_static(b"ok"))]);
        let err: Vec<Result<Bytes, ()>> = small_pieces(Err(())).collect().await;
        assert_eq!(err, [Err(())]);
    }
}
