//! `deepdive batch` against a real local server: what is sent, what the run folder holds, how
//! faults end, and that runs resume after Ctrl-C or `kill -9` without redoing finished topics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::process::Stdio;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer, content_event};
use deepdive::batch::{Manifest, TopicStatus};
use deepdive::session::{AnswerStatus, SessionStatus, TurnKind, store};
use predicates::prelude::*;

/// A sandbox whose only profile points at `server`, with fast retries.
pub(crate) fn sandbox_for(server: &TestServer) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&config_for(&server.url(), ""));
    sandbox
}

pub(crate) fn config_for(url: &str, extra_profile_lines: &str) -> String {
    format!(
        "[retry]\nmax_attempts = 3\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [timeouts]\nidle_secs = 1\n\n\
         [profiles.test]\nbase_url = \"{url}\"\nmodel = \"test-model\"\napi_key_env = \"\"\n\
         {extra_profile_lines}"
    )
}

/// `deepdive batch --out <run dir>` in the sandbox.
pub(crate) fn batch(sandbox: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sandbox.cmd();
    cmd.arg("batch").arg("--out").arg(sandbox.run_dir());
    cmd
}

/// A script that answers normally unless the last user message contains `needle`.
fn failing_when(needle: &'static str, reply: fn() -> Reply) -> Script {
    Script::from_fn(move |request, _| match request.last_user_message() {
        Some(text) if text.contains(needle) => reply(),
        _ => Reply::default_for(request),
    })
}

pub(crate) fn transcript_of(sandbox: &Sandbox, slug: &str) -> deepdive::session::Transcript {
    let files = sandbox.transcripts();
    let path = files.iter().find(|f| f.to_string_lossy().ends_with(&format!("-{slug}.md")));
    store::load(path.unwrap_or_else(|| panic!("no transcript for {slug} in {files:?}"))).unwrap()
}

pub(crate) fn manifest(sandbox: &Sandbox) -> Manifest {
    Manifest::load(&sandbox.run_dir()).unwrap().unwrap()
}

#[test]
fn each_topic_is_its_own_conversation_opened_by_one_shared_priming_exchange() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["16", "15", "--stack", "PostgreSQL, Istio", "--concurrency", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 topics: 2 complete"));

    let requests = server.requests();
    assert_eq!(requests.len(), 3, "one priming request, then each topic prompt");
    let priming = requests[0].messages();
    assert_eq!(priming.len(), 1);
    assert!(priming[0].1.ends_with("We're using PostgreSQL, Istio."));
    // Topics run in guide order; each carries the shared priming exchange, then its prompt.
    let (first, second) = (requests[1].messages(), requests[2].messages());
    assert_eq!((first.len(), second.len()), (3, 3));
    assert_eq!(first[..2], second[..2]);
    assert_eq!(first[0], priming[0]);
    assert_eq!(first[1].0, "assistant");
    assert!(first[1].1.starts_with("answer to: I am an experienced"));
    assert!(first[2].1.starts_with("Provide detailed guidance on implementing health checks"));
    assert!(second[2].1.contains("graceful shutdown"));
    assert!(requests.iter().all(|r| r.body["model"] == "test-model" && r.is_stream()));

    let names: Vec<String> = sandbox
        .transcripts()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["00-priming.md", "15-health-checks.md", "16-graceful-shutdown.md"]);
    let health = transcript_of(&sandbox, "health-checks");
    assert_eq!(health.meta.status, SessionStatus::Complete);
    assert_eq!(health.meta.stack.as_deref(), Some("PostgreSQL, Istio"));
    assert_eq!(health.turns.len(), 4, "the guide's pattern: priming exchange, topic exchange");
    assert_eq!(health.turns[0].info.kind, Some(TurnKind::Priming));
    assert_eq!(health.turns[1].text, transcript_of(&sandbox, "graceful-shutdown").turns[1].text);
    assert_eq!(health.turns[2].info.kind, Some(TurnKind::Topic("health-checks".into())));
    assert!(health.turns[3].text.starts_with("answer to: Provide detailed guidance"));
    // The server reported usage, and that is what is recorded.
    let usage = health.turns[3].info.usage.unwrap();
    assert_eq!(usage.completion_tokens, health.turns[3].text.split_whitespace().count() as u64);
    assert!(!health.turns[3].info.usage_counted);
    assert!(health.turns[3].info.coverage.is_some());
    // The shared exchange's tokens are counted once, in the priming record.
    assert_eq!(health.turns[1].info.usage, None);

    let manifest = manifest(&sandbox);
    assert_eq!(manifest.plan.topics, ["health-checks", "graceful-shutdown"]);
    assert_eq!(manifest.plan.stack.as_deref(), Some("PostgreSQL, Istio"));
    let record = &manifest.topics[0];
    assert_eq!((record.status, record.attempts), (TopicStatus::Complete, 1));
    assert_eq!(record.usage, health.meta.usage);
    assert!(record.coverage.is_some() && record.started.is_some() && record.finished.is_some());
    let priming = manifest.priming.as_ref().unwrap();
    assert_eq!(
        (priming.status, priming.attempts, priming.file.as_str()),
        (TopicStatus::Complete, 1, "00-priming.md")
    );
    assert!(priming.usage.total() > 0);
}

