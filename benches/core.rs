//! The core benchmarks: what `docs/benchmarks.md` records. Run with
//! `cargo bench --bench core` (a filter after `--` picks groups, e.g. `-- client/`).
//!
//! - `client/…`: `ChatClient::complete` consuming a 20,000-chunk stream from a local server
//!   (target: over 50,000 chunks/s, so the client is never the bottleneck).
//! - `transcript/…`: render and parse of a ~1 MB transcript (target: under 20 ms together),
//!   and reading its front matter alone (what `sessions` reads).
//! - `markdown/…`: the terminal renderer fed an answer in 5-byte chunks, 20 KB and 2 MB long
//!   (the same throughput for both: constant work per chunk).
//! - `prompts/…`, `tokens/…`: the costs behind start-up and batch runs.
//! - `coverage/…`: the lexical check of a topic's answer, once per answer in every run:
//!   a real 8 KB answer (from the evaluation set) and one of about 26 KB (the long answers
//!   of `whole_process`).
//!
//! Before the groups run, a few one-shot first-use costs are printed: they happen once per
//! process, so criterion cannot repeat them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed set-up is a failed run

#[path = "../tests/common/server.rs"]
mod server;
#[allow(dead_code)] // shared with whole_process.rs, which uses other parts
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use deepdive::client::{ChatClient, ChatRequest, ClientEvent, Endpoint, RetryPolicy};
use deepdive::message::{FinishReason, Message};
use deepdive::prompts::Library;
use deepdive::render::markdown::{MarkdownStream, Style};
use deepdive::session::codec::{header_len, parse, parse_header, render};
use deepdive::tokens::TokenCounter;
use tokio::runtime::Runtime;

use support::answer_stream::openai_events;
use support::sse_server::{Framing, SseServer};

/// Content chunks per streamed answer (a long answer is 2,000–4,000).
const CHUNKS: usize = 20_000;
/// Size of the transcript to render and parse.
const TRANSCRIPT_BYTES: usize = 1_000_000;

fn main() {
    first_use();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    client(&mut c);
    transcript(&mut c);
    markdown(&mut c);
    prompts(&mut c);
    tokens(&mut c);
    coverage(&mut c);
    c.final_summary();
}

/// Costs paid once per process: the built-in library's parse and the tokenizer's load.
fn first_use() {
    let started = Instant::now();
    let library = Library::builtin();
    let library_time = started.elapsed();
    let counter = TokenCounter::for_model("gpt-4o");
    let started = Instant::now();
    let count = counter.count_text(library.priming());
    let tokenizer_time = started.elapsed();
    println!(
        "first use (one shot): Library::builtin() {library_time:?}; \
         TokenCounter (o200k) first count {tokenizer_time:?} ({} tokens)",
        count.tokens
    );
}

/// A client like `batch` builds: streaming with usage, one attempt (a failure must show).
fn bench_client(url: String) -> ChatClient {
    let retry = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
    ChatClient::new(Endpoint::new(url), retry).expect("client for a local URL")
}

/// Sends one request and consumes the whole stream; returns the text and the delta count.
fn complete(runtime: &Runtime, client: &ChatClient, request: &ChatRequest) -> (String, usize) {
    let mut deltas = 0usize;
    let mut on_event = |event: ClientEvent<'_>| {
        if let ClientEvent::Delta(text) = event {
            deltas += 1;
            black_box(text);
        }
    };
    let completion =
        runtime.block_on(client.complete(request, &mut on_event)).expect("local stream completes");
    assert_eq!(completion.finish_reason, FinishReason::Stop);
    (completion.text, deltas)
}

fn client(c: &mut Criterion) {
    // Multi-threaded with `block_on`, as `batch` runs it; one current-thread variant shows
    // what the cross-thread hand-off of every body frame costs.
    let multi = Runtime::new().expect("tokio runtime");
    let single =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let (events, text) = openai_events(CHUNKS);
    let bulk = SseServer::start(&events, Framing::Bulk);
    let per_event = SseServer::start(&events, Framing::PerEvent);
    // The integration tests' axum server: hyper framing, one flushed frame per event. It
    // splits the text into equal parts, so each token is 4 characters here.
    let axum_text = " tok".repeat(CHUNKS);
    let answer = axum_text.clone();
    let axum = server::TestServer::start(server::Script::from_fn(move |_, _| {
        server::Reply::stream(&answer).chunks(CHUNKS)
    }));
    let cases = [
        ("raw-bulk", &multi, bulk.url(), &text),
        ("raw-per-event", &multi, per_event.url(), &text),
        ("axum-test-server", &multi, axum.url(), &axum_text),
        ("raw-per-event-current-thread", &single, per_event.url(), &text),
    ];
    let request = ChatRequest {
        model: "bench-model".into(),
        messages: vec![Message::user("Provide detailed guidance on health checks.")],
        ..ChatRequest::default()
    };
    let mut group = c.benchmark_group("client");
    group.throughput(Throughput::Elements(CHUNKS as u64));
    for (name, runtime, url, expected) in cases {
        let client = bench_client(url);
        // The bench measures a real answer only if the client assembles it exactly.
        let (got, deltas) = complete(runtime, &client, &request);
        assert!(got == *expected && deltas == CHUNKS, "{name}: wrong answer ({deltas} deltas)");
        group.bench_function(name, |b| b.iter(|| complete(runtime, &client, &request)));
    }
    group.finish();
}

