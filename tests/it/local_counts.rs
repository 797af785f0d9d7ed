//! With the local model every count is made with its own template and tokenizer: context
//! fitting leaves out the oldest follow-up exactly when the real count requires it, `-v`
//! shows exact counts, the transcript records the engine's own usage, and `--dry-run`
//! counts with the model's tokenizer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use crate::common::sandbox::Sandbox;
use crate::common::tiny_gguf::{Arch, Behaviour, Spec, TinyModel, generate};
use deepdive::local::counter::PromptCounter;
use deepdive::message::{Message, Usage};
use deepdive::session::{Transcript, store};
use deepdive::tokens::TokenCounter;

const FIRST: &str = "What is the first thing to check?";
const SECOND: &str = "And the second?";

/// A tiny model that answers "Hi!" whatever it is asked, so every run sends the same requests.
fn model() -> TinyModel {
    let mut spec = Spec::tiny(Arch::Qwen2, Behaviour::StopsQuickly);
    spec.context = 8192;
    generate(&spec)
}

/// `chat 15` with two follow-ups, `-v`, and `window` (else the model's own context); the
/// transcript and the standard error.
fn chat(model: &TinyModel, window: Option<u64>) -> (Transcript, String) {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.cmd();
    cmd.args(["chat", "15", "-v", "--model"]).arg(&model.path);
    if let Some(window) = window {
        cmd.args(["--context-window", &window.to_string()]);
    }
    let out = cmd.write_stdin(format!("{FIRST}\n{SECOND}\n/quit\n")).assert().success();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let files = sandbox.transcripts_in(&sandbox.sessions_dir());
    (store::load(&files[0]).unwrap(), stderr)
}

/// What the last request recorded: the engine's own counts.
fn last_usage(transcript: &Transcript) -> Usage {
    transcript.turns.last().unwrap().info.usage.unwrap()
}

/// The messages of the transcript's turns, `leave_out` (indexes of exchanges) dropped, with
/// its last answer removed: the last request as it would be sent.
fn last_request(transcript: &Transcript, leave_out: &[usize]) -> Vec<Message> {
    let turns = &transcript.turns[..transcript.turns.len() - 1];
    turns
        .iter()
        .enumerate()
        .filter(|(i, _)| !leave_out.contains(&(i / 2)))
        .map(|(_, t)| Message { role: t.role, content: t.text.clone() })
        .collect()
}

#[test]
fn the_oldest_follow_up_is_left_out_exactly_when_the_real_count_requires_it() {
    let model = model();
    let counter = PromptCounter::open(&model.path).unwrap();

    // Room for everything: the last request holds both follow-ups.
    let (roomy, stderr) = chat(&model, None);
    assert_eq!(roomy.turns.len(), 8, "priming, topic, two follow-ups");
    let whole = last_request(&roomy, &[]);
    let needed = counter.count_prompt(&whole).unwrap();
    assert_eq!(last_usage(&roomy).prompt_tokens, needed, "the engine's own count is recorded");
    assert!(!stderr.contains("left out"), "{stderr}");
    // tiktoken would count this request far lower: without the model's own count, a window
    // between the two would let the request through.
    let estimate = TokenCounter::for_model("qwen2.5").count_request(&whole).tokens;
    assert!(estimate < needed - 1, "{estimate} vs {needed}");

    // A window of exactly the real count and the one token the answer needs at least:
    // nothing is left out.
    let (exact, stderr) = chat(&model, Some(needed + 1));
    assert!(!stderr.contains("left out"), "{stderr}");
    assert_eq!(last_usage(&exact).prompt_tokens, needed);
    assert!(stderr.contains(&format!("7 messages, {needed} prompt tokens")), "{stderr}");
    assert!(!stderr.contains("~"), "exact counts are never marked approximate: {stderr}");

    // One token less: the first follow-up (exchange 2) goes, and the rest is what is sent.
    let (tight, stderr) = chat(&model, Some(needed));
    assert!(
        stderr.contains(&format!(
            "to fit the context window, left out the oldest follow-up exchanges: “{FIRST}”"
        )),
        "{stderr}"
    );
    let fitted = counter.count_prompt(&last_request(&tight, &[2])).unwrap();
    assert_eq!(last_usage(&tight).prompt_tokens, fitted);
    assert!(fitted < needed);
    assert!(stderr.contains(&format!("5 messages, {fitted} prompt tokens")), "{stderr}");
}

#[test]
fn a_dry_run_counts_with_the_local_models_tokenizer() {
    let model = model();
    let sandbox = Sandbox::new();
    let out =
        String::from_utf8(sandbox.stdout_with_model(&["batch", "15", "--dry-run"], &model.path))
            .unwrap();
    assert!(!out.contains("approximately"), "{out}");
    let counter = PromptCounter::open(&model.path).unwrap();
    let opening: Vec<Message> = serde_json::from_slice(
        &sandbox.stdout_with_model(&["prompt", "15", "--json"], &model.path),
    )
    .unwrap();
    // The priming request, counted as the estimate counts it (framing plus message), is
    // exactly the request the model is sent.
    let priming = counter.count_prompt(&opening[..1]).unwrap();
    let row = out.lines().find(|l| l.split_whitespace().nth(1) == Some("priming")).unwrap();
    let counted: u64 = row.split_whitespace().nth(3).unwrap().replace(',', "").parse().unwrap();
    assert_eq!(counted, priming, "{out}");
}
