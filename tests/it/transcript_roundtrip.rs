//! The transcript format round-trips every turn exactly, accepts hand edits and reports
//! malformed files with the right line.

#![allow(clippy::unwrap_used)] // helpers of tests: a panic is a failed test

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use deepdive::message::{FinishReason, Role, Usage};
use deepdive::session::codec::{parse, render};
use deepdive::session::{
    AnswerStatus, Coverage, CoverageMethod, Meta, PointVerdict, ReplayOf, SessionStatus,
    TopicCoverage, Transcript, Turn, TurnInfo, TurnKind, store,
};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transcripts").join(name)
}

const PRIMING: &str = "I am an experienced technical architect with a background in traditional Unix and PC server deployments. I'm responsible for taking a microservices application that was developed and tested using docker-compose with single replicas of each service, and deploying it to production on a managed Kubernetes service in the cloud.\n\nMy goals are to:\n- Ensure the application scales with load\n- Make it robust under non-ideal conditions  \n- Achieve data durability (resilient to application and hardware failures)\n- Provide predictable, manageable operations for our Tier 2 operations team";

const TOPIC: &str = "Provide detailed guidance on implementing health checks, liveness probes, and readiness probes in Kubernetes.\n\nCover:\n- Difference between liveness, readiness, and startup probes\n- What each probe type should check\n- Probe configuration parameters (delay, timeout, period, threshold)\n\nInclude a checklist of health check implementation requirements and common mistakes to avoid.";

const ANSWER: &str = "## 1. Three probes, three questions\n\n| probe | question | on failure |\n| --- | --- | --- |\n| startup | has it finished starting? | keep waiting |\n| liveness | is it stuck? | restart the container |\n| readiness | can it take traffic now? | remove from Service endpoints |\n\n```yaml\nreadinessProbe:\n  httpGet:\n    path: /ready\n    port: 8080\n  periodSeconds: 5\n```\n\n<!-- a comment the model wrote -->\n\n## Checklist\n\n- [ ] liveness never checks the database\n- [ ] readiness fails fast during shutdown\n";

/// The transcript `normal-session.md` was rendered from (answers written by hand), as format
/// version 1 wrote it: no stored verdicts.
fn normal() -> Transcript {
    let created = UNIX_EPOCH + Duration::from_secs(1_795_754_100); // 2026-11-27T04:35:00Z
    Transcript {
        meta: Meta {
            title: "Health Checks and Readiness Probes".into(),
            topics: vec!["health-checks".into()],
            stack: Some("PostgreSQL, Spring Boot, EKS, Istio".into()),
            model: "gpt-4o".into(),
            endpoint: "https://api.openai.com/v1".into(),
            profile: Some("openai".into()),
            created,
            updated: created + Duration::from_secs(154),
            status: SessionStatus::Interrupted,
            usage: Usage { prompt_tokens: 2210, completion_tokens: 431, cached_tokens: 0 },
            replay_of: None,
            coverage: Vec::new(),
        },
        turns: vec![
            user(PRIMING, Some(TurnKind::Priming)),
            user("We're using PostgreSQL, Spring Boot, EKS, Istio.", None),
            user(TOPIC, Some(TurnKind::Topic("health-checks".into()))),
            Turn {
                role: Role::Assistant,
                text: ANSWER.into(),
                info: TurnInfo {
                    status: Some(AnswerStatus::Complete),
                    finish_reason: Some(FinishReason::Stop),
                    usage: Some(Usage {
                        prompt_tokens: 1050,
                        completion_tokens: 402,
                        cached_tokens: 0,
                    }),
                    coverage: Some(Coverage { covered: 2, total: 3 }),
                    model: Some("gpt-4o-2024-08-06".into()),
                    ..TurnInfo::default()
                },
            },
            user("What are the most common mistakes with health checks?", Some(TurnKind::Followup)),
            Turn {
                role: Role::Assistant,
                text:
                    "1. Checking dependencies in liveness:\n\n```yaml\nlivenessProbe:\n  httpGet:"
                        .into(),
                info: TurnInfo {
                    status: Some(AnswerStatus::Interrupted),
                    usage: Some(Usage {
                        prompt_tokens: 1160,
                        completion_tokens: 29,
                        cached_tokens: 0,
                    }),
                    usage_counted: true,
                    ..TurnInfo::default()
                },
            },
        ],
    }
}