fn transcript(c: &mut Criterion) {
    let transcript = support::transcript::transcript(TRANSCRIPT_BYTES);
    let text = render(&transcript);
    assert_eq!(parse(&text).expect("generated transcript parses"), transcript);
    println!("transcript: {} turns, {} bytes rendered", transcript.turns.len(), text.len());
    let mut group = c.benchmark_group("transcript");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("render", |b| b.iter(|| render(black_box(&transcript))));
    group.bench_function("parse", |b| b.iter(|| parse(black_box(&text))));
    group.bench_function("render+parse", |b| {
        b.iter(|| parse(&render(black_box(&transcript))).expect("round trip"))
    });
    // What `sessions` reads of each file: the front matter, found and parsed.
    let header = &text[..header_len(text.as_bytes()).expect("a front matter")];
    group.throughput(Throughput::Bytes(header.len() as u64));
    group.bench_function("parse-header", |b| {
        b.iter(|| parse_header(black_box(header)).expect("header parses"))
    });
    group.finish();
}

/// An answer of about `bytes` bytes: the markdown answers of the generated transcript.
fn answer_markdown(bytes: usize) -> String {
    let transcript = support::transcript::transcript(bytes);
    let answers = transcript.turns.iter().filter(|t| t.role == deepdive::message::Role::Assistant);
    answers.map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n\n")
}

fn markdown(c: &mut Criterion) {
    const CHUNK: usize = 5;
    let mut group = c.benchmark_group("markdown");
    for (name, bytes) in
        [("color-20KB-in-5-byte-chunks", 20_000), ("color-2MB-in-5-byte-chunks", 2_000_000)]
    {
        let text = answer_markdown(bytes);
        let chunks: Vec<&str> = text
            .char_indices()
            .step_by(CHUNK)
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| &text[w[0]..w[1]])
            .collect();
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut stream = MarkdownStream::new(Style::Color, 100);
                let mut out = std::io::sink();
                for chunk in &chunks {
                    stream.push(chunk, &mut out).expect("a sink takes everything");
                }
                stream.finish(&mut out).expect("a sink takes everything");
            })
        });
    }
    group.finish();
}

fn prompts(c: &mut Criterion) {
    let mut group = c.benchmark_group("prompts");
    // After the first call (see `first_use`) this is a clone of the parsed library.
    group.bench_function("builtin", |b| b.iter(Library::builtin));
    group.finish();
}

fn tokens(c: &mut Criterion) {
    let mut group = c.benchmark_group("tokens");
    // What the first count in a process pays (`TokenCounter` keeps the result in a static).
    group.bench_function("load-o200k", |b| b.iter_with_large_drop(tiktoken_rs::o200k_base));
    group.bench_function("load-cl100k", |b| b.iter_with_large_drop(tiktoken_rs::cl100k_base));

    let library = Library::builtin();
    let text = support::transcript::transcript(100_000)
        .turns
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let counter = TokenCounter::for_model("gpt-4o");
    let total = counter.count_text(&text).tokens;
    println!("tokens: counting {} bytes = {total} o200k tokens", text.len());
    group.throughput(Throughput::Elements(total));
    group.bench_function("count-o200k", |b| b.iter(|| counter.count_text(black_box(&text))));
    let messages: Vec<Message> =
        library.topics().iter().map(|t| Message::user(&t.prompt)).collect();
    let request_tokens = counter.count_request(&messages).tokens;
    group.throughput(Throughput::Elements(request_tokens));
    group.bench_function("count-request-all-topics", |b| {
        b.iter(|| counter.count_request(black_box(&messages)))
    });
    group.finish();
}

fn coverage(c: &mut Criterion) {
    let library = Library::builtin();
    let topic = library.topic_by_slug("health-checks").unwrap();
    let fixture = include_str!("../tests/fixtures/coverage-eval/health-checks-complete.md");
    // The answer follows the labels' front matter.
    let fixture = fixture.splitn(3, "+++\n").nth(2).unwrap();
    let long = support::transcript::long_answer(&library, 26_000);
    let mut group = c.benchmark_group("coverage");
    for (name, answer) in [("check-8kb", fixture.to_string()), ("check-26kb", long)] {
        group.throughput(Throughput::Bytes(answer.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| deepdive::coverage::check_answers(&topic.cover, &[black_box(&answer)]))
        });
    }
    group.finish();
}
