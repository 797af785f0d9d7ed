//! A batch's run folder across runs: the shared priming exchange it keeps, the lock that keeps
//! a second batch out, what a killed save leaves behind, the checks before anything is sent,
//! and resuming with the run's own settings from the command deepdive printed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::batch::{
    batch, config_for, manifest, sandbox_for, start_batch_until_request, transcript_of,
};
use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer};
use crate::common::tiny_gguf::{Arch, Behaviour, Spec, generate};
use deepdive::batch::TopicStatus;
use deepdive::session::{TurnKind, store};
use predicates::prelude::*;

/// Each turn's text, in order.
fn texts(transcript: &deepdive::session::Transcript) -> Vec<&str> {
    transcript.turns.iter().map(|t| t.text.as_str()).collect()
}

fn resume(sandbox: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sandbox.cmd();
    cmd.arg("batch").arg("--resume").arg(sandbox.run_dir());
    cmd
}

#[test]
fn the_saved_priming_exchange_is_reused_after_kill_9() {
    let sandbox = Sandbox::new();
    // Request 0 is the shared priming, 1 topic 1's prompt: held, then killed.
    let (mut child, _server) = start_batch_until_request(&sandbox, 1);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(sandbox.run_dir().join("00-priming.md").is_file(), "saved before any topic ran");

    let healthy = TestServer::start(Script::echo());
    sandbox.write_config(&config_for(&healthy.url(), ""));
    resume(&sandbox).assert().success().stdout(predicate::str::contains("3 topics: 3 complete"));
    let sent = healthy.requests();
    assert_eq!(sent.len(), 3, "the three topic prompts, and no second priming request");
    assert!(sent.iter().all(|r| r.messages().len() == 3));
    let priming = store::load(&sandbox.run_dir().join("00-priming.md")).unwrap();
    for slug in ["multi-replica-testing", "data-durability", "observability"] {
        assert_eq!(texts(&transcript_of(&sandbox, slug))[..2], texts(&priming)[..2]);
    }
}

#[test]
fn a_manifest_older_than_the_priming_transcript_gets_its_record_back_from_it() {
    let sandbox = Sandbox::new();
    let (mut child, _server) = start_batch_until_request(&sandbox, 1);
    child.kill().unwrap();
    child.wait().unwrap();
    // What a power loss may keep of the manifest (its progress saves do not wait for the
    // new name): the one from the start of the run, before the priming was asked.
    let path = sandbox.run_dir().join("manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(json.as_object_mut().unwrap().remove("priming").is_some());
    std::fs::write(&path, json.to_string()).unwrap();

    let healthy = TestServer::start(Script::echo());
    sandbox.write_config(&config_for(&healthy.url(), ""));
    resume(&sandbox).assert().success();
    assert_eq!(healthy.requests().len(), 3, "the priming exchange on disk was reused");
    let priming = manifest(&sandbox).priming.expect("a priming record");
    assert_eq!(priming.status, TopicStatus::Complete);
    let saved = store::load(&sandbox.run_dir().join("00-priming.md")).unwrap();
    assert!(saved.meta.usage.total() > 0);
    assert_eq!(priming.usage, saved.meta.usage, "the run's token total counts the priming");
}

#[test]
fn a_second_batch_into_a_folder_in_use_exits_2_naming_the_holder_and_kill_9_frees_it() {
    let sandbox = Sandbox::new();
    let (mut child, server) = start_batch_until_request(&sandbox, 1);
    let hits = server.hits();
    resume(&sandbox)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("process {}", child.id())))
        .stderr(predicate::str::contains("another deepdive batch"));
    assert_eq!(server.hits(), hits, "nothing was sent");
    child.kill().unwrap();
    child.wait().unwrap();

    let healthy = TestServer::start(Script::echo());
    sandbox.write_config(&config_for(&healthy.url(), ""));
    resume(&sandbox).assert().success();
}