#[test]
fn fresh_priming_asks_the_priming_prompt_in_every_topic() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    batch(&sandbox).args(["16", "15", "--fresh-priming", "--concurrency", "1"]).assert().success();
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "priming + topic, twice");
    assert_eq!(requests[0].messages().len(), 1);
    assert_eq!(requests[2].messages().len(), 1, "topic 16 starts afresh");
    assert!(!sandbox.run_dir().join("00-priming.md").exists());
    assert!(manifest(&sandbox).plan.fresh_priming);
}

#[test]
fn the_handbook_lists_every_topic_in_guide_order_with_links_that_resolve() {
    let server = TestServer::start(failing_when("graceful shutdown", || Reply::error(400, "no")));
    let sandbox = sandbox_for(&server);
    batch(&sandbox).args(["16", "1", "15"]).assert().code(1);
    let index = std::fs::read_to_string(sandbox.run_dir().join("index.md")).unwrap();
    let rows: Vec<&str> = index
        .lines()
        .filter(|l| l.starts_with("| 1") || l.starts_with("| 15") || l.starts_with("| 16"))
        .collect();
    assert_eq!(rows.len(), 3, "{index}");
    assert!(
        rows[0].contains("Multi-Replica")
            && rows[1].contains("Health")
            && rows[2].contains("Graceful")
    );
    assert!(rows[2].contains("failed"));
    assert!(index.contains("**Totals:** 3 topics: 2 complete, 1 failed"));
    let mut links = 0;
    for part in index.split("](").skip(1) {
        let target = &part[..part.find(')').unwrap()];
        assert!(sandbox.run_dir().join(target).is_file(), "broken link {target}");
        links += 1;
    }
    assert_eq!(
        links,
        3 + 3 + 1,
        "three transcripts, handbook.html, handbook.md, coverage.svg, the shared priming"
    );
}

#[test]
fn follow_ups_continue_each_conversation_in_order() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    batch(&sandbox).args(["15", "--followups", "mistakes,checklist"]).assert().success();
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let last = requests[3].messages();
    assert_eq!(last.len(), 7);
    assert_eq!(last[4].1, "What are the most common mistakes teams make with health checks?");
    assert!(last[6].1.to_lowercase().contains("checklist"), "{}", last[6].1);
    let transcript = transcript_of(&sandbox, "health-checks");
    assert_eq!(transcript.turns[4].info.kind, Some(TurnKind::Followup));
}

#[test]
fn an_unknown_follow_up_is_bad_usage() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["batch", "15", "--followups", "checklist,misteaks"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("misteaks"))
        .stderr(predicate::str::contains("mistakes"));
}

