//! The optional model judge (`--coverage model`) against the local test server, with scripted
//! judge replies: valid verdicts, made-up quotes, invalid JSON, a refusal, an HTTP failure,
//! missing points, a server that rejects `response_format`, and a judge on its own profile.
//! What the verdicts drive is checked where it shows: the transcript's `[[coverage]]`, the
//! usage totals, `/coverage`, the gap follow-ups, the batch manifest, summary and handbook,
//! `compare` and `--dry-run`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::sync::Arc;

use crate::common::sandbox::Sandbox;
use crate::common::server::{RecordedRequest, Reply, Script, TestServer};
use deepdive::batch::Manifest;
use deepdive::message::Role;
use deepdive::message::Usage;
use deepdive::session::{CoverageMethod, Transcript, Turn, TurnInfo, TurnKind, store};
use predicates::prelude::*;
use serde_json::json;

/// The answer to the health-checks topic prompt: it covers points 1 and 3 (in its own words)
/// and nothing else.
const HEALTH_ANSWER: &str = "## Three probes, three questions\n\nA **startup** probe holds the \
other two until a slow service has started; a liveness probe asks whether the process is stuck, \
and readiness whether it can take traffic now.\n\nWhen liveness fails, the kubelet restarts the \
container. When readiness fails, the pod is removed from the Service endpoints until it passes \
again.\n";

/// Quotes from [`HEALTH_ANSWER`], as a judge would give them (bold dropped).
const QUOTE_1: &str = "A startup probe holds the other two until a slow service has started";
const QUOTE_3: &str = "When liveness fails, the kubelet restarts the container.";
/// Words [`HEALTH_ANSWER`] does not say.
const MADE_UP: &str = "each probe checks only what the process itself controls";

fn is_judge(request: &RecordedRequest) -> bool {
    request.messages().first().is_some_and(|(role, text)| {
        role == "system" && text.contains("You check whether answers cover")
    })
}

/// A judge reply: `(point, covered, quote)` for the points named, JSON as a model writes it.
fn verdicts(items: &[(u32, bool, &str)]) -> String {
    let items: Vec<_> = items
        .iter()
        .map(|(point, covered, quote)| json!({"point": point, "covered": covered, "quote": quote}))
        .collect();
    json!({ "verdicts": items }).to_string()
}

/// Every point of health-checks (10), covered as given, the others not.
fn all_ten(covered: &[(u32, &str)]) -> String {
    let items: Vec<(u32, bool, &str)> = (1..=10)
        .map(|n| match covered.iter().find(|(p, _)| *p == n) {
            Some((_, quote)) => (n, true, *quote),
            None => (n, false, ""),
        })
        .collect();
    verdicts(&items)
}

/// Topic answers are [`HEALTH_ANSWER`], other answers the default, and the judge replies
/// with `judge(request, n)` where n counts judge requests from 0.
fn server_with_judge(
    judge: impl Fn(&RecordedRequest, usize) -> Reply + Send + Sync + 'static,
) -> TestServer {
    let judged = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    TestServer::start(Script::from_fn(move |request, _| {
        if is_judge(request) {
            let n = judged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return judge(request, n);
        }
        match request.last_user_message() {
            Some(text) if text.starts_with("Provide detailed guidance on implementing health") => {
                Reply::stream(HEALTH_ANSWER).usage(1000, 200)
            }
            _ => Reply::default_for(request),
        }
    }))
}

fn sandbox_for(url: &str, profile_lines: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "profile = \"test\"\n\n[retry]\nmax_attempts = 2\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [profiles.test]\nbase_url = \"{url}\"\nmodel = \"test-model\"\napi_key_env = \"\"\n\
         {profile_lines}"
    ));
    sandbox
}

fn covered(t: &Transcript) -> Vec<bool> {
    t.meta.coverage_of("health-checks").unwrap().points.iter().map(|p| p.covered).collect()
}

