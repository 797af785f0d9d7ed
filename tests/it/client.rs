//! The chat client against a real local server that injects faults.

#![allow(clippy::unwrap_used)] // helpers of tests: a panic is a failed test

use std::time::Duration;

use serde_json::json;

use crate::common::server::{
    DONE_EVENT, Reply, Script, TestServer, closed_port_url, content_event, error_event,
    finish_event,
};
use deepdive::client::{
    ApiError, ChatClient, ChatRequest, ClientEvent, Completion, Endpoint, RetryPolicy,
};
use deepdive::message::{FinishReason, Message, Usage};
use deepdive::secret::{ApiKey, KeySource};

const KEY: &str = "sk-test-SECRET-1234";

/// What the callback saw, owned.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Delta(String),
    Retrying { attempt: u32, max_attempts: u32, wait: Duration, reason: String, rate_limited: bool },
    Restart,
}

fn endpoint(base_url: &str) -> Endpoint {
    Endpoint {
        api_key: ApiKey::new(KEY),
        key_source: KeySource::Env("DEEPDIVE_TEST_KEY".into()),
        idle_timeout: Duration::from_secs(10),
        ..Endpoint::new(base_url)
    }
}

/// Retries without noticeable waiting: backoff never exceeds 20 ms.
fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

fn request(question: &str) -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        messages: vec![Message::user(question)],
        ..ChatRequest::default()
    }
}

async fn run(client: &ChatClient, req: &ChatRequest) -> (Result<Completion, ApiError>, Vec<Seen>) {
    let mut seen = Vec::new();
    let mut on_event = |event: ClientEvent<'_>| {
        seen.push(match event {
            ClientEvent::Delta(text) => Seen::Delta(text.to_string()),
            ClientEvent::Retrying { attempt, max_attempts, wait, error } => Seen::Retrying {
                attempt,
                max_attempts,
                wait,
                reason: error.reason(),
                rate_limited: error.is_rate_limit(),
            },
            ClientEvent::Restart => Seen::Restart,
            ClientEvent::RateLimited { .. } => panic!("only a batch's limiter paces rate limits"),
        })
    };
    let result = client.complete(req, &mut on_event).await;
    (result, seen)
}

/// Serves `script` and runs one request with `endpoint` tweaked by `tweak`.
async fn exchange(
    script: Script,
    retries: RetryPolicy,
    tweak: impl FnOnce(&mut Endpoint),
) -> (TestServer, Result<Completion, ApiError>, Vec<Seen>) {
    let server = TestServer::start(script);
    let mut endpoint = endpoint(&server.url());
    tweak(&mut endpoint);
    let client = ChatClient::new(endpoint, retries).unwrap();
    let (result, seen) = run(&client, &request("What is a readiness probe?")).await;
    (server, result, seen)
}

fn deltas(seen: &[Seen]) -> String {
    seen.iter()
        .filter_map(|s| if let Seen::Delta(d) = s { Some(d.as_str()) } else { None })
        .collect()
}

fn retries_of(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter().filter(|s| matches!(s, Seen::Retrying { .. })).collect()
}

fn assert_no_key(err: &ApiError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY) && !shown.contains("SECRET"), "the key leaked: {shown}");
}

#[tokio::test]
async fn stream_split_at_odd_bytes_is_reassembled() {
    let text = "Grüße — readiness ✓ and liveness probes are not the same thing.";
    let (_server, result, seen) = exchange(
        Script::replies([Reply::stream(text).chunks(9).odd_splits()]),
        fast_retries(1),
        |_| {},
    )
    .await;
    let completion = result.unwrap();
    assert_eq!(completion.text, text);
    assert_eq!(deltas(&seen), text);
    assert!(
        seen.iter().filter(|s| matches!(s, Seen::Delta(_))).count() > 1,
        "streamed in pieces: {seen:?}"
    );
    assert_eq!(completion.finish_reason, FinishReason::Stop);
    assert_eq!(completion.attempts, 1);
}

