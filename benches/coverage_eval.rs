//! How far `coverage::check` agrees with a careful reader, on the evaluation set in
//! `tests/fixtures/coverage-eval/` (see its README). What `docs/coverage.md` records.
//!
//! ```text
//! cargo bench --bench coverage_eval                      # both splits
//! cargo bench --bench coverage_eval -- --split tune      # only the tuning part
//! cargo bench --bench coverage_eval -- --explain FILE    # the method's reasons for one answer
//! cargo bench --bench coverage_eval -- --judge http://127.0.0.1:8080/v1 MODEL
//!                                    # the model judge at that endpoint instead (key: JUDGE_API_KEY)
//! ```
//!
//! With `--judge`, each answer of the set is graded by one request to the endpoint, as
//! `coverage = "model"` does after an answer (quotes checked against the answer; a judge that
//! fails leaves the lexical verdicts, counted and shown); the run also reports the judge's
//! failures, the quotes it made up, its tokens and its time.
//!
//! For each split it prints the agreement (share of points whose verdict equals the label),
//! the share of covered points found covered and the share of left-out points found
//! missing, the same per kind of answer, and then every disagreement with the method's
//! evidence, so a reader can judge who is right.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed set-up is a failed run

#[path = "../src/coverage/eval_set.rs"]
mod eval_set;

use std::path::Path;
use std::time::{Duration, Instant};

use deepdive::client::{AdaptiveLimiter, ChatClient, RetryPolicy};
use deepdive::coverage::{self, Verdict, Verdicts, Why};
use deepdive::driver::{Endpoint, Judge};
use deepdive::message::Usage;
use deepdive::prompts::Library;
use deepdive::secret::{ApiKey, KeySource};
use eval_set::{Item, Kind, Split};
use tokio_util::sync::CancellationToken;

/// Verdicts against labels, counted.
#[derive(Default, Clone, Copy)]
struct Tally {
    covered: u32,
    covered_found: u32,
    missing: u32,
    missing_found: u32,
}

impl Tally {
    fn add(&mut self, label: bool, verdict: bool) {
        if label {
            self.covered += 1;
            self.covered_found += u32::from(verdict);
        } else {
            self.missing += 1;
            self.missing_found += u32::from(!verdict);
        }
    }

    fn line(&self) -> String {
        let share = |n: u32, d: u32| {
            if d == 0 { "    -".to_string() } else { format!("{:.3}", f64::from(n) / f64::from(d)) }
        };
        let (total, agree) = (self.covered + self.missing, self.covered_found + self.missing_found);
        format!(
            "{:>6} {:>9}  {:>5} ({:>3}/{:<3})  {:>5} ({:>3}/{:<3})",
            total,
            share(agree, total),
            share(self.covered_found, self.covered),
            self.covered_found,
            self.covered,
            share(self.missing_found, self.missing),
            self.missing_found,
            self.missing
        )
    }
}

struct Disagreement<'a> {
    item: &'a Item,
    result: Verdict,
    label: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = split_filter(&args);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coverage-eval");
    let items = eval_set::load(&dir).unwrap_or_else(|e| panic!("reading the evaluation set: {e}"));
    let library = Library::builtin();
    let judge = judge_args(&args);

    let started = Instant::now();
    let mut checked = Vec::new();
    let mut spent = Usage::default();
    for item in items.iter().filter(|i| only.is_none_or(|s| s == i.split)) {
        let topic = library.topic_by_slug(&item.topic).expect("a built-in topic");
        let lexical = Verdicts::lexical(coverage::check(&topic.cover, &item.answer));
        let verdicts = match &judge {
            None => lexical,
            Some((client, model)) => {
                let asked = Instant::now();
                let judgement = judged(client, model, &library, topic, &item.answer, &lexical);
                spent += judgement.spent;
                eprintln!(
                    "judged {} in {:.1}s: {}",
                    item.file,
                    asked.elapsed().as_secs_f64(),
                    judgement.verdicts.note.as_deref().unwrap_or("ok")
                );
                judgement.verdicts
            }
        };
        checked.push((item, verdicts));
    }
    let elapsed = started.elapsed();

    if let Some(at) = args.iter().position(|a| a == "--explain") {
        let file = args.get(at + 1).expect("--explain takes a file name of the set");
        let (_, report) = checked.iter().find(|(i, _)| i.file == *file).expect("a file of the set");
        print!("{}", report.explain());
        return;
    }
    if let Some((client, model)) = &judge {
        let failed = checked.iter().filter(|(_, v)| v.note.is_some()).count();
        let made_up = checked
            .iter()
            .flat_map(|(_, v)| &v.points)
            .filter(|p| matches!(p.why, Why::Judge { quote_not_found: true, .. }))
            .count();
        println!("model judge {model} at {}", client.url());
        println!(
            "judge failures (lexical verdicts used): {failed} of {} answers; quotes not in the \
             answer: {made_up}; tokens: {} prompt, {} completion; {:.1}s in all",
            checked.len(),
            spent.prompt_tokens,
            spent.completion_tokens,
            elapsed.as_secs_f64()
        );
    }

    println!("coverage evaluation set: {}", dir.display());
    for split in [Split::Tune, Split::HeldOut] {
        if only.is_some_and(|s| s != split) {
            continue;
        }
        let mut all = Tally::default();
        let mut by_kind = [Tally::default(); 4];
        let mut disagreements = Vec::new();
        let mut answers = 0;
        for (item, report) in checked.iter().filter(|(i, _)| i.split == split) {
            answers += 1;
            for result in &report.points {
                let label = *item.labels.get(&result.point).expect("a label for every point");
                all.add(label, result.covered);
                by_kind[item.kind as usize].add(label, result.covered);
                if label != result.covered {
                    disagreements.push(Disagreement { item, result: result.clone(), label });
                }
            }
        }
        println!();
        println!("== {} ({answers} answers)", name(split));
        println!(
            "{:<10} {:>6} {:>9}  {:>15}  {:>15}",
            "", "points", "agreement", "covered found", "left-out found"
        );
        println!("{:<10} {}", "all", all.line());
        for kind in [Kind::Complete, Kind::Partial, Kind::Thin, Kind::OffTopic] {
            println!("{:<10} {}", kind_name(kind), by_kind[kind as usize].line());
        }
        println!();
        println!("disagreements: {}", disagreements.len());
        let mut file = "";
        for d in &disagreements {
            if d.item.file != file {
                file = &d.item.file;
                println!("\n{file} ({}): {}", kind_name(d.item.kind), one_line(&d.item.made));
            }
            let verdict = if d.result.covered { "covered" } else { "missing" };
            let label = if d.label { "covered" } else { "missing" };
            println!("- {}", d.result.point);
            match &d.result.why {
                Why::Lexical(result) => {
                    println!(
                        "    verdict {verdict}, label {label}; matched: {}",
                        result.matched.join(", ")
                    );
                    if let Some(about) = &result.about {
                        println!("    about: {about}");
                    }
                    if let Some(evidence) = &result.evidence {
                        println!("    evidence: “{evidence}”");
                    }
                }
                Why::Judge { quote, quote_not_found } => {
                    let quote =
                        quote.as_deref().map(|q| format!("; quote: “{q}”")).unwrap_or_default();
                    let found = if *quote_not_found { " (not in the answer)" } else { "" };
                    println!("    verdict {verdict}, label {label}{quote}{found}");
                }
                Why::Recorded => println!("    verdict {verdict}, label {label} (as recorded)"),
            }
        }
    }
    println!();
    println!("checked {} answers in {:.1} ms", checked.len(), elapsed.as_secs_f64() * 1e3);
    if judge.is_none() {
        scaling(&items, &library);
    }
}

