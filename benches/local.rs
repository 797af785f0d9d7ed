//! The local backend on a model of the default's real dimensions (Qwen2.5-1.5B: hidden 1536,
//! 28 layers, 12 heads, 2 KV heads, intermediate 8960, vocabulary 151,936) with Q4_K matrices
//! and seeded random weights: speed and memory depend on the shapes, not on the values.
//! `docs/benchmarks.md` (section 6) records the figures. Run with `cargo bench --bench local`.
//!
//! Two model files are built in turn (each in a temporary directory, deleted after use) and
//! measured in a child process, so that the memory figures are the backend's alone:
//! - speed and memory: all weights random, embeddings tied to the output as in the real model;
//! - KV reuse: random layers, but embeddings and output arranged so that the answer is
//!   "0123456789" repeated (tiny_gguf's `Behaviour::Counts`). Its digits re-tokenize to the
//!   tokens generated, as a real model's answer usually does, so the follow-up turn shares the
//!   whole history with the cache as in a real conversation (a follow-up reuses the answer
//!   it follows: only the new turn is computed). A random model's answer re-tokenizes
//!   differently.
//!
//! Set `DEEPDIVE_BENCH_LAYERS` to build fewer layers (the output then says so).
//!
//! Measured, each once (a generation of 64 tokens is already an average over 64 steps):
//! - load time and resident memory after loading;
//! - prompt processing: a ~600-token prompt on an empty cache;
//! - generation: 64 tokens after that prompt;
//! - KV reuse: the first token of a follow-up turn (history + a short question) on the cache
//!   the first turn left, against the same request on a cache that shares nothing;
//!
//! With `DEEPDIVE_BENCH_GGUF=FILE` it measures that file instead (prompt, generation and a
//! follow-up, `DEEPDIVE_BENCH_RUNS` times), as `benches/compare-llama-cpp.sh` does.
//! - peak resident memory (VmHWM) of the measuring process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed set-up is a failed run

#[path = "../tests/common/tiny_gguf.rs"]
mod tiny_gguf;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use candle_core::quantized::GgmlDType;
use candle_core::quantized::gguf_file::Content;
use deepdive::local::engine::{GenParams, Generation, LocalModel};
use deepdive::local::template::ChatTemplate;
use deepdive::local::tokenizer::GgufTokenizer;
use deepdive::message::{Message, Role};
use tiny_gguf::{Arch, Behaviour, Spec};

const FULL_LAYERS: usize = 28;
const PROMPT_TOKENS: usize = 600;
const ANSWER_TOKENS: u32 = 64;
/// Set (to the model file) in the child process that measures.
const MODEL_VAR: &str = "DEEPDIVE_BENCH_MODEL";
/// Set in the child process to what it measures: `speed` or `reuse`.
const PHASE_VAR: &str = "DEEPDIVE_BENCH_PHASE";

/// A GGUF file to measure instead of the generated models (e.g. real SmolLM2, or a copy
/// quantized by llama.cpp), so that both engines run the same file.
const FILE_VAR: &str = "DEEPDIVE_BENCH_GGUF";
/// How many times [`file`] repeats each measure (default 3).
const RUNS_VAR: &str = "DEEPDIVE_BENCH_RUNS";
/// Where [`write_default_shape`] writes a model file (kept), e.g. for llama.cpp's quantizer.
const WRITE_VAR: &str = "DEEPDIVE_BENCH_WRITE";
/// How long [`file`]'s answer is (default 64 tokens; longer to profile generation).
const ANSWER_VAR: &str = "DEEPDIVE_BENCH_ANSWER";

fn main() {
    match (std::env::var_os(MODEL_VAR), std::env::var(PHASE_VAR).as_deref()) {
        (Some(path), Ok("speed")) => speed(Path::new(&path)),
        (Some(path), Ok("reuse")) => reuse(Path::new(&path)),
        _ => match (std::env::var_os(FILE_VAR), std::env::var_os(WRITE_VAR)) {
            (Some(path), _) => file(Path::new(&path)),
            (None, Some(path)) => write_default_shape(Path::new(&path)),
            (None, None) => build_and_measure(),
        },
    }
}

