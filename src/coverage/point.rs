//! A cover point turned into the key terms an answer must show.

use std::collections::HashMap;

use super::lexicon::Lexicon;
use super::text::terms;

/// One key term of a point: its canonical stem and the point's own wording of it.
#[derive(Debug)]
pub(super) struct KeyTerm {
    pub stem: String,
    pub shown: String,
    /// Not a [generic](Lexicon::is_generic) domain word.
    pub telling: bool,
    /// The telling term right before this one when the two make one name ("grace" of
    /// "grace period"): inside an identifier, this term then counts only together with
    /// it (`terminationGracePeriodSeconds`, not `periodSeconds`).
    pub modifier: Option<String>,
}

impl KeyTerm {
    /// The term's entry in the vocabulary: its stem, or stem and modifier.
    pub(super) fn key(&self) -> String {
        match &self.modifier {
            Some(m) => format!("{}|{m}", self.stem),
            None => self.stem.clone(),
        }
    }
}

/// The terms of one point: `core` from its text, `extras` from its parenthetical examples
/// ("(sessions, file I/O, caches, singletons)"), which help but are not required.
#[derive(Debug)]
pub(super) struct PointTerms {
    pub core: Vec<KeyTerm>,
    pub extras: Vec<KeyTerm>,
}

impl PointTerms {
    pub(super) fn parse(point: &str) -> PointTerms {
        let (outside, inside) = split_parentheses(point);
        let mut core = key_terms(point, &outside, &[]);
        let mut extras = key_terms(point, &inside, &core);
        if core.is_empty() {
            core = std::mem::take(&mut extras);
        }
        PointTerms { core, extras }
    }

    /// How many core terms a passage must show (each extra counts as half a core term):
    /// all of one or two, else 60% rounded up; all of them when none is telling.
    pub(super) fn needed(&self) -> u32 {
        let n = u32::try_from(self.core.len()).unwrap_or(u32::MAX);
        if n <= 2 || !self.needs_telling() { n } else { (3 * n).div_ceil(5) }
    }

