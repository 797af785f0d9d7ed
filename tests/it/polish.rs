//! How the CLI talks: one `error:`/`warning:` style, counts in the right number, lines that
//! wrap at words on a terminal, subcommand help without the global options repeated, and
//! shell completions that know the topic slugs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::process::Command;

use crate::common::sandbox::Sandbox;
use crate::library::{fixture, stderr_of, stdout_of};
use predicates::prelude::*;

#[test]
fn every_kind_of_failure_starts_with_the_same_error_prefix() {
    let sandbox = Sandbox::new();
    let bad_config = sandbox.path().join("bad.toml");
    std::fs::write(&bad_config, "[profiles.default]\ntemprature = 1\n").unwrap();
    let failures: [&[&str]; 6] = [
        &["show", "gone.md"],
        &["--temperature", "7", "topics"],
        &["prompt", "helth-checks"],
        &["sessions", "--topic", "nope"],
        &["no-such-command"],
        &["compare", "only-one"],
    ];
    for args in failures {
        let err = stderr_of(&sandbox.cmd().args(args).assert().code(2));
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("Error:") && !err.contains("deepdive:"), "{args:?}: {err}");
    }
    let err = stderr_of(&sandbox.cmd().arg("--config").arg(&bad_config).arg("topics").assert());
    assert!(err.starts_with("error: ") && err.contains("temprature"), "{err}");
}

#[test]
fn warnings_use_the_warning_prefix() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.sessions_dir()).unwrap();
    std::fs::copy(fixture("transcripts/bad-toml.md"), sandbox.sessions_dir().join("b.md")).unwrap();
    let err = stderr_of(&sandbox.cmd().arg("sessions").assert().success());
    let warning = err.lines().find(|l| l.contains("b.md")).unwrap();
    assert!(warning.starts_with("warning: not listed, cannot be read: "), "{err}");
}

#[test]
fn counts_of_one_are_singular() {
    let sandbox = Sandbox::new();
    let one = stdout_of(&sandbox.cmd().args(["batch", "15", "--dry-run"]).assert().success());
    assert!(one.starts_with("plan: 1 topic, one priming request shared"), "{one}");
    let two = stdout_of(&sandbox.cmd().args(["batch", "15", "16", "--dry-run"]).assert().success());
    assert!(two.starts_with("plan: 2 topics, one priming request shared"), "{two}");
}

/// Every subcommand path, for help checks.
const SUBCOMMANDS: [&[&str]; 14] = [
    &["topics"],
    &["prompt"],
    &["chat"],
    &["batch"],
    &["replay"],
    &["show"],
    &["sessions"],
    &["compare"],
    &["completions"],
    &["config", "show"],
    &["config", "path"],
    &["model", "pull"],
    &["model", "list"],
    &["model", "rm"],
];

#[test]
fn subcommand_help_points_at_the_global_options_instead_of_repeating_them() {
    let sandbox = Sandbox::new();
    let main = stdout_of(&sandbox.cmd().arg("--help").assert().success());
    for option in ["--temperature", "--sessions-dir", "--context-window", "--no-stream"] {
        assert!(main.contains(option), "{option} missing from deepdive --help");
    }
    for path in SUBCOMMANDS {
        let help = stdout_of(&sandbox.cmd().args(path).arg("--help").assert().success());
        for option in ["--temperature", "--sessions-dir", "--context-window", "Global options:"] {
            assert!(!help.contains(option), "{path:?} --help repeats {option}:\n{help}");
        }
        assert!(
            help.trim_end().ends_with(
                "Global options (--model, --profile, --stack, -v, -q, ...) work here too: \
                 see 'deepdive --help'."
            ),
            "{path:?}:\n{help}"
        );
    }
    let help = stdout_of(&sandbox.cmd().args(["help", "chat"]).assert().success());
    assert!(!help.contains("--temperature") && help.contains("--resume"), "{help}");
}

#[test]
fn global_options_are_still_accepted_after_the_subcommand() {
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.path().join("elsewhere");
    sandbox
        .cmd()
        .args(["sessions", "--json", "-q", "--sessions-dir"])
        .arg(&elsewhere)
        .assert()
        .success()
        .stdout("[]\n");
    let out = stdout_of(
        &sandbox.cmd().args(["config", "show", "--model", "m-after", "-v"]).assert().success(),
    );
    assert!(out.lines().any(|l| l.starts_with("model ") && l.contains("m-after")), "{out}");
    sandbox.cmd().args(["model", "list", "--json", "--quiet"]).assert().success();
    sandbox.cmd().args(["show", "x.md", "-v", "-q"]).assert().code(2);
}

/// What bash offers for the last word of `line` with deepdive's completion script loaded.
fn bash_completes(script: &str, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let program = format!(
        "{script}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\n\
         COMP_POINT=${{#COMP_LINE}}\n_deepdive deepdive '{cur}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        cword = words.len() - 1,
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let output = Command::new("bash").arg("-c").arg(program).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn bash_completion_completes_topic_slugs_follow_up_names_and_options() {
    let sandbox = Sandbox::new();
    let script = stdout_of(&sandbox.cmd().args(["completions", "bash"]).assert().success());
    assert_eq!(bash_completes(&script, "deepdive chat heal"), ["health-checks"]);
    assert_eq!(bash_completes(&script, "deepdive prompt 15 grace"), ["graceful-shutdown"]);
    assert_eq!(
        bash_completes(&script, "deepdive batch --all c"),
        ["chaos-engineering", "configuration", "capacity-planning"]
    );
    assert_eq!(bash_completes(&script, "deepdive batch 15 --followups mis"), ["mistakes"]);
    assert_eq!(bash_completes(&script, "deepdive sessions --topic db"), ["db-connections"]);
    assert_eq!(bash_completes(&script, "deepdive chat --mod"), ["--model"]);
}

#[test]
fn zsh_and_fish_completions_carry_the_slugs_with_their_titles() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["completions", "zsh"])
        .assert()
        .success()
        .stdout(predicate::str::contains("health-checks\\:\"Health Checks and Readiness Probes\""));
    sandbox
        .cmd()
        .args(["completions", "fish"])
        .assert()
        .success()
        .stdout(predicate::str::contains("health-checks\\t'Health Checks and Readiness Probes'"));
}

#[test]
fn completion_values_do_not_restrict_what_the_parser_takes() {
    let sandbox = Sandbox::new();
    sandbox.cmd().args(["prompt", "15", "grace"]).assert().success();
    sandbox.cmd().args(["batch", "15", "--followups", "checklist", "--dry-run"]).assert().success();
}

#[test]
fn on_a_terminal_long_lines_wrap_at_words_under_the_message() {
    let sandbox = Sandbox::new();
    let inner = sandbox.std_cmd();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty cols 60 rows 24 && exec \"$0\" \"$@\"")
        .arg(inner.get_program())
        .args(["--temperature", "7", "topics"]);
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    cmd.current_dir(inner.get_current_dir().unwrap());
    let mut session = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    let out = session.exp_eof().unwrap().replace("\r\n", "\n");
    assert_eq!(
        out,
        "error: invalid flag --temperature: temperature must be\n       between 0 and 2 (got 7)\n"
    );
}