#[tokio::test]
async fn done_ends_the_answer_without_waiting_for_the_body_to_close() {
    // The server holds the connection open after [DONE]: a client that kept reading would
    // hit its idle timeout.
    let (_server, result, _) = exchange(
        Script::replies([Reply::stream("all there").stall_after(usize::MAX)]),
        fast_retries(1),
        |e| e.idle_timeout = Duration::from_millis(300),
    )
    .await;
    assert_eq!(result.unwrap().text, "all there");
}

#[tokio::test]
async fn finish_reason_then_clean_end_without_done_is_complete() {
    let (_server, result, _) =
        exchange(Script::replies([Reply::stream("no marker").no_done()]), fast_retries(1), |_| {})
            .await;
    assert_eq!(result.unwrap().text, "no marker");
}

#[tokio::test]
async fn stream_ending_without_finish_reason_is_an_error() {
    let (server, result, _) = exchange(
        Script::replies([Reply::stream("cut off").finish(None).no_done()]),
        fast_retries(1),
        |_| {},
    )
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::Unfinished { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn usage_is_requested_and_recorded() {
    let (server, result, _) =
        exchange(Script::replies([Reply::stream("counted").usage(42, 7)]), fast_retries(1), |_| {})
            .await;
    assert_eq!(
        result.unwrap().usage,
        Some(Usage { prompt_tokens: 42, completion_tokens: 7, cached_tokens: 0 })
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert!(sent.is_stream() && sent.wants_usage(), "{:?}", sent.body);
}

#[tokio::test]
async fn a_server_that_ignores_include_usage_just_gives_no_usage() {
    let (_server, result, _) =
        exchange(Script::replies([Reply::stream("no usage")]), fast_retries(1), |_| {}).await;
    let completion = result.unwrap();
    assert_eq!(completion.usage, None);
    assert_eq!(completion.text, "no usage");
}

#[tokio::test]
async fn length_finish_is_a_complete_truncated_answer() {
    let (_server, result, _) = exchange(
        Script::replies([Reply::stream("a long answer that").finish(Some("length"))]),
        fast_retries(1),
        |_| {},
    )
    .await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "a long answer that");
    assert_eq!(completion.finish_reason, FinishReason::Length);
    assert!(completion.finish_reason.is_truncated());
}

#[tokio::test]
async fn rejected_stream_options_are_dropped_for_the_client_lifetime() {
    let server = TestServer::start(Script::replies([Reply::error_with(
        400,
        "Unrecognized request argument supplied: stream_options",
        "invalid_request_error",
        None,
    )]));
    let client = ChatClient::new(endpoint(&server.url()), fast_retries(1)).unwrap();
    let (result, seen) = run(&client, &request("first")).await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "answer to: first");
    assert_eq!(completion.attempts, 1, "the rejection is not a failed attempt");
    assert!(retries_of(&seen).is_empty(), "{seen:?}");
    let (again, _) = run(&client, &request("second")).await;
    assert_eq!(again.unwrap().text, "answer to: second");

    let sent = server.requests();
    assert_eq!(sent.len(), 3);
    assert!(sent[0].wants_usage());
    assert!(sent[1].body.get("stream_options").is_none(), "{:?}", sent[1].body);
    assert!(sent[2].body.get("stream_options").is_none(), "remembered: {:?}", sent[2].body);
}

#[tokio::test]
async fn retry_after_seconds_is_used_instead_of_the_backoff() {
    let limited =
        Reply::error_with(429, "Rate limit reached", "requests", Some("rate_limit_exceeded"))
            .header("Retry-After", "1");
    let (server, result, seen) =
        exchange(Script::replies([limited]), fast_retries(3), |_| {}).await;
    assert_eq!(result.unwrap().attempts, 2);
    assert_eq!(
        retries_of(&seen),
        [&Seen::Retrying {
            attempt: 2,
            max_attempts: 3,
            wait: Duration::from_secs(1),
            reason: "HTTP 429 Too Many Requests: Rate limit reached".into(),
            rate_limited: true,
        }]
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn retry_after_zero_retries_at_once_even_with_a_long_backoff() {
    let busy = Reply::error(503, "busy").header("Retry-After", "0");
    let slow_backoff = RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(30),
    };
    let (_server, result, seen) = exchange(Script::replies([busy]), slow_backoff, |_| {}).await;
    assert!(result.is_ok());
    assert!(
        matches!(retries_of(&seen)[..], [Seen::Retrying { wait: Duration::ZERO, .. }]),
        "{seen:?}"
    );
}

#[tokio::test]
async fn insufficient_quota_is_not_retried() {
    let quota = Reply::error_with(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        Some("insufficient_quota"),
    )
    .header("Retry-After", "0");
    let (server, result, _) = exchange(Script::replies([quota]), fast_retries(5), |_| {}).await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("quota or billing is exhausted"), "{err}");
    assert!(err.is_fatal_for_endpoint());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn html_500_is_retried_then_succeeds() {
    let page = "<!DOCTYPE html>\n<html><body><h1>Internal Server Error</h1></body></html>";
    let (server, result, seen) =
        exchange(Script::replies([Reply::html(500, page)]), fast_retries(3), |_| {}).await;
    let completion = result.unwrap();
    assert_eq!(completion.attempts, 2);
    assert!(
        matches!(retries_of(&seen)[..], [Seen::Retrying { reason, .. }] if reason == "HTTP 500 Internal Server Error: an HTML page (first line: `<!DOCTYPE html>`)"),
        "{seen:?}"
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn json_503_until_attempts_run_out() {
    let script = Script::from_fn(|_, _| Reply::error(503, "The engine is currently overloaded"));
    let (server, result, seen) = exchange(script, fast_retries(3), |_| {}).await;
    let err = result.unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("after 3 attempts") && shown.contains("currently overloaded"),
        "{shown}"
    );
    assert!(matches!(err, ApiError::RetriesExhausted { attempts: 3, .. }));
    assert_eq!(server.hits(), 3);
    assert_eq!(retries_of(&seen).len(), 2);
}

#[tokio::test]
async fn unauthorized_names_the_key_source_and_never_the_key() {
    // The server even echoes the key back; it must still not show.
    let echo = Reply::error_with(
        401,
        &format!("Incorrect API key provided: {KEY}"),
        "invalid_request_error",
        None,
    );
    let (server, result, _) = exchange(Script::replies([echo]), fast_retries(3), |_| {}).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::Auth { status: 401, .. }), "{err:?}");
    assert!(err.to_string().contains("environment variable DEEPDIVE_TEST_KEY"), "{err}");
    assert_no_key(&err);
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn not_found_names_the_url_and_the_model() {
    let (server, result, _) = exchange(
        Script::replies([Reply::error(404, "The model does not exist")]),
        fast_retries(3),
        |_| {},
    )
    .await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains(&format!("{}/chat/completions", server.url())), "{err}");
    assert!(err.contains("test-model") && err.contains("/v1"), "{err}");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn context_length_error_says_what_was_sent_and_the_limit() {
    let too_long = Reply::error_with(
        400,
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
        "invalid_request_error",
        Some("context_length_exceeded"),
    );
    let server = TestServer::start(Script::replies([too_long]));
    let client = ChatClient::new(endpoint(&server.url()), fast_retries(3)).unwrap();
    let req = ChatRequest { prompt_tokens: Some(9100), ..request("long") };
    let (result, _) = run(&client, &req).await;
    let err = result.unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("9100 tokens were sent") && shown.contains("limit is 8192 tokens"),
        "{shown}"
    );
    assert!(!err.is_retryable());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn html_page_with_status_200_is_reported_with_its_first_line() {
    let page =
        "\n<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Welcome</body></html>";
    let (server, result, _) =
        exchange(Script::replies([Reply::html(200, page)]), fast_retries(3), |_| {}).await;
    let err = result.unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("HTML page") && shown.contains("`<!DOCTYPE html>`"), "{shown}");
    assert!(err.is_fatal_for_endpoint());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn dropped_stream_restarts_and_succeeds_on_retry() {
    let broken = Reply::stream("this answer breaks off halfway").chunks(4).abort_after(3);
    let (server, result, seen) = exchange(Script::replies([broken]), fast_retries(3), |_| {}).await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "answer to: What is a readiness probe?");
    assert_eq!(completion.attempts, 2);
    let restart = seen.iter().position(|s| *s == Seen::Restart).expect("a Restart event");
    assert!(!deltas(&seen[..restart]).is_empty(), "partial text came before the restart");
    assert!(
        matches!(&seen[restart + 1], Seen::Retrying { reason, .. } if reason == "stream broke off"),
        "{seen:?}"
    );
    assert_eq!(deltas(&seen[restart + 1..]), completion.text);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn stalled_stream_hits_the_idle_timeout() {
    let stall = || Reply::stream("this answer stalls").chunks(4).stall_after(2);
    let (server, result, seen) =
        exchange(Script::from_fn(move |_, _| stall()), fast_retries(2), |e| {
            e.idle_timeout = Duration::from_millis(300)
        })
        .await;
    let err = result.unwrap_err();
    let ApiError::RetriesExhausted { last, .. } = &err else { panic!("{err:?}") };
    assert!(matches!(**last, ApiError::Stalled { .. }), "{err:?}");
    assert!(err.to_string().contains("nothing arrived for 300ms"), "{err}");
    assert!(
        matches!(retries_of(&seen)[..], [Seen::Retrying { reason, .. }] if reason == "stream stalled for 300ms"),
        "{seen:?}"
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn slow_response_headers_hit_the_idle_timeout() {
    let slow = Reply::stream("late").delay(Duration::from_secs(30));
    let (_server, result, _) = exchange(Script::replies([slow]), fast_retries(1), |e| {
        e.idle_timeout = Duration::from_millis(300)
    })
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::NoResponse { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn malformed_chunk_is_an_error() {
    let bad = Reply::sse_events([content_event("Hel"), "data: {\"choices\": [oops\n\n".into()]);
    let (_server, result, _) = exchange(Script::replies([bad]), fast_retries(1), |_| {}).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("[oops"), "{err}");
}

#[tokio::test]
async fn error_object_inside_the_stream_is_an_error_with_its_message() {
    let failing = Reply::sse_events([
        content_event("Hel"),
        error_event("The server had an error while processing"),
    ]);
    let (_server, result, _) = exchange(Script::replies([failing]), fast_retries(1), |_| {}).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::Reported { .. }), "{err:?}");
    assert!(err.to_string().contains("The server had an error while processing"), "{err}");
}

#[tokio::test]
async fn error_event_inside_the_stream_is_an_error() {
    let failing = Reply::sse_events([
        content_event("Hel"),
        "event: error\ndata: {\"message\":\"model crashed\"}\n\n".into(),
        finish_event("stop"),
        DONE_EVENT.into(),
    ]);
    let (_server, result, _) = exchange(Script::replies([failing]), fast_retries(1), |_| {}).await;
    assert!(result.unwrap_err().to_string().contains("model crashed"));
}

#[tokio::test]
async fn refused_connection_names_the_base_url() {
    let url = closed_port_url();
    let client = ChatClient::new(endpoint(&url), fast_retries(2)).unwrap();
    let (result, seen) = run(&client, &request("anyone there?")).await;
    let err = result.unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains(&url) && shown.contains("is the server running"), "{shown}");
    assert!(shown.contains("after 2 attempts"), "connect errors are retried: {shown}");
    assert_eq!(retries_of(&seen).len(), 1);
    assert_no_key(&err);
}

#[tokio::test]
async fn no_stream_mode_asks_for_and_parses_one_json_answer() {
    let (server, result, seen) =
        exchange(Script::echo(), fast_retries(1), |e| e.stream = false).await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "answer to: What is a readiness probe?");
    assert_eq!(seen, [Seen::Delta(completion.text.clone())]);
    assert!(completion.usage.is_some());
    let sent = &server.requests()[0];
    assert_eq!(sent.body["stream"], false);
    assert!(sent.body.get("stream_options").is_none());
}

#[tokio::test]
async fn a_json_answer_to_a_streaming_request_is_accepted() {
    let (_server, result, seen) = exchange(
        Script::replies([Reply::json_answer("whole").usage(3, 1)]),
        fast_retries(1),
        |_| {},
    )
    .await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "whole");
    assert_eq!(deltas(&seen), "whole");
}

