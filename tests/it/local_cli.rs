//! With no endpoint configured, the binary runs a GGUF model in the process: here a tiny one
//! the test generates, so nothing is downloaded.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use crate::common::sandbox::Sandbox;
use crate::common::tiny_gguf::{Arch, Behaviour, Spec, TinyModel, generate};
use deepdive::session::{AnswerStatus, SessionStatus, store};
use predicates::prelude::*;

/// A tiny model that answers "Hi!" and stops, with room for the guide's long prompts.
fn model(arch: Arch) -> TinyModel {
    let mut spec = Spec::tiny(arch, Behaviour::StopsQuickly);
    spec.context = 8192;
    generate(&spec)
}

#[test]
fn a_batch_runs_on_the_local_model_when_no_endpoint_is_configured() {
    let model = model(Arch::Qwen2);
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["batch", "15", "16", "--concurrency", "4", "--out"])
        .arg(sandbox.run_dir())
        .arg("--model")
        .arg(&model.path)
        .assert()
        .success()
        .stderr(predicate::str::contains("no endpoint configured"))
        .stderr(predicate::str::contains("CPU"))
        .stderr(predicate::str::contains("one request at a time"));
    let transcript = store::load(&sandbox.run_dir().join("15-health-checks.md")).unwrap();
    assert_eq!(transcript.meta.status, SessionStatus::Complete);
    assert_eq!(transcript.turns.len(), 4);
    let answer = &transcript.turns[3];
    assert_eq!(answer.text, "Hi!");
    assert_eq!(answer.info.status, Some(AnswerStatus::Complete));
    assert_eq!(answer.info.finish_reason, Some(deepdive::message::FinishReason::Stop));
    let usage = answer.info.usage.unwrap();
    assert!(!answer.info.usage_counted, "the local model reports exact usage");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
}

#[test]
fn a_chat_runs_on_the_local_model() {
    let model = model(Arch::Llama);
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["chat", "15", "--model"])
        .arg(&model.path)
        .write_stdin("and then?\n/quit\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("Hi!"));
    let files = sandbox.transcripts_in(&sandbox.sessions_dir());
    let transcript = store::load(&files[0]).unwrap();
    assert_eq!(transcript.turns.len(), 6);
    assert_eq!(transcript.turns[5].text, "Hi!");
}

#[test]
fn offline_without_the_model_says_the_three_ways_forward() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["batch", "15"])
        .env("HF_HUB_OFFLINE", "1")
        .assert()
        .failure()
        .stderr(predicate::str::contains("deepdive model pull"))
        .stderr(predicate::str::contains(".gguf"))
        .stderr(predicate::str::contains("--base-url"));
}
