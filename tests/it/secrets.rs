//! The API key never reaches a transcript, a log line, an error message or verbose output:
//! every failure path runs with a recognisable key, and every output and file is searched.

#![allow(clippy::unwrap_used)] // helpers of tests: a panic is a failed test

use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer, closed_port_url, content_event};

const KEY: &str = "sk-test-CANARY-7f3a9c";

fn assert_no_key(sandbox: &Sandbox, output: &std::process::Output, what: &str) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(KEY), "{what}: the key leaked to {stream}:\n{text}");
        assert!(!text.contains("CANARY"), "{what}: part of the key leaked to {stream}:\n{text}");
    }
    for (path, bytes) in sandbox.all_files() {
        if path.ends_with("config.toml") {
            continue; // holds the key command, which the user wrote
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("CANARY"), "{what}: the key leaked into {}", path.display());
    }
}

fn run(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    sandbox.cmd().args(args).arg("--verbose").env("OPENAI_API_KEY", KEY).output().unwrap()
}

#[test]
fn failure_paths_never_show_the_key() {
    let faults: Vec<(&str, Reply)> = vec![
        ("401", Reply::error(401, "Incorrect API key provided")),
        ("403", Reply::error(403, "forbidden")),
        ("404", Reply::error(404, "model not found")),
        ("echoed key", Reply::error(400, &format!("bad key {KEY} given"))),
        ("500 html", Reply::html(500, &format!("<html>Bearer {KEY}</html>"))),
        (
            "context",
            Reply::error_with(
                400,
                "maximum context length is 10",
                "x",
                Some("context_length_exceeded"),
            ),
        ),
        ("malformed", Reply::sse_events(["data: {not json\n\n"])),
        (
            "in-stream error",
            Reply::sse_events([
                content_event("a"),
                format!("data: {{\"error\":{{\"message\":\"key {KEY}\"}}}}\n\n"),
            ]),
        ),
        ("200 html", Reply::html(200, "<html>login</html>")),
        ("dropped", Reply::stream("partial answer").chunks(4).abort_after(2)),
    ];
    for (what, reply) in faults {
        let server = TestServer::start(Script::from_fn(move |_, _| reply.clone()));
        let sandbox = Sandbox::new();
        let output =
            run(&sandbox, &["batch", "15", "--max-attempts", "2", "--base-url", &server.url()]);
        assert_ne!(output.status.code(), Some(0), "{what} should fail");
        assert_eq!(
            server.requests()[0].header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_no_key(&sandbox, &output, what);
    }
}

#[test]
fn a_refused_connection_and_a_successful_run_never_show_the_key() {
    let sandbox = Sandbox::new();
    let output =
        run(&sandbox, &["batch", "15", "--max-attempts", "1", "--base-url", &closed_port_url()]);
    assert_eq!(output.status.code(), Some(1));
    assert_no_key(&sandbox, &output, "refused");

    let server = TestServer::start(Script::echo());
    let output = run(&sandbox, &["batch", "15", "--base-url", &server.url()]);
    assert_eq!(output.status.code(), Some(0));
    assert_no_key(&sandbox, &output, "success");
}

#[test]
fn config_show_and_a_failing_key_command_never_show_the_key() {
    let sandbox = Sandbox::new();
    let output = run(&sandbox, &["config", "show"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("OPENAI_API_KEY"));
    assert_no_key(&sandbox, &output, "config show");

    // The command prints the key without containing it, so any "CANARY" in the output is a leak.
    sandbox.write_config(&format!(
        "[profiles.cmd]\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_cmd = \"printf sk-test-%s%s-7f3a9c CAN ARY; exit 3\"\n",
        closed_port_url()
    ));
    let output = run(&sandbox, &["batch", "15"]);
    assert_eq!(output.status.code(), Some(2), "a failing key command is a config error");
    assert_no_key(&sandbox, &output, "failing key command");

    let server = TestServer::start(Script::echo());
    sandbox.write_config(&format!(
        "[profiles.cmd]\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_cmd = \"printf sk-test-%s%s-7f3a9c CAN ARY\"\n",
        server.url()
    ));
    let output = run(&sandbox, &["batch", "15"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_no_key(&sandbox, &output, "key from a command");
}