#[test]
fn temporary_files_of_a_killed_save_are_removed_and_nothing_else() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    batch(&sandbox).arg("15").assert().success();
    let dir = sandbox.run_dir();
    let stale = [".manifest.json.Xy12Ab.deepdive-tmp", ".15-health-checks.md.q9Zk3e.deepdive-tmp"];
    let kept = [".notes.tmp", "notes.deepdive-tmp", ".15-health-checks.md.q9Zk3e.tmp"];
    for name in stale.iter().chain(&kept) {
        std::fs::write(dir.join(name), "half a file").unwrap();
    }
    batch(&sandbox).arg("15").assert().success();
    for name in stale {
        assert!(!dir.join(name).exists(), "{name} was left");
    }
    for name in kept {
        assert!(dir.join(name).exists(), "{name} is not deepdive's and was removed");
    }
    assert_eq!(server.hits(), 2, "the second run had nothing to send");
}

#[test]
fn a_run_folder_that_cannot_be_written_fails_with_exit_2_before_any_request() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    let file = sandbox.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    sandbox
        .cmd()
        .args(["batch", "15", "--out"])
        .arg(file.join("run"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot write into the run folder"));
    assert_eq!(server.hits(), 0);
}

#[test]
fn a_long_slug_gets_a_shortened_file_name() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server);
    let prompts = sandbox.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let slug = format!("feature-flags-{}", "and-kill-switches-".repeat(12)) + "everywhere";
    std::fs::write(
        prompts.join("flags.md"),
        format!(
            "+++\nnumber = 21\nslug = \"{slug}\"\ntitle = \"Feature Flags\"\n+++\n\
             Provide guidance on feature flags.\n\nCover:\n- Flag lifecycle\n\nInclude a checklist.\n"
        ),
    )
    .unwrap();
    batch(&sandbox).arg("--prompts").arg(&prompts).arg(&slug).assert().success();
    let record = manifest(&sandbox).topics.pop().unwrap();
    assert_eq!(record.slug, slug, "the slug itself is kept");
    assert!(
        record.file.len() <= 70 && record.file.starts_with("21-feature-flags-"),
        "{}",
        record.file
    );
    assert!(sandbox.run_dir().join(&record.file).is_file());
}

/// The `to continue:` command a run printed on stderr.
fn printed_hint(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let line = stderr.lines().find_map(|l| l.strip_prefix("to continue: "));
    line.unwrap_or_else(|| panic!("no hint in {stderr}")).to_string()
}

#[test]
fn the_printed_resume_command_works_pasted_into_a_fresh_shell() {
    let flaky = Arc::new(AtomicUsize::new(0));
    let failures = Arc::clone(&flaky);
    // Topic 16 fails once (a request option the server refuses), then is answered.
    let server = TestServer::start(Script::from_fn(move |request, _| {
        let graceful =
            request.last_user_message().unwrap_or_default().contains("graceful shutdown");
        if graceful && failures.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::error(400, "not now")
        } else {
            Reply::default_for(request)
        }
    }));
    let sandbox = Sandbox::new();
    // A config file the default lookup would not find, in a folder whose name needs quoting.
    let config = sandbox.path().join("my config's dir/deepdive.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, config_for(&server.url(), "")).unwrap();
    let run_dir = sandbox.path().join("runs/first run");
    let output = sandbox
        .cmd()
        .arg("--config")
        .arg(&config)
        .args(["batch", "15", "16", "--out"])
        .arg(&run_dir)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let hint = printed_hint(&output.stderr);
    assert!(hint.contains("--config"), "{hint}");

    // A fresh shell: another working directory, none of deepdive's variables.
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg(&hint)
        .current_dir("/")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", sandbox.path().join("home"))
        .env("XDG_CONFIG_HOME", sandbox.path().join("empty-config"))
        .env("XDG_DATA_HOME", sandbox.path().join("data"))
        .env("HF_HOME", sandbox.path().join("hf"))
        .output()
        .unwrap();
    assert!(shell.status.success(), "{hint}\n{}", String::from_utf8_lossy(&shell.stderr));
    assert!(String::from_utf8_lossy(&shell.stdout).contains("2 topics: 2 complete"));
}