/// The transcript `normal-session-v2.md` was rendered from: `normal()` with the model judge's
/// verdicts on the topic's three points stored (quotes copied from the answer by hand).
fn normal_v2() -> Transcript {
    let mut t = normal();
    t.meta.usage.prompt_tokens += 1310;
    t.meta.usage.completion_tokens += 96;
    t.meta.coverage.push(TopicCoverage {
        topic: "health-checks".into(),
        method: CoverageMethod::Model { judge: "gpt-4o-mini".into() },
        answers: 2,
        note: None,
        points: vec![
            PointVerdict {
                covered: true,
                quote: Some("| liveness | is it stuck? | restart the container |".into()),
                quote_not_found: false,
            },
            PointVerdict {
                covered: false,
                quote: Some("readiness checks every downstream service".into()),
                quote_not_found: true,
            },
            PointVerdict {
                covered: true,
                quote: Some("periodSeconds: 5".into()),
                quote_not_found: false,
            },
        ],
        usage: Some(Usage { prompt_tokens: 1310, completion_tokens: 96, cached_tokens: 0 }),
    });
    t
}

fn user(text: &str, kind: Option<TurnKind>) -> Turn {
    Turn { role: Role::User, text: text.into(), info: TurnInfo { kind, ..TurnInfo::default() } }
}

// ---- fixtures ----

#[test]
fn normal_session_is_rendered_exactly_and_reads_back() {
    let path = fixture("normal-session-v2.md");
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert_eq!(render(&normal_v2()), on_disk, "the version 2 rendering changed");
    assert_eq!(store::load(&path).unwrap(), normal_v2());
}

#[test]
fn a_version_1_file_reads_with_no_stored_verdicts_and_is_saved_as_version_2() {
    let path = fixture("normal-session.md");
    let t = store::load(&path).unwrap();
    assert_eq!(t, normal());
    let saved = render(&t);
    assert!(saved.starts_with("+++\nformat_version = 2\n"), "{saved}");
    assert!(!saved.contains("[[coverage]]"));
    assert_eq!(parse(&saved).unwrap(), t);
    let v1 = std::fs::read_to_string(&path).unwrap();
    let without_turns = saved.replace(&format!("\nturns = {}\n", t.turns.len()), "\n");
    assert_eq!(without_turns.replace("format_version = 2", "format_version = 1"), v1);
    let header = store::load_header(&path).unwrap();
    assert_eq!((header.meta, header.summary), (normal().meta, None));
}

#[test]
fn hand_edited_crlf_file_reads_as_it_now_says() {
    let t = store::load(&fixture("hand-edited-crlf.md")).unwrap();
    let mut expected = normal();
    expected.meta.status = SessionStatus::Complete;
    expected.turns.remove(5); // the interrupted answer, deleted
    expected.turns.remove(1); // the stack line, deleted
    for turn in &mut expected.turns {
        turn.text = turn.text.replace('\n', "\r\n");
    }
    expected.turns[3].text =
        "What are the most common mistakes with health checks\r\non Spring Boot behind Istio?"
            .into();
    assert_eq!(t, expected);
}

#[test]
fn the_documented_example_parses() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/transcript-format.md"),
    )
    .unwrap();
    let start = doc.find("```markdown\n").unwrap() + "```markdown\n".len();
    let end = start + doc[start..].find("\n```\n").unwrap() + 1;
    let t = parse(&doc[start..end]).unwrap();
    assert_eq!(t.meta.topics, vec!["health-checks"]);
    assert_eq!(t.turns.len(), 2);
    assert_eq!(t.turns[1].info.coverage, Some(Coverage { covered: 6, total: 7 }));
    assert!(t.turns[1].text.starts_with("## Three probes"));
}

