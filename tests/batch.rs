//! `deepdive batch` against a real local server: what is sent, what is saved, and how faults end.

mod common;

use common::sandbox::Sandbox;
use common::server::{Reply, Script, TestServer, content_event};
use deepdive::session::{AnswerStatus, SessionStatus, TurnKind, store};
use predicates::prelude::*;

/// A sandbox whose only profile points at `server`, with fast retries.
fn sandbox_for(server: &TestServer) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[retry]\nmax_attempts = 3\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [timeouts]\nidle_secs = 1\n\n\
         [profiles.test]\nbase_url = \"{}\"\nmodel = \"test-model\"\napi_key_env = \"\"\n",
        server.url()
    ));
    sandbox
}

/// A script that answers normally unless the last user message contains `needle`.
fn failing_when(needle: &'static str, reply: fn() -> Reply) -> Script {
    Script::from_fn(move |request, _| match request.last_user_message() {
        Some(text) if text.contains(needle) => reply(),
        _ => Reply::default_for(request),
    })
}

#[test]
fn each_topic_is_a_fresh_conversation_saved_as_a_transcript() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    sandbox
        .cmd()
        .args(["batch", "15", "16", "--stack", "PostgreSQL, Istio"])
        .assert()
        .success()
        .stdout(predicate::str::contains("health-checks.md"))
        .stdout(predicate::str::contains("graceful-shutdown.md"));

    let requests = server.requests();
    assert_eq!(requests.len(), 4, "priming + topic, twice");
    // Topic 15's second request carries the priming exchange, then the topic prompt.
    let second = requests[1].messages();
    assert_eq!(second.len(), 3);
    assert!(second[0].1.ends_with("We're using PostgreSQL, Istio."));
    assert_eq!(second[1].0, "assistant");
    assert!(second[1].1.starts_with("answer to: I am an experienced"));
    assert!(second[2].1.starts_with("Provide detailed guidance on implementing health checks"));
    // Topic 16 starts afresh: its first request is the priming alone.
    assert_eq!(requests[2].messages().len(), 1);
    assert!(requests.iter().all(|r| r.body["model"] == "test-model" && r.is_stream()));

    let files = sandbox.transcripts();
    assert_eq!(files.len(), 2);
    let health =
        store::load(files.iter().find(|f| f.to_string_lossy().contains("health")).unwrap())
            .unwrap();
    assert_eq!(health.meta.status, SessionStatus::Complete);
    assert_eq!(health.meta.topics, ["health-checks"]);
    assert_eq!(health.meta.stack.as_deref(), Some("PostgreSQL, Istio"));
    assert_eq!(health.turns.len(), 4);
    assert_eq!(health.turns[2].info.kind, Some(TurnKind::Topic("health-checks".into())));
    assert!(health.turns[3].text.starts_with("answer to: Provide detailed guidance"));
    // The server reported usage, and that is what is recorded.
    let usage = health.turns[3].info.usage.unwrap();
    assert_eq!(usage.completion_tokens, health.turns[3].text.split_whitespace().count() as u64);
    assert!(!health.turns[3].info.usage_counted);
    assert_eq!(health.meta.usage.completion_tokens, {
        let first = health.turns[1].info.usage.unwrap().completion_tokens;
        first + usage.completion_tokens
    });
}

