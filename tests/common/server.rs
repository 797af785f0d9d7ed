//! A scripted, fault-injecting OpenAI-compatible server for integration tests.
//!
//! [`TestServer::start`] serves HTTP on `127.0.0.1` (an ephemeral port) from its own thread
//! with its own tokio runtime, so it works from `#[tokio::test]` and from plain `#[test]`
//! functions that run the `deepdive` binary as a subprocess. Every request is recorded (path,
//! headers, JSON body); the reply comes from a [`Script`]: a queue of [`Reply`] values, then
//! the default reply, or a closure.
//!
//! The default reply answers `"answer to: <first 40 chars of the last user message>"`,
//! streamed (with a usage chunk when the request asked for one) or as one JSON document,
//! as the request asked.
//!
//! ```ignore
//! let server = TestServer::start(Script::replies([
//!     Reply::error(503, "overloaded").header("Retry-After", "0"),
//!     Reply::stream("Hello there").chunks(4).odd_splits(),
//! ]));
//! // point the client or the binary at server.url(), then:
//! assert_eq!(server.hits(), 2);
//! assert_eq!(server.requests()[1].body["model"], "m");
//! ```
//!
//! Faults: `abort_after(k)` drops the connection after k events, `stall_after(k)` sends k
//! events and then nothing while holding the connection open (set the client's idle timeout
//! short), `delay(d)` waits before the headers, [`Reply::sse_events`] sends arbitrary SSE
//! (malformed chunks, error events, `: ping` comments), [`closed_port_url`] gives a URL
//! nobody listens on. Hostile servers: [`Reply::redirect`] points elsewhere (another
//! server's URL), `endless(piece)` sends a piece again and again for ever after the body,
//! `pace(d)` waits before every piece (a trickle), `raw_usage(json)` reports any `usage`.

// Each test binary uses a different part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::serve::ListenerExt;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `Value::Null` when it was not JSON.
    pub body: Value,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// True when the body asked for a streamed answer.
    pub fn is_stream(&self) -> bool {
        self.body["stream"].as_bool() == Some(true)
    }

    /// True when the body asked for a usage chunk (`stream_options.include_usage`).
    pub fn wants_usage(&self) -> bool {
        self.body["stream_options"]["include_usage"].as_bool() == Some(true)
    }

    /// The `(role, content)` pairs of the body's messages.
    pub fn messages(&self) -> Vec<(String, String)> {
        let Some(messages) = self.body["messages"].as_array() else {
            return Vec::new();
        };
        messages
            .iter()
            .map(|m| {
                let field = |k: &str| m[k].as_str().unwrap_or_default().to_string();
                (field("role"), field("content"))
            })
            .collect()
    }

    /// The content of the last user message.
    pub fn last_user_message(&self) -> Option<String> {
        self.messages().into_iter().rev().find(|(role, _)| role == "user").map(|(_, c)| c)
    }
}

/// Computes the reply to a request from the request and its number (0-based).
pub type ReplyFn = dyn Fn(&RecordedRequest, usize) -> Reply + Send + Sync;

/// Which reply each request gets.
pub enum Script {
    /// These replies in order, then [`Reply::default_for`] for every further request.
    Queue(VecDeque<Reply>),
    /// A reply computed from each request and its number (0-based).
    Func(Box<ReplyFn>),
}

impl Script {
    /// These replies in order, then the default reply.
    pub fn replies(replies: impl IntoIterator<Item = Reply>) -> Script {
        Script::Queue(replies.into_iter().collect())
    }

    /// The default reply to every request.
    pub fn echo() -> Script {
        Script::Queue(VecDeque::new())
    }

    /// A reply computed by `f` from each request and its number (0-based).
    pub fn from_fn(f: impl Fn(&RecordedRequest, usize) -> Reply + Send + Sync + 'static) -> Script {
        Script::Func(Box::new(f))
    }

    fn next(&mut self, request: &RecordedRequest, n: usize) -> Reply {
        match self {
            Script::Queue(queue) => {
                queue.pop_front().unwrap_or_else(|| Reply::default_for(request))
            }
            Script::Func(f) => f(request, n),
        }
    }
}

