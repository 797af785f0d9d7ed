//! The handbook a run folder gets (`handbook.md`, `handbook.html`, `coverage.svg` next to
//! `index.md`) and `deepdive handbook DIR|FILE`, against a real local server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a panic is a failed test

use std::path::{Path, PathBuf};

use crate::common::sandbox::Sandbox;
use crate::common::server::{Reply, Script, TestServer};
use deepdive::message::Role;
use deepdive::session::{AnswerStatus, Turn, TurnInfo, TurnKind, store};
use predicates::prelude::*;

/// The health-checks answer: headings, a table, code, a checklist, and HTML planted to run
/// script if the page ever let it.
pub const HEALTH_ANSWER: &str = "# Health checks on the actuator\n\n\
Spring Boot's actuator exposes liveness and readiness groups.\n\n\
## Probe settings\n\n\
| probe | path | period |\n| --- | --- | --- |\n| liveness | `/actuator/health/liveness` | 10s |\n\n\
```yaml\nreadinessProbe:\n  httpGet:\n    path: /actuator/health/readiness\n# a comment, not a heading\n```\n\n\
Planted: <script>window.__planted = 1</script> and <img src=\"x\" onerror=\"window.__planted = 2\"> \
and [a link](javascript:window.__planted=3).\n\n\
<div onmouseover=\"window.__planted = 4\">raw block</div>\n\n\
## Implementation checklist\n\n\
- Separate liveness and readiness endpoints\n- Keep probe handlers fast\n- Keep probe handlers fast.\n\n\
## Also\n\n- [ ] Alert on probe failure rates\n- an ordinary list item\n";

/// The graceful-shutdown answer, cut off at the token limit inside a code block.
pub const SHUTDOWN_ANSWER: &str = "## SIGTERM first\n\nKubernetes sends SIGTERM, waits, then SIGKILL.\n\n```yaml\nterminationGracePeriodSeconds: 45";

fn config(url: &str) -> String {
    format!(
        "[retry]\nmax_attempts = 1\ninitial_backoff_ms = 1\nmax_backoff_ms = 5\n\n\
         [profiles.test]\nbase_url = \"{url}\"\nmodel = \"test-model\"\napi_key_env = \"\"\n"
    )
}

/// A server for three topics: 15 answers with [`HEALTH_ANSWER`], 16 with
/// [`SHUTDOWN_ANSWER`] cut off at `length`, 1 fails; everything else gets the default reply.
pub fn scripted_server() -> TestServer {
    TestServer::start(Script::from_fn(|request, _| {
        let last = request.last_user_message().unwrap_or_default();
        if last.starts_with("Provide detailed guidance on implementing health checks") {
            Reply::stream(HEALTH_ANSWER)
        } else if last.starts_with("Provide detailed guidance on implementing graceful") {
            Reply::stream(SHUTDOWN_ANSWER).finish(Some("length"))
        } else if last.contains("multiple replicas") {
            Reply::error(500, "the endpoint refused this topic")
        } else {
            Reply::default_for(request)
        }
    }))
}

