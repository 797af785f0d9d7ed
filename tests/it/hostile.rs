//! The real binary against servers that misbehave on purpose (issue 12): answers that never
//! end, trickle for ever or run far past `max_tokens`, odd usage fields, and run folders
//! whose manifest or transcripts are not what deepdive wrote.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::time::Duration;

use serde_json::json;

use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer, content_event};
use deepdive::batch::{Manifest, TopicStatus};
use deepdive::message::FinishReason;
use deepdive::session::{AnswerStatus, store};

/// A sandbox whose only profile points at `url`, with fast retries and `extra` appended to
/// the top of the config (tables such as `[limits]`).
fn sandbox_for(url: &str, extra: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{extra}\n[retry]\nmax_attempts = 3\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [profiles.test]\nbase_url = \"{url}\"\nmodel = \"test-model\"\napi_key_env = \"\"\n"
    ));
    sandbox
}

fn batch(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    sandbox.cmd().arg("batch").args(args).arg("--out").arg(sandbox.run_dir()).output().unwrap()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn manifest(sandbox: &Sandbox) -> Manifest {
    Manifest::load(&sandbox.run_dir()).unwrap().unwrap()
}

fn endless_answer() -> Reply {
    Reply::sse_events([content_event("Probes: ")]).endless(&content_event("again and again "))
}

#[test]
fn an_endless_stream_stops_at_the_answer_ceiling_and_the_topic_fails_with_a_message() {
    let server = TestServer::start(Script::from_fn(|_, _| endless_answer()));
    let sandbox = sandbox_for(&server.url(), "[limits]\nmax_answer_mb = 1\n");
    // Every request misbehaves: the topic's own priming request is the one that fails.
    let output = batch(&sandbox, &["15", "--fresh-priming"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(server.hits(), 1, "not retried");
    let record = &manifest(&sandbox).topics[0];
    assert_eq!(record.status, TopicStatus::Failed);
    let error = record.error.as_deref().unwrap();
    assert!(error.contains("passed 1 MB (limits.max_answer_mb)"), "{error}");
    let transcript = store::load(&sandbox.run_dir().join(&record.file)).unwrap();
    let last = transcript.turns.last().unwrap();
    assert_eq!(last.info.status, Some(AnswerStatus::Failed));
    assert!(last.text.starts_with("Probes: again and again"));
    assert!(last.text.len() <= 1024 * 1024, "no more than the ceiling is kept");
}

#[test]
fn a_whole_answer_past_the_ceiling_is_refused_too() {
    let huge = "word ".repeat(500 * 1024); // 2.5 MB
    let server = TestServer::start(Script::from_fn(move |_, _| Reply::json_answer(&huge)));
    let sandbox = sandbox_for(&server.url(), "[limits]\nmax_answer_mb = 1\n");
    let output = batch(&sandbox, &["15", "--no-stream", "--fresh-priming"]);
    assert_eq!(output.status.code(), Some(1));
    let error = manifest(&sandbox).topics[0].error.clone().unwrap();
    assert!(error.contains("limits.max_answer_mb"), "{error}");
}

#[test]
fn an_answer_far_past_max_tokens_is_cut_and_recorded_as_truncated() {
    let server = TestServer::start(Script::from_fn(|_, _| endless_answer()));
    let sandbox = sandbox_for(&server.url(), "");
    let output = batch(&sandbox, &["15", "--max-tokens", "20", "--fresh-priming"]);
    assert_eq!(output.status.code(), Some(1), "cut-off answers are not complete work");
    assert!(stderr(&output).contains("recorded as truncated"), "{}", stderr(&output));
    let record = &manifest(&sandbox).topics[0];
    assert_eq!(record.status, TopicStatus::Truncated);
    let transcript = store::load(&sandbox.run_dir().join(&record.file)).unwrap();
    for answer in transcript.turns.iter().skip(1).step_by(2) {
        assert_eq!(answer.info.finish_reason, Some(FinishReason::Length));
        assert!(answer.text.len() <= 20 * 8 + 1024, "{}", answer.text.len());
    }
}

#[test]
fn a_trickle_that_never_ends_meets_the_request_deadline() {
    let trickle = || endless_answer().pace(Duration::from_millis(50));
    let server = TestServer::start(Script::from_fn(move |_, _| trickle()));
    let sandbox = sandbox_for(&server.url(), "[timeouts]\nidle_secs = 5\nrequest_secs = 1\n");
    let output = batch(&sandbox, &["15", "--fresh-priming"]);
    assert_eq!(output.status.code(), Some(1));
    let error = manifest(&sandbox).topics[0].error.clone().unwrap();
    assert!(error.contains("request deadline, timeouts.request_secs"), "{error}");
    assert_eq!(server.hits(), 1);
}

#[test]
fn odd_usage_fields_keep_the_answer_and_are_not_retried() {
    let usages = [
        json!(null),
        json!({"prompt_tokens": -3, "completion_tokens": 2.5}),
        json!({"prompt_tokens": 1e40, "completion_tokens": 18_446_744_073_709_551_615u64}),
        json!({"total_tokens": "many"}),
    ];
    for usage in usages {
        let reply = Reply::stream("a readiness probe answer").raw_usage(usage.clone());
        let server = TestServer::start(Script::from_fn(move |_, _| reply.clone()));
        let sandbox = sandbox_for(&server.url(), "");
        let output = batch(&sandbox, &["15"]);
        assert_eq!(output.status.code(), Some(0), "{usage}: {}", stderr(&output));
        assert_eq!(server.hits(), 2, "{usage}: priming and topic, no retries");
        let record = &manifest(&sandbox).topics[0];
        assert!(record.usage.total() < 1_000_000, "{usage}: counted locally: {:?}", record.usage);
        let transcript = store::load(&sandbox.run_dir().join(&record.file)).unwrap();
        assert!(transcript.turns[3].info.usage_counted, "{usage}: unknown usage is counted");
    }
}

/// A finished run folder for topic 15, then `edit` applied to its manifest text.
fn run_folder_with_manifest(edit: impl Fn(&str) -> String) -> (TestServer, Sandbox) {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url(), "");
    let output = batch(&sandbox, &["15", "16"]);
    assert_eq!(output.status.code(), Some(0));
    let path = sandbox.run_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(&text)).unwrap();
    (server, sandbox)
}

#[test]
fn a_topic_file_outside_the_run_folder_is_refused_and_nothing_is_written() {
    let outside = |sandbox: &Sandbox| sandbox.path().join("escaped.md");
    let bad_files =
        ["../escaped.md", "/tmp/deepdive-escaped.md", "sub/15.md", "..", "manifest.json"];
    for bad in bad_files {
        let (server, sandbox) = run_folder_with_manifest(|text| {
            let text = text.replace("\"15-health-checks.md\"", &format!("{bad:?}"));
            // Make the topic pending, so a run would write its transcript.
            text.replacen("\"status\": \"complete\"", "\"status\": \"pending\"", 1)
        });
        let hits = server.hits();
        let before: Vec<_> = sandbox.all_files();
        let output =
            sandbox.cmd().args(["batch", "--resume"]).arg(sandbox.run_dir()).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(message.contains("not a transcript name inside the run folder"), "{message}");
        assert!(message.contains("fix or delete the manifest"), "{message}");
        assert_eq!(server.hits(), hits, "{bad}: nothing was sent");
        assert_eq!(sandbox.all_files(), before, "{bad}: nothing was written");
        assert!(
            !outside(&sandbox).exists()
                && !std::path::Path::new("/tmp/deepdive-escaped.md").exists()
        );
        let shown = sandbox
            .cmd()
            .arg("compare")
            .arg(sandbox.run_dir())
            .arg(sandbox.run_dir())
            .output()
            .unwrap();
        assert_eq!(shown.status.code(), Some(2), "{bad}: compare refuses it too");
    }
}

#[test]
fn a_garbage_manifest_gets_the_fix_or_delete_advice() {
    let garbage: [&[u8]; 4] =
        [b"\xff\xfe\x00garbage", b"", b"[]", b"{\"version\": 1, \"plan\": 3}"];
    for bytes in garbage {
        let sandbox = Sandbox::new();
        std::fs::create_dir_all(sandbox.run_dir()).unwrap();
        std::fs::write(sandbox.run_dir().join("manifest.json"), bytes).unwrap();
        let output =
            sandbox.cmd().args(["batch", "--resume"]).arg(sandbox.run_dir()).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bytes:?}");
        assert!(stderr(&output).contains("fix or delete it"), "{bytes:?}: {}", stderr(&output));
    }
}

