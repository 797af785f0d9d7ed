//! `deepdive batch` at scale: the release binary against the local test server, measuring
//! how close wall time comes to ideal, goodput under a rate limit, and peak memory.
//!
//! ```text
//! cargo build --release
//! cargo bench --bench batch_scale                  # every section, about 4 minutes
//! cargo bench --bench batch_scale -- ratelimit     # or: efficiency, ratelimit, memory, chunks
//! ```
//!
//! Each run is the real binary as a subprocess with its own HOME, XDG directories and config
//! file (one profile pointing at the server on 127.0.0.1), `--out` a temporary run folder and
//! `-q`. Peak memory comes from `/usr/bin/time -f %M` (wait4's `ru_maxrss`). Results are
//! printed as markdown tables for docs/benchmarks.md (section 5).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a failed set-up is a panic

#[path = "../tests/common/server.rs"]
mod server;
#[allow(dead_code)] // shared with the other benches, which use other parts
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use deepdive::batch::{Manifest, TopicStatus};
use server::{RecordedRequest, Reply, Script, TestServer};
use support::sandbox::Sandbox;

/// The binary built with the bench profile (which is the release profile).
const BIN: &str = env!("CARGO_BIN_EXE_deepdive");
const TOPICS: usize = 20;
const TIME: &str = "/usr/bin/time";

fn main() {
    // `cargo bench` passes `--bench`; any other argument picks sections.
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    machine();
    if run("efficiency") {
        efficiency();
    }
    if run("ratelimit") {
        rate_limit();
    }
    if run("memory") {
        memory();
    }
    if run("chunks") {
        chunks();
    }
    if run("profile") {
        profile();
    }
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores, {cpu}; {}", httpdate::fmt_http_date(SystemTime::now()));
    println!("binary: {BIN}\n");
}

impl Sandbox {
    fn run_dir(&self) -> PathBuf {
        self.path().join("run")
    }

    /// Runs `deepdive -q batch --out <run dir> args…` to its end.
    fn batch(&self, args: &[&str], measure_rss: bool) -> Outcome {
        let rss_file = self.path().join("maxrss");
        let mut cmd = if measure_rss {
            let mut cmd = self.command(TIME);
            cmd.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(BIN);
            cmd
        } else {
            self.command(BIN)
        };
        cmd.args(["-q", "batch", "--out"]).arg(self.run_dir()).args(args);
        let started = Instant::now();
        let output = cmd.output().unwrap();
        let wall = started.elapsed();
        let max_rss_kb = measure_rss.then(|| {
            let text = std::fs::read_to_string(&rss_file).unwrap();
            text.lines().last().unwrap().trim().parse::<u64>().unwrap()
        });
        let manifest = Manifest::load(&self.run_dir()).unwrap().unwrap();
        let count = |s: TopicStatus| manifest.topics.iter().filter(|t| t.status == s).count();
        let outcome = Outcome {
            wall,
            success: output.status.success(),
            complete: count(TopicStatus::Complete),
            failed: count(TopicStatus::Failed),
            max_rss_kb,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            errors: manifest.topics.iter().filter_map(|t| t.error.clone()).collect(),
        };
        if !outcome.success {
            eprintln!("  (exit {}) {}", output.status, outcome.stderr.trim());
        }
        outcome
    }
}

