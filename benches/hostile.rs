//! What a hostile or broken server can make the release binary hold (issue 12): peak memory
//! for one very large answer, and time and memory until an endless answer is stopped.
//!
//! ```text
//! cargo bench --bench hostile              # every section, about a minute
//! cargo bench --bench hostile -- large     # or: large, endless
//! ```
//!
//! Each run is the real binary as a subprocess with its own HOME and XDG directories and a
//! config whose profile points at the test server on 127.0.0.1. The model is `gpt-4o-mini`,
//! whose known context window (128,000 tokens) refuses the second request once the first
//! answer is huge: each run streams exactly one answer. Peak memory is `/usr/bin/time -f %M`
//! (wait4's `ru_maxrss`); `chat` runs in a pseudo-terminal made by `script(1)` (util-linux),
//! so its markdown renderer draws in colour as for a person. Results are markdown tables for
//! docs/benchmarks.md (section 9).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a failed set-up is a panic

#[path = "../tests/common/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use server::{Reply, Script, TestServer, content_event};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_deepdive");
const TIME: &str = "/usr/bin/time";
const MB: usize = 1024 * 1024;

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    if run("large") {
        large();
    }
    if run("endless") {
        endless();
    }
}

/// A fresh HOME, config and work directory for one run.
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new(url: &str, limits: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config/deepdive/config.toml");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(
            &config,
            format!(
                "{limits}\n[retry]\nmax_attempts = 1\n\n[profiles.bench]\nbase_url = \"{url}\"\n\
                 model = \"gpt-4o-mini\"\napi_key_env = \"\"\n"
            ),
        )
        .unwrap();
        Sandbox { dir }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// `deepdive -q ARGS` under `/usr/bin/time`, stdout to /dev/null; `tty` runs it in a
    /// pseudo-terminal. Returns the wall time and the peak RSS in KB.
    fn run(&self, args: &[&str], tty: bool) -> (Duration, u64) {
        let rss = self.path("rss.txt");
        let timed = |cmd: &mut Command| {
            cmd.env("HOME", self.path("home"))
                .env("XDG_CONFIG_HOME", self.path("config"))
                .env("XDG_DATA_HOME", self.path("data"))
                .env("DEEPDIVE_SESSIONS_DIR", self.path("sessions"))
                .env_remove("OPENAI_API_KEY")
                .env_remove("OPENAI_BASE_URL")
                .env_remove("NO_COLOR")
                .env("TERM", "xterm-256color")
                .current_dir(self.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        };
        let started = Instant::now();
        let status = if tty {
            let inner = format!(
                "printf '/quit\\n' | {TIME} -f %M -o {} {BIN} -q {}",
                rss.display(),
                args.join(" ")
            );
            let mut cmd = Command::new("script");
            cmd.args(["-qec", &inner, "/dev/null"]);
            timed(&mut cmd);
            cmd.status().unwrap()
        } else {
            let mut cmd = Command::new(TIME);
            cmd.arg("-f").arg("%M").arg("-o").arg(&rss).arg(BIN).arg("-q").args(args);
            timed(&mut cmd);
            cmd.status().unwrap()
        };
        let wall = started.elapsed();
        let _ = status; // the run ends with the refused second request: exit 1
        let text = std::fs::read_to_string(&rss).unwrap();
        (wall, text.lines().last().unwrap().trim().parse().unwrap())
    }
}

fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `size` bytes of answer: words, with a newline every `line` bytes (0: one single line).
fn answer(size: usize, line: usize) -> String {
    let mut text = String::with_capacity(size + 16);
    while text.len() < size {
        text.push_str("word ");
        if line > 0 && text.len() % line < 5 {
            text.push('\n');
        }
    }
    text.truncate(size);
    text
}

fn large() {
    const SIZE: usize = 50 * MB;
    println!("## One 50 MB answer (1 KB deltas), limits.max_answer_mb = 64\n");
    println!("| command | answer | wall | peak RSS | RSS / answer |");
    println!("|---|---|---|---|---|");
    let cases: [(&str, &[&str], bool, usize); 5] = [
        ("batch 15", &["batch", "15", "--out", "run"], false, 80),
        ("batch 15 --no-stream", &["batch", "15", "--no-stream", "--out", "run"], false, 80),
        ("chat 15 (piped)", &["chat", "15"], false, 80),
        ("chat 15 (terminal)", &["chat", "15"], true, 80),
        ("chat 15 (terminal)", &["chat", "15"], true, 0),
    ];
    for (label, args, tty, line) in cases {
        let text = answer(SIZE, line);
        let chunks = SIZE / 1024;
        let server = TestServer::start(Script::from_fn(move |request, _| {
            if request.is_stream() {
                Reply::stream(&text).chunks(chunks)
            } else {
                Reply::json_answer(&text)
            }
        }));
        let sandbox = Sandbox::new(&server.url(), "[limits]\nmax_answer_mb = 64\n");
        let (wall, rss) = sandbox.run(args, tty);
        let shape = if line == 0 { "one line" } else { "80-byte lines" };
        let ratio = rss as f64 * 1024.0 / SIZE as f64;
        println!("| `{label}` | {shape} | {} | {} | {ratio:.1}x |", secs(wall), mb(rss));
    }
    println!();
}

/// A row: its label, the arguments, the server's reply, what the reply is.
type Case = (&'static str, &'static [&'static str], fn() -> Reply, &'static str);

fn endless() {
    println!("## An answer that never ends, default limits (8 MB)\n");
    println!("| command | what the server sends | wall until stopped | peak RSS |");
    println!("|---|---|---|---|");
    let streamed = || {
        Reply::sse_events([content_event("again ")]).endless(&content_event(&"again ".repeat(170)))
    };
    let whole = || {
        Reply::body(200, "application/json", "{\"choices\":[{\"message\":{\"content\":\"")
            .endless(&"again ".repeat(1000))
    };
    let line = || {
        Reply::sse_events(["data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\""])
            .endless(&"again ".repeat(1000))
    };
    let data_lines = || {
        Reply::sse_events(Vec::<String>::new())
            .endless(&format!("data: {}\n", "again ".repeat(170)))
    };
    let cases: [Case; 4] = [
        ("batch 15", &["batch", "15", "--out", "run"], streamed, "1 KB deltas for ever"),
        (
            "batch 15 --no-stream",
            &["batch", "15", "--no-stream", "--out", "run"],
            whole,
            "one JSON body for ever",
        ),
        ("batch 15", &["batch", "15", "--out", "run"], line, "one SSE line for ever"),
        (
            "batch 15",
            &["batch", "15", "--out", "run"],
            data_lines,
            "`data:` lines, never a blank line",
        ),
    ];
    for (label, args, reply, what) in cases {
        let server = TestServer::start(Script::from_fn(move |_, _| reply()));
        let sandbox = Sandbox::new(&server.url(), "");
        let (wall, rss) = sandbox.run(args, false);
        assert!(Path::new(&sandbox.path("run/manifest.json")).exists());
        println!("| `{label}` | {what} | {} | {} |", secs(wall), mb(rss));
    }
    println!();
}
