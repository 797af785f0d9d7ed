//! Whole-process figures (docs/benchmarks.md, section 8): the release binary as a subprocess,
//! each run interleaved with the same work done by `curl` where there is one, so both sides
//! see the same load on a shared machine.
//!
//! ```text
//! cargo build --release
//! cargo bench --bench whole_process                   # every section, 2-4 minutes
//! cargo bench --bench whole_process -- request        # or: long-answer, sessions, resume
//! RUNS=31 cargo bench --bench whole_process -- request
//! ```
//!
//! - `request`: `batch 15` (two requests: the priming prompt and topic 15) against the test
//!   server (`tests/common/server.rs`) answering each with a long streamed answer of 3,841
//!   chunks, against two `curl` processes sending the same two bodies (captured from a
//!   deepdive run) to the same server. Reports wall time, peak RSS and the time from the
//!   process start to the first request reaching the server.
//! - `long-answer`: the same with a 2 MB topic answer (100,000 chunks of 20 bytes), for
//!   `batch 15` and for `chat 15` (piped, so the answer is printed as it arrives).
//! - `sessions`: `deepdive sessions` over 500 transcripts of 2 MB each.
//! - `resume`: `chat --resume` of a 2 MB transcript, then `/quit`; and whether the file was
//!   written again.
//!
//! `BENCH_BIN=/path/to/deepdive` measures another build (an older one, for "before" figures);
//! `BENCH_FORMAT=1` writes the transcripts of `sessions` and `resume` in format version 1,
//! which such a build reads.
//!
//! Peak RSS is GNU time's `%M` (wait4's `ru_maxrss`), in runs of their own; the timed runs
//! spawn the binary directly. The server runs in this process on 127.0.0.1 and streams
//! pre-built events (no JSON is built per request), one write per event. Nothing here is a
//! test: nothing fails on a threshold.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a failed set-up is a panic

#[path = "../tests/common/server.rs"]
mod server;
#[allow(dead_code)] // shared with core.rs, which uses other parts
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use deepdive::message::{FinishReason, Role, Usage};
use deepdive::prompts::Library;
use deepdive::session::{
    AnswerStatus, Coverage, Meta, SessionStatus, Transcript, Turn, TurnInfo, TurnKind, codec,
};
use server::{Reply, Script, TestServer};
use support::sandbox::Sandbox;

/// The binary built with the bench profile (which is the release profile).
const BUILT: &str = env!("CARGO_BIN_EXE_deepdive");
const TIME: &str = "/usr/bin/time";
/// The topic every run asks (`batch 15`, `chat 15`).
const TOPIC: &str = "15";

fn main() {
    // `cargo bench` passes `--bench`; any other argument picks sections.
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    println!("binary: {}", bin());
    println!("load average before: {}\n", load_average());
    if run("request") {
        request();
    }
    if run("long-answer") {
        long_answer();
    }
    if run("sessions") {
        sessions();
    }
    if run("resume") {
        resume();
    }
    println!("load average after: {}", load_average());
}

/// The binary measured: `BENCH_BIN`, or the one this bench was built with.
fn bin() -> String {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| BUILT.to_string())
}

/// A transcript as written for the binary measured: in format version 1 when `BENCH_FORMAT`
/// is 1 (the version 2 summary lines taken out), else as this build writes it.
fn rendered(t: &Transcript) -> String {
    let text = codec::render(t);
    if std::env::var("BENCH_FORMAT").as_deref() != Ok("1") {
        return text;
    }
    let end = codec::header_len(text.as_bytes()).unwrap();
    let (header, body) = text.split_at(end);
    let mut v1 = String::new();
    let mut in_coverage = false;
    for line in header.split_inclusive('\n') {
        in_coverage = match line.trim_end() {
            "[coverage]" => true,
            l if l.starts_with('[') || l == "+++" => false,
            _ => in_coverage,
        };
        if in_coverage || line.starts_with("turns = ") {
            continue;
        }
        v1.push_str(&line.replace("format_version = 2", "format_version = 1"));
    }
    v1 + body
}

fn runs(default: usize) -> usize {
    std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

// ---------------------------------------------------------------------------------------
// The sandbox and the server.
// ---------------------------------------------------------------------------------------

impl Sandbox {
    /// The binary with `args`, under GNU time when `rss` is set.
    fn deepdive<S: AsRef<std::ffi::OsStr>>(&self, args: &[S], rss: Option<&Path>) -> Command {
        let mut cmd = match rss {
            Some(file) => {
                let mut cmd = self.command(TIME);
                cmd.arg("-f").arg("%M").arg("-o").arg(file).arg(bin());
                cmd
            }
            None => self.command(&bin()),
        };
        cmd.args(args);
        cmd
    }

    fn rss_file(&self) -> PathBuf {
        self.path().join("maxrss")
    }
}

/// Runs `cmd` to its end, feeding it `stdin`; panics with its stderr when it fails.
fn run(mut cmd: Command, stdin: &str) -> Duration {
    use std::io::Write;
    cmd.stdin(if stdin.is_empty() { Stdio::null() } else { Stdio::piped() });
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let wall = started.elapsed();
    assert!(output.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&output.stderr));
    wall
}