struct Outcome {
    wall: Duration,
    success: bool,
    complete: usize,
    failed: usize,
    max_rss_kb: Option<u64>,
    stderr: String,
    errors: Vec<String>,
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn all_topics() -> Vec<String> {
    (1..=TOPICS).map(|n| n.to_string()).collect()
}

fn str_args(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------------
// 9. Efficiency: wall time against the ideal, and against curl sending the same requests.
// ---------------------------------------------------------------------------------------

/// Follow-ups per topic in the efficiency runs: each topic is a chain of 3 requests.
const FOLLOWUPS: &str = "checklist,mistakes";
const CHAIN: u32 = 3;

/// Sums of what the server saw in one run.
struct Seen {
    requests: usize,
    prompt_chars: usize,
}

fn seen(server: &TestServer) -> Seen {
    let requests = server.requests();
    let prompt_chars =
        requests.iter().map(|r| r.messages().iter().map(|(_, c)| c.len()).sum::<usize>()).sum();
    Seen { requests: requests.len(), prompt_chars }
}

fn efficiency() {
    let delay = Duration::from_millis(1000);
    println!(
        "## Efficiency: --all --followups {FOLLOWUPS} (20 topics x {CHAIN} requests after one \
         shared priming request), each answer after D = {delay:?}\n"
    );
    // The fixed cost of a run: start-up, run folder and handbook writes, answers at once.
    let fixed = best_of(3, || {
        let server = TestServer::start(Script::echo());
        let sandbox = Sandbox::new(&server.url(), "");
        sandbox.batch(&["--all", "--concurrency", "20"], false).wall
    });
    println!("fixed cost (D = 0, --concurrency 20, best of 3): {}\n", secs(fixed));
    println!(
        "| --concurrency | wall (best of 3) | ideal D x (1 + {CHAIN} x ceil(20/C)) | wall / ideal | \
         curl fan-out (best of 3) | wall / curl | max in flight |"
    );
    println!("|---|---|---|---|---|---|---|");
    for concurrency in [4u32, 10, 20] {
        let mut max_in_flight = 0;
        let mut recorded = Vec::new();
        let wall = best_of(3, || {
            let server = TestServer::start(Script::from_fn(move |request, _| {
                Reply::default_for(request).delay(delay)
            }));
            let sandbox = Sandbox::new(&server.url(), "");
            let c = concurrency.to_string();
            let outcome =
                sandbox.batch(&["--all", "--followups", FOLLOWUPS, "--concurrency", &c], false);
            assert_eq!(server.hits(), 1 + TOPICS * CHAIN as usize, "{}", outcome.stderr);
            assert_eq!(outcome.complete, TOPICS);
            max_in_flight = server.max_in_flight();
            recorded = server.requests();
            outcome.wall
        });
        let curl = best_of(3, || curl_fan_out(&recorded, concurrency as usize, delay));
        let ideal = delay * (1 + CHAIN * (TOPICS as u32).div_ceil(concurrency));
        println!(
            "| {concurrency} | {} | {} | **{:.3}** | {} | **{:.3}** | {max_in_flight} |",
            secs(wall),
            secs(ideal),
            wall.as_secs_f64() / ideal.as_secs_f64(),
            secs(curl),
            wall.as_secs_f64() / curl.as_secs_f64(),
        );
    }
    println!();
    savings();
}

/// Requests and prompt size with the shared priming and with `--fresh-priming`.
fn savings() {
    println!("## Shared priming against --fresh-priming (answers at once, --concurrency 20)\n");
    println!(
        "| run | requests | prompt characters sent | prompt tokens (server usage) | completion tokens |"
    );
    println!("|---|---|---|---|---|");
    for (name, extra) in [("shared priming", None), ("--fresh-priming", Some("--fresh-priming"))] {
        let server = TestServer::start(Script::echo());
        let sandbox = Sandbox::new(&server.url(), "");
        let mut args = vec!["--all", "--followups", FOLLOWUPS, "--concurrency", "20"];
        args.extend(extra);
        let outcome = sandbox.batch(&args, false);
        assert_eq!(outcome.complete, TOPICS, "{}", outcome.stderr);
        let seen = seen(&server);
        let manifest = Manifest::load(&sandbox.run_dir()).unwrap().unwrap();
        let usage = manifest.usage();
        println!(
            "| {name} | {} | {} | {} | {} |",
            seen.requests, seen.prompt_chars, usage.prompt_tokens, usage.completion_tokens
        );
    }
    println!();
}

/// The same requests as a deepdive run, sent by curl: the first (the priming) alone, then each
/// topic's chain in order, `concurrency` chains at once. One curl process per request, as a
/// shell script fanning out with `xargs -P` would.
fn curl_fan_out(recorded: &[RecordedRequest], concurrency: usize, delay: Duration) -> Duration {
    let server = TestServer::start(Script::from_fn(move |request, _| {
        Reply::default_for(request).delay(delay)
    }));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/chat/completions", server.url());
    // Chains by topic: a topic's requests carry its prompt as the third message.
    let mut chains: Vec<Vec<PathBuf>> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut priming = None;
    for (i, request) in recorded.iter().enumerate() {
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, request.body.to_string()).unwrap();
        let messages = request.messages();
        match messages.get(2) {
            None => priming = Some(path),
            Some((_, topic_prompt)) => match keys.iter().position(|k| k == topic_prompt) {
                Some(at) => chains[at].push(path),
                None => {
                    keys.push(topic_prompt.clone());
                    chains.push(vec![path]);
                }
            },
        }
    }
    let curl = |body: &Path| {
        let status = Command::new("curl")
            .args(["-sS", "-N", "-o", "/dev/null", "-H", "Content-Type: application/json"])
            .arg("--data-binary")
            .arg(format!("@{}", body.display()))
            .arg(&url)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let started = Instant::now();
    if let Some(priming) = &priming {
        curl(priming);
    }
    let queue = Mutex::new(chains.into_iter());
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(chain) = next else { break };
                    for body in &chain {
                        curl(body);
                    }
                }
            });
        }
    });
    let wall = started.elapsed();
    assert_eq!(server.hits(), recorded.len());
    wall
}