/// Runs topics 1, 15 and 16 with the `mistakes` follow-up into the sandbox's run folder.
pub fn sample_run(sandbox: &Sandbox, server: &TestServer) -> PathBuf {
    sandbox.write_config(&config(&server.url()));
    sandbox
        .cmd()
        .args(["batch", "16", "1", "15", "--followups", "mistakes", "--concurrency", "1"])
        .args(["--stack", "PostgreSQL, Spring Boot, EKS"])
        .arg("--out")
        .arg(sandbox.run_dir())
        .assert()
        .code(1);
    sandbox.run_dir()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Byte offset of `needle` in `text`, failing the test when it is absent.
fn at(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in:\n{text}"))
}

#[test]
fn a_run_folder_gets_the_guidance_in_guide_order_with_status_where_it_matters() {
    let server = scripted_server();
    let sandbox = Sandbox::new();
    let dir = sample_run(&sandbox, &server);
    for file in ["handbook.md", "handbook.html", "coverage.svg", "index.md"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let md = read(&dir.join("handbook.md"));
    // Title with stack, model and date; how to use; contents; chapters in guide order.
    assert!(md.starts_with("# Production readiness handbook: PostgreSQL, Spring Boot, EKS\n"));
    assert!(md.contains("written by `test-model`") && md.contains("collected by deepdive on 20"));
    let order = [
        "## How to use this handbook",
        "## Contents",
        "\n## 1. Multi-Replica",
        "\n## 15. Health Checks",
        "\n## 16. Graceful Shutdown",
        "\n## Appendix A. Readiness checklist",
        "\n## Appendix B. Gaps",
        "\n## Appendix C. Coverage map",
    ];
    let positions: Vec<usize> = order.iter().map(|h| at(&md, h)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{order:?} out of order:\n{md}");

    // No priming prompt or reply in a chapter; each chapter links to its transcript.
    assert!(!md.contains("I am an experienced technical architect"));
    assert!(!md.contains("answer to: I am an experienced"));
    assert!(md.contains("[the whole conversation](15-health-checks.md)"));

    // The topic answer's headings go under the chapter, code and tables stay as written.
    let health = &md[at(&md, "\n## 15. Health")..at(&md, "\n## 16. Graceful")];
    assert!(health.contains("\n### Health checks on the actuator\n"), "{health}");
    assert!(health.contains("\n#### Probe settings\n"));
    assert!(health.contains("| liveness | `/actuator/health/liveness` | 10s |\n"));
    assert!(health.contains("    path: /actuator/health/readiness\n# a comment, not a heading\n"));
    // The follow-up: its question as a sub-heading, its answer below it.
    let followup = at(
        health,
        "### Follow-up: What are the most common mistakes teams make with health checks?",
    );
    assert!(at(health, "answer to: What are the most common") > followup);

    // The truncated answer is marked where it stops (its open code block closed first) and
    // in the table of contents.
    let shutdown = &md[at(&md, "\n## 16. Graceful")..at(&md, "\n## Appendix A")];
    assert!(
        shutdown.contains(
            "terminationGracePeriodSeconds: 45\n```\n\n> **⚠ Truncated:** the answer stops here"
        ),
        "{shutdown}"
    );
    assert!(md.contains("(#16-graceful-shutdown-and-pod-termination) · **⚠ truncated**"));
    // The failed topic is a stub with what went wrong and the command that fills it in.
    let failed = &md[at(&md, "\n## 1. Multi")..at(&md, "\n## 15. Health")];
    assert!(failed.contains("the endpoint refused this topic"), "{failed}");
    assert!(
        failed.contains(&format!("`deepdive batch --resume {} --retry-failed`", dir.display()))
    );
    assert!(md.contains("· **⚠ failed**"));

    // Checklist: items under a checklist heading and task items, without repeats, linked back.
    let checklist = &md[at(&md, "\n## Appendix A")..at(&md, "\n## Appendix B")];
    assert!(checklist.contains("From [the chapter](#15-health-checks-and-readiness-probes):\n\n- [ ] Separate liveness and readiness endpoints\n- [ ] Keep probe handlers fast\n- [ ] Alert on probe failure rates\n"), "{checklist}");
    assert!(!checklist.contains("ordinary list item"));
    // A topic without a checklist says so and names the `checklist` follow-up.
    let shutdown_list = &checklist[at(checklist, "### 16.")..];
    assert!(
        shutdown_list.contains("gave no checklist")
            && shutdown_list.contains("`checklist` follow-up")
    );
    assert!(shutdown_list.contains(
        "Can you give me an evaluation checklist or readiness assessment for graceful shutdown?"
    ));

    // Gaps: the missed points with the command that asks for them.
    let gaps = &md[at(&md, "\n## Appendix B")..at(&md, "\n## Appendix C")];
    let transcript = dir.join("16-graceful-shutdown.md");
    assert!(
        gaps.contains(&format!(
            "`deepdive chat --resume {}`, send this question, then `deepdive handbook ",
            transcript.display()
        )),
        "{gaps}"
    );
    assert!(gaps.contains("- Testing graceful shutdown (the answer was cut off"), "{gaps}");
    assert!(gaps.contains("> Your answer on graceful shutdown did not cover these points."));
    assert!(
        md.contains("![Coverage map: one row per topic, one cell per Cover: point](coverage.svg)")
    );

    // The map: a row per topic, a cell per point, linked from index.md.
    let svg = read(&dir.join("coverage.svg"));
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("<g class=\"cell ").count(), 7 + 10 + 10, "7, 10 and 10 Cover: points");
    assert_eq!(svg.matches("<g class=\"cell not-run\"").count(), 7, "topic 1 never ran");
    assert!(svg.matches("<g class=\"cell truncated\"").count() > 0);
    let index = read(&dir.join("index.md"));
    assert!(
        index.contains("[handbook.html](handbook.html)")
            && index.contains("[coverage map](coverage.svg)")
    );
    assert!(
        index.contains(
            "| 16 | [Graceful Shutdown and Pod Termination](16-graceful-shutdown.md) | truncated |"
        ),
        "{index}"
    );
}

#[test]
fn the_html_is_self_contained_and_shows_planted_markup_as_text() {
    let server = scripted_server();
    let sandbox = Sandbox::new();
    let dir = sample_run(&sandbox, &server);
    let html = read(&dir.join("handbook.html"));
    assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
    // Every real tag of the page (text has its `<` escaped): none carries the planted markup.
    for tag in html.split('<').skip(1).map(|rest| rest.split('>').next().unwrap_or_default()) {
        for planted in ["onerror", "onmouseover", "javascript:", "img "] {
            assert!(!tag.contains(planted), "<{tag}> reached the page");
        }
    }
    assert!(html.contains("&lt;script&gt;window.__planted = 1&lt;/script&gt;"));
    for external in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "{external}: the page must load nothing");
    }
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""), "the map is embedded");
    assert!(html.contains("Content-Security-Policy"));
}