#[test]
fn an_unparseable_transcript_in_a_run_folder_is_bad_input() {
    let (server, sandbox) = run_folder_with_manifest(str::to_string);
    let transcript = sandbox.run_dir().join("15-health-checks.md");
    std::fs::write(&transcript, "+++\nthis is = not [a transcript\n").unwrap();
    let hits = server.hits();
    let output = sandbox.cmd().args(["batch", "--resume"]).arg(sandbox.run_dir()).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("15-health-checks.md:"), "{}", stderr(&output));
    assert_eq!(server.hits(), hits);
}

#[test]
fn a_401_with_no_key_says_that_no_key_was_sent_and_how_to_set_one() {
    let server =
        TestServer::start(Script::from_fn(|_, _| Reply::error(401, "Missing credentials")));
    let sandbox = Sandbox::new();
    let output = sandbox.cmd().args(["batch", "15", "--base-url", &server.url()]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("no API key was sent"), "{message}");
    assert!(message.contains("OPENAI_API_KEY is not set"), "{message}");
    assert!(message.contains("[profiles.default]"), "{message}");
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[test]
fn absurd_usage_in_a_manifest_saturates_instead_of_overflowing() {
    let (_server, sandbox) = run_folder_with_manifest(|text| {
        let mut out = String::new();
        for line in text.lines() {
            let key = line.trim_start();
            if key.starts_with("\"prompt_tokens\"") || key.starts_with("\"completion_tokens\"") {
                let (name, _) = line.split_once(':').unwrap();
                let comma = if line.ends_with(',') { "," } else { "" };
                out.push_str(&format!("{name}: 18446744073709551615{comma}\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    });
    let run = sandbox.run_dir().display().to_string();
    let out = sandbox.path().join("cmp.md").display().to_string();
    for args in [vec!["show", &run], vec!["compare", &run, &run, "--out", &out]] {
        let output = sandbox.cmd().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
    let shown = sandbox.cmd().args(["show", &run]).output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("18,446,744,073,709,551,615"));
}
