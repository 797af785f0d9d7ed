//! One pass over the answer: a window of [`WINDOW`] consecutive key terms slides along
//! it, together with the heading of the section it is in, and each point keeps the
//! window where it was best matched.

use std::collections::HashMap;
use std::ops::Range;

use super::point::PointTerms;
use super::text::terms;

/// Passage length in key terms (stop-words are not counted): about one paragraph.
pub(super) const WINDOW: usize = 40;

/// A key term of the answer, as the id of a point's term (`None` for other words).
struct Token {
    term: Option<usize>,
    start: usize,
    line: usize,
    section: usize,
}

/// The answer as tokens, its lines and its sections (section 0 precedes any heading).
pub(super) struct Answer<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    lines: Vec<Range<usize>>,
    /// Per section: the term ids of its heading and the heading's line.
    sections: Vec<(Vec<usize>, Option<usize>)>,
}

/// The points' distinct stems, numbered, and for each the points that use it.
pub(super) struct Vocabulary {
    ids: HashMap<String, usize>,
    /// Per term id: (point index, is core, is telling).
    postings: Vec<Vec<(usize, bool, bool)>>,
}

impl Vocabulary {
    pub(super) fn new(points: &[PointTerms]) -> Vocabulary {
        let mut vocabulary = Vocabulary { ids: HashMap::new(), postings: Vec::new() };
        for (p, point) in points.iter().enumerate() {
            let core = point.core.iter().map(|t| (t, true));
            for (term, is_core) in core.chain(point.extras.iter().map(|t| (t, false))) {
                let next = vocabulary.postings.len();
                let id = *vocabulary.ids.entry(term.stem.clone()).or_insert(next);
                if id == next {
                    vocabulary.postings.push(Vec::new());
                }
                vocabulary.postings[id].push((p, is_core, term.telling));
            }
        }
        vocabulary
    }

    pub(super) fn id(&self, stem: &str) -> Option<usize> {
        self.ids.get(stem).copied()
    }
}