/// Peak RSS in KiB that GNU time wrote to `file`.
fn read_rss(file: &Path) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines().last().unwrap().trim().parse().unwrap()
}

/// The OpenAI-shaped events of `text` streamed in `chunks` content chunks, with usage.
fn answer_events(text: &str, chunks: usize) -> Vec<String> {
    support::answer_stream::events_for(text, chunks)
}

/// A server answering a request of one message (the priming prompt) with `first` and every
/// other request with `rest`; it notes when each request arrived.
struct Server {
    server: TestServer,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Server {
    fn start(first: Vec<String>, rest: Vec<String>) -> Server {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let noted = Arc::clone(&arrivals);
        let server = TestServer::start(Script::from_fn(move |request, _| {
            noted.lock().unwrap().push(Instant::now());
            let events = if request.messages().len() <= 1 { &first } else { &rest };
            Reply::sse_events(events.iter().cloned())
        }));
        Server { server, arrivals }
    }

    /// How long after `started` the first request arrived.
    fn first_arrival_after(&self, started: Instant) -> Duration {
        let arrivals = self.arrivals.lock().unwrap();
        let first = arrivals.iter().find(|t| **t >= started).expect("a request arrived");
        first.duration_since(started)
    }

    /// The bodies of the requests of the last run (`n` of them), as sent.
    fn last_bodies(&self, n: usize) -> Vec<String> {
        let requests = self.server.requests();
        requests[requests.len() - n..].iter().map(|r| r.body.to_string()).collect()
    }
}

/// Median and minimum.
struct Stats {
    median: f64,
    min: f64,
}

impl Stats {
    fn of(mut values: Vec<f64>) -> Stats {
        values.sort_by(f64::total_cmp);
        Stats { median: values[values.len() / 2], min: values[0] }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------
// `batch 15` and `chat 15` against two curl requests.
// ---------------------------------------------------------------------------------------

/// One deepdive command measured against curl sending the bodies it sent.
struct Versus {
    label: String,
    args: Vec<String>,
    stdin: &'static str,
}

/// Runs each of `commands` and the curl pair alternately, `rounds` times, then measures
/// their peak RSS; prints one table.
fn versus(server: &Server, sandbox: &Sandbox, commands: &[Versus], rounds: usize) {
    let url = format!("{}/chat/completions", server.server.url());
    // A first run of each command captures the bodies (and warms the page cache).
    let bodies_dir = sandbox.path().join("bodies");
    std::fs::create_dir_all(&bodies_dir).unwrap();
    let mut bodies = Vec::new();
    for (i, command) in commands.iter().enumerate() {
        let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
        run(sandbox.deepdive(&fresh(sandbox, &args), None), command.stdin);
        let files: Vec<PathBuf> = server
            .last_bodies(2)
            .iter()
            .enumerate()
            .map(|(j, body)| {
                let file = bodies_dir.join(format!("{i}-{j}.json"));
                std::fs::write(&file, body).unwrap();
                file
            })
            .collect();
        bodies.push(files);
    }
    let curl = |files: &[PathBuf], rss: Option<&Path>| -> Duration {
        files
            .iter()
            .map(|file| {
                let mut cmd = match rss {
                    Some(out) => {
                        let mut cmd = sandbox.command(TIME);
                        cmd.arg("-f").arg("%M").arg("-o").arg(out).arg("curl");
                        cmd
                    }
                    None => sandbox.command("curl"),
                };
                cmd.args(["-sS", "-N", "-o", "/dev/null", "-H", "content-type: application/json"])
                    .args(["-H", "accept: text/event-stream", "--data-binary"])
                    .arg(format!("@{}", file.display()))
                    .arg(&url);
                run(cmd, "")
            })
            .sum()
    };
    let mut walls: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); commands.len()];
    let mut firsts: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); commands.len()];
    for round in 0..rounds {
        for (i, command) in commands.iter().enumerate() {
            let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
            let ours = || {
                let cmd = sandbox.deepdive(&fresh(sandbox, &args), None);
                let started = Instant::now();
                let wall = run(cmd, command.stdin);
                (ms(wall), ms(server.first_arrival_after(started)))
            };
            let theirs = || {
                let started = Instant::now();
                let wall = curl(&bodies[i], None);
                (ms(wall), ms(server.first_arrival_after(started)))
            };
            // Alternate who goes first, so neither always runs right after the other.
            let (a, b) = if round % 2 == 0 {
                let a = ours();
                (a, theirs())
            } else {
                let b = theirs();
                (ours(), b)
            };
            walls[i].0.push(a.0);
            firsts[i].0.push(a.1);
            walls[i].1.push(b.0);
            firsts[i].1.push(b.1);
        }
    }
    println!(
        "| command | wall, median (min) | curl x2, median (min) | ratio: median of rounds \
         (of medians, of mins) | first request after start, median (min) | curl's | peak RSS | \
         curl's |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let rss_file = sandbox.rss_file();
    for (i, command) in commands.iter().enumerate() {
        let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
        let mut ours_rss = 0;
        let mut curl_rss = 0;
        for _ in 0..3 {
            run(sandbox.deepdive(&fresh(sandbox, &args), Some(&rss_file)), command.stdin);
            ours_rss = ours_rss.max(read_rss(&rss_file));
            for file in &bodies[i] {
                curl(std::slice::from_ref(file), Some(&rss_file));
                curl_rss = curl_rss.max(read_rss(&rss_file));
            }
        }
        // Each round ran both back to back: its ratio is the least disturbed by the load.
        let rounds: Vec<f64> = walls[i].0.iter().zip(&walls[i].1).map(|(a, b)| a / b).collect();
        let paired = Stats::of(rounds);
        let (ours, theirs) = (Stats::of(walls[i].0.clone()), Stats::of(walls[i].1.clone()));
        let (first, curl_first) = (Stats::of(firsts[i].0.clone()), Stats::of(firsts[i].1.clone()));
        println!(
            "| `{}` | {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | **{:.2}x** ({:.2}x, {:.2}x) | \
             {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | {:.1} MB | {:.1} MB |",
            command.label,
            ours.median,
            ours.min,
            theirs.median,
            theirs.min,
            paired.median,
            ours.median / theirs.median,
            ours.min / theirs.min,
            first.median,
            first.min,
            curl_first.median,
            curl_first.min,
            mb(ours_rss),
            mb(curl_rss),
        );
    }
    println!("\n({rounds} interleaved rounds; RSS: the highest of 3 runs each)\n");
}

