//! Which of a topic's "Cover:" points an answer addressed: deterministic, explainable,
//! and without a model call.
//!
//! # Method
//!
//! 1. **Terms.** Text is split into words at punctuation and at camelCase changes
//!    (`initialDelaySeconds` → initial, delay, seconds), lower-cased and stemmed by a small
//!    suffix stripper (probes, probing → prob; configuration, configure → configur).
//!    Equivalent wordings of the domain are then rewritten to one form, longest phrase
//!    first (check → probe, k8s → kubernetes, "horizontal pod autoscaler" → hpa,
//!    "post-mortem" → postmortem …), and stop-words are dropped, including the guide's
//!    generic words ("how", "strategies", "approaches" …). Cover points and answers go
//!    through the same steps, so "readiness checks" and "readiness probes" agree.
//! 2. **Points.** Each point's distinct terms are its *core* terms; those inside
//!    parentheses ("(sessions, file I/O, caches, singletons)") are *extras*: examples
//!    that help but are not required.
//! 3. **Passages.** A point counts only when one passage shows enough of its terms
//!    together, so words scattered over a long answer do not add up. A passage is a
//!    window of 40 consecutive terms (about a paragraph) plus the heading of the
//!    section it is in (`## Readiness probes` gives context to the list below it).
//!    The window slides over the answer once: the work is linear in its length.
//! 4. **Rule.** Some terms say which *topic* an answer is about rather than which point:
//!    domain words found in almost any answer (test, pod, monitor, configuration …) and
//!    terms shared by many points of the topic ("probe" in health checks, "load" in load
//!    testing). The others are *telling*. A point is covered by a passage that shows
//!    - every core term of the point, or
//!    - enough of them, a core term scoring 1 and an extra ½: all of one or two core
//!      terms, else 60% rounded up (all when none is telling), *and* at least one
//!      telling term (core or extra) when the point has one.
//!
//!    So "Connection pool sizing (per pod, total across all pods)" needs "sizing" or an
//!    example, not just "connection pool", and "Probe configuration parameters (delay,
//!    timeout, period, threshold)" is covered by a probe with its `initialDelaySeconds`,
//!    `periodSeconds` … spelled out. Which terms recur depends on the points checked
//!    together, so check a topic's points in one call.
//! 5. **Why.** Each result names the point's own words that were matched and missed in
//!    its best passage, and quotes that passage's most telling line as evidence.
//!
//! The thresholds were chosen against the 20 built-in topics: an answer made of a
//! topic's own points reworded covers all of them, while one about another topic
//! covers few (see the tests).

mod answer;
mod lexicon;
mod point;
mod questions;
mod scan;
mod stem;
mod structure;
mod text;
mod vocabulary;

#[cfg(test)]
mod eval_set;
#[cfg(test)]
mod tests;

use answer::Answer;
use point::PointTerms;
use vocabulary::Vocabulary;

pub use questions::{gap_question, gaps_question};

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

    /// One line per point: `✓ point — matched: a, b (“evidence”)`,
    /// `✗ point — missing: c, d; found: a (“evidence”)` or, when the passage that shows
    /// the point is about another one, `✗ point — found: a, b, but about “other” (“evidence”)`.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        for p in &self.points {
            let quote = p.evidence.as_ref().map(|e| format!(" (“{e}”)")).unwrap_or_default();
            let line = if p.covered {
                format!("✓ {} — matched: {}{quote}", p.point, p.matched.join(", "))
            } else if let Some(about) = &p.about {
                format!(
                    "✗ {} — found: {}, but about “{about}”{quote}",
                    p.point,
                    p.matched.join(", ")
                )
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
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
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