#[test]
fn concurrency_is_bounded() {
    let server = TestServer::start(Script::from_fn(|request, _| {
        Reply::default_for(request).delay(Duration::from_millis(100))
    }));
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["1", "2", "3", "4", "5", "6", "7", "--concurrency", "3"])
        .assert()
        .success();
    assert_eq!(server.hits(), 1 + 7);
    assert!(server.max_in_flight() <= 3, "max in flight {}", server.max_in_flight());
    assert!(server.max_in_flight() >= 2, "topics ran one at a time");
}

#[test]
fn rate_limit_bursts_slow_the_batch_without_failures() {
    let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let first_attempts = Arc::clone(&seen);
    // The first attempt of every topic prompt (unique per topic, unlike the priming prompt)
    // is rate-limited; the retry is answered.
    let server = TestServer::start(Script::from_fn(move |request, _| {
        let is_topic_prompt = request.messages().len() > 1;
        if is_topic_prompt
            && first_attempts.lock().unwrap().insert(request.body["messages"].to_string())
        {
            Reply::error_with(429, "Rate limit reached", "requests", Some("rate_limit_exceeded"))
                .header("retry-after-ms", "20")
        } else {
            Reply::default_for(request)
        }
    }));
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["1", "2", "3", "4", "5", "6", "--concurrency", "4"])
        .assert()
        .success()
        .stderr(predicate::str::contains("429"));
    assert!(manifest(&sandbox).topics.iter().all(|t| t.status == TopicStatus::Complete));
    assert_eq!(server.hits(), 1 + 6 * 2, "the priming answer, 6 topic answers after one 429 each");
    assert_eq!(seen.lock().unwrap().len(), 6);
}

#[test]
fn a_failing_topic_is_reported_while_the_others_finish() {
    let server = TestServer::start(failing_when("graceful shutdown", || {
        Reply::error(500, "the model crashed")
    }));
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["16", "15", "17"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("3 topics: 2 complete, 1 failed"))
        .stdout(predicate::str::contains("graceful-shutdown failed:"))
        .stdout(predicate::str::contains("the model crashed"))
        .stdout(predicate::str::contains("gave up after 3 attempts"))
        .stderr(predicate::str::contains("batch --resume"));
    let failed = transcript_of(&sandbox, "graceful-shutdown");
    assert_eq!(failed.meta.status, SessionStatus::Failed);
    let last = failed.turns.last().unwrap();
    assert_eq!(last.info.status, Some(AnswerStatus::Failed));
    assert!(last.info.error.as_deref().unwrap().contains("the model crashed"));
    let record = manifest(&sandbox).topics.into_iter().find(|t| t.slug == "graceful-shutdown");
    let record = record.unwrap();
    assert_eq!((record.status, record.attempts), (TopicStatus::Failed, 3), "its topic prompt's");
}

#[test]
fn retries_are_visible_and_honour_retry_after() {
    let server = TestServer::start(Script::replies([
        Reply::error(429, "slow down").header("Retry-After", "0"),
        Reply::html(500, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        Reply::error(503, "overloaded"),
    ]));
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["15", "--max-attempts", "4"])
        .assert()
        .success()
        .stderr(predicate::str::contains("slow down; slowing down: sending it again in 0ms"))
        .stderr(predicate::str::contains("HTML"))
        .stderr(predicate::str::contains("overloaded; attempt 3 of 4"));
    // A rate limit is paced by the batch and does not use up the request's attempts.
    assert_eq!(server.hits(), 3 + 2, "three failures, then priming and topic");
}

#[test]
fn a_stream_that_breaks_off_is_retried_from_the_start_of_the_turn() {
    let server =
        TestServer::start(Script::replies([Reply::stream("this partial answer must not be kept")
            .chunks(6)
            .abort_after(3)]));
    let sandbox = sandbox_for(&server);
    batch(&sandbox).arg("15").assert().success();
    let transcript = transcript_of(&sandbox, "health-checks");
    assert!(transcript.turns[1].text.starts_with("answer to: I am an experienced"));
    assert!(!transcript.turns[1].text.contains("partial"));
}