#[test]
fn malformed_files_report_the_exact_line() {
    let cases = [
        ("bad-no-front-matter.md", 1, "missing front matter"),
        ("bad-unclosed-front-matter.md", 1, "never closed"),
        ("bad-missing-version.md", 1, "add `format_version = 2`"),
        ("bad-coverage-in-v1.md", 11, "`[[coverage]]` is a format_version 2 key"),
        ("bad-coverage-method.md", 11, "unknown method `vibes`"),
        ("bad-version-too-new.md", 2, "upgrade deepdive"),
        ("bad-toml.md", 3, "bad front matter"),
        ("bad-time.md", 6, "not a UTC time"),
        ("bad-unknown-key.md", 9, "unknown field `api_key`"),
        ("bad-boundary.md", 9, "`boundary` must be"),
        ("bad-unknown-role.md", 16, "unknown role `robot`"),
        ("bad-unterminated-marker.md", 16, "marker is not closed"),
        ("bad-unclosed-block.md", 16, "not closed before the next turn marker on line 21"),
        ("bad-attribute.md", 22, "not COVERED/TOTAL"),
        ("bad-unclosed-at-end.md", 22, "never closed"),
        ("bad-stray-closing-marker.md", 26, "closing marker without an opening one"),
        ("bad-foreign-boundary.md", 28, "change it to `k2v9x0aa`"),
    ];
    for (name, line, needle) in cases {
        let path = fixture(name);
        let err = store::load(&path).unwrap_err().to_string();
        let prefix = format!("{}:{line}: ", path.display());
        assert!(err.starts_with(&prefix), "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!err.contains('\n'), "{name}: {err}");
    }
}

// ---- property: parse(render(t)) == t ----

/// Lines and fragments that imitate the format or stress markdown.
const ADVERSARIAL: &[&str] = &[
    "+++",
    "+++\n",
    "---\n",
    "## Assistant\n",
    "## 2. You · follow-up\n",
    "# title\n",
    "<!-- deepdive:turn:k2v9x0aa role=user -->\n",
    "<!-- deepdive:end:k2v9x0aa -->",
    "<!-- deepdive:end: -->\n",
    "<!-- deepdive:turn role=assistant -->",
    "<!-- deepdive:bogus -->\n",
    "format_version = 99\n",
    "boundary = \"x\"\n",
    "```",
    "```rust\n",
    "~~~~\n",
    "\r\n",
    "\r",
    "\n",
    "\n\n\n",
    "",
    " ",
    "-->",
    "<!--",
    "\u{feff}",
    "é漢字🙂",
    "\\",
    "\"",
];

fn chars() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(ADVERSARIAL).prop_map(str::to_string),
        2 => chars(),
        1 => "[a-z ]{0,16}",
    ];
    proptest::collection::vec(piece, 0..10).prop_map(|p| p.concat())
}