/// How a reply's body ends after its pieces are sent.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ending {
    /// The body ends normally.
    Close,
    /// The connection is dropped (the client sees a broken body).
    Abort,
    /// Nothing more is sent, and the connection stays open until the client gives up.
    Stall,
    /// This piece, again and again, until the client goes away.
    Forever(Vec<u8>),
}

/// An answer to render as SSE events or as one JSON document.
#[derive(Clone, Debug)]
struct Answer {
    text: String,
    chunks: usize,
    finish_reason: Option<String>,
    usage: Option<(u64, u64)>,
    /// Reported as `usage` instead of `usage`'s counts: any JSON at all.
    raw_usage: Option<Value>,
    done: bool,
    stream: bool,
}

#[derive(Clone, Debug)]
enum Content {
    Bytes(Vec<u8>),
    Answer(Answer),
    Events(Vec<String>),
}

/// One scripted HTTP response.
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    content: Content,
    delay: Duration,
    /// Waited before each piece of the body.
    pace: Duration,
    cut: Option<(usize, Ending)>,
    odd_splits: bool,
}

impl Reply {
    fn new(status: u16, content_type: &str, content: Content) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            content,
            delay: Duration::ZERO,
            pace: Duration::ZERO,
            cut: None,
            odd_splits: false,
        }
    }

    /// A streamed answer: a role-only first delta (with `content: null`), `text` in 3 content
    /// chunks, `finish_reason: "stop"`, no usage chunk, then `data: [DONE]`.
    pub fn stream(text: &str) -> Reply {
        let answer = Answer {
            text: text.into(),
            chunks: 3,
            finish_reason: Some("stop".into()),
            usage: None,
            raw_usage: None,
            done: true,
            stream: true,
        };
        Reply::new(200, "text/event-stream", Content::Answer(answer))
    }

    /// A whole JSON answer (`stream: false`), `finish_reason: "stop"`, no usage.
    pub fn json_answer(text: &str) -> Reply {
        let answer = Answer {
            text: text.into(),
            chunks: 1,
            finish_reason: Some("stop".into()),
            usage: None,
            raw_usage: None,
            done: false,
            stream: false,
        };
        Reply::new(200, "application/json", Content::Answer(answer))
    }

    /// A 200 SSE response made of these raw events, each sent as written (include the
    /// blank line: `"data: {...}\n\n"`). See [`content_event`] and friends.
    pub fn sse_events(events: impl IntoIterator<Item = impl Into<String>>) -> Reply {
        Reply::new(
            200,
            "text/event-stream",
            Content::Events(events.into_iter().map(Into::into).collect()),
        )
    }

    /// An OpenAI-style error: `{"error":{"message":..,"type":..,"code":..}}`.
    pub fn error(status: u16, message: &str) -> Reply {
        Reply::error_with(status, message, "server_error", None)
    }

    /// An OpenAI-style error with its `type` and `code`.
    pub fn error_with(status: u16, message: &str, kind: &str, code: Option<&str>) -> Reply {
        Reply::json(
            status,
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        )
    }

    /// Any JSON body.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::new(status, "application/json", Content::Bytes(body.to_string().into_bytes()))
    }

    /// A redirect (301, 302, 307, 308) to `location`, with an empty body.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::new(status, "text/plain", Content::Bytes(Vec::new())).header("location", location)
    }

    /// An HTML page.
    pub fn html(status: u16, page: &str) -> Reply {
        Reply::new(status, "text/html; charset=utf-8", Content::Bytes(page.as_bytes().to_vec()))
    }

    /// Any body with this content type.
    pub fn body(status: u16, content_type: &str, body: &str) -> Reply {
        Reply::new(status, content_type, Content::Bytes(body.as_bytes().to_vec()))
    }

    /// The default reply: `"answer to: <first 40 chars of the last user message>"`, streamed
    /// (with usage when asked for) or whole, as the request asked. Usage: prompt tokens =
    /// characters of all messages / 4, completion tokens = words of the answer.
    pub fn default_for(request: &RecordedRequest) -> Reply {
        let question: String =
            request.last_user_message().unwrap_or_default().chars().take(40).collect();
        let text = format!("answer to: {question}");
        let prompt =
            request.messages().iter().map(|(_, c)| c.chars().count() as u64).sum::<u64>() / 4;
        let completion = text.split_whitespace().count() as u64;
        if request.is_stream() {
            let reply = Reply::stream(&text);
            if request.wants_usage() { reply.usage(prompt, completion) } else { reply }
        } else {
            Reply::json_answer(&text).usage(prompt, completion)
        }
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Waits this long before sending the response headers.
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Splits the answer text into `n` content chunks (streamed answers).
    pub fn chunks(mut self, n: usize) -> Reply {
        self.answer().chunks = n.max(1);
        self
    }

    /// Sets the finish_reason (`None`: leave it out, the answer never says it finished).
    pub fn finish(mut self, reason: Option<&str>) -> Reply {
        self.answer().finish_reason = reason.map(Into::into);
        self
    }

    /// Reports usage (a final usage-only chunk when streamed).
    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Reply {
        self.answer().usage = Some((prompt_tokens, completion_tokens));
        self
    }

    /// Reports `usage` as this JSON, whatever it is (`null`, negative or float counts …).
    pub fn raw_usage(mut self, usage: Value) -> Reply {
        self.answer().raw_usage = Some(usage);
        self
    }

    /// Waits this long before each piece of the body: a server that trickles.
    pub fn pace(mut self, pace: Duration) -> Reply {
        self.pace = pace;
        self
    }

    /// After the body's pieces, sends `piece` again and again, never ending the body (an
    /// answer that never stops, a line that never ends, pings for ever).
    pub fn endless(mut self, piece: &str) -> Reply {
        self.cut = Some((usize::MAX, Ending::Forever(piece.as_bytes().to_vec())));
        self
    }

    /// Leaves out `data: [DONE]`; the body just ends.
    pub fn no_done(mut self) -> Reply {
        self.answer().done = false;
        self
    }

    /// Sends the body in pieces of 1 to 7 bytes, cutting events, JSON and UTF-8 characters.
    pub fn odd_splits(mut self) -> Reply {
        self.odd_splits = true;
        self
    }

    /// Sends the first `k` events (or body pieces), then drops the connection.
    pub fn abort_after(mut self, k: usize) -> Reply {
        self.cut = Some((k, Ending::Abort));
        self
    }

    /// Sends the first `k` events (or body pieces), then nothing, holding the connection
    /// open. `usize::MAX` sends everything and then stalls.
    pub fn stall_after(mut self, k: usize) -> Reply {
        self.cut = Some((k, Ending::Stall));
        self
    }

    fn answer(&mut self) -> &mut Answer {
        match &mut self.content {
            Content::Answer(answer) => answer,
            _ => panic!("this setting applies to Reply::stream and Reply::json_answer only"),
        }
    }

    /// The body as pieces to send one by one, and how it ends.
    fn render(self) -> (Vec<Vec<u8>>, Ending) {
        let mut pieces: Vec<Vec<u8>> = match self.content {
            Content::Bytes(bytes) => vec![bytes],
            Content::Events(events) => events.into_iter().map(String::into_bytes).collect(),
            Content::Answer(answer) if answer.stream => {
                answer_events(&answer).into_iter().map(String::into_bytes).collect()
            }
            Content::Answer(answer) => vec![answer_json(&answer).into_bytes()],
        };
        let mut ending = Ending::Close;
        if let Some((k, cut_ending)) = self.cut.clone() {
            pieces.truncate(k);
            ending = cut_ending;
        }
        if self.odd_splits {
            pieces = split_oddly(&pieces.concat());
        }
        (pieces, ending)
    }
}

