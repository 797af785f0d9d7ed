//! The verdicts in force on a topic's points, and which method made them: a fresh stored
//! entry (the transcript's `[[coverage]]`, see `docs/transcript-format.md`) when there is one,
//! else the lexical method's, computed now. Every consumer (gap follow-ups, `/coverage`, the
//! batch plan's `gaps`, the handbook, `compare`, the run manifest) asks here. A stored entry
//! is paid for once: only `/coverage`, which shows the lexical method's reasons, checks a
//! stored lexical entry's answers again ([`Reasons::Explained`]).

use super::quotes::quote_found;
use super::{CoverageReport, PointResult, check_answers};
use crate::prompts::Topic;
use crate::session::{Coverage, CoverageMethod, PointVerdict, TopicCoverage, Transcript};

/// The verdict on each point of one topic, in the topic's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdicts {
    pub method: CoverageMethod,
    /// Why these verdicts are not what was asked for (the judge failed, the stored ones are
    /// out of date).
    pub note: Option<String>,
    pub points: Vec<Verdict>,
}

/// One point's verdict and its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub point: String,
    pub covered: bool,
    pub why: Why,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// The lexical method's terms and evidence.
    Lexical(PointResult),
    /// What the judge said: its quote, and whether the answers contain it.
    Judge { quote: Option<String>, quote_not_found: bool },
    /// A lexical verdict as the transcript recorded it; its terms and evidence are not kept.
    Recorded,
}

/// Whether the verdicts in force must carry the lexical method's reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reasons {
    /// A fresh stored entry is used as it is: no answer is checked again.
    Recorded,
    /// A fresh stored lexical entry is checked again for its terms and evidence (`/coverage`),
    /// and replaced when the answers no longer give it (edited by hand).
    Explained,
}

/// What a judge replied for one point, before its quote is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graded {
    pub covered: bool,
    pub quote: Option<String>,
}

impl Verdicts {
    /// The lexical method's verdicts.
    pub fn lexical(report: CoverageReport) -> Verdicts {
        let points = report
            .points
            .into_iter()
            .map(|p| Verdict { point: p.point.clone(), covered: p.covered, why: Why::Lexical(p) })
            .collect();
        Verdicts { method: CoverageMethod::Lexical, note: None, points }
    }

    /// A judge's verdicts on `cover`, one per point in order (a point without one is not
    /// covered), each quote checked against `answers`: a point called covered with a quote
    /// the answers do not contain (or with none) is not covered.
    pub fn judged<S: AsRef<str>>(
        judge: &str,
        cover: &[String],
        answers: &[S],
        graded: Vec<Graded>,
    ) -> Verdicts {
        let mut graded = graded.into_iter();
        let points = cover
            .iter()
            .map(|point| {
                let graded = graded.next().unwrap_or(Graded { covered: false, quote: None });
                let quote = graded.quote.filter(|q| !q.trim().is_empty());
                let found = quote.as_deref().is_some_and(|q| quote_found(answers, q));
                let covered = graded.covered && found;
                let quote_not_found = graded.covered && !found;
                let why = Why::Judge { quote: quote.filter(|_| graded.covered), quote_not_found };
                Verdict { point: point.clone(), covered, why }
            })
            .collect();
        Verdicts { method: CoverageMethod::Model { judge: judge.to_string() }, note: None, points }
    }

    pub fn covered(&self) -> u32 {
        count(self.points.iter().filter(|p| p.covered).count())
    }

    pub fn total(&self) -> u32 {
        count(self.points.len())
    }

    pub fn summary(&self) -> Coverage {
        Coverage { covered: self.covered(), total: self.total() }
    }

    /// The points not covered, in order.
    pub fn missing(&self) -> Vec<&str> {
        self.points.iter().filter(|p| !p.covered).map(|p| p.point.as_str()).collect()
    }

    /// `6/10 (model judge gpt-4o-mini)`, `6/10 (lexical)`.
    pub fn label(&self) -> String {
        format!("{}/{} ({})", self.covered(), self.total(), self.method.label())
    }

