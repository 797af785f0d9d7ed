//! The handbook of a full run: 20 topics, each a ~4,000-token answer to the topic prompt
//! and two follow-ups of the same length (docs/benchmarks.md, last section; target: under
//! 100 ms). Run with `cargo bench --bench handbook`.
//!
//! - `handbook/render`: the three documents from chapters already read (checks coverage,
//!   extracts checklists, renders markdown, HTML and SVG).
//! - `handbook/rebuild`: what `deepdive handbook DIR` and the end of a batch run do: parse the
//!   20 transcripts, build, render and write the four files atomically (each with fsync).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed set-up is a failed run

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::{Criterion, Throughput};
use deepdive::batch::{self, Manifest, Plan, TopicRecord, TopicStatus};
use deepdive::driver::opening_turns;
use deepdive::handbook::{Book, Files};
use deepdive::message::{FinishReason, Role, Usage};
use deepdive::prompts::{Library, Topic};
use deepdive::session::{
    AnswerStatus, Meta, SessionStatus, Transcript, Turn, TurnInfo, TurnKind, store,
};
use deepdive::tokens::TokenCounter;

/// Bytes per answer: about 4,000 tokens of markdown (checked and printed at start).
const ANSWER_BYTES: usize = 16_500;
const FOLLOWUPS: [&str; 2] = [
    "What are the most common mistakes teams make with this?",
    "Can you give me an evaluation checklist or readiness assessment for this?",
];

fn main() {
    let library = Library::builtin();
    let dir = tempfile::tempdir().unwrap();
    let manifest = run_folder(&library, dir.path());
    let tokens = TokenCounter::for_model("gpt-4o").count_text(&answer(&library.topics()[0], 0));
    let book = Book::from_run(dir.path(), dir.path(), &manifest, &library).unwrap();
    let bytes: usize = book.chapters.iter().flat_map(|c| &c.parts).map(|p| p.answer.len()).sum();
    let files = Files::render(&book);
    println!(
        "{} topics x {} answers of {} tokens ({} KB each): {:.1} MB of answers -> handbook.md \
         {:.1} MB, handbook.html {:.1} MB, coverage.svg {} KB",
        book.chapters.len(),
        1 + FOLLOWUPS.len(),
        tokens.tokens,
        ANSWER_BYTES / 1000,
        bytes as f64 / 1e6,
        files.markdown.len() as f64 / 1e6,
        files.html.len() as f64 / 1e6,
        files.svg.len() / 1000
    );
    stages(&library, dir.path(), &manifest, &book, &files);
    let runs = 20;
    let before = cpu_time();
    let started = Instant::now();
    for _ in 0..runs {
        batch::handbook::write(dir.path(), &manifest, &library).unwrap();
    }
    println!(
        "rebuild, {runs} runs: {:.1} ms wall, {:.1} ms CPU (user + system, all threads) per run",
        started.elapsed().as_secs_f64() * 1e3 / runs as f64,
        (cpu_time() - before).as_secs_f64() * 1e3 / runs as f64
    );
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = c.benchmark_group("handbook");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("render", |b| b.iter(|| black_box(Files::render(black_box(&book)))));
    group.bench_function("read", |b| {
        b.iter(|| black_box(Book::from_run(dir.path(), dir.path(), &manifest, &library).unwrap()))
    });
    group.bench_function("rebuild", |b| {
        b.iter(|| batch::handbook::write(dir.path(), &manifest, &library).unwrap())
    });
    group.finish();
    c.final_summary();
}

/// One pass through each stage, single-threaded, so the figures say where the time goes.
fn stages(
    library: &Library,
    dir: &std::path::Path,
    manifest: &Manifest,
    book: &Book,
    files: &Files,
) {
    let started = Instant::now();
    let transcripts: Vec<Transcript> =
        manifest.topics.iter().map(|r| store::load(&dir.join(&r.file)).unwrap()).collect();
    let parse = started.elapsed();
    let started = Instant::now();
    for (transcript, topic) in transcripts.iter().zip(library.topics()) {
        let section = transcript.section_of(&topic.slug).unwrap();
        black_box(deepdive::coverage::check(&topic.cover, &section.answers()));
    }
    let coverage = started.elapsed();
    let started = Instant::now();
    black_box(Files::render(book));
    let render = started.elapsed();
    let started = Instant::now();
    files.write(dir).unwrap();
    let write = started.elapsed();
    println!(
        "stages: parse 20 transcripts {parse:.1?}, coverage::check {coverage:.1?}, render \
         (all threads) {render:.1?}, write 3 files {write:.1?}"
    );
}