impl<'a> Answer<'a> {
    pub(super) fn new(text: &'a str, vocabulary: &Vocabulary) -> Answer<'a> {
        let mut answer = Answer {
            text,
            tokens: Vec::new(),
            lines: Vec::new(),
            sections: vec![(Vec::new(), None)],
        };
        let mut found = Vec::new();
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            let range = start..start + line.len();
            start = range.end;
            found.clear();
            terms(line, range.start, &mut found);
            let line_no = answer.lines.len();
            answer.lines.push(range);
            let ids = found.iter().map(|t| vocabulary.id(&t.stem));
            if is_heading(line) {
                answer.sections.push((ids.clone().flatten().collect(), Some(line_no)));
            }
            let section = answer.sections.len() - 1;
            for (term, id) in found.iter().zip(ids) {
                answer.tokens.push(Token { term: id, start: term.start, line: line_no, section });
            }
        }
        answer
    }

    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    /// Term ids present in a passage: its window of tokens plus its section's heading.
    pub(super) fn passage_terms(&self, passage: &Passage) -> Vec<usize> {
        let window = self.tokens[passage.tokens.clone()].iter().filter_map(|t| t.term);
        let mut ids: Vec<usize> =
            window.chain(self.sections[passage.section].0.iter().copied()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The line of a passage that shows the most of `wanted` (the earliest on a tie),
    /// from its first such term; the section heading when the window shows none.
    pub(super) fn evidence(&self, passage: &Passage, wanted: &[usize]) -> Option<Range<usize>> {
        let mut best: Option<(usize, usize, usize)> = None; // (distinct terms, line, first byte)
        let mut tokens = self.tokens[passage.tokens.clone()].iter().peekable();
        while let Some(first) = tokens.peek().map(|t| t.line) {
            let mut seen: Vec<usize> = Vec::new();
            let mut from = None;
            while let Some(token) = tokens.next_if(|t| t.line == first) {
                if let Some(id) = token.term.filter(|id| wanted.contains(id)) {
                    from.get_or_insert(token.start);
                    if !seen.contains(&id) {
                        seen.push(id);
                    }
                }
            }
            if let Some(from) = from.filter(|_| best.is_none_or(|(count, _, _)| seen.len() > count))
            {
                best = Some((seen.len(), first, from));
            }
        }
        match best {
            Some((_, line, from)) => Some(from..self.lines[line].end),
            None => self.sections[passage.section].1.map(|line| self.lines[line].clone()),
        }
    }
}

/// Markdown headings (`## …`) and lines that are wholly bold (`**Readiness probes:**`).
fn is_heading(line: &str) -> bool {
    let line = line.trim();
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    if (1..=6).contains(&hashes) {
        return line[hashes..].starts_with(' ');
    }
    let line = line.trim_end_matches(':');
    line.len() > 4
        && ((line.starts_with("**") && line.ends_with("**"))
            || (line.starts_with("__") && line.ends_with("__")))
}

/// Where a point was best matched: token indices of the window, and its section.
#[derive(Clone, Debug)]
pub(super) struct Passage {
    pub tokens: Range<usize>,
    pub section: usize,
}

/// How well a passage matches one point, kept up to date as the window slides.
#[derive(Clone, Copy, Default)]
struct Tally {
    core: u32,
    extras: u32,
    telling: u32,
}

/// Per point: the passage with the best match (covered first, then most terms;
/// the earliest on a tie), and whether it covers the point. `None` when no term of
/// the point occurs in the answer.
pub(super) fn best_passages(
    points: &[PointTerms],
    vocabulary: &Vocabulary,
    answer: &Answer,
) -> Vec<Option<(Passage, bool)>> {
    let rank = |p: usize, tally: Tally| {
        let point = &points[p];
        let score = 2 * tally.core + tally.extras;
        let all_core = !point.core.is_empty() && tally.core as usize == point.core.len();
        let covered = all_core
            || (score >= 2 * point.needed() && (tally.telling > 0 || !point.needs_telling()));
        (covered, score)
    };
    let mut present = vec![0u32; vocabulary.postings.len()];
    let mut tallies = vec![Tally::default(); points.len()];
    let mut best: Vec<((bool, u32), Option<Passage>)> = vec![((false, 0), None); points.len()];
    let mut dirty = Vec::new();
    let mut section = 0;
    for (i, token) in answer.tokens.iter().enumerate() {
        let mut update = |id: usize, delta: i32, dirty: &mut Vec<usize>| {
            let before = present[id];
            present[id] = before.saturating_add_signed(delta);
            if (before == 0) == (present[id] == 0) {
                return;
            }
            for &(p, core, telling) in &vocabulary.postings[id] {
                let tally = &mut tallies[p];
                let counter = if core { &mut tally.core } else { &mut tally.extras };
                *counter = counter.saturating_add_signed(delta);
                if telling {
                    tally.telling = tally.telling.saturating_add_signed(delta);
                }
                if delta > 0 {
                    dirty.push(p);
                }
            }
        };
        if token.section != section {
            for &id in &answer.sections[section].0 {
                update(id, -1, &mut dirty);
            }
            section = token.section;
            for &id in &answer.sections[section].0 {
                update(id, 1, &mut dirty);
            }
        }
        if let Some(id) = token.term {
            update(id, 1, &mut dirty);
        }
        if let Some(id) = i.checked_sub(WINDOW).and_then(|old| answer.tokens[old].term) {
            update(id, -1, &mut dirty);
        }
        for p in dirty.drain(..) {
            let key = rank(p, tallies[p]);
            if key > best[p].0 {
                let tokens = (i + 1).saturating_sub(WINDOW)..i + 1;
                best[p] = (key, Some(Passage { tokens, section }));
            }
        }
    }
    best.into_iter().map(|((covered, _), passage)| passage.map(|p| (p, covered))).collect()
}
