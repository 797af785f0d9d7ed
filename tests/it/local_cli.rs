//! With no endpoint configured, the binary runs a GGUF model in the process: here a tiny one
//! the test generates, so nothing is downloaded.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use crate::common::sandbox::Sandbox;
use crate::common::tiny_gguf::{Arch, Behaviour, Spec, TinyModel, generate};
use deepdive::local::counter::PromptCounter;
use deepdive::message::Message;
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

#[test]
fn prompt_rendered_prints_the_template_and_the_real_token_counts() {
    let model = model(Arch::Qwen2);
    let sandbox = Sandbox::new();
    let args = ["prompt", "15", "--rendered", "--stack", "PostgreSQL, EKS"];
    let out = String::from_utf8(sandbox.stdout_with_model(&args, &model.path)).unwrap();
    let counter = PromptCounter::open(&model.path).unwrap();
    let priming = opening_messages(&sandbox, &model);
    let first = counter.count_prompt(&priming[..1]).unwrap();
    assert!(
        out.starts_with(&format!(
            "===== request 1 of 2: priming prompt + stack · {first} tokens =====\n<|im_start|>system\n"
        )),
        "{out}"
    );
    assert!(out.contains("We're using PostgreSQL, EKS"), "{out}");
    // The second request adds its topic turn after the (unknown) first answer.
    let with_answer = [priming[0].clone(), Message::assistant("x"), priming[1].clone()];
    let whole = counter.count_prompt(&with_answer).unwrap();
    let before = counter.count_prompt(&with_answer[..2]).unwrap();
    let header = out.lines().find(|l| l.starts_with("===== request 2 of 2")).unwrap();
    let added: u64 = header.split('+').nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(header.contains("topic 15"), "{header}");
    assert!(header.contains("after the answer to request 1"), "{header}");
    // `before` ends with the generation prompt that `whole` does not repeat for the user turn.
    assert!(added > 0 && added < whole && whole - added <= before, "{header}: {whole} {before}");
    let after = out.split_once(header).unwrap().1;
    assert!(after.starts_with("\n<|im_start|>user\n"), "{after}");
    assert!(!after.contains("<|im_start|>system"), "{after}");
    assert!(out.contains(&format!("===== {} prompt tokens in all", first + added)), "{out}");
}

/// The user messages `prompt 15 --json` prints for the same settings.
fn opening_messages(sandbox: &Sandbox, model: &TinyModel) -> Vec<Message> {
    let args = ["prompt", "15", "--json", "--stack", "PostgreSQL, EKS"];
    serde_json::from_slice(&sandbox.stdout_with_model(&args, &model.path)).unwrap()
}

#[test]
fn prompt_rendered_says_what_it_needs() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["prompt", "15", "--rendered", "--base-url", "http://127.0.0.1:9/v1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--rendered"))
        .stderr(predicate::str::contains("http://127.0.0.1:9/v1"))
        .stderr(predicate::str::contains("no endpoint configured"));
    sandbox
        .cmd()
        .args(["prompt", "15", "--rendered", "--model", "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q8_0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "deepdive model pull Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q8_0",
        ));
    sandbox
        .cmd()
        .args(["prompt", "15", "--rendered", "--model", "missing.gguf"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.gguf"));
}