#[test]
fn a_rebuild_shows_follow_ups_added_to_a_transcript_later() {
    let server = scripted_server();
    let sandbox = Sandbox::new();
    let dir = sample_run(&sandbox, &server);
    // What `chat --resume` does to the file: one more exchange.
    let path = dir.join("15-health-checks.md");
    let mut transcript = store::load(&path).unwrap();
    let turn = |role, text: &str, info| Turn { role, text: text.into(), info };
    transcript.push_exchange(
        turn(
            Role::User,
            "How do we test readiness under load?",
            TurnInfo { kind: Some(TurnKind::Followup), ..TurnInfo::default() },
        ),
        turn(
            Role::Assistant,
            "# Load and readiness\n\nRun k6 while draining.",
            TurnInfo { status: Some(AnswerStatus::Complete), ..TurnInfo::default() },
        ),
    );
    store::save(&path, &transcript).unwrap();
    sandbox
        .cmd()
        .arg("handbook")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("handbook.html"))
        .stderr(predicate::str::contains(
            "handbook: 3 chapters (1 failed, 1 complete, 1 truncated)",
        ));
    let md = read(&dir.join("handbook.md"));
    let health = &md[at(&md, "\n## 15. Health")..at(&md, "\n## 16. Graceful")];
    assert!(health.contains("### Follow-up: How do we test readiness under load?\n\n#### Load and readiness\n\nRun k6 while draining.\n"), "{health}");
    assert!(read(&dir.join("handbook.html")).contains("Run k6 while draining."));
}