#[tokio::test]
async fn requests_carry_the_key_and_the_extra_headers() {
    let (server, result, _) = exchange(Script::echo(), fast_retries(1), |e| {
        e.base_url.push('/'); // a trailing slash is tolerated
        e.headers = vec![
            ("X-Title".into(), "deepdive tests".into()),
            ("api-version".into(), "2024-06-01".into()),
        ];
    })
    .await;
    result.unwrap();
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(sent.header("x-title"), Some("deepdive tests"));
    assert_eq!(sent.header("api-version"), Some("2024-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.body["model"], "test-model");
    assert_eq!(sent.body["messages"][0]["content"], "What is a readiness probe?");
}

#[test]
fn the_client_debug_output_has_no_key() {
    let client = ChatClient::new(endpoint("http://127.0.0.1:9/v1"), fast_retries(1)).unwrap();
    assert!(!format!("{client:?}").contains("SECRET"));
    assert!(!format!("{:?}", endpoint("http://x/v1")).contains("SECRET"));
}

#[test]
fn the_client_can_be_shared_across_spawned_tasks() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let client = ChatClient::new(endpoint("http://127.0.0.1:9/v1"), fast_retries(1)).unwrap();
    assert_send_sync(&client);
    let req = request("q");
    let mut on_event = |_: ClientEvent<'_>| {};
    assert_send(&client.complete(&req, &mut on_event));
}

#[test]
fn the_test_server_works_from_a_plain_test() {
    use std::io::{Read, Write};
    let server = TestServer::start(Script::echo());
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false}"#;
    let addr = server.url().trim_start_matches("http://").trim_end_matches("/v1").to_string();
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""content":"answer to: hi""#), "{response}");
    assert_eq!(server.hits(), 1);
    assert_eq!(server.requests()[0].last_user_message().as_deref(), Some("hi"));
}

