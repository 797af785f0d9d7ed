//! Greedy decoding gives the same answer to the same conversation whatever the KV cache held
//! before: prompts are processed in chunks aligned to absolute positions, and only whole
//! aligned chunks are reused (`src/local/engine.rs`, `PREFILL_CHUNK`). The documented
//! exception: a follow-up sent right after the answer it follows reuses that answer's keys
//! as generated, so it processes only its new turn.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed set-up is a failed test

use std::sync::atomic::AtomicBool;

use crate::common::tiny_gguf::{Arch, Behaviour, Spec, TinyModel, generate};
use deepdive::local::engine::{GenParams, Generation, LocalModel};
use deepdive::message::{Message, Role};

const ANSWER: u32 = 40;

fn greedy(model: &LocalModel, messages: &[Message]) -> Generation {
    let params = GenParams { max_tokens: Some(ANSWER), temperature: None, seed: 0 };
    model.generate(messages, &params, &AtomicBool::new(false), &mut |_| {}).unwrap()
}

/// A model on which every greedy choice is a near-tie (so any rounding difference in the
/// forward pass changes the answer), wide enough for candle to pick shape-dependent paths.
fn near_ties(arch: Arch) -> TinyModel {
    let spec = Spec {
        hidden: 256,
        intermediate: 512,
        heads: 4,
        kv_heads: 2,
        context: 2048,
        seed: 1,
        ..Spec::tiny(arch, Behaviour::NearTies)
    };
    generate(&spec)
}

/// A system prompt over one chunk long, and a question.
fn conversation(question: &str) -> Vec<Message> {
    let system = "You review services before production. ".repeat(12);
    vec![Message { role: Role::System, content: system }, Message::user(question)]
}

#[test]
fn greedy_answers_do_not_depend_on_what_the_cache_held() {
    for arch in [Arch::Qwen2, Arch::Llama] {
        let tiny = near_ties(arch);
        let fresh = || LocalModel::load(&tiny.path).unwrap();
        let first = conversation("Tell me about the logs and the alerts of the system.");
        let answer = greedy(&fresh(), &first).text;
        let mut follow_up = first.clone();
        follow_up.push(Message::assistant(answer));
        follow_up.push(Message::user("And the tests?"));
        let expected = greedy(&fresh(), &follow_up);
        assert_eq!(expected.cached_prompt_tokens, 0);

        // The follow-up right after its own answer reuses all of it, answer included: only
        // the new turn is processed (its answer may differ at a near-tie: documented).
        let warm = fresh();
        let first_turn = greedy(&warm, &first);
        let after_history = greedy(&warm, &follow_up);
        let first_prompt = first_turn.usage.prompt_tokens as usize;
        assert!(
            after_history.cached_prompt_tokens >= first_prompt && first_prompt % 64 != 0,
            "{arch:?}: the answer is reused ({} of {})",
            after_history.cached_prompt_tokens,
            after_history.usage.prompt_tokens
        );

        // After a different conversation that shares the system prompt.
        let other = fresh();
        greedy(&other, &conversation("What happens when the database is down?"));
        let after_other = greedy(&other, &follow_up);
        assert!(after_other.cached_prompt_tokens > 0, "{arch:?}: the system prompt is reused");
        assert_eq!(after_other.text, expected.text, "{arch:?}: after another conversation");

        // The same request again (a retry), on the cache the follow-up left: computed as an
        // empty cache computes it.
        let again = greedy(&warm, &follow_up);
        assert!(again.cached_prompt_tokens <= first_prompt, "{arch:?}: only aligned chunks");
        assert_eq!(again.text, expected.text, "{arch:?}: asked again");
        // And after a cached prompt of its own: the same request twice in a row.
        let twice = fresh();
        let once = greedy(&twice, &follow_up);
        assert_eq!(once.text, expected.text, "{arch:?}: on an empty cache");
        assert_eq!(greedy(&twice, &follow_up).text, expected.text, "{arch:?}: twice");
    }
}