#[test]
fn a_stream_without_finish_reason_is_never_accepted_as_an_answer() {
    let server = TestServer::start(Script::from_fn(|request, _| match request.messages().len() {
        1 => Reply::default_for(request),
        _ => Reply::sse_events([content_event("half an ans")]),
    }));
    let sandbox = sandbox_for(&server);
    batch(&sandbox).arg("15").assert().code(1);
    let transcript = transcript_of(&sandbox, "health-checks");
    assert_eq!(transcript.meta.status, SessionStatus::Failed);
    assert_eq!(transcript.turns[3].info.status, Some(AnswerStatus::Failed));
    // What arrived of the last attempt is kept for the reader, marked failed.
    assert_eq!(transcript.turns[3].text, "half an ans");
    assert_eq!(server.hits(), 1 + 3, "retried from the start of the turn");
}

#[test]
fn a_stalled_stream_times_out_and_is_recorded_as_failed() {
    let server =
        TestServer::start(failing_when("", || Reply::stream("never finishes").stall_after(2)));
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["15", "--max-attempts", "1"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("stalled"));
}

#[test]
fn an_answer_cut_off_at_max_tokens_makes_the_topic_truncated_until_retried() {
    // Answers of more than 6 tokens are cut off at --max-tokens 6, as a server would.
    let script = || {
        Script::from_fn(|request, _| match request.body["max_tokens"].as_u64() {
            Some(max) if max <= 6 && request.messages().len() > 1 => {
                Reply::stream("cut short").finish(Some("length"))
            }
            _ => Reply::default_for(request),
        })
    };
    let server = TestServer::start(script());
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["15", "16", "--max-tokens", "6", "--followups", "mistakes"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2 topics: 0 complete, 2 truncated"))
        .stderr(predicate::str::contains("truncated"))
        .stderr(predicate::str::contains("--retry-truncated"));
    assert_eq!(server.requests()[0].body["max_tokens"], 6);
    let transcript = transcript_of(&sandbox, "health-checks");
    assert_eq!(transcript.turns[3].info.status, Some(AnswerStatus::Truncated));
    assert_eq!(
        transcript.turns[3].info.finish_reason,
        Some(deepdive::message::FinishReason::Length)
    );
    let statuses: Vec<TopicStatus> = manifest(&sandbox).topics.iter().map(|t| t.status).collect();
    assert_eq!(statuses, [TopicStatus::Truncated, TopicStatus::Truncated]);
    let index = std::fs::read_to_string(sandbox.run_dir().join("index.md")).unwrap();
    assert!(index.contains("| truncated |"), "{index}");

    // A resume alone leaves them be; --retry-truncated asks from the cut-off answer on.
    let resume = |args: &[&str]| {
        let mut cmd = sandbox.cmd();
        cmd.arg("batch").arg("--resume").arg(sandbox.run_dir()).args(args);
        cmd
    };
    let hits = server.hits();
    resume(&[]).assert().code(1);
    assert_eq!(server.hits(), hits, "truncated topics are not rerun without the flag");
    resume(&["--retry-truncated", "--max-tokens", "500"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 topics: 2 complete"));
    let again = &server.requests()[hits..];
    assert_eq!(again.len(), 4, "each topic prompt and its follow-up, not the priming");
    assert!(again.iter().all(|r| r.body["max_tokens"] == 500 && r.messages().len() > 1));
    let transcript = transcript_of(&sandbox, "health-checks");
    assert_eq!(transcript.exchanges().count(), 3, "priming, topic, follow-up: no cut-off left");
    assert!(transcript.exchanges().all(|e| !e.is_truncated()));
}

#[test]
fn a_request_that_cannot_fit_the_context_window_fails_before_sending() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["15", "--context-window", "100"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("context window of test-model is 100"));
    assert_eq!(server.hits(), 0);
}

#[test]
fn an_endpoint_that_rejects_the_key_stops_the_batch_and_names_the_key_source() {
    let server = TestServer::start(Script::from_fn(|_, _| Reply::error(401, "Incorrect API key")));
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[profiles.test]\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_env = \"TEST_KEY\"\n",
        server.url()
    ));
    batch(&sandbox)
        .args(["15", "16", "17", "--concurrency", "1"])
        .env("TEST_KEY", "sk-test-abc")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("TEST_KEY").count(1))
        .stdout(predicate::str::contains("3 topics skipped"))
        .stderr(predicate::str::contains("TEST_KEY").count(1))
        .stderr(predicate::str::contains("3 topics not started"));
    assert_eq!(server.hits(), 1, "a rejected key is not retried, and later topics are not sent");
}