#[test]
fn valid_verdicts_are_stored_and_a_made_up_quote_counts_as_not_covered() {
    let server = server_with_judge(|_, _| {
        Reply::stream(&all_ten(&[(1, QUOTE_1), (2, MADE_UP), (3, QUOTE_3)])).usage(700, 90)
    });
    let sandbox = sandbox_for(&server.url(), "");
    let out = sandbox.chat(&["15", "--coverage", "model", "--judge-model", "judge-1"], "/coverage\n/tokens\n/quit\n")
        .success()
        .stdout(predicate::str::contains(
            "Coverage of “Health Checks and Readiness Probes”: 2 of 10 points (model judge judge-1)",
        ))
        .stdout(predicate::str::contains(format!("✓ Difference between liveness, readiness, and startup probes — the judge quotes “{QUOTE_1}”")))
        .stdout(predicate::str::contains(format!(
            "✗ What each probe type should check — the judge called it covered, quoting “{MADE_UP}”, which the answers do not contain"
        )))
        .stdout(predicate::str::contains("coverage judge"))
        .stderr(predicate::str::contains("coverage: model judge judge-1"))
        .stderr(predicate::str::contains("coverage 2/10 (model judge judge-1)"));
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    // The gap follow-ups follow the judge: the made-up point is asked for, the quoted ones not.
    assert!(stdout.contains("Ask for all 8 missed points"), "{stdout}");
    assert!(stdout.contains("Ask for: What each probe type should check"), "{stdout}");
    assert!(!stdout.contains("Ask for: Difference between liveness"), "{stdout}");

    let judge_requests: Vec<RecordedRequest> =
        server.requests().into_iter().filter(is_judge).collect();
    assert_eq!(judge_requests.len(), 1, "one judge request per answer in a topic's section");
    let request = &judge_requests[0];
    assert_eq!(request.body["model"], "judge-1");
    assert_eq!(request.body["response_format"]["type"], "json_schema");
    assert_eq!(request.body["response_format"]["json_schema"]["strict"], true);
    // A judge that never stops is cut off: 100 tokens per point and 50 more, greedily.
    assert_eq!(request.body["max_tokens"], 10 * 100 + 50);
    assert_eq!(request.body["temperature"], 0.0);
    let asked = request.last_user_message().unwrap();
    assert!(asked.contains("1. Difference between liveness, readiness, and startup probes\n"));
    assert!(asked.contains("10. Health checks during deployments and scaling\n"));
    assert!(asked.contains(&format!("=== Answer 1 ===\n{}", HEALTH_ANSWER.trim_end())));

    let t = sandbox.only_session();
    let entry = t.meta.coverage_of("health-checks").unwrap();
    assert_eq!(entry.method, CoverageMethod::Model { judge: "judge-1".into() });
    assert_eq!(entry.answers, 1);
    assert_eq!(entry.note, None);
    assert_eq!(covered(&t)[..4], [true, false, true, false]);
    assert_eq!(entry.points[0].quote.as_deref(), Some(QUOTE_1));
    assert!(entry.points[1].quote_not_found && !entry.points[0].quote_not_found);
    assert_eq!(
        entry.usage,
        Some(Usage { prompt_tokens: 700, completion_tokens: 90, cached_tokens: 0 })
    );
    // The answer's own covered/total is the verdicts in force, and the totals hold the judge's.
    let answer = t.turns.iter().rev().find(|turn| turn.text == HEALTH_ANSWER).unwrap();
    assert_eq!(answer.info.coverage.map(|c| (c.covered, c.total)), Some((2, 10)));
    let answers: u64 = t.exchanges().filter_map(|e| e.usage()).map(|u| u.prompt_tokens).sum();
    assert_eq!(t.meta.usage.prompt_tokens, answers + 700);
}

#[test]
fn every_answer_in_the_section_is_judged_again_with_all_of_them() {
    let server = server_with_judge(|_, n| {
        let quotes: &[(u32, &str)] = if n == 0 {
            &[(1, QUOTE_1)]
        } else {
            &[(1, QUOTE_1), (2, "answer to: What are the most common mistakes")]
        };
        Reply::stream(&all_ten(quotes)).usage(100, 10)
    });
    let sandbox = sandbox_for(&server.url(), "coverage = \"model\"\n");
    sandbox.chat(&["15"], "What are the most common mistakes with probes?\n/quit\n").success();
    let judged: Vec<RecordedRequest> = server.requests().into_iter().filter(is_judge).collect();
    assert_eq!(judged.len(), 2);
    let second = judged[1].last_user_message().unwrap();
    assert!(
        second.contains("=== Answer 1 ===")
            && second.contains("=== Answer 2 ===\nanswer to: What are the most common")
    );
    let t = sandbox.only_session();
    let entry = t.meta.coverage_of("health-checks").unwrap();
    assert_eq!((entry.answers, &covered(&t)[..3]), (2, &[true, true, false][..]));
    assert_eq!(
        entry.usage,
        Some(Usage { prompt_tokens: 200, completion_tokens: 20, cached_tokens: 0 }),
        "both requests"
    );
    assert_eq!(
        entry.method,
        CoverageMethod::Model { judge: "test-model".into() },
        "the profile's model by default"
    );
}