// ---- Hostile and broken servers (issue 12) ----

/// True when any 8 characters in a row of `secret` appear in `text`: a key cut in half by a
/// length limit still counts as leaked.
fn leaks(text: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars.windows(8).any(|w| text.contains(&w.iter().collect::<String>()))
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_nothing_reaches_it() {
    let elsewhere = TestServer::start(Script::echo());
    let target = format!("{}/chat/completions", elsewhere.url());
    let (server, result, _) = exchange(
        Script::from_fn(move |_, _| Reply::redirect(307, &target)),
        fast_retries(3),
        |e| e.headers = vec![("api-key".into(), "azure-header-secret".into())],
    )
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::Redirected { status: 307, .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains(&elsewhere.url()), "the error names the Location: {shown}");
    assert!(err.is_fatal_for_endpoint() && !err.is_retryable());
    assert_eq!(elsewhere.hits(), 0, "no request, key or header reached the other origin");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_redirect_with_credentials_in_its_location_names_it_redacted() {
    let (_server, result, _) = exchange(
        Script::replies([Reply::redirect(302, "https://u:pw-secret@evil.example/v1?key=k-secret")]),
        fast_retries(1),
        |_| {},
    )
    .await;
    let shown = result.unwrap_err().to_string();
    assert!(shown.contains("https://<redacted>@evil.example/v1?key=<redacted>"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
}

#[tokio::test]
async fn a_same_origin_redirect_keeps_working_with_its_headers() {
    let server = TestServer::start(Script::from_fn(|request, _| {
        if request.path == "/v1/chat/completions" {
            Reply::redirect(307, "/v2/chat/completions")
        } else {
            Reply::default_for(request)
        }
    }));
    let mut endpoint = endpoint(&server.url());
    endpoint.headers = vec![("api-key".into(), "azure-header-secret".into())];
    let client = ChatClient::new(endpoint, fast_retries(1)).unwrap();
    let (result, _) = run(&client, &request("moved?")).await;
    assert_eq!(result.unwrap().text, "answer to: moved?");
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].path, "/v2/chat/completions");
    assert_eq!(sent[1].header("api-key"), Some("azure-header-secret"));
    assert_eq!(sent[1].body["messages"][0]["content"], "moved?", "a 307 keeps the body");
}

#[tokio::test]
async fn a_key_that_straddles_the_cut_is_masked_in_every_server_text() {
    // Each body puts the key where a cut to 80 or 120 characters falls inside it.
    let key_at = |start: usize| format!("{}{KEY} tail", "x".repeat(start));
    let bodies: Vec<(&str, Reply)> = vec![
        ("error message", Reply::error(400, &key_at(110))),
        ("html page", Reply::html(502, &format!("<html>{}", key_at(108)))),
        ("stream error", Reply::sse_events([content_event("a"), error_event(&key_at(112))])),
        ("bad chunk", Reply::sse_events([format!("data: {{oops {}\n\n", key_at(70))])),
        ("html 200", Reply::html(200, &format!("<html>{}", key_at(110)))),
    ];
    for (what, reply) in bodies {
        let (_server, result, seen) =
            exchange(Script::from_fn(move |_, _| reply.clone()), fast_retries(2), |_| {}).await;
        let err = result.unwrap_err();
        let shown = format!("{err} {err:?} {seen:?}");
        assert!(!leaks(&shown, KEY), "{what}: {shown}");
    }
}

#[tokio::test]
async fn an_endless_stream_ends_at_the_answer_ceiling() {
    let endless = Reply::sse_events([content_event("start ")]).endless(&content_event("again "));
    let (server, result, seen) = exchange(Script::replies([endless]), fast_retries(3), |e| {
        e.max_answer_bytes = 64 * 1024;
    })
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::TooLarge { limit: 65536 }), "{err:?}");
    assert!(err.to_string().contains("limits.max_answer_mb"), "{err}");
    assert!(deltas(&seen).len() <= 64 * 1024, "no more than the ceiling was handed out");
    assert_eq!(server.hits(), 1, "not retried: the server would do it again");
}

