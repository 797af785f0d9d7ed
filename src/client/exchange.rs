//! One attempt: send the request, wait (with the idle timeout) for the headers and for each
//! piece of the body, and turn the response into an answer or a classified error. The whole
//! attempt is bounded by the request deadline, and the answer by [`AnswerLimits`].

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::Response;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION};
use tokio::time::timeout;

use crate::message::FinishReason;
use crate::secret::{Secrets, redact_url};

use super::classify::{self, RequestFacts};
use super::error::{self, ApiError};
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
    pub(super) async fn attempt(
        &self,
        req: &ChatRequest,
        on_event: &mut OnEvent<'_>,
    ) -> Result<Answer, Failure> {
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
    ) -> Result<Answer, Failure> {
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
            return Ok(whole_answer(status, body.text, &limits, &self.secrets, on_event)?);
        }
        Ok(read_stream(response, idle, &limits, &self.secrets, on_event).await?)
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

/// Why reading the body of a streamed answer stopped.
#[derive(Debug)]
enum ReadError {
    Transport(reqwest::Error),
    /// Nothing at all arrived for the idle timeout.
    Stalled,
    /// One event grew beyond the body limit without ending.
    TooLarge,
    /// One line grew beyond [`MAX_LINE`] without ending.
    LongLine,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Transport(e) => write!(f, "{}", root_cause(e)),
            ReadError::Stalled => f.write_str("stalled"),
            ReadError::TooLarge => f.write_str("event too large"),
            ReadError::LongLine => f.write_str("line too long"),
        }
    }
}

/// The longest SSE line accepted. The SSE parser scans its whole buffer again for every
/// piece that does not end the line, so a line that never ends costs time with the square of
/// its length (16 MB took 6 minutes); one chunk of a chat-completions stream is a few
/// hundred bytes, and 1 MiB still holds a whole long answer sent as one delta.
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// The body's pieces, with the idle timeout applied to each (so any bytes, an SSE comment
/// such as `: ping` included, count as life), and an event that never ends (no blank line
/// within `max_event` bytes) or a line longer than [`MAX_LINE`] stopped before the SSE
/// parser buffers it. The first error ends the stream.
fn guarded_body(
    response: Response,
    idle: Duration,
    max_event: usize,
) -> impl Stream<Item = Result<Bytes, ReadError>> {
    struct State<S> {
        body: S,
        event: EventSize,
        failed: bool,
    }
    let state = State { body: response.bytes_stream(), event: EventSize::default(), failed: false };
    futures_util::stream::unfold(state, move |mut state| async move {
        if state.failed {
            return None;
        }
        let item = match timeout(idle, state.body.next()).await {
            Err(_) => Err(ReadError::Stalled),
            Ok(None) => return None,
            Ok(Some(Err(e))) => Err(ReadError::Transport(e)),
            Ok(Some(Ok(bytes))) => match state.event.grow(&bytes) {
                _ if state.event.line > MAX_LINE => Err(ReadError::LongLine),
                event if event > max_event => Err(ReadError::TooLarge),
                _ => Ok(bytes),
            },
        };
        state.failed = item.is_err();
        Some((item, state))
    })
}

/// The size of the SSE event being received: bytes since the last blank line, and of its
/// last line. Lines end with `\n`, `\r` or `\r\n`, as in the SSE format.
struct EventSize {
    bytes: usize,
    /// Bytes of the unfinished line.
    line: usize,
    /// The current line has no bytes yet (a line ending here ends the event).
    at_line_start: bool,
    /// The last byte was a `\r`: a `\n` right after it ends the same line.
    after_cr: bool,
}

impl Default for EventSize {
    fn default() -> Self {
        EventSize { bytes: 0, line: 0, at_line_start: true, after_cr: false }
    }
}

impl EventSize {
    /// Takes in the next piece of the body and returns the size of the unfinished event.
    fn grow(&mut self, piece: &[u8]) -> usize {
        for &b in piece {
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' if self.at_line_start => self.bytes = 0,
                b'\n' | b'\r' => {
                    self.at_line_start = true;
                    self.bytes += 1;
                    self.line = 0;
                }
                _ => {
                    self.at_line_start = false;
                    self.bytes += 1;
                    self.line += 1;
                }
            }
        }
        self.bytes
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
    limits: &AnswerLimits,
    secrets: &Secrets,
    on_event: &mut OnEvent<'_>,
) -> Result<Answer, ApiError> {
    let body = guarded_body(response, idle, body_limit(limits));
    let events = body.flat_map(small_pieces).eventsource();
    let mut events = std::pin::pin!(events);
    let mut answer = Assembler::new(*limits, secrets);
    loop {
        let event = match events.next().await {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(EventStreamError::Transport(ReadError::Stalled))) => {
                return Err(ApiError::Stalled { after: idle });
            }
            Some(Err(EventStreamError::Transport(ReadError::TooLarge))) => {
                return Err(ApiError::TooLarge { limit: limits.max_bytes });
            }
            Some(Err(EventStreamError::Transport(ReadError::LongLine))) => {
                return Err(ApiError::LongLine { limit: MAX_LINE });
            }
            Some(Err(EventStreamError::Transport(ReadError::Transport(e)))) => {
                return Err(ApiError::Broken { detail: root_cause(&e) });
            }
            Some(Err(EventStreamError::Utf8(_))) => {
                return Err(ApiError::Malformed {
                    snippet: "(bytes that are not UTF-8)".to_string(),
                });
            }
            Some(Err(EventStreamError::Parser(e))) => {
                return Err(classify::malformed(&e.input, secrets));
            }
        };
        match answer.push(&event)? {
            Step::Delta(text) => on_event(ClientEvent::Delta(text)),
            Step::Nothing => {}
            Step::Done => break,
            Step::Cut(text) => {
                on_event(ClientEvent::Delta(text));
                break;
            }
        }
    }
    answer.finish()
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
    let finish_reason = match (cut, choice.finish_reason.as_deref()) {
        (true, _) => FinishReason::Length,
        (false, Some(reason)) => FinishReason::from_server(reason),
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

/// The server's requested wait: `retry-after-ms` (OpenAI) or `Retry-After`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("retry-after-ms")
        .and_then(parse_retry_after_ms)
        .or_else(|| header("retry-after").and_then(|v| parse_retry_after(v, SystemTime::now())))
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

    #[test]
    fn event_size_counts_bytes_since_the_last_blank_line() {
        let mut size = EventSize::default();
        assert_eq!(size.grow(b"data: abc\n"), 10);
        assert_eq!(size.grow(b"data: d\n\n"), 0);
        assert_eq!(size.grow(b": ping\r\n\r\ndata: x"), 7);
        assert_eq!((size.grow(b"yz"), size.line), (9, 9));
        assert_eq!(size.grow(b"\r\rdata: cr\r"), 9, "lone carriage returns end lines too");
        let mut endless = EventSize::default();
        for _ in 0..1000 {
            endless.grow(b"data: more\n");
        }
        assert_eq!(endless.grow(b""), 11_000, "data lines without a blank line make one event");
    }

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
