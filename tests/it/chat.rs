//! `deepdive chat` driven as a script through piped stdin, in a pseudo-terminal for Ctrl-C,
//! and killed with `kill -9` mid-session, against a real local server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::io::Write;
use std::process::Stdio;
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer};
use deepdive::chat::suggest;
use deepdive::prompts::Library;
use deepdive::session::{AnswerStatus, SessionStatus, Transcript, TurnKind};
use predicates::prelude::*;

fn sandbox_for(url: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[retry]\nmax_attempts = 2\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [profiles.test]\nbase_url = \"{url}\"\nmodel = \"test-model\"\napi_key_env = \"\"\n"
    ));
    sandbox
}

#[test]
fn a_picked_number_sends_exactly_the_suggested_text() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox
        .chat(&["health-checks", "--stack", "PostgreSQL, Istio"], "2\n/quit\n")
        .success()
        .stdout(predicate::str::contains("Suggested follow-ups:"))
        .stdout(predicate::str::contains("  2. ["));
    let transcript = sandbox.only_session();
    assert_eq!(transcript.turns.len(), 6);
    // What was suggested after the opening answers, recomputed from the transcript then.
    let opening = Transcript { turns: transcript.turns[..4].to_vec(), ..transcript.clone() };
    let suggestions =
        suggest::suggest(&Library::builtin(), &opening, Some("PostgreSQL, Istio"), None, 6);
    let sent = server.requests()[2].last_user_message().unwrap();
    assert_eq!(sent, suggestions[1].text);
    assert_eq!(transcript.turns[4].text, suggestions[1].text);
    assert_eq!(transcript.meta.status, SessionStatus::Complete);
}

#[test]
fn a_resumed_session_makes_its_suggestions_when_a_number_or_followups_asks() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox.chat(&["health-checks"], "/quit\n").success();
    let opening = sandbox.only_session();
    let suggestions = suggest::suggest(&Library::builtin(), &opening, None, None, 6);
    // Resuming shows the last exchange, not the list (it would check coverage again)...
    sandbox
        .chat(&["--resume"], "/quit\n")
        .success()
        .stdout(predicate::str::contains("Suggested follow-ups:").not())
        .stderr(predicate::str::contains("/followups lists the suggested follow-ups"));
    // ...which /followups shows, the same as at the end of the first session.
    sandbox
        .chat(&["--resume"], "/followups\n/quit\n")
        .success()
        .stdout(predicate::str::contains(format!("  2. [{}]", suggestions[1].kind.as_str())));
    // A number picks from it without /followups first.
    sandbox.chat(&["--resume"], "2\n/quit\n").success();
    assert_eq!(server.requests()[2].last_user_message().unwrap(), suggestions[1].text);
    assert_eq!(sandbox.only_session().turns.len(), 6);
}

#[test]
fn typed_questions_are_sent_and_the_answers_streamed_to_stdout() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox
        .chat(&["15"], "How do probes interact with PgBouncer?\n")
        .success()
        .stdout(predicate::str::contains("answer to: How do probes interact with PgBouncer?"));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[2].messages().len(),
        5,
        "priming, topic and their answers, then the question"
    );
    let transcript = sandbox.only_session();
    assert_eq!(transcript.turns[4].info.kind, Some(TurnKind::Followup));
    assert!(transcript.turns[3].info.coverage.is_some(), "coverage recorded per answer");
}

#[test]
fn undo_drops_the_last_exchange_from_later_requests() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox.chat(&["15"], "first question\n/undo\nsecond question\n/quit\n").success();
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let last = requests[3].messages();
    assert_eq!(last.last().unwrap().1, "second question");
    assert!(last.iter().all(|(_, text)| !text.contains("first question")));
    let transcript = sandbox.only_session();
    assert!(transcript.turns.iter().all(|t| !t.text.contains("first question")));
}

#[test]
fn retry_asks_the_last_question_again_without_its_old_answer() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox.chat(&["15"], "why?\n/retry\n/quit\n").success();
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[2].messages(), requests[3].messages(), "the same request, resent");
    assert_eq!(sandbox.only_session().turns.len(), 6);
}

#[test]
fn unknown_commands_get_a_hint_and_reach_no_model() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox
        .chat(&["15"], "/covrage\n99\n/quit\n")
        .success()
        .stderr(predicate::str::contains("/coverage"))
        .stderr(predicate::str::contains("pick a number from 1 to"));
    assert_eq!(server.hits(), 2);
}

#[test]
fn coverage_shows_each_point_as_covered_or_missing() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox
        .chat(&["15"], "/coverage\n")
        .success()
        .stdout(predicate::str::contains("Coverage of “Health Checks and Readiness Probes”"))
        .stdout(predicate::str::contains("✗"));
}

