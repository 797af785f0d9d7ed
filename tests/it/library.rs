//! The saved-session library through the real binary: `show`, `sessions` and `compare` on
//! the fixtures of `tests/fixtures/runs` (see its README) and `tests/fixtures/transcripts`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::path::{Path, PathBuf};

use crate::common::sandbox::Sandbox;
use deepdive::session::store;
use predicates::prelude::*;
use serde_json::Value;

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// A sandbox whose sessions directory holds two transcripts and two run folders.
pub fn sandbox_with_sessions() -> Sandbox {
    let sandbox = Sandbox::new();
    let dir = sandbox.sessions_dir();
    copy_dir(&fixture("runs/sessions"), &dir);
    std::fs::copy(fixture("transcripts/normal-session.md"), dir.join("normal-session.md")).unwrap();
    copy_dir(&fixture("runs/run-a"), &dir.join("runs/run-a"));
    copy_dir(&fixture("runs/run-b"), &dir.join("runs/run-b"));
    sandbox
}

pub fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

pub fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

fn position(haystack: &str, needle: &str) -> usize {
    haystack.find(needle).unwrap_or_else(|| panic!("`{needle}` missing in\n{haystack}"))
}

#[test]
fn show_prints_every_turn_verbatim_under_a_heading_when_piped() {
    let sandbox = Sandbox::new();
    let file = fixture("transcripts/normal-session.md");
    let assert = sandbox.cmd().arg("show").arg(&file).assert().success();
    let out = stdout_of(&assert);
    let transcript = store::load(&file).unwrap();
    let mut from = 0;
    for turn in &transcript.turns {
        let at = from + position(&out[from..], &turn.text);
        from = at + turn.text.len();
    }
    assert!(
        out.starts_with("Health Checks and Readiness Probes\ngpt-4o · https://api.openai.com/v1")
    );
    assert!(out.contains("\n── You (priming prompt)\n"), "{out}");
    assert!(out.contains("\n── You (topic 15 · Health Checks and Readiness Probes)\n"), "{out}");
    assert!(
        out.contains("\n── Assistant (gpt-4o-2024-08-06 · 1,050→402 tokens · coverage 2/3)\n"),
        "{out}"
    );
    assert!(out.contains("\n── Assistant (gpt-4o · ≈1,160→29 tokens · interrupted)\n"), "{out}");
    assert!(!out.contains('\x1b'), "no escapes when piped");
}

#[test]
fn show_of_a_missing_or_malformed_file_exits_2_naming_file_and_line() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["show", "nowhere.md"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere.md: no such file or folder"));
    let bad = fixture("transcripts/bad-toml.md");
    sandbox
        .cmd()
        .arg("show")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:3: ", bad.display())));
}

#[test]
fn sessions_lists_transcripts_and_runs_newest_first() {
    let sandbox = sandbox_with_sessions();
    let out = stdout_of(&sandbox.cmd().arg("sessions").assert().success());
    let order =
        ["2026-11-30T0913Z-graceful-shutdown.md", "runs/run-b", "normal-session.md", "runs/run-a"]
            .map(|needle| position(&out, needle));
    assert!(order.is_sorted(), "{out}");
    assert!(out.starts_with("DATE "), "{out}");
    let run_b = out.lines().find(|l| l.ends_with("runs/run-b")).unwrap();
    for field in ["2026-11-29 11:00", "run", "health-checks +1", "model-b", "18/20", "complete"] {
        assert!(run_b.contains(field), "{field} missing in {run_b}");
    }
}

#[test]
fn sessions_filters_by_topic_resolved_like_everywhere_else() {
    let sandbox = sandbox_with_sessions();
    let out = stdout_of(&sandbox.cmd().args(["sessions", "--topic", "16"]).assert().success());
    assert!(out.contains("graceful-shutdown.md") && out.contains("runs/run-b"), "{out}");
    assert!(!out.contains("normal-session.md") && !out.contains("runs/run-a"), "{out}");
    let out = stdout_of(&sandbox.cmd().args(["sessions", "--topic", "health"]).assert().success());
    assert!(!out.contains("graceful-shutdown.md"), "{out}");
    assert_eq!(out.lines().count(), 4, "header and three entries:\n{out}");
    sandbox
        .cmd()
        .args(["sessions", "--topic", "no-such-topic"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-topic"));
}

#[test]
fn sessions_json_parses_with_every_field() {
    let sandbox = sandbox_with_sessions();
    let out = stdout_of(&sandbox.cmd().args(["sessions", "--json"]).assert().success());
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows[0]["path"].as_str().unwrap().ends_with("graceful-shutdown.md"));
    assert_eq!(rows[0]["kind"], "session");
    assert_eq!(rows[0]["topics"], serde_json::json!(["graceful-shutdown"]));
    assert_eq!(rows[1]["kind"], "run");
    assert_eq!(rows[1]["model"], "model-b");
    assert_eq!(rows[1]["coverage"], serde_json::json!({"covered": 18, "total": 20}));
    assert_eq!(rows[2]["status"], "interrupted");
    assert_eq!(rows[2]["turns"], 6);
    assert_eq!(rows[2]["created"], "2026-11-27T04:35:00Z");
    assert!(rows.iter().all(|r| r["error"].is_null()));
}

#[test]
fn a_malformed_transcript_is_reported_after_the_table_and_the_rest_are_listed() {
    let sandbox = sandbox_with_sessions();
    let bad = sandbox.sessions_dir().join("broken.md");
    std::fs::copy(fixture("transcripts/bad-toml.md"), &bad).unwrap();
    let assert = sandbox.cmd().arg("sessions").assert().success();
    let out = stdout_of(&assert);
    assert!(!out.contains("broken.md"), "the table holds readable entries only:\n{out}");
    let err = stderr_of(&assert);
    let line = err.lines().find(|l| l.contains("broken.md")).unwrap();
    let expected = format!("warning: not listed, cannot be read: {}:3: ", bad.display());
    assert!(line.starts_with(&expected), "{line}");
    for name in ["graceful-shutdown.md", "runs/run-b", "normal-session.md", "runs/run-a"] {
        position(&out, name);
    }
    let json = stdout_of(&sandbox.cmd().args(["sessions", "--json"]).assert().success());
    let rows: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.iter().filter(|r| r["error"].is_string()).count(), 1);
}