#[test]
fn a_failing_topic_does_not_stop_the_others_and_the_exit_code_is_1() {
    let server = TestServer::start(failing_when("graceful shutdown", || {
        Reply::error(500, "the model crashed")
    }));
    let sandbox = sandbox_for(&server);
    sandbox
        .cmd()
        .args(["batch", "16", "15"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("graceful-shutdown"))
        .stderr(predicate::str::contains("the model crashed"))
        .stderr(predicate::str::contains("gave up after 3 attempts"))
        .stderr(predicate::str::contains("1 of 2 topics done, 1 failed"));
    let files = sandbox.transcripts();
    assert_eq!(files.len(), 2);
    let failed =
        store::load(files.iter().find(|f| f.to_string_lossy().contains("graceful")).unwrap())
            .unwrap();
    assert_eq!(failed.meta.status, SessionStatus::Failed);
    let last = failed.turns.last().unwrap();
    assert_eq!(last.info.status, Some(AnswerStatus::Failed));
    assert!(last.info.error.as_deref().unwrap().contains("the model crashed"));
}

#[test]
fn retries_are_visible_and_honour_retry_after() {
    let server = TestServer::start(Script::replies([
        Reply::error(429, "slow down").header("Retry-After", "0"),
        Reply::html(500, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        Reply::error(503, "overloaded"),
    ]));
    let sandbox = sandbox_for(&server);
    sandbox
        .cmd()
        .args(["batch", "15", "--max-attempts", "4"])
        .assert()
        .success()
        .stderr(predicate::str::contains("slow down; attempt 2 of 4 in 0ms"))
        .stderr(predicate::str::contains("HTML"))
        .stderr(predicate::str::contains("attempt 4 of 4"));
    assert_eq!(server.hits(), 3 + 2, "three failures, then priming and topic");
}

#[test]
fn a_stream_that_breaks_off_is_retried_from_the_start_of_the_turn() {
    let server =
        TestServer::start(Script::replies([Reply::stream("this partial answer must not be kept")
            .chunks(6)
            .abort_after(3)]));
    let sandbox = sandbox_for(&server);
    sandbox.cmd().args(["batch", "15"]).assert().success();
    let transcript = store::load(&sandbox.transcripts()[0]).unwrap();
    assert!(transcript.turns[1].text.starts_with("answer to: I am an experienced"));
    assert!(!transcript.turns[1].text.contains("partial"));
}

#[test]
fn a_stream_without_finish_reason_is_never_accepted_as_an_answer() {
    let server = TestServer::start(Script::replies(
        (0..3).map(|_| Reply::sse_events([content_event("half an ans")]).header("x", "y")),
    ));
    let sandbox = sandbox_for(&server);
    sandbox.cmd().args(["batch", "15"]).assert().code(1);
    let transcript = store::load(&sandbox.transcripts()[0]).unwrap();
    assert_eq!(transcript.meta.status, SessionStatus::Failed);
    assert_eq!(transcript.turns[1].info.status, Some(AnswerStatus::Failed));
    assert!(transcript.turns[1].text.is_empty());
}

#[test]
fn a_stalled_stream_times_out_and_is_recorded_as_failed() {
    let server =
        TestServer::start(failing_when("", || Reply::stream("never finishes").stall_after(2)));
    let sandbox = sandbox_for(&server);
    sandbox
        .cmd()
        .args(["batch", "15", "--max-attempts", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("stalled").or(predicate::str::contains("no data")));
}

#[test]
fn a_length_finish_is_recorded_as_truncated() {
    let server =
        TestServer::start(Script::replies([Reply::stream("cut short").finish(Some("length"))]));
    let sandbox = sandbox_for(&server);
    sandbox
        .cmd()
        .args(["batch", "15", "--max-tokens", "5"])
        .assert()
        .success()
        .stderr(predicate::str::contains("truncated"));
    assert_eq!(server.requests()[0].body["max_tokens"], 5);
    let transcript = store::load(&sandbox.transcripts()[0]).unwrap();
    assert_eq!(transcript.turns[1].info.status, Some(AnswerStatus::Truncated));
    assert_eq!(transcript.turns[1].info.finish_reason.as_deref(), Some("length"));
}

#[test]
fn a_request_that_cannot_fit_the_context_window_fails_before_sending() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    sandbox
        .cmd()
        .args(["batch", "15", "--context-window", "100"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("context window of test-model is 100"));
    assert_eq!(server.hits(), 0);
}

#[test]
fn an_endpoint_that_rejects_the_key_stops_the_batch_and_names_the_key_source() {
    let server = TestServer::start(Script::from_fn(|_, _| Reply::error(401, "Incorrect API key")));
    let sandbox = sandbox_for(&server);
    sandbox.write_config(&format!(
        "[profiles.test]\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_env = \"TEST_KEY\"\n",
        server.url()
    ));
    sandbox
        .cmd()
        .args(["batch", "15", "16", "17"])
        .env("TEST_KEY", "sk-test-abc")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("TEST_KEY"))
        .stderr(predicate::str::contains("not sent"));
    assert_eq!(server.hits(), 1, "a rejected key is not retried, and later topics are not sent");
}

#[test]
fn no_stream_mode_asks_for_whole_answers() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    sandbox.cmd().args(["batch", "15", "--no-stream"]).assert().success();
    assert!(server.requests().iter().all(|r| !r.is_stream()));
    let transcript = store::load(&sandbox.transcripts()[0]).unwrap();
    assert!(transcript.turns[3].text.starts_with("answer to: Provide detailed"));
}

#[test]
fn a_refused_connection_names_the_base_url() {
    let sandbox = Sandbox::new();
    let url = common::server::closed_port_url();
    sandbox
        .cmd()
        .args(["batch", "15", "--max-attempts", "1", "--base-url", &url])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(url.as_str()));
}

#[test]
fn batch_all_runs_every_topic_in_guide_order() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    let output =
        sandbox.cmd().args(["batch", "--all", "-q"]).assert().success().get_output().clone();
    let paths = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(paths.lines().count(), 20);
    assert!(paths.lines().next().unwrap().ends_with("multi-replica-testing.md"));
    assert!(paths.lines().last().unwrap().ends_with("capacity-planning.md"));
    assert_eq!(server.hits(), 40);
}