#[test]
fn an_endpoint_failure_is_one_line_and_retry_resends() {
    let server = TestServer::start(Script::from_fn(|request, n| match n {
        2 | 3 => Reply::error(503, "overloaded"),
        _ => Reply::default_for(request),
    }));
    let sandbox = sandbox_for(&server.url());
    sandbox
        .chat(&["15"], "why?\n/retry\n/quit\n")
        .success()
        .stderr(predicate::str::contains("overloaded").and(predicate::str::contains("/retry")));
    let transcript = sandbox.only_session();
    assert_eq!(transcript.turns.len(), 6);
    assert_eq!(transcript.turns[5].info.status, Some(AnswerStatus::Complete));
    assert_eq!(transcript.turns[5].text, "answer to: why?");
}

#[test]
fn the_picker_reads_topics_from_the_first_line() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox.chat(&[], "15 graceful\n/quit\n").success();
    let transcript = sandbox.only_session();
    assert_eq!(transcript.meta.topics, ["health-checks", "graceful-shutdown"]);
    assert_eq!(server.hits(), 3, "priming and both topics in one conversation");
}

#[test]
fn resume_continues_the_latest_session() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox.chat(&["15"], "/quit\n").success();
    sandbox.chat(&["--resume"], "one more question\n/quit\n").success();
    let transcript = sandbox.only_session();
    assert_eq!(transcript.turns.len(), 6);
    assert_eq!(server.requests()[2].messages().len(), 5);
}

