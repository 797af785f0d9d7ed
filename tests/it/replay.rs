//! `deepdive replay`: a saved session's user turns, sent again to a real local server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::path::PathBuf;

use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer};
use deepdive::message::Role;
use deepdive::session::{SessionStatus, Transcript, store};
use predicates::prelude::*;

fn config(sandbox: &Sandbox, url: &str, model: &str) {
    sandbox.write_config(&format!(
        "[retry]\nmax_attempts = 2\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [profiles.test]\nbase_url = \"{url}\"\nmodel = \"{model}\"\napi_key_env = \"\"\n"
    ));
}

/// A batch run of topics 15 and 16 with one follow-up each, by "old-model"; returns its folder.
fn earlier_run(sandbox: &Sandbox) -> PathBuf {
    let old = TestServer::start(Script::from_fn(|request, _| {
        let question = request.last_user_message().unwrap_or_default();
        Reply::stream(&format!("OLD ANSWER to {}", &question[..20.min(question.len())]))
    }));
    config(sandbox, &old.url(), "old-model");
    let dir = sandbox.path().join("earlier");
    sandbox
        .cmd()
        .args(["batch", "15", "16", "--followups", "mistakes", "--out"])
        .arg(&dir)
        .assert()
        .success();
    dir
}

fn user_texts(t: &Transcript) -> Vec<String> {
    t.turns.iter().filter(|t| t.role == Role::User).map(|t| t.text.clone()).collect()
}

#[test]
fn replay_sends_exactly_the_saved_user_turns_with_the_new_history() {
    let sandbox = Sandbox::new();
    let source_path = earlier_run(&sandbox).join("15-health-checks.md");
    let source_bytes = std::fs::read(&source_path).unwrap();
    let source = store::load(&source_path).unwrap();

    let server = TestServer::start(Script::echo());
    config(&sandbox, &server.url(), "new-model");
    let out = sandbox.path().join("replayed.md");
    sandbox
        .cmd()
        .arg("replay")
        .arg(&source_path)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("replayed.md"));

    let sent: Vec<String> =
        server.requests().iter().map(|r| r.last_user_message().unwrap()).collect();
    assert_eq!(sent, user_texts(&source));
    for request in server.requests() {
        assert!(request.messages().iter().all(|(_, text)| !text.contains("OLD ANSWER")));
        assert_eq!(request.body["model"], "new-model");
    }
    let replayed = store::load(&out).unwrap();
    assert_eq!(user_texts(&replayed), user_texts(&source));
    assert_eq!(replayed.meta.status, SessionStatus::Complete);
    let replay_of = replayed.meta.replay_of.unwrap();
    assert_eq!(replay_of.model, "old-model");
    assert_eq!(replay_of.turns, 3);
    assert!(replay_of.file.ends_with("15-health-checks.md"));
    assert_eq!(std::fs::read(&source_path).unwrap(), source_bytes, "the original is untouched");
}

#[test]
fn until_forks_the_session_at_a_turn() {
    let sandbox = Sandbox::new();
    let source_path = earlier_run(&sandbox).join("16-graceful-shutdown.md");
    let server = TestServer::start(Script::echo());
    config(&sandbox, &server.url(), "new-model");
    let out = sandbox.path().join("fork.md");
    sandbox
        .cmd()
        .arg("replay")
        .arg(&source_path)
        .args(["--until", "2", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(server.hits(), 2);
    assert_eq!(store::load(&out).unwrap().meta.replay_of.unwrap().turns, 2);
}

#[test]
fn a_hand_edited_transcript_replays_what_the_file_now_says() {
    let sandbox = Sandbox::new();
    let source_path = earlier_run(&sandbox).join("15-health-checks.md");
    let text = std::fs::read_to_string(&source_path).unwrap();
    let edited = text.replace(
        "What are the most common mistakes teams make with health checks?",
        "Which health-check mistakes hurt Spring Boot services most?",
    );
    assert_ne!(edited, text);
    let edited_path = sandbox.path().join("edited.md");
    std::fs::write(&edited_path, edited).unwrap();

    let server = TestServer::start(Script::echo());
    config(&sandbox, &server.url(), "new-model");
    sandbox.cmd().arg("replay").arg(&edited_path).assert().success();
    let last = server.requests().last().unwrap().last_user_message().unwrap();
    assert_eq!(last, "Which health-check mistakes hurt Spring Boot services most?");
}

#[test]
fn a_malformed_transcript_is_an_error_with_file_and_line() {
    let sandbox = Sandbox::new();
    let bad = sandbox.path().join("bad.md");
    std::fs::write(
        &bad,
        "+++\nformat_version = 1\n+++\n\n<!-- deepdive:turn:zz role=user -->\nunclosed\n",
    )
    .unwrap();
    sandbox
        .cmd()
        .arg("replay")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.md:"));
}

#[test]
fn a_run_folder_replays_into_a_new_run_folder_with_a_handbook() {
    let sandbox = Sandbox::new();
    let source_dir = earlier_run(&sandbox);
    let server = TestServer::start(Script::echo());
    config(&sandbox, &server.url(), "new-model");
    let out = sandbox.path().join("again");
    sandbox
        .cmd()
        .arg("replay")
        .arg(&source_dir)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("2 topics: 2 complete"));
    assert_eq!(server.hits(), 5, "the shared priming once, then two user turns per topic");
    assert_eq!(server.requests()[0].messages().len(), 1);
    assert!(out.join("00-priming.md").is_file());
    for file in ["15-health-checks.md", "16-graceful-shutdown.md"] {
        let old = store::load(&source_dir.join(file)).unwrap();
        let new = store::load(&out.join(file)).unwrap();
        assert_eq!(user_texts(&new), user_texts(&old));
        assert_eq!(new.meta.model, "new-model");
        assert_eq!(new.meta.replay_of.unwrap().model, "old-model");
    }
    assert!(out.join("index.md").is_file() && out.join("manifest.json").is_file());
    // Running it again resumes: nothing left to send.
    sandbox.cmd().arg("replay").arg(&source_dir).arg("--out").arg(&out).assert().success();
    assert_eq!(server.hits(), 5);
}
