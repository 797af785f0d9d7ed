//! Which of a topic's "Cover:" points an answer addressed: deterministic, explainable,
//! linear in the answer's length, and without a model call. `docs/coverage.md` has the
//! method's figures on the evaluation set in `tests/fixtures/coverage-eval/`.
//!
//! # Method
//!
//! 1. **Terms.** Text is split into words at punctuation, at camelCase changes and at
//!    underscores (`initialDelaySeconds` → initial, delay, seconds), lower-cased and
//!    stemmed by a small suffix stripper (probes, probing → prob; configuration,
//!    configure → configur). An identifier is also one term of its own (`PgBouncer`).
//!    Equivalent wordings of the domain are rewritten to one form, longest phrase first
//!    (check → probe, k8s → kubernetes, "Tier 2" → operations team, PagerDuty →
//!    notification …), and stop-words are dropped, including the guide's generic words
//!    ("how", "strategies", "implications" …). Cover points and answers go through the
//!    same steps, so "readiness checks" and "readiness probes" agree.
//! 2. **Points.** Each point's distinct terms are its *core* terms; those inside
//!    parentheses ("(sessions, file I/O, caches, singletons)") are *extras*: examples
//!    that help but are not required. Some terms say which *topic* an answer is about
//!    rather than which point: domain words found in almost any answer (test, pod,
//!    configuration …), terms shared by many points of the topic ("probe" in health
//!    checks) and words that come in a row in two points ("incident response"). The
//!    others are *telling*. Two telling terms in a row name one thing: inside an
//!    identifier the second counts only with the first (`terminationGracePeriodSeconds`
//!    is a grace period, `periodSeconds` is not).
//! 3. **Blocks that say something.** The answer is read as markdown: headings, and
//!    blocks under them (paragraph, list item, table row, code block). A block takes
//!    part only when it has words of its own, two for each point it names in full, that
//!    are not point terms, generic words or filler: "Configure an adequate grace
//!    period." and a table of contents say nothing. A heading (and a paragraph ending in
//!    a colon, for the list after it) gives context to the blocks under it and covers
//!    nothing without them, so a truncated answer that ends in a heading covers nothing
//!    there. Topic words in an answer's title count for all its sections. Each answer of
//!    a topic (its answer and the follow-ups) is read as a document of its own.
//! 4. **Passages.** A passage is a window of 40 consecutive terms (about a paragraph)
//!    within one section, with the section's heading; where there is no heading, one
//!    block. The window slides over the answer once, judging the points at each step.
//! 5. **Rule.** A point is covered by a passage that shows
//!    - every core term, or all but one of four or more, or
//!    - enough of them, a core term scoring 1 and an extra ½: all of one or two core
//!      terms, else 60% rounded up (all when none is telling), topic words from the title
//!      making at most half of that, *and* a telling term in the block being read when
//!      the point has one;
//!
//!    unless the passage is about another point: it shows under 4/5 of the share of
//!    this point's telling terms that it shows of that point's ("the weekly operations
//!    meeting" in a passage on action items is not a post-mortem meeting). Which terms
//!    are telling depends on the points checked together, so check a topic's points in
//!    one call.
//! 6. **Why.** Each result names the point's own words that were matched and missed in
//!    its best passage, quotes that passage's most telling line as evidence, and names
//!    the point the passage is about when it is another one.

mod answer;
mod by_topic;
mod lexicon;
mod point;
mod questions;
mod quotes;
mod scan;
mod stem;
mod structure;
mod text;
mod verdicts;
mod vocabulary;

#[cfg(test)]
mod eval_set;
#[cfg(test)]
mod tests;

use answer::Answer;
use point::PointTerms;
use vocabulary::Vocabulary;

pub use by_topic::{TopicReport, check_topics};
pub use questions::{gap_question, gaps_question};
pub use quotes::{MIN_QUOTE_CHARS, quote_found};
pub use verdicts::{Graded, Reasons, Verdict, Verdicts, Why, in_force, of_topic};

use crate::session::Coverage;

/// Longest evidence quote, in characters.
const EVIDENCE_CHARS: usize = 80;

/// The verdict on one cover point, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointResult {
    pub point: String,
    pub covered: bool,
    /// The point's key terms found in its best passage, in the point's own words.
    pub matched: Vec<String>,
    /// The point's core terms absent from that passage.
    pub missing: Vec<String>,
    /// The line of the best passage that shows the most matched terms, trimmed.
    /// `None` when no term of the point occurs in the answer.
    pub evidence: Option<String>,
    /// When the best passage shows enough of this point but is clearly about another
    /// one, that point (the point is then not covered by it).
    pub about: Option<String>,
}

/// The verdict on each cover point of one answer, in the points' order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoverageReport {
    pub points: Vec<PointResult>,
}

impl CoverageReport {
    pub fn covered(&self) -> u32 {
        count(self.points.iter().filter(|p| p.covered))
    }