/// The shortest of `n` runs.
fn best_of(n: usize, mut run: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| run()).min().unwrap()
}

// ---------------------------------------------------------------------------------------
// 10. Rate-limit goodput.
// ---------------------------------------------------------------------------------------

/// How the server decides that a request is over its rate.
#[derive(Clone, Copy)]
enum Policy {
    /// A token bucket of `burst` tokens refilled at the rate.
    Bucket { burst: f64 },
    /// At most `rate` requests per fixed 1-second window.
    Windows,
    /// At most `rate` requests in any 1-second span (a sliding log).
    Sliding,
}

impl Policy {
    fn describe(self) -> String {
        match self {
            Policy::Bucket { burst } => format!("token bucket, burst {burst}"),
            Policy::Windows => "fixed 1 s windows".into(),
            Policy::Sliding => "sliding 1 s window".into(),
        }
    }
}

/// A server-side rate limiter.
struct RateLimit {
    policy: Policy,
    rate: f64,
    started: Instant,
    tokens: f64,
    last: Instant,
    window: u64,
    used: u32,
    admitted: std::collections::VecDeque<Instant>,
}

impl RateLimit {
    fn new(policy: Policy, rate: f64) -> RateLimit {
        let now = Instant::now();
        let tokens = match policy {
            Policy::Bucket { burst } => burst,
            Policy::Windows | Policy::Sliding => 0.0,
        };
        let admitted = std::collections::VecDeque::new();
        RateLimit { policy, rate, started: now, tokens, last: now, window: 0, used: 0, admitted }
    }

    /// Admits a request now, or says how long until one would be admitted.
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.policy {
            Policy::Bucket { burst } => {
                let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
                self.tokens = (self.tokens + refill).min(burst);
                self.last = now;
                if self.tokens >= 1.0 {
                    self.tokens -= 1.0;
                    Ok(())
                } else {
                    Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
                }
            }
            Policy::Windows => {
                let since = now.duration_since(self.started);
                let window = since.as_secs();
                if window != self.window {
                    (self.window, self.used) = (window, 0);
                }
                if f64::from(self.used) < self.rate {
                    self.used += 1;
                    Ok(())
                } else {
                    Err(Duration::from_secs(window + 1) - since)
                }
            }
            Policy::Sliding => {
                let span = Duration::from_secs(1);
                while self.admitted.front().is_some_and(|at| now.duration_since(*at) >= span) {
                    self.admitted.pop_front();
                }
                if (self.admitted.len() as f64) < self.rate {
                    self.admitted.push_back(now);
                    Ok(())
                } else {
                    Err(span - now.duration_since(self.admitted[0]))
                }
            }
        }
    }
}

/// What the rate-limited server saw: when each request came and whether it was admitted.
struct Counts {
    started: Instant,
    answered: AtomicUsize,
    limited: AtomicUsize,
    log: Mutex<Vec<(Duration, bool)>>,
}