#[test]
fn one_saved_session_makes_the_same_document_with_each_topics_own_follow_ups() {
    let server = scripted_server();
    let sandbox = Sandbox::new();
    sandbox.write_config(&config(&server.url()));
    // A two-topic chat: graceful shutdown first, then health checks, a follow-up after each.
    sandbox.cmd().args(["chat", "16", "15"]).write_stdin("").assert().success();
    let session = sandbox.transcripts_in(&sandbox.sessions_dir()).pop().expect("a saved session");
    let mut transcript = store::load(&session).unwrap();
    let ask = |t: &mut deepdive::session::Transcript, q: &str, a: &str| {
        t.push_exchange(
            Turn {
                role: Role::User,
                text: q.into(),
                info: TurnInfo { kind: Some(TurnKind::Followup), ..TurnInfo::default() },
            },
            Turn {
                role: Role::Assistant,
                text: a.into(),
                info: TurnInfo { status: Some(AnswerStatus::Complete), ..TurnInfo::default() },
            },
        );
    };
    ask(&mut transcript, "What about probes?", "Probe answer.");
    // A follow-up on graceful shutdown, asked before the health-checks prompt.
    let at_health = transcript
        .turns
        .iter()
        .position(|t| t.info.kind == Some(TurnKind::Topic("health-checks".into())))
        .unwrap();
    let mut earlier = transcript.clone();
    earlier.turns.clear();
    ask(&mut earlier, "How long is the grace period?", "Grace answer.");
    transcript.turns.splice(at_health..at_health, earlier.turns);
    store::save(&session, &transcript).unwrap();
    sandbox.cmd().arg("handbook").arg(&session).assert().success();
    let out = session
        .with_file_name(format!("{}.handbook", session.file_stem().unwrap().to_string_lossy()));
    let md = read(&out.join("handbook.md"));
    // Guide order: 15 before 16, though 16 was asked first.
    assert!(at(&md, "\n## 15. Health") < at(&md, "\n## 16. Graceful"));
    let health = &md[at(&md, "\n## 15. Health")..at(&md, "\n## 16. Graceful")];
    assert!(health.contains("### Follow-up: What about probes?\n\nProbe answer.\n"), "{health}");
    let shutdown = &md[at(&md, "\n## 16. Graceful")..at(&md, "\n## Appendix A")];
    assert!(!shutdown.contains("What about probes?"));
    assert!(shutdown.contains("### Follow-up: How long is the grace period?\n\nGrace answer.\n"));
    assert!(!health.contains("grace period?"));
    let name = session.file_name().unwrap().to_string_lossy().into_owned();
    assert!(md.contains(&format!("[the whole conversation](../{name})")), "{md}");
    assert!(out.join("handbook.html").is_file() && out.join("coverage.svg").is_file());
    // `--out` chooses the folder.
    let elsewhere = sandbox.path().join("shared");
    sandbox.cmd().arg("handbook").arg(&session).arg("--out").arg(&elsewhere).assert().success();
    assert!(read(&elsewhere.join("handbook.md")).contains("## 15. Health"));
}

#[test]
fn an_unparseable_transcript_is_bad_input_naming_file_and_line() {
    let sandbox = Sandbox::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transcripts");
    sandbox
        .cmd()
        .arg("handbook")
        .arg(fixtures.join("bad-unknown-role.md"))
        .arg("--out")
        .arg(sandbox.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::is_match(r"bad-unknown-role\.md:\d+: ").unwrap());

    let server = scripted_server();
    let dir = sample_run(&sandbox, &server);
    std::fs::copy(fixtures.join("bad-unknown-role.md"), dir.join("15-health-checks.md")).unwrap();
    sandbox
        .cmd()
        .arg("handbook")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::is_match(r"15-health-checks\.md:\d+: ").unwrap());
}

#[test]
fn a_folder_that_is_not_a_run_and_a_missing_path_are_bad_usage() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd()
        .arg("handbook")
        .arg(sandbox.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no manifest.json"));
    sandbox
        .cmd()
        .args(["handbook", "no-such-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-run"));
}