/// `args` with a new, empty run folder for `batch`, so that no run resumes an earlier one.
fn fresh(sandbox: &Sandbox, args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if args.contains(&"batch") {
        let runs = sandbox.path().join("runs");
        let _ = std::fs::remove_dir_all(&runs);
        out.extend(["--out".to_string(), runs.join("run").display().to_string()]);
    }
    out
}

/// About `bytes` bytes of the markdown models answer the guide's topics with.
fn markdown(bytes: usize) -> String {
    support::transcript::long_answer(&Library::builtin(), bytes)
}

/// `batch 15`, and `chat 15` answering `/quit` once the plan is done.
fn batch_and_chat() -> Vec<Versus> {
    vec![
        Versus {
            label: format!("batch {TOPIC}"),
            args: vec!["-q".into(), "batch".into(), TOPIC.into()],
            stdin: "",
        },
        Versus {
            label: format!("chat {TOPIC}"),
            args: vec!["-q".into(), "chat".into(), TOPIC.into()],
            stdin: "/quit\n",
        },
    ]
}

fn request() {
    const CHUNKS: usize = 3_841;
    let text = markdown(18_000);
    println!(
        "## Per request: two long streamed answers ({CHUNKS} chunks, {} bytes each)\n",
        text.len()
    );
    let events = answer_events(&text, CHUNKS);
    let server = Server::start(events.clone(), events);
    let sandbox = Sandbox::new(&server.server.url(), "");
    let commands = &batch_and_chat()[..1];
    versus(&server, &sandbox, commands, runs(31));
}

fn long_answer() {
    const CHUNKS: usize = 100_000;
    let text = markdown(2_000_000);
    println!(
        "## A 2 MB answer: the priming answer as above, then {} bytes in {CHUNKS} chunks\n",
        text.len()
    );
    let short = markdown(18_000);
    let server = Server::start(answer_events(&short, 3_841), answer_events(&text, CHUNKS));
    let sandbox = Sandbox::new(&server.server.url(), "");
    versus(&server, &sandbox, &batch_and_chat(), runs(7));
}

// ---------------------------------------------------------------------------------------
// Saved sessions: listing, and resuming.
// ---------------------------------------------------------------------------------------