#[test]
fn sessions_in_an_empty_place_says_so() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .arg("sessions")
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("no saved sessions"));
    sandbox.cmd().args(["sessions", "--json"]).assert().success().stdout("[]\n");
}

/// The bullet points listed under `heading` in `section`, up to the next blank-line-separated
/// paragraph.
fn points_under(section: &str, heading: &str) -> Vec<String> {
    let Some(start) = section.find(heading) else { return Vec::new() };
    section[start + heading.len()..]
        .trim_start_matches('\n')
        .lines()
        .take_while(|l| l.starts_with("- "))
        .map(|l| l[2..].to_string())
        .collect()
}

#[test]
fn compare_of_two_runs_reports_the_points_only_one_side_covers() {
    let sandbox = Sandbox::new();
    let out_file = sandbox.path().join("cmp.md");
    let assert = sandbox
        .cmd()
        .arg("compare")
        .arg(fixture("runs/run-a"))
        .arg(fixture("runs/run-b"))
        .arg("--out")
        .arg(&out_file)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("wrote {}", out_file.display())));
    let written = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(stdout_of(&assert), written, "piped stdout is the markdown itself");
    assert!(
        written.contains(
            "**B** covers more \"Cover:\" points overall: 16 of 20 against 5 of 20 for A."
        ),
        "{written}"
    );
    assert!(written.contains("| 15 | Health Checks and Readiness Probes | 5/10 | 6/10 | B |"));
    let start = position(&written, "## 15. Health Checks");
    let end = start + position(&written[start..], "### Exchange 1");
    let topic = &written[start..end];
    assert_eq!(
        points_under(topic, "Covered by A only:\n"),
        [
            "How Kubernetes uses probe results (traffic routing, restarts)",
            "Probe configuration parameters (delay, timeout, period, threshold)",
            "Avoiding cascading failures through health checks",
        ]
    );
    assert_eq!(
        points_under(topic, "Covered by B only:\n"),
        [
            "Implementing health check endpoints in applications",
            "Testing health checks (simulating failures)",
            "Monitoring health check success rates",
            "Health checks during deployments and scaling",
        ]
    );
    assert!(written.contains("Only B has this exchange: Walk through a failure scenario"));
    assert!(written.contains(
        "-2. Timeouts shorter than the handler's slowest response.\n+2. Sharing one endpoint"
    ));
    assert!(written.contains(
        "## 16. Graceful Shutdown and Pod Termination\n\n- A: nothing to compare (not in this run)"
    ));
}

#[test]
fn compare_of_two_transcripts_writes_under_the_sessions_dir_by_default() {
    let sandbox = Sandbox::new();
    let written = sandbox.sessions_dir().join("compare/15-health-checks-vs-15-health-checks.md");
    sandbox
        .cmd()
        .arg("compare")
        .arg(fixture("runs/run-a/15-health-checks.md"))
        .arg(fixture("runs/run-b/15-health-checks.md"))
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("wrote {}", written.display())));
    assert!(std::fs::read_dir(sandbox.work_dir()).unwrap().next().is_none(), "nothing in the cwd");
    let text = std::fs::read_to_string(written).unwrap();
    assert!(
        text.contains("| 15 | Health Checks and Readiness Probes | 5/10 | 6/10 | B |"),
        "{text}"
    );
    assert!(!text.contains("priming prompt"), "the priming exchange is not compared");
}

#[test]
fn compare_refuses_mixed_or_missing_inputs_with_exit_2() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .arg("compare")
        .arg(fixture("runs/run-a/15-health-checks.md"))
        .arg(fixture("runs/run-b"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot compare a transcript with a run folder"));
    sandbox
        .cmd()
        .arg("compare")
        .arg(fixture("runs/run-a"))
        .arg("missing-run")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing-run: no such file or folder"));
    sandbox
        .cmd()
        .arg("compare")
        .arg(fixture("runs"))
        .arg(fixture("runs/run-a"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no manifest.json"));
}