#[test]
fn a_session_killed_with_kill_9_keeps_every_finished_turn() {
    let (arrived, wait) = mpsc::channel();
    let arrived = Mutex::new(arrived);
    let server = TestServer::start(Script::from_fn(move |request, n| {
        if n == 3 {
            let _ = arrived.lock().unwrap().send(());
            Reply::stream("held forever").stall_after(1)
        } else {
            Reply::default_for(request)
        }
    }));
    let sandbox = sandbox_for(&server.url());
    let mut child = sandbox
        .std_cmd()
        .args(["chat", "15"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first follow-up\nsecond follow-up\n").unwrap();
    wait.recv_timeout(Duration::from_secs(60)).expect("the session reached the held request");
    child.kill().unwrap();
    child.wait().unwrap();
    let transcript = sandbox.only_session();
    assert_eq!(transcript.turns.len(), 6, "priming, topic and the first follow-up, answered");
    assert_eq!(transcript.turns[5].text, "answer to: first follow-up");
}

#[test]
fn ctrl_c_in_a_terminal_keeps_the_partial_answer_and_returns_to_the_prompt() {
    let server = TestServer::start(Script::from_fn(|request, n| match n {
        // A role-only delta, then "The partial answer so" in two chunks, then nothing.
        2 => Reply::stream("The partial answer so far and more").chunks(6).stall_after(3),
        _ => Reply::default_for(request),
    }));
    let sandbox = sandbox_for(&server.url());
    let mut cmd = sandbox.std_cmd();
    cmd.args(["chat", "15"]).env("TERM", "dumb");
    let mut session = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    session.exp_string("you> ").unwrap();
    session.send_line("tell me more").unwrap();
    session.exp_string("The partial").unwrap();
    session.send_control('c').unwrap();
    session.exp_string("interrupted").unwrap();
    session.exp_string("you> ").unwrap();
    session.send_line("/quit").unwrap();
    session.exp_eof().unwrap();
    let transcript = sandbox.only_session();
    let last = transcript.turns.last().unwrap();
    assert_eq!(last.info.status, Some(AnswerStatus::Interrupted));
    assert_eq!(last.text, "The partial ", "exactly the text that arrived");
}

#[test]
fn suggest_with_model_adds_the_models_own_questions_and_records_none_of_them() {
    let server =
        TestServer::start(Script::from_fn(|request, _| match request.last_user_message() {
            Some(text) if text.starts_with("Suggest three short follow-up questions") => {
                Reply::stream("How should probes change for gRPC services?\nWhat about sidecars?")
            }
            _ => Reply::default_for(request),
        }));
    let sandbox = sandbox_for(&server.url());
    sandbox
        .chat(&["15", "--suggest-with-model"], "/quit\n")
        .success()
        .stdout(predicate::str::contains("[model] How should probes change for gRPC services?"));
    assert_eq!(server.hits(), 3, "priming, topic, and one request for suggestions");
    let transcript = sandbox.only_session();
    assert_eq!(transcript.turns.len(), 4, "the suggestion request is not part of the session");
}

/// A chat in a pseudo-terminal, as a person runs it.
fn terminal_chat(sandbox: &Sandbox, args: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = sandbox.std_cmd();
    cmd.arg("chat").args(args).env("TERM", "dumb");
    rexpect::session::spawn_command(cmd, Some(30_000)).unwrap()
}

#[test]
fn ctrl_c_during_the_priming_answer_keeps_both_planned_topics_and_enter_continues() {
    let server = TestServer::start(Script::from_fn(|request, n| match n {
        0 => Reply::stream("I'm excited to help you with this").chunks(6).stall_after(3),
        _ => Reply::default_for(request),
    }));
    let sandbox = sandbox_for(&server.url());
    let mut session = terminal_chat(&sandbox, &["15", "16"]);
    session.exp_string("I'm excited").unwrap();
    session.send_control('c').unwrap();
    session.exp_string("interrupted").unwrap();
    session.exp_string("Continue the plan: topic health-checks").unwrap();
    session.exp_string("you> ").unwrap();
    session.send_line("").unwrap();
    session.exp_string("answer to: Provide detailed guidance on implementin").unwrap();
    session.exp_string("you> ").unwrap();
    session.send_line("/quit").unwrap();
    session.exp_eof().unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "priming, then both topics after Enter");
    let library = Library::builtin();
    let topic = |slug: &str| library.topic_by_slug(slug).unwrap().prompt.clone();
    assert_eq!(requests[1].last_user_message().unwrap(), topic("health-checks"));
    assert_eq!(requests[2].last_user_message().unwrap(), topic("graceful-shutdown"));
    let kinds: Vec<_> =
        sandbox.only_session().exchanges().map(|e| (e.kind().clone(), e.status())).collect();
    assert_eq!(
        kinds,
        [
            (TurnKind::Priming, Some(AnswerStatus::Interrupted)),
            (TurnKind::Topic("health-checks".into()), Some(AnswerStatus::Complete)),
            (TurnKind::Topic("graceful-shutdown".into()), Some(AnswerStatus::Complete)),
        ]
    );
}

#[test]
fn a_failed_topic_answer_keeps_the_plan_and_enter_sends_it_again() {
    let server = TestServer::start(Script::from_fn(|request, n| match n {
        1 | 2 => Reply::error(503, "overloaded"),
        _ => Reply::default_for(request),
    }));
    let sandbox = sandbox_for(&server.url());
    sandbox
        .chat(&["15", "16"], "\n/quit\n")
        .success()
        .stderr(predicate::str::contains("overloaded"))
        .stderr(predicate::str::contains("the plan goes on with the topic health-checks"));
    let requests = server.requests();
    assert_eq!(requests.len(), 5, "priming, topic 15 twice (retried), then 15 and 16");
    let transcript = sandbox.only_session();
    let topics: Vec<_> = transcript.exchanges().filter_map(|e| e.topic()).collect();
    assert_eq!(topics, ["health-checks", "health-checks", "graceful-shutdown"]);
    assert_eq!(transcript.meta.status, SessionStatus::Complete);
}

#[test]
fn ctrl_c_during_the_models_suggestions_skips_them_and_the_session_goes_on() {
    let server =
        TestServer::start(Script::from_fn(|request, _| match request.last_user_message() {
            Some(text) if text.starts_with("Suggest three short follow-up questions") => {
                Reply::stream("never finished").stall_after(1)
            }
            _ => Reply::default_for(request),
        }));
    let sandbox = sandbox_for(&server.url());
    let mut session = terminal_chat(&sandbox, &["15", "--suggest-with-model"]);
    // Wait until the suggestions request hangs at the server.
    session.exp_string("answer to: ").unwrap();
    while server.hits() < 3 {
        std::thread::yield_now();
    }
    session.send_control('c').unwrap();
    session.exp_string("skipped the model's suggestions").unwrap();
    session.exp_string("you> ").unwrap();
    session.send_line("/quit").unwrap();
    session.exp_eof().unwrap();
    assert_eq!(sandbox.only_session().meta.status, SessionStatus::Complete);
}

#[test]
fn ctrl_c_while_waiting_for_piped_input_ends_the_session_with_130() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    let mut child = sandbox
        .std_cmd()
        .args(["chat", "15"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Held open to the end: waiting on a child closes its stdin otherwise.
    let _stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, shown) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // The suggestions are printed right before the session waits for input.
    while !shown.recv().unwrap().starts_with("Suggested follow-ups:") {}
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let transcript = sandbox.only_session();
    assert_eq!(transcript.exchanges().count(), 2, "the opening exchanges are saved");
}

#[test]
fn mistakes_are_warnings_and_the_session_goes_on() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    // A path under a regular file can never be written.
    let blocker = sandbox.path().join("a-file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let bad = blocker.join("copy.md");
    let script = format!("/save {}\n/edit\nstill here?\n/quit\n", bad.display());
    sandbox
        .chat(&["15"], &script)
        .success()
        .stderr(predicate::str::contains("copy.md"))
        .stderr(predicate::str::contains("the session goes on"))
        .stderr(predicate::str::contains("/edit needs a terminal"))
        .stdout(predicate::str::contains("answer to: still here?"));
    assert!(!bad.exists());
}

#[test]
fn an_editor_that_fails_or_writes_nothing_is_a_warning() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    for (editor, warning) in
        [("false", "exited with"), ("true", "the editor left the question empty")]
    {
        let mut cmd = sandbox.std_cmd();
        cmd.args(["chat", "15"]).env("TERM", "dumb").env("EDITOR", editor);
        let mut session = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
        session.exp_string("you> ").unwrap();
        session.send_line("/edit").unwrap();
        session.exp_string(warning).unwrap();
        session.exp_string("you> ").unwrap();
        session.send_line("/quit").unwrap();
        session.exp_eof().unwrap();
    }
    assert_eq!(server.hits(), 4, "two sessions of two opening requests; nothing else sent");
}