/// A finished one-topic conversation of about `bytes` bytes: the priming prompt, the topic
/// prompt and follow-ups, each answered with ~9 KB of markdown and its coverage recorded.
fn long_conversation(bytes: usize) -> Transcript {
    let library = Library::builtin();
    let topic = library.resolve(TOPIC).unwrap().clone();
    let created = UNIX_EPOCH + Duration::from_secs(1_795_754_100);
    let user = |text: &str, kind| Turn {
        role: Role::User,
        text: text.to_string(),
        info: TurnInfo { kind: Some(kind), ..TurnInfo::default() },
    };
    let answer = |text: String, covered| Turn {
        role: Role::Assistant,
        text,
        info: TurnInfo {
            status: Some(AnswerStatus::Complete),
            finish_reason: Some(FinishReason::Stop),
            usage: Some(Usage { prompt_tokens: 1200, completion_tokens: 2100, ..Usage::default() }),
            coverage: Some(Coverage { covered, total: topic.cover.len() as u32 }),
            model: Some("bench-model".into()),
            ..TurnInfo::default()
        },
    };
    let mut turns = vec![
        user(library.priming(), TurnKind::Priming),
        answer("Understood.".into(), 0),
        user(&topic.prompt, TurnKind::Topic(topic.slug.clone())),
    ];
    turns.push(answer(support::transcript::answer(&topic, 0), 3));
    let mut n = 1;
    while turns.iter().map(|t| t.text.len()).sum::<usize>() < bytes {
        turns.push(user(&format!("follow-up question {n}"), TurnKind::Followup));
        turns.push(answer(support::transcript::answer(&topic, n), 3));
        n += 1;
    }
    Transcript {
        meta: Meta {
            title: topic.title.clone(),
            topics: vec![topic.slug.clone()],
            stack: None,
            model: "bench-model".into(),
            endpoint: "http://127.0.0.1/v1".into(),
            profile: Some("bench".into()),
            created,
            updated: created + Duration::from_secs(3600),
            status: SessionStatus::Complete,
            usage: Usage { prompt_tokens: 250_000, completion_tokens: 210_000, ..Usage::default() },
            replay_of: None,
            coverage: Vec::new(),
        },
        turns,
    }
}

fn sessions() {
    const FILES: usize = 500;
    let text = rendered(&support::transcript::transcript(2_000_000));
    let sandbox = Sandbox::new("http://127.0.0.1:9/v1", "");
    let dir = sandbox.sessions_dir();
    for i in 0..FILES {
        std::fs::write(dir.join(format!("2026-11-27T0435Z-session-{i:03}.md")), &text).unwrap();
    }
    println!(
        "## `sessions` over {FILES} transcripts of {} bytes ({} MB in all)\n",
        text.len(),
        FILES * text.len() / 1_000_000
    );
    let rounds = runs(5);
    // The first run reads the files into the page cache.
    run(sandbox.deepdive(&["sessions"], None), "");
    let walls: Vec<f64> =
        (0..rounds).map(|_| ms(run(sandbox.deepdive(&["sessions"], None), ""))).collect();
    run(sandbox.deepdive(&["sessions"], Some(&sandbox.rss_file())), "");
    let wall = Stats::of(walls);
    println!("| command | wall, median (min) | peak RSS |");
    println!("|---|---|---|");
    println!(
        "| `sessions` | {:.1} ms ({:.1}) | {:.1} MB |",
        wall.median,
        wall.min,
        mb(read_rss(&sandbox.rss_file()))
    );
    println!("\n({rounds} runs after one that warms the page cache)\n");
}

fn resume() {
    let transcript = long_conversation(2_000_000);
    let text = rendered(&transcript);
    let sandbox = Sandbox::new("http://127.0.0.1:9/v1", "");
    let file = sandbox.sessions_dir().join("2026-11-27T0435Z-long.md");
    std::fs::write(&file, &text).unwrap();
    println!(
        "## `chat --resume` of a {}-byte transcript ({} turns, one topic), then `/quit`\n",
        text.len(),
        transcript.turns.len()
    );
    let path = file.display().to_string();
    let args = ["chat", "--resume", path.as_str()];
    let identity = |file: &Path| {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(file).unwrap();
        (meta.ino(), meta.mtime_nsec(), meta.mtime())
    };
    let rounds = runs(15);
    let before = identity(&file);
    run(sandbox.deepdive(&args, None), "/quit\n");
    let rewritten = identity(&file) != before;
    let walls: Vec<f64> =
        (0..rounds).map(|_| ms(run(sandbox.deepdive(&args, None), "/quit\n"))).collect();
    run(sandbox.deepdive(&args, Some(&sandbox.rss_file())), "/quit\n");
    let wall = Stats::of(walls);
    println!("| command | wall, median (min) | peak RSS | file written again |");
    println!("|---|---|---|---|");
    println!(
        "| `chat --resume FILE` + `/quit` | {:.1} ms ({:.1}) | {:.1} MB | {} |",
        wall.median,
        wall.min,
        mb(read_rss(&sandbox.rss_file())),
        if rewritten { "yes" } else { "no" }
    );
    println!("\n({rounds} runs)\n");
}