#[test]
fn no_stream_mode_asks_for_whole_answers() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    batch(&sandbox).args(["15", "--no-stream"]).assert().success();
    assert!(server.requests().iter().all(|r| !r.is_stream()));
    let transcript = transcript_of(&sandbox, "health-checks");
    assert!(transcript.turns[3].text.starts_with("answer to: Provide detailed"));
}

#[test]
fn a_refused_connection_names_the_base_url() {
    let sandbox = Sandbox::new();
    let url = crate::common::server::closed_port_url();
    batch(&sandbox)
        .args(["15", "--max-attempts", "1", "--base-url", &url])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(url.as_str()));
}

#[test]
fn batch_all_runs_every_topic_in_guide_order() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    batch(&sandbox).args(["--all", "-q", "--concurrency", "8"]).assert().success();
    let files = sandbox.transcripts();
    assert_eq!(files.len(), 21);
    assert!(files[0].ends_with("00-priming.md"));
    assert!(files[1].ends_with("01-multi-replica-testing.md"));
    assert!(files[20].ends_with("20-capacity-planning.md"));
    assert_eq!(server.hits(), 21, "20 topics take 21 requests: one priming, 20 topic prompts");
}

#[test]
fn dry_run_prints_the_plan_and_estimates_and_sends_nothing() {
    let server = TestServer::start(Script::echo());
    let sandbox = Sandbox::new();
    sandbox.write_config(&config_for(
        &server.url(),
        "[profiles.test.prices]\ninput_per_mtok = 2.5\noutput_per_mtok = 10.0\n",
    ));
    batch(&sandbox)
        .args(["--all", "--dry-run", "--followups", "checklist"])
        .assert()
        .success()
        .stdout(predicate::str::contains("plan: 20 topics"))
        .stdout(predicate::str::contains("health-checks"))
        .stdout(predicate::str::contains("TOTAL"))
        .stdout(predicate::str::contains("$"))
        .stdout(predicate::str::contains("Nothing was sent."));
    assert_eq!(server.hits(), 0);
    assert!(!sandbox.run_dir().exists());
}

