//! No tokenizer unless a count decides something: a batch and a chat whose requests plainly
//! fit the context window never build the BPE tables; `-v`, which shows each request's prompt
//! tokens, does, and so does an answer the server reported no usage for (it is counted after
//! it arrives).
//!
//! Whether the tables were built is a per-process flag (`deepdive::tokens::tables_loaded`),
//! and the tests of this binary share a process. So each command runs in a process of its
//! own: this test binary started again with only [`one_command_in_this_process`] selected,
//! which runs the command as `main` would and reports the flag.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::io::Write;
use std::process::Stdio;

use clap::FromArgMatches;

use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer};

/// The command line of [`one_command_in_this_process`], one argument per line.
const ARGS_VAR: &str = "TOKENIZER_TEST_ARGS";
/// The line the child prints last.
const REPORT: &str = "tables loaded: ";

#[test]
#[ignore = "started by the other tests of this module, each time in a process of its own"]
fn one_command_in_this_process() {
    let args = std::env::var(ARGS_VAR).expect("run by tables_loaded_after");
    let args = std::iter::once("deepdive").chain(args.lines());
    let matches = deepdive::cli::command().try_get_matches_from(args).unwrap();
    let cli = deepdive::cli::Cli::from_arg_matches(&matches).unwrap();
    let code = deepdive::commands::run(cli).map_err(|f| f.message).unwrap();
    assert_eq!(code as i32, 0);
    println!("{REPORT}{}", deepdive::tokens::tables_loaded());
}

/// Runs `deepdive args…` (fed `stdin`) in a process of its own, in `sandbox`; whether it built
/// a tokenizer's tables.
fn tables_loaded_after(sandbox: &Sandbox, args: &[&str], stdin: &str) -> bool {
    let mut cmd = sandbox.isolated(&std::env::current_exe().unwrap());
    cmd.args(["--exact", "tokenizer::one_command_in_this_process", "--ignored"])
        .args(["--nocapture", "--test-threads=1", "--quiet"])
        .env(ARGS_VAR, args.join("\n"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?} failed:\n{stdout}\n{stderr}");
    let report = stdout.lines().find_map(|l| l.strip_prefix(REPORT));
    report.unwrap_or_else(|| panic!("{args:?} did not report:\n{stdout}\n{stderr}")) == "true"
}

fn sandbox_for(server: &TestServer) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[profiles.test]\nbase_url = \"{}\"\nmodel = \"gpt-4o\"\napi_key_env = \"\"\n",
        server.url()
    ));
    sandbox
}

#[test]
fn a_batch_and_a_chat_that_fit_build_no_tokenizer() {
    // gpt-4o: a known context window (128k), an exact tokenizer; the server reports usage.
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    let run_dir = sandbox.run_dir();
    let run_dir = run_dir.to_str().unwrap();
    assert!(!tables_loaded_after(&sandbox, &["batch", "15", "16", "--out", run_dir], ""));
    let batch_requests = server.hits();
    assert!(batch_requests >= 3, "the priming and both topics were asked");
    assert!(!tables_loaded_after(&sandbox, &["chat", "15"], "a question of my own\n/quit\n"));
    assert_eq!(server.hits() - batch_requests, 3, "priming, topic and the question were asked");
    // The same commands with -v show every request's prompt tokens: they count.
    let verbose_dir = sandbox.path().join("verbose-run");
    let verbose_dir = verbose_dir.to_str().unwrap();
    assert!(tables_loaded_after(&sandbox, &["-v", "batch", "15", "--out", verbose_dir], ""));
    assert!(tables_loaded_after(&sandbox, &["-v", "chat", "15"], "/quit\n"));
}

#[test]
fn an_answer_without_usage_is_counted_after_it_arrived() {
    let server = TestServer::start(Script::from_fn(|_, _| Reply::stream("an answer")));
    let sandbox = sandbox_for(&server);
    let run_dir = sandbox.run_dir();
    assert!(tables_loaded_after(
        &sandbox,
        &["batch", "15", "--out", run_dir.to_str().unwrap()],
        ""
    ));
    let transcripts = sandbox.transcripts();
    let t = deepdive::session::store::load(&transcripts[0]).unwrap();
    let answer = t.turns.iter().rfind(|turn| turn.info.usage.is_some()).unwrap();
    assert!(answer.info.usage_counted, "marked as counted, not the server's");
}