/// A judge that fails as `reply` says: the lexical verdicts are used, the note says why, and
/// the chat says so.
fn falls_back(reply: fn() -> Reply, note: &str) -> Transcript {
    let server = server_with_judge(move |_, _| reply());
    let sandbox = sandbox_for(&server.url(), "");
    sandbox
        .chat(&["15", "--coverage", "model"], "/coverage\n/quit\n")
        .success()
        .stdout(predicate::str::contains("points (lexical)"))
        .stdout(predicate::str::contains(format!("note: {note}")))
        .stderr(predicate::str::contains(format!("coverage: {note}")));
    let t = sandbox.only_session();
    let entry = t.meta.coverage_of("health-checks").unwrap();
    assert_eq!(entry.method, CoverageMethod::Lexical);
    assert!(entry.note.as_deref().unwrap().starts_with(note), "{:?}", entry.note);
    assert!(entry.note.as_deref().unwrap().ends_with(": lexical verdicts"));
    t
}

#[test]
fn invalid_json_leaves_the_lexical_verdicts_and_its_tokens_are_still_counted() {
    let t = falls_back(
        || Reply::stream("{\"verdicts\": [{\"point\": 1, \"covered\": tru").usage(300, 12),
        "the judge's reply is not JSON",
    );
    let entry = t.meta.coverage_of("health-checks").unwrap();
    assert_eq!(
        entry.usage,
        Some(Usage { prompt_tokens: 300, completion_tokens: 12, cached_tokens: 0 })
    );
    assert!(t.meta.usage.prompt_tokens >= 300 + 1000);
}

#[test]
fn a_judge_that_runs_into_its_token_limit_leaves_the_lexical_verdicts() {
    // What SmolLM2-135M under llama.cpp's JSON-schema grammar did: repeat itself until cut off.
    falls_back(
        || {
            Reply::stream(
                "{\"verdicts\": [{\"point\": 1, \"covered\": true, \"quote\": \"probes probes",
            )
            .finish(Some("length"))
        },
        "the judge's reply was cut off at its token limit",
    );
}

#[test]
fn a_refusal_leaves_the_lexical_verdicts() {
    falls_back(
        || Reply::stream("I'm sorry, but I can't help with grading these answers."),
        "the judge's reply is not JSON (“I'm sorry, but I can't help with grading these answers.”)",
    );
}

#[test]
fn a_server_error_leaves_the_lexical_verdicts() {
    let t = falls_back(|| Reply::error(500, "judge overloaded"), "the judge failed (");
    let note = t.meta.coverage_of("health-checks").unwrap().note.clone().unwrap();
    assert!(note.contains("HTTP 500") && note.contains("judge overloaded"), "{note}");
    assert_eq!(t.meta.coverage_of("health-checks").unwrap().usage, None, "nothing was paid for");
}

#[test]
fn a_reply_missing_points_leaves_the_lexical_verdicts() {
    falls_back(
        || Reply::stream(&verdicts(&[(1, true, QUOTE_1), (3, true, QUOTE_3)])),
        "the judge's reply has no verdict on points 2, 4, 5, 6, 7, 8, 9, 10",
    );
}

#[test]
fn a_fenced_reply_is_read() {
    let server = server_with_judge(|_, _| {
        Reply::stream(&format!("```json\n{}\n```", all_ten(&[(3, QUOTE_3)])))
    });
    let sandbox = sandbox_for(&server.url(), "coverage = \"model\"\n");
    sandbox.chat(&["15"], "/quit\n").success();
    let t = sandbox.only_session();
    assert_eq!(covered(&t).iter().filter(|c| **c).count(), 1);
    assert!(covered(&t)[2]);
}

#[test]
fn a_server_that_rejects_response_format_is_asked_again_without_it_and_never_again_with_it() {
    let server = server_with_judge(|request, _| {
        if request.body.get("response_format").is_some() {
            return Reply::error_with(
                400,
                "Unrecognized request argument supplied: response_format",
                "invalid_request_error",
                None,
            );
        }
        Reply::stream(&all_ten(&[(1, QUOTE_1)]))
    });
    let sandbox = sandbox_for(&server.url(), "coverage = \"model\"\n");
    sandbox.chat(&["15"], "And the mistakes?\n/quit\n").success();
    let judged: Vec<RecordedRequest> = server.requests().into_iter().filter(is_judge).collect();
    let formats: Vec<bool> =
        judged.iter().map(|r| r.body.get("response_format").is_some()).collect();
    assert_eq!(formats, [true, false, false], "dropped once, remembered for the next answer");
    let t = sandbox.only_session();
    let entry = t.meta.coverage_of("health-checks").unwrap();
    assert_eq!(entry.note, None);
    assert!(matches!(entry.method, CoverageMethod::Model { .. }));
    assert!(covered(&t)[0]);
}