    pub fn total(&self) -> u32 {
        count(self.points.iter())
    }

    /// Covered of total, as recorded in transcripts.
    pub fn summary(&self) -> Coverage {
        Coverage { covered: self.covered(), total: self.total() }
    }

    pub fn missing(&self) -> impl Iterator<Item = &PointResult> {
        self.points.iter().filter(|p| !p.covered)
    }

    /// One line per point (see [`PointResult::explain`]).
    pub fn explain(&self) -> String {
        let mut out = String::new();
        for p in &self.points {
            out.push_str(&p.explain());
            out.push('\n');
        }
        out
    }
}

impl PointResult {
    /// `✓ point — matched: a, b (“evidence”)`, `✗ point — missing: c, d; found: a
    /// (“evidence”)` or, when the passage that shows the point is about another one,
    /// `✗ point — found: a, b, but about “other” (“evidence”)`.
    pub fn explain(&self) -> String {
        let p = self;
        let quote = p.evidence.as_ref().map(|e| format!(" (“{e}”)")).unwrap_or_default();
        if p.covered {
            format!("✓ {} — matched: {}{quote}", p.point, p.matched.join(", "))
        } else if let Some(about) = &p.about {
            format!("✗ {} — found: {}, but about “{about}”{quote}", p.point, p.matched.join(", "))
        } else if p.matched.is_empty() {
            let missing = if p.missing.is_empty() {
                "no key terms to look for".into()
            } else {
                p.missing.join(", ")
            };
            format!("✗ {} — missing: {missing}", p.point)
        } else {
            format!(
                "✗ {} — missing: {}; found: {}{quote}",
                p.point,
                p.missing.join(", "),
                p.matched.join(", ")
            )
        }
    }
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

/// Checks which of `cover_points` the `answer` addresses. Same input, same report.
pub fn check(cover_points: &[String], answer: &str) -> CoverageReport {
    check_answers(cover_points, &[answer])
}

/// Checks which of `cover_points` a topic's answers address together: its answer and the
/// answers to its follow-ups. Each is read as a document of its own, so a heading that
/// ends one (a truncated answer) is not taken for the heading of the next.
pub fn check_answers<S: AsRef<str>>(cover_points: &[String], answers: &[S]) -> CoverageReport {
    let mut points: Vec<PointTerms> = cover_points.iter().map(|p| PointTerms::parse(p)).collect();
    point::mark_recurring(&mut points);
    let vocabulary = Vocabulary::new(&points);
    let parts: Vec<&str> = answers.iter().map(AsRef::as_ref).collect();
    let answer = Answer::new(&parts, &points, &vocabulary);
    let best = scan::best_passages(&points, &vocabulary, &answer);
    let results = cover_points.iter().zip(&points).zip(best);
    let points = results
        .map(|((text, terms), best)| {
            let Some(scan::Best { passage, covered, about: rival, .. }) = best else {
                let missing = terms.core.iter().map(|t| t.shown.clone()).collect();
                return PointResult {
                    point: text.clone(),
                    covered: false,
                    matched: Vec::new(),
                    missing,
                    evidence: None,
                    about: None,
                };
            };
            let present = answer.passage_terms(&passage);
            let is_present = |key: String| {
                vocabulary.id(&key).is_some_and(|id| present.binary_search(&id).is_ok())
            };
            let all = terms.core.iter().chain(&terms.extras);
            let matched = all.filter(|t| is_present(t.key())).map(|t| t.shown.clone()).collect();
            let missing = terms
                .core
                .iter()
                .filter(|t| !is_present(t.key()))
                .map(|t| t.shown.clone())
                .collect();
            let wanted: Vec<usize> = terms
                .core
                .iter()
                .chain(&terms.extras)
                .filter_map(|t| vocabulary.id(&t.key()))
                .collect();
            let evidence =
                answer.evidence(&passage, &wanted).map(|range| quote(&answer.text()[range]));
            let about = rival.map(|r| cover_points[r].clone());
            PointResult { point: text.clone(), covered, matched, missing, evidence, about }
        })
        .collect();
    CoverageReport { points }
}

/// `text` without markdown emphasis, code and table marks, on one line, at most
/// [`EVIDENCE_CHARS`] characters (cut at a word, with "…").
fn quote(text: &str) -> String {
    let plain: String = text
        .chars()
        .map(|c| if matches!(c, '*' | '`' | '#' | '|' | '>') { ' ' } else { c })
        .collect();
    let words: Vec<&str> = plain.split_whitespace().collect();
    let mut out = String::new();
    for word in words.iter() {
        let len = out.chars().count() + usize::from(!out.is_empty()) + word.chars().count();
        if len > EVIDENCE_CHARS - 1 {
            if out.is_empty() {
                out = word.chars().take(EVIDENCE_CHARS - 1).collect();
            }
            out.push('…');
            return out;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}