#[tokio::test]
async fn a_line_that_never_ends_is_stopped_before_it_is_buffered() {
    let open = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
    let endless = Reply::sse_events([open]).endless(&"x".repeat(4096));
    let (server, result, _) = exchange(Script::replies([endless]), fast_retries(3), |_| {}).await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::LongLine { limit: 1_048_576 }), "{err:?}");
    assert!(err.to_string().contains("more than 1 MB without ending it"), "{err}");
    assert_eq!(server.hits(), 1, "not retried");
}

#[tokio::test]
async fn an_event_that_never_ends_is_stopped_at_the_ceiling() {
    // `data:` lines for ever and never the blank line that would end the event.
    let endless =
        Reply::sse_events(Vec::<String>::new()).endless(&format!("data: {}\n", "z".repeat(1000)));
    let (_server, result, _) = exchange(Script::replies([endless]), fast_retries(1), |e| {
        e.max_answer_bytes = 64 * 1024;
    })
    .await;
    assert!(matches!(result, Err(ApiError::TooLarge { .. })), "{result:?}");
}

#[tokio::test]
async fn a_whole_answer_past_the_ceiling_is_refused() {
    let huge = Reply::json_answer(&"y".repeat(400 * 1024));
    let (_server, result, seen) = exchange(Script::replies([huge]), fast_retries(1), |e| {
        e.stream = false;
        e.max_answer_bytes = 64 * 1024;
    })
    .await;
    assert!(matches!(result, Err(ApiError::TooLarge { .. })), "{result:?}");
    assert!(seen.is_empty(), "nothing of it was handed out: {seen:?}");
}

