//! The comparison as markdown: a summary of coverage per topic, then per topic the points
//! only one side covered and, per exchange, the questions, answer lengths and a line diff.

use std::fmt::Write as _;

use super::{Comparison, Exchange, ExchangeComparison, TopicComparison, diff, only, summary};
use crate::render::thousands;
use crate::session::Coverage;

/// Longest question shown in full when both sides asked the same.
const QUESTION_CHARS: usize = 100;

pub fn markdown(c: &Comparison) -> String {
    let mut out = String::from("# Comparison\n\n");
    for (label, side) in [("A", &c.a), ("B", &c.b)] {
        let _ = writeln!(
            out,
            "- **{label}**: `{}` — {}, {} UTC, {}",
            side.path.display(),
            side.model,
            super::super::short_time(side.created),
            side.status
        );
    }
    out.push_str("\n## Summary\n\n");
    out.push_str(&verdict(c.totals(true), c.totals(false)));
    let methods = |side_a| match c.methods(side_a).join(", ") {
        none if none.is_empty() => "–".to_string(),
        some => some,
    };
    if c.totals(true).total > 0 {
        let _ = writeln!(out, "\nVerdicts by: A {} · B {}.", methods(true), methods(false));
    }
    let with_points: Vec<&TopicComparison> =
        c.topics.iter().filter(|t| !t.cover.is_empty()).collect();
    if !with_points.is_empty() {
        out.push_str("\n| # | Topic | A | B | More |\n| ---: | --- | ---: | ---: | --- |\n");
        for topic in with_points {
            let (a, b) = (topic.coverage(true), topic.coverage(false));
            let more = match (a.map_or(0, |c| c.covered), b.map_or(0, |c| c.covered)) {
                (x, y) if x > y => "A",
                (x, y) if x < y => "B",
                _ => "same",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {more} |",
                topic.number.map(|n| n.to_string()).unwrap_or_default(),
                cell(&topic.title),
                ratio(a),
                ratio(b)
            );
        }
    }
    for topic in &c.topics {
        topic_section(&mut out, topic);
    }
    out
}

fn verdict(a: Coverage, b: Coverage) -> String {
    if a.total == 0 {
        return "No topic of the prompt library to compare \"Cover:\" points for.\n".to_string();
    }
    let n = a.total;
    match a.covered.cmp(&b.covered) {
        std::cmp::Ordering::Greater => format!(
            "**A** covers more \"Cover:\" points overall: {} of {n} against {} of {n} for B.\n",
            a.covered, b.covered
        ),
        std::cmp::Ordering::Less => format!(
            "**B** covers more \"Cover:\" points overall: {} of {n} against {} of {n} for A.\n",
            b.covered, a.covered
        ),
        std::cmp::Ordering::Equal => {
            format!("Both sides cover {} of {n} \"Cover:\" points.\n", a.covered)
        }
    }
}

fn topic_section(out: &mut String, topic: &TopicComparison) {
    match topic.number {
        Some(n) => {
            let _ = writeln!(out, "\n## {n}. {}\n", topic.title);
        }
        None => {
            let _ = writeln!(out, "\n## {}\n", topic.title);
        }
    }
    let missing: Vec<String> = [("A", &topic.a), ("B", &topic.b)]
        .into_iter()
        .filter_map(|(label, side)| side.as_ref().err().map(|why| (label, why)))
        .map(|(label, why)| format!("- {label}: nothing to compare ({why})\n"))
        .collect();
    if !missing.is_empty() {
        out.push_str(&missing.concat());
        out.push('\n');
    }
    if !topic.cover.is_empty() {
        let side = |side_a: bool| {
            let by = topic.by(side_a).map(|m| format!(" ({m})")).unwrap_or_default();
            format!("{}{by}", ratio(topic.coverage(side_a)))
        };
        let _ = writeln!(
            out,
            "Coverage of the topic's \"Cover:\" points: A {} · B {}\n",
            side(true),
            side(false)
        );
        points_only(out, "", topic.only(true), topic.only(false));
        if topic.a.is_ok()
            && topic.b.is_ok()
            && topic.only(true).is_empty()
            && topic.only(false).is_empty()
        {
            out.push_str("Both sides cover the same points.\n");
        }
    }
    for (i, exchange) in topic.exchanges.iter().enumerate() {
        exchange_section(out, &topic.cover, i + 1, exchange);
    }
}