/// `data: {"choices":[{"index":0,"delta":{"content":...}}]}` and its blank line.
pub fn content_event(text: &str) -> String {
    event(
        json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]}),
    )
}

/// A chunk with an empty delta and this finish_reason.
pub fn finish_event(reason: &str) -> String {
    event(
        json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}),
    )
}

/// A usage-only chunk (empty `choices`), as OpenAI sends with `include_usage`.
pub fn usage_event(prompt_tokens: u64, completion_tokens: u64) -> String {
    event(json!({"object": "chat.completion.chunk", "choices": [], "usage": {
        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens}}))
}

/// `data: {"error":{"message":...}}`: an error reported inside a stream.
pub fn error_event(message: &str) -> String {
    event(json!({"error": {"message": message, "type": "server_error", "code": null}}))
}

/// The end-of-stream marker.
pub const DONE_EVENT: &str = "data: [DONE]\n\n";

fn event(data: Value) -> String {
    format!("data: {data}\n\n")
}

fn answer_events(answer: &Answer) -> Vec<String> {
    let role = json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "content": null}, "finish_reason": null}]});
    let mut events = vec![event(role)];
    events.extend(split_text(&answer.text, answer.chunks).iter().map(|part| content_event(part)));
    events.extend(answer.finish_reason.as_deref().map(finish_event));
    events.extend(answer.usage.map(|(p, c)| usage_event(p, c)));
    if let Some(usage) = &answer.raw_usage {
        events
            .push(event(json!({"object": "chat.completion.chunk", "choices": [], "usage": usage})));
    }
    if answer.done {
        events.push(DONE_EVENT.to_string());
    }
    events
}