/// Prompt processing, generation and a follow-up's time to first token on one GGUF file,
/// each measured `DEEPDIVE_BENCH_RUNS` times; prints every run, the median and the best.
/// The follow-up line names its cached and new token counts, which is what llama.cpp's
/// `llama-bench -d CACHED -p NEW` measures.
fn file(path: &Path) {
    let runs: usize = std::env::var(RUNS_VAR).ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let answer_tokens: u32 =
        std::env::var(ANSWER_VAR).ok().and_then(|v| v.parse().ok()).unwrap_or(ANSWER_TOKENS);
    let model = load(path);
    let history = prompt_of_about(PROMPT_TOKENS, path);
    let (mut pp, mut tg, mut follow) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        empty_cache(&model);
        let (first, took) = timed(&model, &history, 1);
        let prompt = first.usage.prompt_tokens;
        pp.push(prompt as f64 / took.wall.as_secs_f64());
        // Each of these feeds the prompt's last, partial chunk again (the whole chunks are
        // cached) before the first token: their difference is the generation alone.
        let (_, to_first) = timed(&model, &history, 1);
        let (answer, took) = timed(&model, &history, answer_tokens);
        let steps = answer.usage.completion_tokens.saturating_sub(1);
        tg.push(steps as f64 / (took.wall - to_first.wall).as_secs_f64());
        let mut follow_up = history.clone();
        follow_up.push(Message::assistant(answer.text.clone()));
        follow_up.push(Message::user(FOLLOW_UP_QUESTION));
        let (next, took) = timed(&model, &follow_up, 1);
        let new = next.usage.prompt_tokens as usize - next.cached_prompt_tokens;
        follow.push(took.wall.as_secs_f64());
        println!(
            "run {run}: prompt {prompt} tokens {:.1} tokens/s; generation {} tokens {:.1} \
             tokens/s; follow-up {} cached + {new} new tokens, first token after {:.3} s",
            pp[run - 1],
            answer.usage.completion_tokens,
            tg[run - 1],
            next.cached_prompt_tokens,
            follow[run - 1],
        );
    }
    println!(
        "summary: prompt tokens/s median {:.1} best {:.1}; generation tokens/s median {:.1} \
         best {:.1}; follow-up first token s median {:.3} best {:.3}",
        median(&pp),
        best(&pp, f64::max),
        median(&tg),
        best(&tg, f64::max),
        median(&follow),
        best(&follow, f64::min),
    );
    println!("peak resident memory (VmHWM): {} MB", status_mb("VmHWM"));
    println!("load average after: {}", read("/proc/loadavg").trim());
}

const FOLLOW_UP_QUESTION: &str = "And what happens when the database is down?";

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn best(values: &[f64], pick: fn(f64, f64) -> f64) -> f64 {
    values.iter().copied().reduce(pick).unwrap_or(f64::NAN)
}

/// The default model's shape with random Q8_0 weights, written to `path` and kept: llama.cpp's
/// `llama-quantize --allow-requantize` turns it into a Q4_K_M file with the real tensor mix,
/// which both engines then measure (`DEEPDIVE_BENCH_GGUF`).
fn write_default_shape(path: &Path) {
    let spec = Spec { dtype: GgmlDType::Q8_0, ..default_shape(FULL_LAYERS, Behaviour::Random) };
    tiny_gguf::write(&spec, path);
    println!("wrote {}", path.display());
}

/// Qwen2.5-1.5B-Instruct's dimensions.
fn default_shape(layers: usize, behaviour: Behaviour) -> Spec {
    Spec {
        hidden: 1536,
        layers,
        heads: 12,
        kv_heads: 2,
        intermediate: 8960,
        vocab: 151_936,
        context: 32_768,
        dtype: GgmlDType::Q4K,
        seed: 1,
        ..Spec::tiny(Arch::Qwen2, behaviour)
    }
}