fn points_only(out: &mut String, scope: &str, a: Vec<&str>, b: Vec<&str>) {
    for (label, points) in [("A", a), ("B", b)] {
        if !points.is_empty() {
            let _ = writeln!(out, "Covered by {label} only{scope}:\n");
            for point in points {
                let _ = writeln!(out, "- {point}");
            }
            out.push('\n');
        }
    }
}

fn exchange_section(out: &mut String, cover: &[String], n: usize, x: &ExchangeComparison) {
    let first = x.a.as_ref().or(x.b.as_ref());
    let kind = first.map_or("exchange", |e| kind_label(e));
    let _ = writeln!(out, "\n### Exchange {n} · {kind}\n");
    match (&x.a, &x.b) {
        (Some(a), Some(_)) if x.same_question() => {
            let _ = writeln!(out, "Question: {}\n", short(&a.question));
        }
        (Some(a), Some(b)) => {
            out.push_str("**The questions differ.**\n\nA asked:\n\n");
            quote(out, &a.question);
            out.push_str("\nB asked:\n\n");
            quote(out, &b.question);
            out.push('\n');
        }
        (Some(only), None) | (None, Some(only)) => {
            let label = if x.a.is_some() { "A" } else { "B" };
            let _ = writeln!(out, "Only {label} has this exchange: {}\n", short(&only.question));
        }
        (None, None) => {}
    }
    out.push_str("| | A | B |\n| --- | ---: | ---: |\n");
    let answer = |e: &Option<Exchange>| e.as_ref().and_then(|e| e.answer.clone());
    let (aa, ab) = (answer(&x.a), answer(&x.b));
    let row = |f: &dyn Fn(&super::Answer) -> String| {
        let show = |a: &Option<super::Answer>| a.as_ref().map_or("–".to_string(), f);
        (show(&aa), show(&ab))
    };
    let words = row(&|a| thousands(a.text.split_whitespace().count() as u64));
    let tokens = row(&|a| match a.tokens {
        Some(t) if a.counted => format!("≈{}", thousands(t)),
        Some(t) => thousands(t),
        None => "–".to_string(),
    });
    let status = row(&|a| a.status.map_or("–", |s| s.as_str()).to_string());
    let _ = writeln!(out, "| words | {} | {} |", words.0, words.1);
    let _ = writeln!(out, "| tokens | {} | {} |", tokens.0, tokens.1);
    if !cover.is_empty() {
        let points = |p: &Vec<bool>, a: &Option<super::Answer>| {
            if a.is_some() { ratio(Some(summary(p))) } else { "–".to_string() }
        };
        let _ = writeln!(
            out,
            "| coverage of this answer (lexical) | {} | {} |",
            points(&x.covered_a, &aa),
            points(&x.covered_b, &ab)
        );
    }
    let _ = writeln!(out, "| status | {} | {} |\n", status.0, status.1);
    if !cover.is_empty() && aa.is_some() && ab.is_some() {
        let (a, b) = (Some(x.covered_a.as_slice()), Some(x.covered_b.as_slice()));
        points_only(out, " in this answer", only(cover, a, b), only(cover, b, a));
    }
    if let (Some(a), Some(b)) = (&aa, &ab) {
        let diff = diff::unified(&a.text, &b.text);
        if diff.is_empty() {
            out.push_str("The answers are identical.\n");
        } else {
            let fence = "`".repeat(longest_backtick_run(&diff).max(2) + 1);
            let _ =
                write!(out, "Answer A (-) against answer B (+):\n\n{fence}diff\n{diff}{fence}\n");
        }
    }
}

fn kind_label(e: &Exchange) -> &'static str {
    use crate::session::TurnKind;
    match e.kind {
        Some(TurnKind::Priming) => "priming prompt",
        Some(TurnKind::Topic(_)) => "topic prompt",
        Some(TurnKind::Followup) => "follow-up",
        None => "question",
    }
}

/// The first line of a question, shortened to [`QUESTION_CHARS`] with "…".
fn short(question: &str) -> String {
    let first = question.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    let more = first.chars().count() > QUESTION_CHARS || question.trim().lines().count() > 1;
    let shown: String = first.chars().take(QUESTION_CHARS).collect();
    if more { format!("{shown} …") } else { shown }
}

fn quote(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "> {line}");
    }
}

fn ratio(c: Option<Coverage>) -> String {
    c.map_or("–".to_string(), |c| format!("{}/{}", c.covered, c.total))
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}