#[test]
fn a_resume_reuses_the_run_s_profile_and_model_and_flags_can_point_it_elsewhere() {
    let first = TestServer::start(Script::echo());
    let second = TestServer::start(Script::echo());
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "profile = \"main\"\n[retry]\nmax_attempts = 1\n\n\
         [profiles.main]\nbase_url = \"{}\"\nmodel = \"main-model\"\napi_key_env = \"\"\n\n\
         [profiles.other]\nbase_url = \"{}\"\nmodel = \"other-model\"\napi_key_env = \"\"\n",
        first.url(),
        second.url()
    ));
    // The first run fails: its endpoint, named by a flag, is not there.
    let gone = crate::common::server::closed_port_url();
    sandbox
        .cmd()
        .args(["--profile", "other", "--model", "picked-model", "--base-url", &gone])
        .args(["batch", "15", "--out"])
        .arg(sandbox.run_dir())
        .assert()
        .code(1);
    assert_eq!(manifest(&sandbox).plan.model, "picked-model");

    // Without flags the run goes back to its own model and (flag-given) endpoint: still gone.
    resume(&sandbox).assert().code(1).stdout(predicate::str::contains(gone.as_str()));
    // A flag points it at a live endpoint; the model and profile stay the run's.
    resume(&sandbox).args(["--base-url", &second.url()]).assert().success();
    assert_eq!(first.hits(), 0, "never the config's default profile");
    let sent = second.requests();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.body["model"] == "picked-model"));
    assert_eq!(manifest(&sandbox).plan.profile, "other");
}

#[test]
fn cached_prompt_tokens_are_recorded() {
    let server = TestServer::start(Script::from_fn(|request, _| match request.messages().len() {
        1 => Reply::default_for(request),
        _ => Reply::stream("answer").raw_usage(serde_json::json!({
            "prompt_tokens": 1200, "completion_tokens": 1,
            "prompt_tokens_details": {"cached_tokens": 1024}
        })),
    }));
    let sandbox = sandbox_for(&server);
    batch(&sandbox)
        .args(["15", "16"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2,048 prompt tokens cached"));
    let transcript = transcript_of(&sandbox, "health-checks");
    assert_eq!(transcript.turns[3].info.usage.unwrap().cached_tokens, 1024);
    assert_eq!(transcript.meta.usage.cached_tokens, 1024);
    let text = std::fs::read_to_string(sandbox.run_dir().join("15-health-checks.md")).unwrap();
    assert!(text.contains("cached_tokens=1024"), "{text}");
    assert_eq!(manifest(&sandbox).usage().cached_tokens, 2048);
}

#[test]
fn a_local_batch_asks_the_shared_priming_first_and_every_topic_starts_with_it() {
    let mut spec = Spec::tiny(Arch::Qwen2, Behaviour::StopsQuickly);
    spec.context = 8192;
    let model = generate(&spec);
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .args(["batch", "15", "16", "--out"])
        .arg(sandbox.run_dir())
        .arg("--model")
        .arg(&model.path)
        .assert()
        .success();
    let manifest = manifest(&sandbox);
    let priming = manifest.priming.unwrap();
    assert_eq!((priming.status, priming.attempts), (TopicStatus::Complete, 1));
    let shared = store::load(&sandbox.run_dir().join("00-priming.md")).unwrap();
    assert_eq!(shared.turns[0].info.kind, Some(TurnKind::Priming));
    for slug in ["health-checks", "graceful-shutdown"] {
        let transcript = transcript_of(&sandbox, slug);
        assert_eq!(texts(&transcript)[..2], texts(&shared)[..2]);
        assert_eq!(transcript.exchanges().count(), 2);
    }
    assert!(manifest.topics.iter().all(|r| r.attempts == 1), "one request per topic");
}