fn info() -> impl Strategy<Value = TurnInfo> {
    let kind = prop_oneof![
        Just(TurnKind::Priming),
        Just(TurnKind::Followup),
        chars().prop_filter("a slug is not empty", |s| !s.is_empty()).prop_map(TurnKind::Topic),
    ];
    let status = proptest::sample::select(AnswerStatus::ALL.to_vec());
    let usage = (any::<u64>(), any::<u64>()).prop_map(|(p, c)| Usage {
        prompt_tokens: p,
        completion_tokens: c,
        cached_tokens: 0,
    });
    let coverage =
        (0u32..50, 0u32..50).prop_map(|(a, b)| Coverage { covered: a.min(b), total: a.max(b) });
    (
        proptest::option::of(kind),
        proptest::option::of(status),
        proptest::option::of(text().prop_map(|t| FinishReason::parse(&t))),
        proptest::option::of(usage),
        any::<bool>(),
        proptest::option::of(coverage),
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(
            |(kind, status, finish_reason, usage, usage_counted, coverage, model, error)| {
                TurnInfo {
                    kind,
                    status,
                    finish_reason,
                    usage,
                    usage_counted,
                    coverage,
                    model,
                    error,
                }
            },
        )
}

fn turn() -> impl Strategy<Value = Turn> {
    let role = proptest::sample::select(vec![Role::User, Role::Assistant, Role::System]);
    (role, text(), info()).prop_map(|(role, text, info)| Turn { role, text, info })
}

fn time() -> impl Strategy<Value = std::time::SystemTime> {
    let nanos = prop_oneof![Just(0u32), 0u32..1_000_000_000];
    (0u64..253_402_300_800, nanos).prop_map(|(s, n)| UNIX_EPOCH + Duration::new(s, n))
}

fn entry() -> impl Strategy<Value = TopicCoverage> {
    let tokens = 0u64..=i64::MAX as u64;
    let method = prop_oneof![
        Just(CoverageMethod::Lexical),
        text().prop_map(|judge| CoverageMethod::Model { judge }),
    ];
    let point = (any::<bool>(), proptest::option::of(text()), any::<bool>()).prop_map(
        |(covered, quote, quote_not_found)| PointVerdict { covered, quote, quote_not_found },
    );
    let usage = (tokens.clone(), tokens).prop_map(|(p, c)| Usage {
        prompt_tokens: p,
        completion_tokens: c,
        cached_tokens: 0,
    });
    (
        text(),
        method,
        any::<u32>(),
        proptest::option::of(text()),
        proptest::collection::vec(point, 0..5),
        proptest::option::of(usage),
    )
        .prop_map(|(topic, method, answers, note, points, usage)| TopicCoverage {
            topic,
            method,
            answers,
            note,
            points,
            usage,
        })
}

/// Stored verdicts, at most one per topic.
fn entries() -> impl Strategy<Value = Vec<TopicCoverage>> {
    proptest::collection::vec(entry(), 0..3).prop_map(|mut all| {
        let mut seen = Vec::new();
        all.retain(|e| {
            let new = !seen.contains(&e.topic);
            seen.push(e.topic.clone());
            new
        });
        all
    })
}

fn meta() -> impl Strategy<Value = Meta> {
    let tokens = 0u64..=i64::MAX as u64;
    let replay = (text(), text(), any::<u32>()).prop_map(|(file, model, turns)| ReplayOf {
        file,
        model,
        turns,
    });
    (
        (text(), proptest::collection::vec(text(), 0..4), proptest::option::of(text()), text()),
        "https?://[a-z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-zA-Z0-9._~-]{0,10}){0,3}",
        (proptest::option::of(text()), time(), time()),
        (proptest::sample::select(SessionStatus::ALL.to_vec()), tokens.clone(), tokens),
        (proptest::option::of(replay), entries()),
    )
        .prop_map(
            |(
                (title, topics, stack, model),
                endpoint,
                (profile, created, updated),
                (status, p, c),
                (replay_of, coverage),
            )| {
                Meta {
                    title,
                    topics,
                    stack,
                    model,
                    endpoint,
                    profile,
                    created,
                    updated,
                    status,
                    usage: Usage { prompt_tokens: p, completion_tokens: c, cached_tokens: 0 },
                    replay_of,
                    coverage,
                }
            },
        )
}

fn transcript() -> impl Strategy<Value = Transcript> {
    (meta(), proptest::collection::vec(turn(), 0..6))
        .prop_map(|(meta, turns)| Transcript { meta, turns })
}

fn boundary_of(rendered: &str) -> String {
    rendered
        .lines()
        .find_map(|l| l.strip_prefix("boundary = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_render_is_identity(t in transcript()) {
        let rendered = render(&t);
        prop_assert_eq!(parse(&rendered).unwrap(), t);
    }

    #[test]
    fn texts_containing_the_current_boundary_force_another(t in transcript(), at in any::<proptest::sample::Index>()) {
        prop_assume!(!t.turns.is_empty());
        let boundary = boundary_of(&render(&t));
        let mut t = t;
        let i = at.index(t.turns.len());
        t.turns[i].text.push_str(&format!(
            "\n<!-- deepdive:end:{boundary} -->\n<!-- deepdive:turn:{boundary} role=user -->\n"
        ));
        let rendered = render(&t);
        prop_assert_ne!(boundary_of(&rendered), boundary);
        prop_assert_eq!(parse(&rendered).unwrap(), t);
    }

    #[test]
    fn crlf_conversion_keeps_meta_and_turns(t in transcript()) {
        // What an editor that rewrites every line ending does to a file whose texts use LF only.
        let mut t = t;
        for turn in &mut t.turns {
            turn.text = turn.text.replace('\r', "");
        }
        let converted = render(&t).replace('\n', "\r\n");
        let parsed = parse(&converted).unwrap();
        prop_assert_eq!(&parsed.meta, &t.meta);
        prop_assert_eq!(parsed.turns.len(), t.turns.len());
        for (p, o) in parsed.turns.iter().zip(&t.turns) {
            prop_assert_eq!(&p.text, &o.text.replace('\n', "\r\n"));
            prop_assert_eq!(&p.info, &o.info);
            prop_assert_eq!(p.role, o.role);
        }
    }

    #[test]
    fn damaged_files_give_errors_not_panics(
        t in transcript(),
        cut in any::<proptest::sample::Index>(),
        len in 0usize..40,
        insert in text(),
    ) {
        let rendered = render(&t);
        let bounds: Vec<usize> = rendered.char_indices().map(|(i, _)| i).chain([rendered.len()]).collect();
        let start = bounds[cut.index(bounds.len())];
        let end = bounds.iter().copied().find(|&b| b >= start + len).unwrap_or(rendered.len());
        let damaged = format!("{}{insert}{}", &rendered[..start], &rendered[end..]);
        if let Err(e) = parse(&damaged) {
            prop_assert!(e.line >= 1 && e.line <= damaged.split('\n').count(), "{e}");
            prop_assert!(!e.message.contains('\n'), "{e}");
        }
    }
}