fn answer_json(answer: &Answer) -> String {
    let mut body = json!({
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": answer.finish_reason}],
    });
    if let Some((p, c)) = answer.usage {
        body["usage"] = json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c});
    }
    if let Some(usage) = &answer.raw_usage {
        body["usage"] = usage.clone();
    }
    body.to_string()
}

/// `text` in `n` parts of about equal length (by characters).
fn split_text(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(n).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Bytes in pieces of 1, 5, 2, 7, 3, ... bytes.
fn split_oddly(bytes: &[u8]) -> Vec<Vec<u8>> {
    let sizes = [1, 5, 2, 7, 3];
    let mut pieces = Vec::new();
    let mut rest = bytes;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at((*size).min(rest.len()));
        pieces.push(piece.to_vec());
        rest = tail;
    }
    pieces
}

struct Shared {
    script: Mutex<Script>,
    requests: Mutex<Vec<RecordedRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// Counts a request as in flight until its response body is finished or dropped.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> InFlight {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(Arc::clone(shared))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running test server; it shuts down when dropped.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts serving `script` on 127.0.0.1 (an ephemeral port).
    pub fn start(script: Script) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                // Without TCP_NODELAY each response's second write waits for the client's
                // delayed ACK (Nagle): about 40 ms per response, which timing benches would
                // measure as deepdive's.
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                tokio::select! {
                    result = axum::serve(listener, app).into_future() => result.expect("test server"),
                    _ = stop => {}
                }
            });
            // Dropping the runtime here cancels open connections, stalled ones included.
        });
        TestServer { addr, shared, shutdown: Some(shutdown), thread: Some(thread) }
    }

    /// The base URL, ending in `/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// How many requests arrived.
    pub fn hits(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// The highest number of requests in flight at the same time (a streamed response
    /// counts until its body ends).
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A base URL (ending in `/v1`) on a local port that nothing listens on: connecting is refused.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let in_flight = InFlight::enter(&shared);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())
            })
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let reply = {
        let mut requests = shared.requests.lock().unwrap();
        let n = requests.len();
        requests.push(recorded.clone());
        drop(requests);
        shared.script.lock().unwrap().next(&recorded, n)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = reply.status;
    let headers = reply.headers.clone();
    let pace = reply.pace;
    let (pieces, ending) = reply.render();
    // Yielding before each piece makes hyper flush what it has, so pieces reach the client
    // separately and an abort comes after everything before it.
    let send = move |piece: Vec<u8>| async move {
        if pace.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(pace).await;
        }
        Ok::<_, std::io::Error>(Bytes::from(piece))
    };
    let pieces = stream::iter(pieces).then(send);
    let end = match ending {
        Ending::Close => stream::empty().boxed(),
        Ending::Abort => stream::once(async {
            tokio::task::yield_now().await;
            Err(std::io::Error::other("scripted abort"))
        })
        .boxed(),
        Ending::Stall => stream::pending().boxed(),
        Ending::Forever(piece) => stream::repeat(piece).then(send).boxed(),
    };
    // The guard lives as long as the body stream.
    let body = pieces.chain(end).map(move |item| {
        let _ = &in_flight;
        item
    });
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response.body(Body::from_stream(body)).expect("valid scripted response")
}