    /// How many of its terms (core and extras) are telling.
    pub(super) fn telling_count(&self) -> u32 {
        let n = self.core.iter().chain(&self.extras).filter(|t| t.telling).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Whether a passage must show one of the point's telling terms (core or extra).
    pub(super) fn needs_telling(&self) -> bool {
        self.core.iter().chain(&self.extras).any(|t| t.telling)
    }
}

/// Marks as not telling the terms that recur in the points of one topic ("probe" in the
/// health-check topic, "load" in the load-testing one): they show which topic an answer
/// is about, not which point. A term recurs when at least [`RECURRING_MIN`] points, and
/// at least a quarter of them, use it.
pub(super) fn mark_recurring(points: &mut [PointTerms]) {
    let mut uses: HashMap<String, usize> = HashMap::new();
    for point in points.iter() {
        for term in point.core.iter().chain(&point.extras) {
            *uses.entry(term.stem.clone()).or_default() += 1;
        }
    }
    let threshold = RECURRING_MIN.max(points.len().div_ceil(4));
    // Two words in a row in two points name the topic ("incident response", "graceful
    // shutdown") rather than a point.
    let mut pairs: HashMap<(String, String), usize> = HashMap::new();
    for point in points.iter() {
        for term in &point.core {
            if let Some(m) = &term.modifier {
                *pairs.entry((m.clone(), term.stem.clone())).or_default() += 1;
            }
        }
    }
    let in_phrase =
        |stem: &str| pairs.iter().any(|((m, t), &n)| n >= 2 && (m == stem || t == stem));
    for point in points.iter_mut() {
        for term in point.core.iter_mut().chain(point.extras.iter_mut()) {
            if uses.get(&term.stem).is_some_and(|&n| n >= threshold) || in_phrase(&term.stem) {
                term.telling = false;
            }
        }
        // A name is made of telling terms only.
        let telling: Vec<String> =
            point.core.iter().filter(|t| t.telling).map(|t| t.stem.clone()).collect();
        for term in point.core.iter_mut().chain(point.extras.iter_mut()) {
            if !term.telling || term.modifier.as_ref().is_some_and(|m| !telling.contains(m)) {
                term.modifier = None;
            }
        }
    }
}

/// Fewest points that must share a term for it to count as the topic's own.
const RECURRING_MIN: usize = 3;

/// Byte ranges, as (start, end).
type Spans = Vec<(usize, usize)>;

/// Byte ranges of `point` outside and inside parentheses.
fn split_parentheses(point: &str) -> (Spans, Spans) {
    let (mut outside, mut inside) = (Vec::new(), Vec::new());
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in point.char_indices() {
        let boundary = match c {
            '(' => {
                depth += 1;
                depth == 1
            }
            ')' if depth > 0 => {
                depth -= 1;
                depth == 0
            }
            _ => false,
        };
        if boundary {
            let side = if c == '(' { &mut outside } else { &mut inside };
            side.push((start, i));
            start = i + 1;
        }
    }
    let side = if depth == 0 { &mut outside } else { &mut inside };
    side.push((start, point.len()));
    (outside, inside)
}

/// The distinct key terms of the given parts of `point`, leaving out those in `skip`.
fn key_terms(point: &str, parts: &[(usize, usize)], skip: &[KeyTerm]) -> Vec<KeyTerm> {
    let lexicon = Lexicon::get();
    let mut found = Vec::new();
    for &(start, end) in parts {
        terms(&point[start..end], start, &mut found);
    }
    // A point's identifiers are names (PgBouncer, ConfigMaps): one term each.
    found.retain(|t| t.identifier.is_none() || t.whole);
    let mut out: Vec<KeyTerm> = Vec::new();
    let mut previous: Option<(String, usize)> = None; // stem and end of the term before
    for term in found {
        let adjacent = previous.take().filter(|(_, end)| {
            *end < term.start && point[*end..term.start].chars().all(char::is_whitespace)
        });
        previous = Some((term.stem.clone(), term.end));
        if skip.iter().chain(&out).any(|k| k.stem == term.stem) {
            continue;
        }
        out.push(KeyTerm {
            telling: !lexicon.is_generic(&term.stem),
            shown: point[term.start..term.end].to_lowercase(),
            modifier: adjacent.map(|(stem, _)| stem).filter(|m| *m != term.stem),
            stem: term.stem,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(terms: &[KeyTerm]) -> Vec<&str> {
        terms.iter().map(|t| t.shown.as_str()).collect()
    }

    #[test]
    fn parenthetical_examples_are_extras() {
        let p = PointTerms::parse(
            "What patterns to look for in code that indicate state problems (sessions, file I/O, caches, singletons)",
        );
        assert_eq!(shown(&p.core), ["patterns", "look", "code", "indicate", "state", "problems"]);
        assert_eq!(shown(&p.extras), ["sessions", "file", "caches", "singletons"]);
        assert_eq!(p.needed(), 4);
    }

    #[test]
    fn a_term_in_both_parts_is_core_only_and_phrases_show_their_wording() {
        let p = PointTerms::parse("Horizontal Pod Autoscaler (HPA) configuration and testing");
        assert_eq!(shown(&p.core), ["horizontal pod autoscaler", "configuration", "testing"]);
        assert!(p.extras.is_empty());
        assert!(p.core[0].telling && !p.core[1].telling && !p.core[2].telling);
        assert_eq!(p.needed(), 2);
    }

    #[test]
    fn a_telling_term_right_after_another_names_one_thing_with_it() {
        let mut points =
            vec![PointTerms::parse("Grace period configuration (how long is enough?)")];
        mark_recurring(&mut points);
        let modifiers: Vec<Option<&str>> =
            points[0].core.iter().map(|t| t.modifier.as_deref()).collect();
        assert_eq!(modifiers, [None, Some("grac"), None], "configuration is generic");
        let list = PointTerms::parse("Probe configuration parameters (delay, timeout, period)");
        assert!(list.extras.iter().all(|t| t.modifier.is_none()), "commas part the examples");
    }

    #[test]
    fn a_point_of_only_examples_uses_them_as_core() {
        let p = PointTerms::parse("(liveness, readiness)");
        assert_eq!(shown(&p.core), ["liveness", "readiness"]);
    }
}