#[test]
fn max_cost_stops_launching_topics_and_says_so() {
    let server = TestServer::start(Script::echo());
    let sandbox = Sandbox::new();
    sandbox.write_config(&config_for(
        &server.url(),
        "[profiles.test.prices]\ninput_per_mtok = 1000.0\noutput_per_mtok = 1000.0\n",
    ));
    batch(&sandbox)
        .args(["15", "16", "--max-cost", "0.01"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("2 topics not started: --max-cost $0.01 reached").count(1))
        .stdout(predicate::str::contains("skipped"));
    assert_eq!(server.hits(), 0, "not even the priming request");
}

#[test]
fn rerunning_the_same_command_does_only_what_is_missing_or_failed() {
    let server = TestServer::start(failing_when("graceful shutdown", || Reply::error(400, "bad")));
    let sandbox = sandbox_for(&server);
    batch(&sandbox).args(["15", "16"]).assert().code(1);
    let first_hits = server.hits();
    assert_eq!(first_hits, 1 + 2, "priming, 15 answered, 16 failed on its topic prompt");

    // Rerun with a healthy endpoint: only topic 16's failed turn is sent again.
    let healthy = TestServer::start(Script::echo());
    sandbox.write_config(&config_for(&healthy.url(), ""));
    let mut cmd = sandbox.cmd();
    cmd.arg("batch").arg("--resume").arg(sandbox.run_dir()).arg("--retry-failed");
    cmd.assert().success().stdout(predicate::str::contains("2 topics: 2 complete"));
    let sent = healthy.requests();
    assert_eq!(sent.len(), 1, "the priming answer of 16 was kept");
    assert!(sent[0].last_user_message().unwrap().contains("graceful shutdown"));

    // And once more: nothing left to do.
    batch(&sandbox).args(["15", "16"]).assert().success();
    assert_eq!(healthy.hits(), 1);
}

#[test]
fn a_folder_from_another_model_is_refused() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    batch(&sandbox).arg("15").assert().success();
    batch(&sandbox)
        .args(["15", "--model", "other-model"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("test-model"));
}

/// Starts a batch of topics 1, 2 and 3 one at a time against a server that answers until
/// request `stall_at` (0-based), which it holds open; returns once that request has arrived.
pub(crate) fn start_batch_until_request(
    sandbox: &Sandbox,
    stall_at: usize,
) -> (std::process::Child, TestServer) {
    let (arrived, wait) = mpsc::channel();
    let arrived = Mutex::new(arrived);
    let server = TestServer::start(Script::from_fn(move |request, n| {
        if n == stall_at {
            let _ = arrived.lock().unwrap().send(());
            Reply::stream("held").stall_after(0)
        } else {
            Reply::default_for(request)
        }
    }));
    sandbox.write_config(&config_for(&server.url(), ""));
    let child = sandbox
        .std_cmd()
        .args(["batch", "1", "2", "3", "--concurrency", "1", "--out"])
        .arg(sandbox.run_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait.recv_timeout(Duration::from_secs(60)).expect("the batch reached the held request");
    (child, server)
}

#[test]
fn a_batch_killed_with_kill_9_resumes_without_redoing_finished_topics() {
    let sandbox = Sandbox::new();
    // Request 0 is the priming, 1 topic 1, 2 topic 2, 3 topic 3's prompt: held, then killed.
    let (mut child, _server) = start_batch_until_request(&sandbox, 3);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let manifest = manifest(&sandbox);
    assert_eq!(manifest.plan.topics.len(), 3);
    assert_eq!(
        transcript_of(&sandbox, "multi-replica-testing").meta.status,
        SessionStatus::Complete
    );
    assert_eq!(transcript_of(&sandbox, "data-durability").meta.status, SessionStatus::Complete);

    let healthy = TestServer::start(Script::echo());
    sandbox.write_config(&config_for(&healthy.url(), ""));
    let mut cmd = sandbox.cmd();
    cmd.arg("batch").arg("--resume").arg(sandbox.run_dir());
    cmd.assert().success().stdout(predicate::str::contains("3 topics: 3 complete"));
    let sent = healthy.requests();
    assert_eq!(sent.len(), 1, "only topic 3's prompt: the saved priming exchange is reused");
    assert_eq!(sent[0].messages().len(), 3);
    assert!(sent[0].last_user_message().unwrap().contains("observability"));
}

#[test]
fn ctrl_c_stops_the_batch_writes_the_manifest_and_exits_130() {
    let sandbox = Sandbox::new();
    let (child, _server) = start_batch_until_request(&sandbox, 2);
    let status =
        std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(status.unwrap().success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let manifest = manifest(&sandbox);
    let status_of = |slug: &str| manifest.topics.iter().find(|t| t.slug == slug).unwrap().status;
    assert_eq!(status_of("multi-replica-testing"), TopicStatus::Complete);
    assert_eq!(status_of("data-durability"), TopicStatus::Interrupted);
    assert_eq!(status_of("observability"), TopicStatus::Pending);
}