    /// One line per point, as `/coverage` shows them: the lexical method's terms and
    /// evidence, or the judge's quote (and when a quote is not in the answers, that).
    pub fn explain(&self) -> String {
        let mut out = String::new();
        for verdict in &self.points {
            let line = match &verdict.why {
                Why::Lexical(result) => result.explain(),
                Why::Judge { quote: Some(quote), quote_not_found: false } if verdict.covered => {
                    format!("✓ {} — the judge quotes “{quote}”", verdict.point)
                }
                Why::Judge { quote: Some(quote), quote_not_found: true } => format!(
                    "✗ {} — the judge called it covered, quoting “{quote}”, which the answers do \
                     not contain",
                    verdict.point
                ),
                Why::Judge { quote_not_found: true, .. } => format!(
                    "✗ {} — the judge called it covered without a quote from the answers",
                    verdict.point
                ),
                Why::Judge { .. } => format!("✗ {} — not addressed, says the judge", verdict.point),
                Why::Recorded => {
                    let mark = if verdict.covered { "✓" } else { "✗" };
                    format!("{mark} {} (as recorded)", verdict.point)
                }
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// The entry to store for `topic` after `answers` answers (the judge's tokens are added
    /// when it is recorded).
    pub fn entry(&self, topic: &str, answers: usize) -> TopicCoverage {
        let points = self
            .points
            .iter()
            .map(|v| match &v.why {
                Why::Lexical(_) | Why::Recorded => {
                    PointVerdict { covered: v.covered, ..PointVerdict::default() }
                }
                Why::Judge { quote, quote_not_found } => PointVerdict {
                    covered: v.covered,
                    quote: quote.clone(),
                    quote_not_found: *quote_not_found,
                },
            })
            .collect();
        TopicCoverage {
            topic: topic.to_string(),
            method: self.method.clone(),
            answers: count(answers),
            note: self.note.clone(),
            points,
            usage: None,
        }
    }
}

/// The verdicts in force on a topic's `cover` points, given all its `answers` (each a
/// document of its own) and the entry stored for it.
///
/// A stored entry is used when it is fresh: made after as many answers as the topic has now,
/// on as many points. With [`Reasons::Explained`], a fresh lexical entry is checked against
/// the lexical method's verdicts now (for their reasons) and replaced by them when they differ
/// (an answer edited by hand). A stale or missing entry gives the lexical method's verdicts; a
/// stale judge's entry says so in the note.
pub fn in_force<S: AsRef<str>>(
    cover: &[String],
    answers: &[S],
    stored: Option<&TopicCoverage>,
    reasons: Reasons,
) -> Verdicts {
    let fresh = stored.filter(|s| {
        usize::try_from(s.answers).is_ok_and(|n| n == answers.len())
            && s.points.len() == cover.len()
    });
    match fresh {
        Some(entry @ TopicCoverage { method: CoverageMethod::Model { .. }, .. }) => {
            return from_entry(cover, entry);
        }
        Some(entry) if reasons == Reasons::Recorded => return recorded(cover, entry),
        _ => {}
    }
    let mut lexical = Verdicts::lexical(check_answers(cover, answers));
    lexical.note = match (stored, fresh) {
        (Some(entry), Some(_)) if same_marks(&lexical, entry) => entry.note.clone(),
        (Some(_), Some(_)) => Some(
            "the stored lexical verdicts no longer match the answers (edited by hand?): \
             checked again"
                .into(),
        ),
        (Some(entry @ TopicCoverage { method: CoverageMethod::Model { .. }, .. }), None) => {
            Some(stale_judge_note(entry, cover.len(), answers.len()))
        }
        _ => None,
    };
    lexical
}

/// The verdicts in force on `topic` in `transcript`, over all of the topic's answers (see
/// [`in_force`]); `None` while the topic has no answer.
pub fn of_topic(topic: &Topic, transcript: &Transcript, reasons: Reasons) -> Option<Verdicts> {
    let answers = transcript.topic_answers(&topic.slug);
    if answers.iter().all(|a| a.trim().is_empty()) {
        return None;
    }
    Some(in_force(&topic.cover, &answers, transcript.meta.coverage_of(&topic.slug), reasons))
}

/// A fresh lexical entry as it was recorded.
fn recorded(cover: &[String], entry: &TopicCoverage) -> Verdicts {
    stored(cover, entry, |_| Why::Recorded)
}

/// A fresh judge's entry, with its quotes.
fn from_entry(cover: &[String], entry: &TopicCoverage) -> Verdicts {
    stored(cover, entry, |point| Why::Judge {
        quote: point.quote.clone(),
        quote_not_found: point.quote_not_found,
    })
}

/// The verdicts an entry stores, each point's reason made by `why`.
fn stored(cover: &[String], entry: &TopicCoverage, why: impl Fn(&PointVerdict) -> Why) -> Verdicts {
    let points = cover
        .iter()
        .zip(&entry.points)
        .map(|(point, stored)| Verdict {
            point: point.clone(),
            covered: stored.covered,
            why: why(stored),
        })
        .collect();
    Verdicts { method: entry.method.clone(), note: entry.note.clone(), points }
}

fn same_marks(verdicts: &Verdicts, entry: &TopicCoverage) -> bool {
    verdicts.points.iter().map(|v| v.covered).eq(entry.points.iter().map(|p| p.covered))
}

fn stale_judge_note(entry: &TopicCoverage, points: usize, answers: usize) -> String {
    let judge = entry.method.label();
    if entry.points.len() != points {
        return format!(
            "the {judge}'s verdicts are on {} points, the topic now has {points}: lexical verdicts",
            entry.points.len()
        );
    }
    format!(
        "the {judge}'s verdicts cover {} of the topic's {answers} answers: lexical verdicts \
         until the next answer is judged",
        entry.answers
    )
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Usage;

    fn cover() -> Vec<String> {
        ["Liveness probe purpose", "Readiness probe purpose", "Startup probe purpose"]
            .map(String::from)
            .to_vec()
    }

    const ANSWER: &str = "## Liveness\n\nA **liveness** probe restarts a container that is \
                          stuck, so keep it cheap and independent of the database.\n";

    fn graded(covered: bool, quote: &str) -> Graded {
        Graded { covered, quote: Some(quote.to_string()).filter(|q| !q.is_empty()) }
    }

    fn judged() -> Verdicts {
        Verdicts::judged(
            "gpt-4o-mini",
            &cover(),
            &[ANSWER],
            vec![
                graded(true, "A liveness probe restarts a container that is stuck"),
                graded(true, "readiness probes gate traffic"),
                graded(false, ""),
            ],
        )
    }

    #[test]
    fn a_judged_point_counts_only_with_a_quote_the_answers_contain() {
        let v = judged();
        assert_eq!(v.points.iter().map(|p| p.covered).collect::<Vec<_>>(), [true, false, false]);
        assert_eq!(v.label(), "1/3 (model judge gpt-4o-mini)");
        let explained = v.explain();
        let lines: Vec<&str> = explained.lines().collect();
        assert_eq!(
            lines[0],
            "✓ Liveness probe purpose — the judge quotes “A liveness probe restarts a container \
             that is stuck”"
        );
        assert!(lines[1].contains("quoting “readiness probes gate traffic”, which the answers"));
        assert_eq!(lines[2], "✗ Startup probe purpose — not addressed, says the judge");
        let no_quote = Verdicts::judged(
            "j",
            &cover()[..1],
            &[ANSWER],
            vec![Graded { covered: true, quote: None }],
        );
        assert!(!no_quote.points[0].covered);
        assert!(no_quote.explain().contains("without a quote"));
        let short = Verdicts::judged("j", &cover(), &[ANSWER], vec![graded(true, "stuck")]);
        assert_eq!(
            short.covered(),
            0,
            "too short to check, and the missing verdicts count as not covered"
        );
    }

    #[test]
    fn a_fresh_judged_entry_is_in_force_and_says_so() {
        let entry = judged().entry("health-checks", 1);
        assert_eq!(entry.points[1].quote.as_deref(), Some("readiness probes gate traffic"));
        assert!(entry.points[1].quote_not_found);
        let v = in_force(&cover(), &[ANSWER], Some(&entry), Reasons::Recorded);
        assert_eq!(v, judged());
    }

    #[test]
    fn a_stale_judged_entry_gives_lexical_verdicts_with_a_note() {
        let entry = judged().entry("health-checks", 1);
        let later = [ANSWER, "Readiness probes take a pod out of the Service endpoints."];
        let v = in_force(&cover(), &later, Some(&entry), Reasons::Recorded);
        assert_eq!(v.method, CoverageMethod::Lexical);
        assert_eq!(
            v.note.as_deref(),
            Some(
                "the model judge gpt-4o-mini's verdicts cover 1 of the topic's 2 answers: \
                 lexical verdicts until the next answer is judged"
            )
        );
        let fewer_points = in_force(&cover()[..2], &[ANSWER], Some(&entry), Reasons::Recorded);
        assert!(fewer_points.note.unwrap().contains("are on 3 points, the topic now has 2"));
    }

    #[test]
    fn a_lexical_entry_is_checked_again_and_keeps_its_note() {
        let lexical = Verdicts::lexical(check_answers(&cover(), &[ANSWER]));
        let mut entry = lexical.entry("health-checks", 1);
        entry.note = Some("the judge failed (HTTP 500): lexical verdicts".into());
        entry.usage = Some(Usage { prompt_tokens: 10, completion_tokens: 0, cached_tokens: 0 });
        let v = in_force(&cover(), &[ANSWER], Some(&entry), Reasons::Explained);
        assert_eq!(v.note, entry.note);
        assert_eq!(v.points, lexical.points, "the lexical reasons are there for /coverage");
        entry.points[2].covered = !entry.points[2].covered;
        let edited = in_force(&cover(), &[ANSWER], Some(&entry), Reasons::Explained);
        assert!(edited.note.unwrap().contains("no longer match the answers"));
        assert_eq!(edited.points, lexical.points);
        assert_eq!(in_force(&cover(), &[ANSWER], None, Reasons::Recorded), lexical);
    }

    #[test]
    fn a_fresh_lexical_entry_is_used_as_recorded_without_checking_the_answers_again() {
        let lexical = Verdicts::lexical(check_answers(&cover(), &[ANSWER]));
        let mut entry = lexical.entry("health-checks", 1);
        // What the entry says wins over what the answers would give now: it was paid for.
        entry.points[2].covered = !entry.points[2].covered;
        let v = in_force(&cover(), &[ANSWER], Some(&entry), Reasons::Recorded);
        assert_eq!(v.method, CoverageMethod::Lexical);
        assert!(v.points.iter().all(|p| p.why == Why::Recorded));
        let marks: Vec<bool> = v.points.iter().map(|p| p.covered).collect();
        let stored: Vec<bool> = entry.points.iter().map(|p| p.covered).collect();
        assert_eq!(marks, stored);
        assert!(v.explain().contains("(as recorded)"));
        // A stale one is checked again.
        let later = [ANSWER, "Readiness probes take a pod out of the Service endpoints."];
        let v = in_force(&cover(), &later, Some(&entry), Reasons::Recorded);
        assert!(v.points.iter().all(|p| matches!(p.why, Why::Lexical(_))));
    }

    #[test]
    fn entries_keep_the_judges_quotes_and_lexical_ones_only_the_marks() {
        let lexical = Verdicts::lexical(check_answers(&cover(), &[ANSWER])).entry("t", 3);
        assert_eq!(lexical.answers, 3);
        assert!(lexical.points.iter().all(|p| p.quote.is_none() && !p.quote_not_found));
        assert_eq!(lexical.summary(), Coverage { covered: 1, total: 3 });
        let model = judged().entry("t", 1);
        assert_eq!(model.method, CoverageMethod::Model { judge: "gpt-4o-mini".into() });
        assert_eq!(model.points[2], PointVerdict::default());
    }
}