#[test]
fn coverage_is_shown_for_each_topic_and_for_one_on_request() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    let both = sandbox.chat(&["15", "16"], "/coverage\n/quit\n").success();
    let stdout = String::from_utf8_lossy(&both.get_output().stdout).to_string();
    assert!(stdout.contains("Coverage of “Health Checks and Readiness Probes”"), "{stdout}");
    assert!(stdout.contains("Coverage of “Graceful Shutdown"), "{stdout}");
    let sandbox = sandbox_for(&server.url());
    let one = sandbox.chat(&["15", "16"], "/coverage 16\n/quit\n").success();
    let stdout = String::from_utf8_lossy(&one.get_output().stdout).to_string();
    assert!(!stdout.contains("Coverage of “Health Checks"), "{stdout}");
    assert!(stdout.contains("Coverage of “Graceful Shutdown"), "{stdout}");
}

#[test]
fn a_resumed_session_that_asks_nothing_leaves_the_file_as_it_was() {
    use std::os::unix::fs::MetadataExt;
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox.chat(&["15"], "/quit\n").success();
    let file = sandbox.transcripts_in(&sandbox.sessions_dir()).remove(0);
    let before = (std::fs::read(&file).unwrap(), std::fs::metadata(&file).unwrap());
    sandbox
        .chat(&["--resume"], "/coverage\n/tokens\n/quit\n")
        .success()
        .stderr(predicate::str::contains("nothing new"));
    let after = std::fs::metadata(&file).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), before.0);
    // An atomic save replaces the file: a new inode, a new modification time.
    assert_eq!((after.ino(), after.mtime(), after.mtime_nsec()), {
        let m = &before.1;
        (m.ino(), m.mtime(), m.mtime_nsec())
    });
    // Once something is asked, the session is saved as before.
    sandbox.chat(&["--resume"], "one more\n/quit\n").success();
    assert_eq!(sandbox.only_session().turns.len(), 6);
}

#[test]
fn resume_shows_the_last_exchange_or_with_history_all_of_them() {
    let server = TestServer::start(Script::echo());
    let sandbox = sandbox_for(&server.url());
    sandbox.chat(&["15"], "why probes?\n/quit\n").success();
    sandbox
        .chat(&["--resume"], "/quit\n")
        .success()
        .stdout(predicate::str::contains("answer to: why probes?"))
        .stdout(predicate::str::contains("answer to: I am an experienced").not())
        .stderr(predicate::str::contains("2 earlier exchanges not shown"));
    sandbox
        .chat(&["--resume", "--history"], "/quit\n")
        .success()
        .stdout(predicate::str::contains("answer to: why probes?"))
        .stdout(predicate::str::contains("answer to: I am an experienced"));
    assert_eq!(server.hits(), 3, "resuming sends nothing by itself");
}

#[test]
fn a_wait_indicator_shows_on_a_terminal_until_the_first_token_and_never_when_piped() {
    // The first answer is held back until the test has seen the indicator.
    let (release, held) = mpsc::channel::<()>();
    let held = Mutex::new(held);
    let server = TestServer::start(Script::from_fn(move |request, n| {
        if n == 0 {
            let _ = held.lock().unwrap().recv();
        }
        Reply::default_for(request)
    }));
    let sandbox = sandbox_for(&server.url());
    let mut cmd = sandbox.std_cmd();
    cmd.args(["chat", "15"]).env("TERM", "xterm");
    let mut session = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    session.exp_string("waiting for the answer").unwrap();
    release.send(()).unwrap();
    session.exp_string("you> ").unwrap();
    session.send_line("/quit").unwrap();
    session.exp_eof().unwrap();
    let sandbox = sandbox_for(&server.url());
    sandbox
        .chat(&["15"], "/quit\n")
        .success()
        .stderr(predicate::str::contains("waiting for the answer").not());
}