#[tokio::test]
async fn an_answer_well_past_max_tokens_is_cut_and_counts_as_truncated() {
    let endless = Reply::sse_events([content_event("start ")]).endless(&content_event("more "));
    let server = TestServer::start(Script::replies([endless]));
    let client = ChatClient::new(endpoint(&server.url()), fast_retries(1)).unwrap();
    let req = ChatRequest { max_tokens: Some(50), ..request("short please") };
    let (result, seen) = run(&client, &req).await;
    let completion = result.unwrap();
    assert_eq!(completion.finish_reason, FinishReason::Length);
    assert!(completion.text.starts_with("start more more"), "{}", completion.text);
    assert!(completion.text.len() <= 50 * 8 + 1024, "{}", completion.text.len());
    assert_eq!(deltas(&seen), completion.text);
    assert_eq!(server.requests()[0].body["max_tokens"], 50);

    let whole = Reply::json_answer(&"word ".repeat(1000));
    let (_server, result, _) = exchange(Script::replies([whole]), fast_retries(1), |e| {
        e.stream = false;
    })
    .await;
    assert_eq!(result.unwrap().finish_reason, FinishReason::Stop, "no max_tokens: no cut");
}

#[tokio::test]
async fn sse_comments_count_as_life_for_the_idle_timeout() {
    // 20 pings 100 ms apart: two seconds without a single data event, twice the idle timeout.
    let mut events: Vec<String> = vec![": ping\n\n".to_string(); 20];
    events.extend([content_event("alive"), finish_event("stop"), DONE_EVENT.to_string()]);
    let pinging = Reply::sse_events(events).pace(Duration::from_millis(100));
    let (_server, result, _) = exchange(Script::replies([pinging]), fast_retries(1), |e| {
        e.idle_timeout = Duration::from_secs(1)
    })
    .await;
    assert_eq!(result.unwrap().text, "alive");
}