#[test]
fn a_judge_profile_sends_the_judge_requests_to_its_own_endpoint() {
    let main = server_with_judge(|_, _| Reply::error(500, "the main server is no judge"));
    let judge = TestServer::start(Script::from_fn(|_, _| {
        Reply::stream(&all_ten(&[(3, QUOTE_3)])).usage(50, 5)
    }));
    let sandbox = sandbox_for(
        &main.url(),
        &format!(
            "coverage = \"model\"\njudge_profile = \"grader\"\n\n\
             [profiles.grader]\nbase_url = \"{}\"\nmodel = \"grader-model\"\napi_key_env = \"\"\n",
            judge.url()
        ),
    );
    sandbox
        .cmd()
        .args(["config", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("coverage").and(predicate::str::contains("model")))
        .stdout(predicate::str::contains("grader-model"))
        .stdout(predicate::str::contains("grader"));
    sandbox.chat(&["15"], "/quit\n").success();
    assert!(main.requests().iter().all(|r| !is_judge(r)));
    let judged = judge.requests();
    assert_eq!(judged.len(), 1);
    assert_eq!(judged[0].body["model"], "grader-model");
    let t = sandbox.only_session();
    assert_eq!(
        t.meta.coverage_of("health-checks").unwrap().method,
        CoverageMethod::Model { judge: "grader-model".into() }
    );
}

#[test]
fn an_unknown_judge_profile_is_a_usage_error() {
    let sandbox =
        sandbox_for("http://127.0.0.1:1/v1", "coverage = \"model\"\njudge_profile = \"nope\"\n");
    sandbox
        .cmd()
        .args(["chat", "15"])
        .write_stdin("/quit\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("judge_profile"))
        .stderr(predicate::str::contains("names profile `nope`"));
    // With lexical coverage the judge's keys are not used, so they are no error.
    sandbox.cmd().args(["--coverage", "lexical", "config", "show"]).assert().success();
}

#[test]
fn resuming_a_judged_session_keeps_the_verdicts_and_judges_the_next_answer() {
    let server = server_with_judge(|_, n| {
        let quotes: &[(u32, &str)] =
            if n == 0 { &[(1, QUOTE_1)] } else { &[(1, QUOTE_1), (3, QUOTE_3)] };
        Reply::stream(&all_ten(quotes))
    });
    let sandbox = sandbox_for(&server.url(), "coverage = \"model\"\n");
    sandbox.chat(&["15"], "/quit\n").success();
    // Resumed with lexical coverage, the stored judge's verdicts are still those in force.
    sandbox
        .cmd()
        .args(["chat", "--resume", "--coverage", "lexical"])
        .write_stdin("/coverage\n/quit\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("1 of 10 points (model judge test-model)"));
    assert_eq!(server.requests().iter().filter(|r| is_judge(r)).count(), 1, "paid for once");
    sandbox
        .cmd()
        .args(["chat", "--resume"])
        .write_stdin("More on restarts?\n/coverage\n/quit\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("2 of 10 points (model judge test-model)"));
    let t = sandbox.only_session();
    assert_eq!(t.meta.coverage_of("health-checks").unwrap().answers, 2);
}

#[test]
fn a_stale_judged_entry_gives_lexical_verdicts_and_says_why() {
    let server = server_with_judge(|_, _| Reply::stream(&all_ten(&[(1, QUOTE_1)])));
    let sandbox = sandbox_for(&server.url(), "");
    sandbox.chat(&["15", "--coverage", "model"], "/quit\n").success();
    // A follow-up added by hand: the judge's entry covers 1 of the topic's 2 answers now.
    let path = sandbox.transcripts_in(&sandbox.sessions_dir()).remove(0);
    let mut t = store::load(&path).unwrap();
    let info = |kind| TurnInfo { kind, ..TurnInfo::default() };
    t.push_exchange(
        Turn {
            role: Role::User,
            text: "And startup?".into(),
            info: info(Some(TurnKind::Followup)),
        },
        Turn {
            role: Role::Assistant,
            text: "Startup probes guard slow starts.".into(),
            info: info(None),
        },
    );
    store::save(&path, &t).unwrap();
    sandbox
        .cmd()
        .args(["chat", "--resume"])
        .write_stdin("/coverage\n/quit\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("points (lexical)"))
        .stdout(predicate::str::contains(
            "note: the model judge test-model's verdicts cover 1 of the topic's 2 answers: lexical \
             verdicts until the next answer is judged",
        ));
}

#[test]
fn a_batch_with_the_judge_records_and_shows_its_verdicts_and_tokens() {
    let server = server_with_judge(|_, _| {
        Reply::stream(&all_ten(&[(1, QUOTE_1), (3, QUOTE_3)])).usage(400, 40)
    });
    let sandbox = sandbox_for(&server.url(), "coverage = \"model\"\njudge_model = \"judge-2\"\n");
    sandbox
        .cmd()
        .args(["batch", "15", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("judge judge-2"))
        .stdout(predicate::str::contains("The coverage judge is asked once per answer"));
    assert_eq!(server.hits(), 0, "a dry run sends nothing");
    sandbox
        .cmd()
        .args(["batch", "15", "--followups", "mistakes", "--out"])
        .arg(sandbox.run_dir())
        .assert()
        .success()
        .stdout(predicate::str::contains("(judge 880)"))
        .stdout(predicate::str::contains("coverage 2/10 (model judge judge-2)"));
    assert_eq!(
        server.requests().iter().filter(|r| is_judge(r)).count(),
        2,
        "after the topic answer and the follow-up"
    );
    let manifest = Manifest::load(&sandbox.run_dir()).unwrap().unwrap();
    let record = &manifest.topics[0];
    assert_eq!(record.coverage_by.as_deref(), Some("model judge judge-2"));
    assert_eq!(
        record.judge_usage,
        Some(Usage { prompt_tokens: 800, completion_tokens: 80, cached_tokens: 0 })
    );
    assert_eq!(record.missing.len(), 8);
    assert!(record.usage.prompt_tokens >= 800);
    let handbook = std::fs::read_to_string(sandbox.run_dir().join("handbook.md")).unwrap();
    assert!(
        handbook.contains("2 of 10 Cover: points addressed (model judge judge-2)"),
        "{handbook}"
    );
    assert!(handbook.contains("Judged by: model judge judge-2"), "{handbook}");
    let index = std::fs::read_to_string(sandbox.run_dir().join("index.md")).unwrap();
    assert!(index.contains("(model judge judge-2)"), "{index}");
}

#[test]
fn compare_says_which_method_judged_each_side() {
    let server = server_with_judge(|_, _| Reply::stream(&all_ten(&[(1, QUOTE_1)])));
    let sandbox = sandbox_for(&server.url(), "");
    let a = sandbox.path().join("a.md");
    let b = sandbox.path().join("b.md");
    sandbox.chat(&["15", "--coverage", "model"], "/quit\n").success();
    let first = sandbox.transcripts_in(&sandbox.sessions_dir()).remove(0);
    std::fs::rename(&first, &a).unwrap();
    sandbox.chat(&["15"], "/quit\n").success();
    let second = sandbox.transcripts_in(&sandbox.sessions_dir()).remove(0);
    std::fs::rename(&second, &b).unwrap();
    sandbox
        .cmd()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(sandbox.path().join("cmp.md"))
        .assert()
        .success()
        .stdout(predicate::str::contains("Verdicts by: A model judge test-model · B lexical."))
        .stdout(predicate::str::contains("A 1/10 (model judge test-model) · B"))
        .stdout(predicate::str::contains("| coverage of this answer (lexical) |"));
}

#[test]
fn each_topic_of_a_conversation_is_judged_on_its_own_answers() {
    let server = server_with_judge(|request, _| {
        let asked = request.last_user_message().unwrap_or_default();
        let quotes: &[(u32, &str)] =
            if asked.contains("Graceful Shutdown") { &[] } else { &[(1, QUOTE_1)] };
        Reply::stream(&all_ten(quotes))
    });
    let sandbox = sandbox_for(&server.url(), "coverage = \"model\"\n");
    sandbox
        .chat(&["15", "16"], "/coverage\n/quit\n")
        .success()
        .stdout(predicate::str::contains("Probes”: 1 of 10 points (model judge test-model)"))
        .stdout(predicate::str::contains("Termination”: 0 of 10 points (model judge test-model)"));
    let judged: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| is_judge(r))
        .map(|r| r.last_user_message().unwrap())
        .collect();
    assert_eq!(judged.len(), 2);
    assert!(judged[0].contains(HEALTH_ANSWER.trim_end()));
    assert!(
        judged[1].contains("Graceful Shutdown") && !judged[1].contains("startup"),
        "{}",
        judged[1]
    );
    assert!(judged[1].contains("1. Kubernetes pod termination lifecycle"));
    let t = sandbox.only_session();
    let slugs: Vec<&str> = t.meta.coverage.iter().map(|c| c.topic.as_str()).collect();
    assert_eq!(slugs, ["health-checks", "graceful-shutdown"]);
    assert!(t.meta.coverage.iter().all(|c| c.answers == 1));
}
