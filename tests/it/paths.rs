//! Paths that round-trip between commands: what `deepdive sessions` prints (relative to the
//! sessions directory) is what `show`, `compare`, `replay` and `chat --resume` take; `show`
//! of a run folder sums it up; `compare` writes under the sessions directory.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use crate::common::sandbox::Sandbox;
use crate::common::server::{Script, TestServer};
use crate::library::{sandbox_with_sessions, stderr_of, stdout_of};
use predicates::prelude::*;

/// The PATH column (the last one) of `sessions`' table, header left out.
fn listed_paths(sandbox: &Sandbox) -> Vec<String> {
    let out = stdout_of(&sandbox.cmd().arg("sessions").assert().success());
    out.lines().skip(1).map(|l| l.split_whitespace().last().unwrap().to_string()).collect()
}

fn use_server(sandbox: &Sandbox, url: &str) {
    sandbox.write_config(&format!(
        "[retry]\nmax_attempts = 2\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [profiles.test]\nbase_url = \"{url}\"\nmodel = \"new-model\"\napi_key_env = \"\"\n"
    ));
}

#[test]
fn every_path_sessions_prints_is_accepted_by_show() {
    let sandbox = sandbox_with_sessions();
    let paths = listed_paths(&sandbox);
    assert_eq!(
        paths,
        ["2026-11-30T0913Z-graceful-shutdown.md", "runs/run-b", "normal-session.md", "runs/run-a"]
    );
    for path in &paths {
        let out = stdout_of(&sandbox.cmd().args(["show", path]).assert().success());
        let first = out.lines().next().unwrap();
        match path.strip_prefix("runs/") {
            Some(run) => assert_eq!(first, format!("Batch run {run}")),
            None => assert!(out.contains("\n── You (topic "), "{path}:\n{out}"),
        }
    }
    // A run folder by its own name, and a transcript inside it.
    sandbox.cmd().args(["show", "run-a"]).assert().success();
    sandbox
        .cmd()
        .args(["show", "runs/run-a/15-health-checks.md"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Health Checks and Readiness Probes\nmodel-a · "));
}

#[test]
fn show_of_a_run_folder_sums_up_plan_topics_totals_and_where_things_are() {
    let sandbox = sandbox_with_sessions();
    let dir = sandbox.sessions_dir().join("runs/run-b");
    let out = stdout_of(&sandbox.cmd().args(["show", "runs/run-b"]).assert().success());
    let expected = format!(
        "Batch run run-b\n\
         model-b · http://127.0.0.1:8080/v1 · profile local · 2026-11-29 11:00 UTC · complete\n\
         stack: PostgreSQL, Spring Boot, EKS\n\
         plan: 2 topics, follow-ups: mistakes\n\
         \n\
         \x20#  TOPIC              STATUS    ATTEMPTS  TOKENS  COVERAGE   TIME  TRANSCRIPT\n\
         15  health-checks      complete         1   5,723      8/10  1m30s  15-health-checks.md\n\
         16  graceful-shutdown  complete         1   1,981     10/10  1m30s  16-graceful-shutdown.md\n\
         \n\
         2 topics: 2 complete · 6,800→904 tokens · coverage 18/20\n\
         transcripts: {}\n\
         handbook: not written yet\n",
        dir.display()
    );
    assert_eq!(out, expected);
}

#[test]
fn show_of_a_run_names_each_failure_and_the_handbook_once_written() {
    let sandbox = sandbox_with_sessions();
    let dir = sandbox.sessions_dir().join("runs/run-a");
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replacen("\"status\": \"complete\"", "\"status\": \"failed\"", 1).replacen(
        "\"error\": null",
        "\"error\": \"HTTP 503 from the endpoint\"",
        1,
    );
    std::fs::write(&manifest, text).unwrap();
    std::fs::write(dir.join("index.md"), "# handbook\n").unwrap();
    let out = stdout_of(&sandbox.cmd().args(["show", "run-a"]).assert().success());
    assert!(out.contains("plan: 1 topic, follow-ups: mistakes\n"), "{out}");
    assert!(out.contains("\n1 topic: 0 complete, 1 failed · 3,400→356 tokens"), "{out}");
    assert!(out.contains("\nhealth-checks failed: HTTP 503 from the endpoint\n"), "{out}");
    assert!(out.ends_with(&format!("handbook: {}\n", dir.join("index.md").display())), "{out}");
    std::fs::write(dir.join("handbook.html"), "<!doctype html>\n").unwrap();
    let out = stdout_of(&sandbox.cmd().args(["show", "run-a"]).assert().success());
    let html = dir.join("handbook.html");
    let line = format!(
        "handbook: {} (also handbook.md; index.md lists the conversations)\n",
        html.display()
    );
    assert!(out.ends_with(&line), "{out}");
}

#[test]
fn compare_takes_names_relative_to_the_sessions_dir_and_writes_there_out_of_the_listing() {
    let sandbox = sandbox_with_sessions();
    let written = sandbox.sessions_dir().join("compare/run-a-vs-run-b.md");
    sandbox
        .cmd()
        .args(["compare", "runs/run-a", "run-b"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("wrote {}", written.display())));
    assert!(std::fs::read_to_string(&written).unwrap().contains("| 15 | Health Checks"));
    let assert = sandbox.cmd().arg("sessions").assert().success();
    assert_eq!(stdout_of(&assert).lines().count(), 5, "header and the same four entries");
    assert_eq!(stderr_of(&assert), "", "the report is not taken for a broken transcript");
}

#[test]
fn replay_and_chat_resume_take_paths_as_sessions_prints_them() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_with_sessions();
    use_server(&sandbox, &server.url());
    let sessions = sandbox.sessions_dir();

    let assert = sandbox.cmd().args(["replay", "normal-session.md"]).assert().success();
    let source = sessions.join("normal-session.md");
    assert!(stderr_of(&assert).contains(&format!("of {} (gpt-4o)", source.display())));
    assert!(server.hits() > 0);

    let hits = server.hits();
    sandbox.cmd().args(["replay", "runs/run-a", "--until", "1"]).assert().success();
    assert!(server.hits() > hits, "the run folder's questions were sent");

    let file = "2026-11-30T0913Z-graceful-shutdown.md";
    let assert = sandbox.cmd().args(["chat", "--resume", file]).write_stdin("/quit\n").assert();
    let resumed = sessions.join(file);
    assert.success().stderr(predicate::str::contains(format!("resuming {}", resumed.display())));
}

#[test]
fn a_name_found_nowhere_says_where_it_looked() {
    let sandbox = Sandbox::new();
    let s = sandbox.sessions_dir();
    sandbox.cmd().args(["show", "gone.md"]).assert().code(2).stderr(format!(
        "error: gone.md: no such file or folder (looked for gone.md, {} and {}); name a \
         transcript (.md) or a batch run folder ('deepdive sessions' lists what is saved)\n",
        s.join("gone.md").display(),
        s.join("runs/gone.md").display()
    ));
}

#[test]
fn chat_resume_of_a_run_folder_asks_for_one_of_its_transcripts() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_with_sessions();
    use_server(&sandbox, &server.url());
    sandbox
        .cmd()
        .args(["chat", "--resume", "run-a"])
        .write_stdin("/quit\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("run-a: this is a folder, not a transcript"));
    assert_eq!(server.hits(), 0);
}

#[test]
fn sessions_skips_files_that_are_not_transcripts_with_a_note_under_verbose() {
    let sandbox = sandbox_with_sessions();
    std::fs::write(sandbox.sessions_dir().join("notes.md"), "# My notes\n\nnot a session\n")
        .unwrap();
    let assert = sandbox.cmd().arg("sessions").assert().success();
    let out = stdout_of(&assert);
    assert!(!out.contains("notes.md"), "{out}");
    assert_eq!(stderr_of(&assert), "");
    // Every row lines up under the header: the PATH column starts at the same place.
    let at = out.lines().next().unwrap().find("PATH").unwrap();
    for line in out.lines() {
        let column: String = line.chars().skip(at).collect();
        assert!(!column.starts_with(' ') && line.chars().nth(at - 1) == Some(' '), "{out}");
    }
    sandbox
        .cmd()
        .args(["sessions", "-v"])
        .assert()
        .success()
        .stderr("skipped notes.md: not a deepdive transcript (no `+++` front matter)\n");
    let json = stdout_of(&sandbox.cmd().args(["sessions", "--json"]).assert().success());
    assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&json).unwrap().len(), 4);
}
