//! The commands that need no endpoint: topics, prompt, config, completions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use crate::common::sandbox::Sandbox;
use predicates::prelude::*;
use serde_json::Value;

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn topics_lists_the_twenty_topics_in_guide_order() {
    let sandbox = Sandbox::new();
    let output = sandbox.cmd().arg("topics").assert().success().get_output().clone();
    let text = stdout_of(&output);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 20, "{text}");
    assert!(rows[0].contains("multi-replica-testing"));
    assert!(rows[14].trim_start().starts_with("15") && rows[14].contains("health-checks"));
    assert!(rows[19].contains("capacity-planning"));
}

#[test]
fn topics_json_has_number_slug_title_and_cover_points() {
    let sandbox = Sandbox::new();
    let output = sandbox.cmd().args(["topics", "--json"]).assert().success().get_output().clone();
    let topics: Value = serde_json::from_slice(&output.stdout).unwrap();
    let topics = topics.as_array().unwrap();
    assert_eq!(topics.len(), 20);
    for (i, topic) in topics.iter().enumerate() {
        assert_eq!(topic["number"], i as u64 + 1);
        assert!(!topic["slug"].as_str().unwrap().is_empty());
        assert!(!topic["cover"].as_array().unwrap().is_empty());
    }
    assert_eq!(topics[14]["title"], "Health Checks and Readiness Probes");
}

#[test]
fn prompt_json_is_the_messages_array_a_session_sends() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .cmd()
        .args(["prompt", "15", "graceful", "--json", "--stack", "PostgreSQL, Istio"])
        .assert()
        .success()
        .get_output()
        .clone();
    let messages: Value = serde_json::from_slice(&output.stdout).unwrap();
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert!(messages.iter().all(|m| m["role"] == "user"));
    let priming = messages[0]["content"].as_str().unwrap();
    assert!(priming.starts_with("I am an experienced technical architect"));
    assert!(priming.ends_with("We're using PostgreSQL, Istio."), "{priming}");
    let health = messages[1]["content"].as_str().unwrap();
    assert!(health.starts_with("Provide detailed guidance on implementing health checks"));
    assert!(messages[2]["content"].as_str().unwrap().contains("graceful shutdown"));
}

#[test]
fn prompt_text_prints_each_message_verbatim() {
    let sandbox = Sandbox::new();
    let output =
        sandbox.cmd().args(["prompt", "health-checks"]).assert().success().get_output().clone();
    let text = stdout_of(&output);
    assert!(text.contains("message 1 of 2 (user): priming prompt"));
    assert!(text.contains("message 2 of 2 (user): topic 15 · Health Checks and Readiness Probes"));
    assert!(text.contains("- Make it robust under non-ideal conditions  \n"), "double space kept");
    assert!(text.contains("Include a checklist of health check implementation requirements"));
}

#[test]
fn an_unknown_topic_exits_2_and_names_the_closest_matches() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["prompt", "helth-checks"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("health-checks"))
        .stderr(predicate::str::contains("deepdive topics"));
}

#[test]
fn an_ambiguous_prefix_exits_2_and_lists_the_candidates() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["prompt", "c"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("chaos-engineering"))
        .stderr(predicate::str::contains("configuration"));
}

#[test]
fn a_user_prompts_dir_overrides_a_builtin_topic_by_slug() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("my-prompts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("health.md"),
        "+++\nnumber = 15\nslug = \"health-checks\"\ntitle = \"Health Checks for Spring Boot\"\n+++\n\
         Provide guidance on Spring Boot actuator health checks.\n\nCover:\n- Liveness groups\n- Readiness groups\n\n\
         Include a checklist.\n",
    )
    .unwrap();
    let output = sandbox
        .cmd()
        .args(["prompt", "15", "--json", "--prompts"])
        .arg(&dir)
        .assert()
        .success()
        .get_output()
        .clone();
    let messages: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(messages[1]["content"].as_str().unwrap().contains("Spring Boot actuator"));
}

#[test]
fn a_malformed_prompt_file_exits_2_and_names_the_file() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("my-prompts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.md"), "no front matter here\n").unwrap();
    sandbox
        .cmd()
        .arg("topics")
        .env("DEEPDIVE_PROMPTS_DIR", &dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.md"));
}

#[test]
fn an_unknown_config_key_exits_2_and_names_it() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[profiles.default]\nmodel = \"m\"\ntemprature = 0.2\n");
    sandbox
        .cmd()
        .arg("topics")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("temprature"))
        .stderr(predicate::str::contains("config.toml"));
}

#[test]
fn config_show_says_where_each_value_came_from() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[profiles.default]\nmodel = \"from-file\"\ntemperature = 0.3\n");
    let output = sandbox
        .cmd()
        .args(["config", "show", "--temperature", "0.5"])
        .env("DEEPDIVE_MODEL", "from-env")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&output);
    let line = |key: &str| {
        text.lines().find(|l| l.starts_with(&format!("{key} "))).unwrap_or_default().to_string()
    };
    assert!(line("model").contains("from-env") && line("model").contains("env DEEPDIVE_MODEL"));
    assert!(
        line("temperature").contains("0.5") && line("temperature").contains("flag --temperature")
    );
    assert!(line("stream").contains("default"));
}

#[test]
fn completions_are_generated_for_each_shell() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        sandbox
            .cmd()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("deepdive"))
            .stdout(predicate::str::contains("batch"));
    }
}

#[test]
fn bad_usage_exits_2() {
    let sandbox = Sandbox::new();
    sandbox.cmd().arg("batch").assert().code(2);
    sandbox.cmd().args(["batch", "--all", "15"]).assert().code(2);
    sandbox.cmd().args(["--temperature", "7", "topics"]).assert().code(2);
}