#[tokio::test]
async fn an_answer_that_trickles_forever_ends_at_the_request_deadline() {
    let trickle = Reply::sse_events([content_event("slow ")])
        .endless(&content_event("drip "))
        .pace(Duration::from_millis(50));
    let (server, result, seen) = exchange(Script::replies([trickle]), fast_retries(3), |e| {
        e.idle_timeout = Duration::from_secs(5);
        e.request_timeout = Duration::from_secs(1);
    })
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, ApiError::Deadline { .. }), "{err:?}");
    assert!(err.to_string().contains("timeouts.request_secs"), "{err}");
    assert!(deltas(&seen).starts_with("slow drip"), "what arrived was handed out: {seen:?}");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn odd_optional_fields_never_cost_an_answer() {
    let odd = [
        json!(null),
        json!({"prompt_tokens": null, "completion_tokens": 3}),
        json!({"prompt_tokens": 12.5, "completion_tokens": 3}),
        json!({"prompt_tokens": -7, "completion_tokens": 3}),
        json!({"prompt_tokens": 1e300, "completion_tokens": 3}),
        json!({"prompt_tokens": "12", "completion_tokens": 3}),
        json!("lots"),
    ];
    for usage in odd {
        for stream in [true, false] {
            let reply = if stream { Reply::stream("kept") } else { Reply::json_answer("kept") };
            let (server, result, _) =
                exchange(Script::replies([reply.raw_usage(usage.clone())]), fast_retries(3), |e| {
                    e.stream = stream
                })
                .await;
            let completion = result.unwrap_or_else(|e| panic!("{usage} (stream {stream}): {e}"));
            assert_eq!((completion.text.as_str(), completion.usage), ("kept", None), "{usage}");
            assert_eq!(server.hits(), 1, "not retried: {usage}");
        }
    }
    // No id, `index: null`, unknown fields, `choices: null` in a usage chunk.
    let strange = Reply::sse_events([
        "data: {\"choices\":[{\"index\":null,\"delta\":{\"content\":\"odd\"},\"logprobs\":{\"x\":1}}],\"system_fingerprint\":7}\n\n".to_string(),
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"weird\":[null]}\n\n".to_string(),
        "data: {\"choices\":null,\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n".to_string(),
        DONE_EVENT.to_string(),
    ]);
    let (_server, result, _) = exchange(Script::replies([strange]), fast_retries(1), |_| {}).await;
    let completion = result.unwrap();
    assert_eq!(completion.text, "odd");
    assert_eq!(
        completion.usage,
        Some(Usage { prompt_tokens: 3, completion_tokens: 1, cached_tokens: 0 })
    );
}

#[tokio::test]
async fn a_401_without_a_key_says_none_was_sent() {
    let (_server, result, _) = exchange(
        Script::replies([Reply::error(401, "Missing bearer token")]),
        fast_retries(3),
        |e| {
            e.api_key = None;
            e.key_source = KeySource::Env("OPENAI_API_KEY".into());
            e.profile = "gateway".into();
        },
    )
    .await;
    let shown = result.unwrap_err().to_string();
    assert!(shown.contains("no API key was sent"), "{shown}");
    assert!(shown.contains("OPENAI_API_KEY") && shown.contains("[profiles.gateway]"), "{shown}");
    assert!(!shown.contains("rejected the API key"), "{shown}");
}