impl Counts {
    /// Admitted requests per second between the first and the last one the server admitted:
    /// the pace itself, without the process start, the priming answer everything waits for
    /// and the last answer's latency.
    fn admitted_rate(&self) -> f64 {
        let log = self.log.lock().unwrap();
        let admitted: Vec<Duration> = log.iter().filter(|(_, ok)| *ok).map(|(at, _)| *at).collect();
        match (admitted.first(), admitted.last()) {
            (Some(first), Some(last)) if last > first => {
                (admitted.len() - 1) as f64 / (*last - *first).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    /// Admitted/rejected requests in each 100 ms of the first second after the first
    /// request, e.g. `1/7 1/6 …`.
    fn first_second(&self) -> String {
        let log = self.log.lock().unwrap();
        let first = log.first().map_or(Duration::ZERO, |(at, _)| *at);
        let mut slots = [(0, 0); 10];
        for (at, admitted) in log.iter() {
            if let Some(slot) = slots.get_mut((*at - first).as_millis() as usize / 100) {
                if *admitted { slot.0 += 1 } else { slot.1 += 1 }
            }
        }
        slots.iter().map(|(ok, limited)| format!("{ok}/{limited}")).collect::<Vec<_>>().join(" ")
    }
}

/// A server allowing `rate` requests per second; beyond that, 429 with `retry-after-ms` and
/// `Retry-After` (whole seconds, rounded up) saying when a request would be admitted.
fn rate_limited_server(policy: Policy, rate: f64, latency: Duration) -> (TestServer, Arc<Counts>) {
    let limit = Mutex::new(RateLimit::new(policy, rate));
    let counts = Arc::new(Counts {
        started: Instant::now(),
        answered: AtomicUsize::new(0),
        limited: AtomicUsize::new(0),
        log: Mutex::new(Vec::new()),
    });
    let seen = Arc::clone(&counts);
    let script = Script::from_fn(move |request: &RecordedRequest, _| {
        let admitted = limit.lock().unwrap().admit(Instant::now());
        seen.log.lock().unwrap().push((seen.started.elapsed(), admitted.is_ok()));
        match admitted {
            Ok(()) => {
                seen.answered.fetch_add(1, Ordering::SeqCst);
                Reply::default_for(request).delay(latency)
            }
            Err(wait) => {
                seen.limited.fetch_add(1, Ordering::SeqCst);
                let ms = wait.as_millis() + 1;
                Reply::error_with(
                    429,
                    "Rate limit reached for requests per second",
                    "requests",
                    Some("rate_limit_exceeded"),
                )
                .header("retry-after-ms", &ms.to_string())
                .header("retry-after", &ms.div_ceil(1000).to_string())
            }
        }
    });
    (TestServer::start(script), counts)
}

fn rate_limit() {
    const RATE: f64 = 10.0;
    const LATENCY: Duration = Duration::from_millis(200);
    let topics = all_topics();
    let mut args = str_args(&topics);
    args.extend(["--followups", "checklist,mistakes"]);
    println!(
        "## Rate-limit goodput: 20 topics x 3 requests after one shared priming request \
         (--followups checklist,mistakes), default --concurrency (4), R = {RATE}/s, {LATENCY:?} \
         per answer, default [retry]\n"
    );
    let mut timelines = Vec::new();
    println!(
        "| server limiter | wall | useful requests | useful/s (wall) | % of R | useful/s at the \
         server | % of R | 429s | 429s per 10 useful | failed topics |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for policy in [
        Policy::Bucket { burst: 1.0 },
        Policy::Sliding,
        Policy::Windows,
        Policy::Bucket { burst: RATE },
    ] {
        let (server, counts) = rate_limited_server(policy, RATE, LATENCY);
        let sandbox = Sandbox::new(&server.url(), "");
        let outcome = sandbox.batch(&args, false);
        let answered = counts.answered.load(Ordering::SeqCst);
        let limited = counts.limited.load(Ordering::SeqCst);
        let goodput = answered as f64 / outcome.wall.as_secs_f64();
        let paced = counts.admitted_rate();
        println!(
            "| {} | {} | {answered} | {goodput:.2}/s | {:.0}% | {paced:.2}/s | **{:.0}%** | \
             {limited} | **{:.2}** | **{}** |",
            policy.describe(),
            secs(outcome.wall),
            100.0 * goodput / RATE,
            100.0 * paced / RATE,
            10.0 * limited as f64 / answered.max(1) as f64,
            outcome.failed,
        );
        timelines.push(format!("- {}: {}", policy.describe(), counts.first_second()));
        if let Some(error) = outcome.errors.first() {
            timelines.push(format!("  - {} failed topics; the first: {error}", outcome.failed));
        }
    }
    println!("\nanswered/429 in each 100 ms of the first second (from the server's log):\n");
    println!("{}\n", timelines.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 11. Memory, and work per streamed chunk.
// ---------------------------------------------------------------------------------------

/// About `tokens` tokens of English-like text (a word is about one token).
fn long_text(tokens: usize) -> String {
    const WORDS: [&str; 16] = [
        "replica", "health", "probe", "latency", "budget", "rollout", "graceful", "drain", "queue",
        "backoff", "quorum", "shard", "failover", "canary", "alert", "runbook",
    ];
    let mut text = String::new();
    for i in 0..tokens {
        text.push_str(WORDS[(i * 7 + i / 16) % WORDS.len()]);
        text.push(if i % 12 == 11 { '\n' } else { ' ' });
    }
    text
}

/// Every answer is `text`, streamed in `chunks` content chunks (with usage when asked).
fn streaming_server(text: String, chunks: usize) -> TestServer {
    let words = text.split_whitespace().count() as u64;
    TestServer::start(Script::from_fn(move |request, _| {
        let reply = Reply::stream(&text).chunks(chunks);
        if request.wants_usage() { reply.usage(1000, words) } else { reply }
    }))
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn memory() {
    const ANSWER_TOKENS: usize = 4000;
    if !Path::new(TIME).exists() {
        println!("## Memory: skipped, {TIME} is missing (apt-get install -y time)\n");
        return;
    }
    let text = long_text(ANSWER_TOKENS);
    println!(
        "## Memory: answers of ~{ANSWER_TOKENS} tokens ({} bytes) streamed in {ANSWER_TOKENS} \
         chunks, peak RSS of the deepdive process\n",
        text.len()
    );
    println!(
        "| topics | follow-ups per topic | requests | --concurrency | wall | peak RSS | complete |"
    );
    println!("|---|---|---|---|---|---|---|");
    let topics = all_topics();
    // 18 follow-ups: 20 exchanges, 40 turns per transcript.
    let many: Vec<&str> = [
        "example",
        "mistakes",
        "differ",
        "failure-scenario",
        "metrics",
        "step-by-step",
        "decision-tree",
        "training",
        "comparison-table",
        "example-configs",
        "checklist",
        "scenarios",
        "concrete",
    ]
    .iter()
    .cycle()
    .take(18)
    .copied()
    .collect();
    let many = many.join(",");
    let cases: [(usize, &str, usize, &str); 6] = [
        (1, "", 2, "4"),
        (5, "", 2, "4"),
        (10, "", 2, "4"),
        (20, "", 2, "4"),
        (20, "", 2, "20"),
        (20, &many, 20, "4"),
    ];
    for (n, followups, per_topic, concurrency) in cases {
        let server = streaming_server(text.clone(), ANSWER_TOKENS);
        let sandbox = Sandbox::new(&server.url(), "");
        let mut args = str_args(&topics[..n]);
        args.extend(["--concurrency", concurrency]);
        if !followups.is_empty() {
            args.extend(["--followups", followups]);
        }
        let outcome = sandbox.batch(&args, true);
        assert_eq!(server.hits(), 1 + n * (per_topic - 1), "{}", outcome.stderr);
        println!(
            "| {n} | {} | {} | {concurrency} | {} | {} | {}/{n} |",
            per_topic - 2,
            server.hits(),
            secs(outcome.wall),
            mb(outcome.max_rss_kb.unwrap_or(0)),
            outcome.complete,
        );
    }
    println!();
}

fn chunks() {
    const TOPICS_RUN: usize = 4;
    const CHARS_PER_CHUNK: usize = 4;
    println!(
        "## Work per streamed chunk: {TOPICS_RUN} topics (8 answers) at --concurrency 4, \
         answers of N chunks of {CHARS_PER_CHUNK} characters; best of 3\n"
    );
    println!("| chunks per answer | wall | wall - 0-chunk wall | per chunk |");
    println!("|---|---|---|---|");
    let topics = all_topics();
    let mut args = str_args(&topics[..TOPICS_RUN]);
    args.extend(["--concurrency", "4"]);
    let best_of_3 = |chunks: usize| {
        let text: String = "abc ".repeat(chunks.max(1));
        (0..3)
            .map(|_| {
                let server = streaming_server(text.clone(), chunks.max(1));
                let sandbox = Sandbox::new(&server.url(), "");
                let outcome = sandbox.batch(&args, false);
                assert_eq!(outcome.complete, TOPICS_RUN, "{}", outcome.stderr);
                outcome.wall
            })
            .min()
            .unwrap()
    };
    let base = best_of_3(1);
    println!("| 1 | {} | | |", secs(base));
    for chunks in [1000, 4000, 16000] {
        let wall = best_of_3(chunks);
        let net = wall.saturating_sub(base);
        let answers = (TOPICS_RUN * 2 * chunks) as f64;
        println!(
            "| {chunks} | {} | {} | {:.2} µs |",
            secs(wall),
            secs(net),
            net.as_secs_f64() * 1e6 / answers
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------
// 12. CPU per request by concurrency, and where it goes.
// ---------------------------------------------------------------------------------------

/// The CPU the deepdive process used for the efficiency run's requests at each concurrency
/// (GNU time's user + system seconds), and, with `perf` installed, the functions that took
/// it at the highest concurrency. `DEEPDIVE_BENCH_BIN` runs another build (e.g. main's) to
/// compare.
fn profile() {
    if !Path::new(TIME).exists() {
        println!("## CPU per request: skipped, {TIME} is missing (apt-get install -y time)\n");
        return;
    }
    let bin = std::env::var("DEEPDIVE_BENCH_BIN").unwrap_or_else(|_| BIN.to_string());
    let delay = Duration::from_millis(200);
    println!(
        "## CPU per request: --all --followups {FOLLOWUPS}, answers after {delay:?}, binary \
         {bin}\n"
    );
    println!("| --concurrency | requests | wall | CPU (user + sys) | CPU per request |");
    println!("|---|---|---|---|---|");
    for concurrency in ["4", "10", "20"] {
        let server = TestServer::start(Script::from_fn(move |request, _| {
            Reply::default_for(request).delay(delay)
        }));
        let sandbox = Sandbox::new(&server.url(), "");
        let cpu_file = sandbox.path().join("cpu");
        let mut cmd = sandbox.command(TIME);
        cmd.args(["-f", "%U %S", "-o"]).arg(&cpu_file).arg(&bin);
        cmd.args(["-q", "batch", "--out"]).arg(sandbox.run_dir());
        cmd.args(["--all", "--followups", FOLLOWUPS, "--concurrency", concurrency]);
        let started = Instant::now();
        let status = cmd.status().unwrap();
        let wall = started.elapsed();
        assert!(status.success());
        let text = std::fs::read_to_string(&cpu_file).unwrap();
        let cpu: f64 = text
            .lines()
            .last()
            .unwrap()
            .split_whitespace()
            .map(|v| v.parse::<f64>().unwrap())
            .sum();
        let requests = server.hits();
        println!(
            "| {concurrency} | {requests} | {} | {cpu:.2} s | {:.1} ms |",
            secs(wall),
            cpu * 1000.0 / requests as f64
        );
    }
    println!();
    if Command::new("perf").arg("--version").output().is_err() {
        println!("(perf is missing: no per-function profile)\n");
        return;
    }
    let server = TestServer::start(Script::from_fn(move |request, _| {
        Reply::default_for(request).delay(delay)
    }));
    let sandbox = Sandbox::new(&server.url(), "");
    let data = sandbox.path().join("perf.data");
    let mut cmd = sandbox.command("perf");
    cmd.args(["record", "-q", "-F", "2000", "-g", "-o"]).arg(&data).arg(&bin);
    cmd.args(["-q", "batch", "--out"]).arg(sandbox.run_dir());
    cmd.args(["--all", "--followups", FOLLOWUPS, "--concurrency", "20"]);
    assert!(cmd.status().unwrap().success());
    let report = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "dso,symbol",
            "--percent-limit",
            "2",
            "-g",
            "none",
            "-i",
        ])
        .arg(&data)
        .output()
        .unwrap();
    println!("perf at --concurrency 20 (self time, entries of 2 % or more):\n\n```");
    for line in String::from_utf8_lossy(&report.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .take(25)
    {
        println!("{line}");
    }
    println!("```\n");
}