/// CPU time this process used so far, all threads (from /proc/self/stat, in clock ticks).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// A run folder in `dir` with every topic of the library answered in full.
fn run_folder(library: &Library, dir: &std::path::Path) -> Manifest {
    let created = UNIX_EPOCH + Duration::from_secs(1_795_754_100);
    let mut records = Vec::new();
    for topic in library.topics() {
        let mut turns: Vec<Turn> = Vec::new();
        let opening = opening_turns(library, Some("PostgreSQL, Spring Boot, EKS, Istio"), &[topic]);
        let questions = opening
            .into_iter()
            .map(|t| (t.kind, t.text))
            .chain(FOLLOWUPS.iter().map(|q| (TurnKind::Followup, q.to_string())));
        for (n, (kind, text)) in questions.enumerate() {
            let priming = kind == TurnKind::Priming;
            turns.push(Turn {
                role: Role::User,
                text,
                info: TurnInfo { kind: Some(kind), ..TurnInfo::default() },
            });
            let text = if priming { "Understood.".to_string() } else { answer(topic, n) };
            turns.push(Turn {
                role: Role::Assistant,
                text,
                info: TurnInfo {
                    status: Some(AnswerStatus::Complete),
                    finish_reason: Some(FinishReason::Stop),
                    usage: Some(Usage {
                        prompt_tokens: 1_500,
                        completion_tokens: 4_000,
                        cached_tokens: 0,
                    }),
                    ..TurnInfo::default()
                },
            });
        }
        let file = format!("{:02}-{}.md", topic.number, topic.slug);
        let transcript = Transcript {
            meta: Meta {
                topics: vec![topic.slug.clone()],
                stack: Some("PostgreSQL, Spring Boot, EKS, Istio".into()),
                created,
                updated: created,
                status: SessionStatus::Complete,
                ..Meta::started(
                    topic.title.clone(),
                    "gpt-4o".into(),
                    "https://api.openai.com/v1".into(),
                )
            },
            turns,
        };
        store::save(&dir.join(&file), &transcript).unwrap();
        records.push(TopicRecord {
            number: topic.number,
            slug: topic.slug.clone(),
            title: topic.title.clone(),
            file,
            status: TopicStatus::Complete,
            attempts: 4,
            error: None,
            usage: Usage { prompt_tokens: 4_500, completion_tokens: 12_000, cached_tokens: 0 },
            coverage: None,
            coverage_by: None,
            judge_usage: None,
            missing: Vec::new(),
            started: Some(created),
            finished: Some(created),
            elapsed_ms: 60_000,
        });
    }
    let plan = Plan {
        topics: records.iter().map(|r| r.slug.clone()).collect(),
        followups: vec!["mistakes".into(), "checklist".into()],
        model: "gpt-4o".into(),
        endpoint: "https://api.openai.com/v1".into(),
        profile: "openai".into(),
        stack: Some("PostgreSQL, Spring Boot, EKS, Istio".into()),
        replay: None,
        fresh_priming: false,
        endpoint_pinned: false,
    };
    let mut manifest = Manifest::new(plan, records);
    manifest.save(dir).unwrap();
    manifest
}

/// About [`ANSWER_BYTES`] of markdown in the shape models answer the guide with: headings,
/// prose, nested lists, tables, code, a checklist.
fn answer(topic: &Topic, n: usize) -> String {
    let mut out = format!("# {}\n\nA practical guide (answer {n}).\n\n", topic.title);
    for (i, point) in topic.cover.iter().cycle().enumerate() {
        if out.len() >= ANSWER_BYTES {
            break;
        }
        out.push_str(&format!(
            "## {}. {point}\n\n\
             In production this matters because a single replica hides failures that only show \
             up under load, during rolling updates or when a node is drained. Treat *{point}* \
             as a contract between the service and the platform, and test it before go-live.\n\n\
             - Define the behaviour in the Helm chart (`values-prod.yaml`).\n\
             - Alert on symptoms:\n  - error rate above 1% for 5 minutes\n  - p99 above the SLO\n\
             - Write the runbook entry for Tier 2.\n\n\
             | setting | dev | prod | why |\n| --- | --- | --- | --- |\n\
             | replicas | 1 | 3 | survive a node loss |\n| timeoutSeconds | 5 | 2 | fail fast |\n\n\
             ```yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders-{i}\n\
             spec:\n  replicas: 3\n```\n\n",
            i + 1
        ));
    }
    out.push_str(
        "## Readiness checklist\n\n- [ ] probes defined\n- [ ] PodDisruptionBudget set\n\
         - [ ] requests match measured usage\n- [ ] alerts link to runbooks\n",
    );
    out
}