/// `--judge URL MODEL`: a client for the endpoint, and the model.
fn judge_args(args: &[String]) -> Option<(ChatClient, String)> {
    let at = args.iter().position(|a| a == "--judge")?;
    let url = args.get(at + 1).expect("--judge takes a base URL and a model");
    let model = args.get(at + 2).expect("--judge takes a base URL and a model");
    let mut endpoint = deepdive::client::Endpoint::new(url.as_str());
    endpoint.api_key = std::env::var("JUDGE_API_KEY").ok().and_then(ApiKey::new);
    endpoint.key_source = KeySource::Env("JUDGE_API_KEY".into());
    endpoint.idle_timeout = Duration::from_secs(600);
    let client = ChatClient::new(endpoint, RETRY).expect("a valid judge endpoint");
    Some((client, model.clone()))
}

const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    initial_backoff: Duration::from_millis(500),
    max_backoff: Duration::from_secs(5),
};

/// One answer graded by the model judge, as a conversation's coverage step does.
fn judged(
    client: &ChatClient,
    model: &str,
    library: &Library,
    topic: &deepdive::prompts::Topic,
    answer: &str,
    lexical: &Verdicts,
) -> deepdive::driver::judge::Judgement {
    let limiter: Option<&AdaptiveLimiter> = None;
    let run = Endpoint {
        backend: client,
        limiter,
        retry: &RETRY,
        library,
        judge: None,
        count_prompts: false,
    };
    let judge = Judge { backend: None, model };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(judge.grade(&run, topic, &[answer], lexical, &CancellationToken::new()))
}

/// Time to check one long answer repeated 1, 10 and 100 times: the work is linear in the
/// answer's length, so the time per KB stays flat.
fn scaling(items: &[Item], library: &Library) {
    let item = items.iter().max_by_key(|i| i.answer.len()).expect("a non-empty set");
    let topic = library.topic_by_slug(&item.topic).expect("a built-in topic");
    println!("scaling ({}):", item.file);
    for times in [1, 10, 100] {
        let answer = item.answer.repeat(times);
        let runs = 2000 / times;
        let started = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(coverage::check(&topic.cover, &answer));
        }
        let per_check = started.elapsed().as_secs_f64() / runs as f64;
        let kb = answer.len() as f64 / 1024.0;
        println!(
            "  {kb:>7.1} KB: {:>8.3} ms per check, {:.3} ms per KB",
            per_check * 1e3,
            per_check * 1e3 / kb
        );
    }
}

/// `--split tune` or `--split held-out`; cargo's own `--bench` flag is ignored.
fn split_filter(args: &[String]) -> Option<Split> {
    let at = args.iter().position(|a| a == "--split")?;
    match args.get(at + 1).map(String::as_str) {
        Some("tune") => Some(Split::Tune),
        Some("held-out") => Some(Split::HeldOut),
        other => panic!("--split takes tune or held-out, not {other:?}"),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn name(split: Split) -> &'static str {
    match split {
        Split::Tune => "tune",
        Split::HeldOut => "held-out",
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Complete => "complete",
        Kind::Partial => "partial",
        Kind::Thin => "thin",
        Kind::OffTopic => "off-topic",
    }
}