/// Builds each model file in turn and measures it in a child process.
fn build_and_measure() {
    let layers = std::env::var("DEEPDIVE_BENCH_LAYERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FULL_LAYERS);
    println!("cores: {}", std::thread::available_parallelism().map_or(0, |n| n.get()));
    // Random weights with the embeddings tied to the output, as in the real model; then the
    // counting model, whose output matrix is its own (+131 MB, +175 MB of repacked tiles).
    for (behaviour, phase) in [(Behaviour::Random, "speed"), (Behaviour::Counts, "reuse")] {
        let spec = default_shape(layers, behaviour);
        let started = Instant::now();
        let file = tiny_gguf::generate(&spec);
        let size = std::fs::metadata(&file.path).unwrap().len();
        println!(
            "\n{behaviour:?} model: {layers} of {FULL_LAYERS} layers, Q4_K, {:.0} MB, built in \
             {:.1} s",
            size as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .env(MODEL_VAR, &file.path)
            .env(PHASE_VAR, phase)
            .status()
            .unwrap();
        assert!(status.success(), "the measuring process failed: {status}");
        drop(file); // deletes the model file
    }
}

fn load(path: &Path) -> LocalModel {
    println!("load average before: {}", read("/proc/loadavg").trim());
    let started = Instant::now();
    let model = LocalModel::load(path).unwrap();
    println!(
        "load: {:.1} s, resident after load {} MB",
        started.elapsed().as_secs_f64(),
        status_mb("VmRSS")
    );
    model
}

/// Prompt processing and generation speed, and memory.
fn speed(path: &Path) {
    let model = load(path);
    let history = prompt_of_about(PROMPT_TOKENS, path);
    let (first, took) = timed(&model, &history, 1);
    let prompt = first.usage.prompt_tokens;
    report("prompt processing (empty cache)", prompt, took);
    println!("resident now {} MB, peak {} MB", status_mb("VmRSS"), status_mb("VmHWM"));

    let (answer, took) = timed(&model, &history, ANSWER_TOKENS);
    let again = prompt - answer.cached_prompt_tokens as u64;
    report(
        &format!("generation (after the {prompt}-token prompt, its last {again} tokens fed again)"),
        answer.usage.completion_tokens,
        took,
    );
    println!("peak resident memory (VmHWM): {} MB", status_mb("VmHWM"));
    drop(model);
    reference_speed(path, prompt as usize);
    println!("load average after: {}", read("/proc/loadavg").trim());
}

/// The same prompt length and answer length through candle-transformers' own `quantized_qwen2`
/// (the same prompt and answer lengths; greedy), to check that the engine's transformer is
/// not slower than the reference it follows. Its memory is not part of the figures above.
fn reference_speed(path: &Path, prompt: usize) {
    use candle_core::{Device, Tensor};
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let content = Content::read(&mut reader).unwrap();
    let mut model = candle_transformers::models::quantized_qwen2::ModelWeights::from_gguf(
        content,
        &mut reader,
        &Device::Cpu,
    )
    .unwrap();
    let tokens: Vec<u32> = (0..prompt as u32).map(|i| 300 + i % 1000).collect();
    let input = |t: &[u32]| Tensor::new(t, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let (started, cpu) = (Instant::now(), cpu_time());
    let mut logits = model.forward(&input(&tokens), 0).unwrap();
    let prefill = Took { wall: started.elapsed(), cpu: cpu_time() - cpu };
    report("reference prompt processing (quantized_qwen2)", prompt as u64, prefill);
    let (started, cpu) = (Instant::now(), cpu_time());
    for i in 0..ANSWER_TOKENS as usize {
        let next = logits.squeeze(0).unwrap().argmax(0).unwrap().to_scalar::<u32>().unwrap();
        logits = model.forward(&input(&[next]), prompt + i).unwrap();
    }
    let generation = Took { wall: started.elapsed(), cpu: cpu_time() - cpu };
    report("reference generation (quantized_qwen2)", u64::from(ANSWER_TOKENS), generation);
}

/// The first token of a follow-up turn with the history cached, and without.
fn reuse(path: &Path) {
    let model = load(path);
    let history = prompt_of_about(PROMPT_TOKENS, path);
    let (answer, _) = timed(&model, &history, ANSWER_TOKENS);
    let mut follow_up = history.clone();
    follow_up.push(Message::assistant(answer.text.clone()));
    follow_up.push(Message::user(FOLLOW_UP_QUESTION));
    let (warm, warm_took) = timed(&model, &follow_up, 1);
    empty_cache(&model);
    let (cold, cold_took) = timed(&model, &follow_up, 1);
    println!(
        "follow-up turn ({} prompt tokens after a {}-token prompt and a {}-token answer), time \
         to its first token: {:.2} s ({:.2} CPU-s) with {} tokens cached, {:.2} s ({:.2} CPU-s) \
         with {} cached: {:.0}% of the CPU time saved",
        warm.usage.prompt_tokens,
        answer.usage.prompt_tokens,
        answer.usage.completion_tokens,
        warm_took.wall.as_secs_f64(),
        warm_took.cpu.as_secs_f64(),
        warm.cached_prompt_tokens,
        cold_took.wall.as_secs_f64(),
        cold_took.cpu.as_secs_f64(),
        cold.cached_prompt_tokens,
        100.0 * (1.0 - warm_took.cpu.as_secs_f64() / cold_took.cpu.as_secs_f64()),
    );
    println!("load average after: {}", read("/proc/loadavg").trim());
}

/// A short request that shares no whole prompt chunk with anything: the next request starts
/// on an empty cache.
fn empty_cache(model: &LocalModel) {
    timed(model, &[Message { role: Role::System, content: "x".into() }], 1);
}

/// Wall-clock and CPU time (all threads) of one step.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    cpu: Duration,
}

/// A greedy generation of at most `max_tokens`, and how long it took.
fn timed(model: &LocalModel, messages: &[Message], max_tokens: u32) -> (Generation, Took) {
    let params = GenParams { max_tokens: Some(max_tokens), temperature: None, seed: 0 };
    let (started, cpu) = (Instant::now(), cpu_time());
    let generation =
        model.generate(messages, &params, &AtomicBool::new(false), &mut |_| {}).unwrap();
    (generation, Took { wall: started.elapsed(), cpu: cpu_time() - cpu })
}

fn report(what: &str, tokens: u64, took: Took) {
    println!(
        "{what}: {tokens} tokens in {:.2} s = {:.1} tokens/s; {:.2} CPU-s = {:.1} tokens/CPU-s",
        took.wall.as_secs_f64(),
        tokens as f64 / took.wall.as_secs_f64(),
        took.cpu.as_secs_f64(),
        tokens as f64 / took.cpu.as_secs_f64(),
    );
}

/// User + system time of this process so far (`/proc/self/stat`, in 1/100 s ticks).
fn cpu_time() -> Duration {
    let stat = read("/proc/self/stat");
    // Fields after the command name (which may contain spaces) in parentheses.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// A system prompt and a question that render to about `tokens` tokens.
fn prompt_of_about(tokens: usize, path: &Path) -> Vec<Message> {
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let content = Content::read(&mut reader).unwrap();
    let template = ChatTemplate::from_gguf(&content).unwrap();
    let tokenizer = GgufTokenizer::from_gguf(&content).unwrap();
    let messages = |n: usize| {
        vec![
            Message {
                role: Role::System,
                content: "You review services before production.".into(),
            },
            // Asks for a long answer, so that generation is not cut short by an end of turn.
            Message::user(
                words(n)
                    + "\n\nNow write a long, detailed production readiness checklist with 40 numbered items.",
            ),
        ]
    };
    let count =
        |n: usize| tokenizer.encode(&template.render(&messages(n), true).unwrap()).unwrap().len();
    let per_100 = count(100) as f64 / 100.0;
    messages((tokens as f64 / per_100) as usize)
}

/// `n` English-like words.
fn words(n: usize) -> String {
    const WORDS: &[&str] = &[
        "service", "deploy", "rollback", "alert", "latency", "budget", "queue", "retry", "owner",
        "runbook", "capacity", "backup", "restore", "canary", "metric", "incident",
    ];
    let mut rng = fastrand::Rng::with_seed(3);
    (0..n).map(|_| WORDS[rng.usize(..WORDS.len())]).collect::<Vec<_>>().join(" ")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A `/proc/self/status` figure (kB there) in MB.
fn status_mb(field: &str) -> u64 {
    read("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}
