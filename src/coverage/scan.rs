//! One pass over the answer: a window of [`WINDOW`] consecutive key terms slides along
//! it, together with the heading of the section it is in, and each point keeps the
//! window where it was best matched.
//!
//! Only blocks that say something take part: a paragraph, list item, table row or code
//! block counts when it has at least [`SUBSTANCE_MIN`] words of its own, words that are
//! not the topic's point terms, generic domain words or filler ("Monitor your
//! connections." has none). A heading gives context to the blocks under it and counts
//! for nothing without them.

use std::collections::HashMap;
use std::ops::Range;

use super::lexicon::Lexicon;
use super::point::PointTerms;
use super::structure::{Line, Shape};
use super::text::{Term, terms};

/// Passage length in key terms (stop-words are not counted): about one paragraph.
pub(super) const WINDOW: usize = 40;

/// Fewest words of its own that make a block say something.
pub(super) const SUBSTANCE_MIN: usize = 2;

/// A key term of the answer: the ids it stands for (none for other words), where it
/// is, and which block and section it belongs to.
struct Token {
    ids: Vec<usize>,
    start: usize,
    line: usize,
    section: usize,
    block: usize,
}

/// The answer as tokens of the blocks that say something, its lines and its sections.
/// Each part of the answer starts a section without a heading.
pub(super) struct Answer {
    text: String,
    tokens: Vec<Token>,
    lines: Vec<Range<usize>>,
    /// Per section: the term ids of its heading and the heading's line.
    sections: Vec<(Vec<usize>, Option<usize>)>,
}

/// How a point uses a term.
#[derive(Clone, Copy)]
struct Posting {
    point: usize,
    core: bool,
    telling: bool,
}

/// The points' distinct terms, numbered, and for each the points that use it. A term
/// with a [modifier](super::point::KeyTerm::modifier) has an entry of its own.
pub(super) struct Vocabulary {
    ids: HashMap<String, usize>,
    /// Stem → (modifier, id) for the terms that have one.
    senses: HashMap<String, Vec<(String, usize)>>,
    postings: Vec<Vec<Posting>>,
}

impl Vocabulary {
    pub(super) fn new(points: &[PointTerms]) -> Vocabulary {
        let mut vocabulary =
            Vocabulary { ids: HashMap::new(), senses: HashMap::new(), postings: Vec::new() };
        for (p, point) in points.iter().enumerate() {
            let core = point.core.iter().map(|t| (t, true));
            for (term, core) in core.chain(point.extras.iter().map(|t| (t, false))) {
                let next = vocabulary.postings.len();
                let id = *vocabulary.ids.entry(term.key()).or_insert(next);
                if id == next {
                    vocabulary.postings.push(Vec::new());
                    if let Some(modifier) = &term.modifier {
                        let senses = vocabulary.senses.entry(term.stem.clone()).or_default();
                        senses.push((modifier.clone(), id));
                    }
                }
                vocabulary.postings[id].push(Posting { point: p, core, telling: term.telling });
            }
        }
        vocabulary
    }

    /// The id of a point's term (see [`super::point::KeyTerm::key`]).
    pub(super) fn id(&self, key: &str) -> Option<usize> {
        self.ids.get(key).copied()
    }

    /// Every stem the points use, with or without a modifier.
    fn knows(&self, stem: &str) -> bool {
        self.ids.contains_key(stem) || self.senses.contains_key(stem)
    }

    /// The ids `terms[i]` stands for: its stem's, and those of the names it is part of.
    /// In an identifier it is part of a name only when the identifier holds the name's
    /// modifier too (`terminationGracePeriodSeconds` is a grace period, `periodSeconds`
    /// is not).
    fn ids_of(&self, terms: &[Term], i: usize) -> Vec<usize> {
        let term = &terms[i];
        let mut ids: Vec<usize> = self.id(&term.stem).into_iter().collect();
        for (modifier, id) in self.senses.get(&term.stem).map_or(&[][..], Vec::as_slice) {
            let in_name = term.identifier.is_none_or(|range| {
                terms.iter().any(|t| t.identifier == Some(range) && t.stem == *modifier)
            });
            if in_name {
                ids.push(*id);
            }
        }
        ids
    }
}

impl Answer {
    /// Reads the answer's parts and keeps the tokens of the blocks that say something
    /// about the `points` they name (see the module's documentation).
    pub(super) fn new(parts: &[&str], points: &[PointTerms], vocabulary: &Vocabulary) -> Answer {
        let lexicon = Lexicon::get();
        let mut answer = Answer {
            text: String::new(),
            tokens: Vec::new(),
            lines: Vec::new(),
            sections: Vec::new(),
        };
        let mut blocks: Vec<Block> = Vec::new();
        let mut found = Vec::new();
        for part in parts {
            if !answer.text.is_empty() {
                answer.text.push_str("\n\n");
            }
            let mut start = answer.text.len();
            answer.text.push_str(part);
            answer.sections.push((Vec::new(), None));
            // The section a lead-in interrupted: restored after the lead-in's list.
            let mut lead_parent: Option<usize> = None;
            let mut shape = Shape::default();
            for line in part.split_inclusive('\n') {
                let range = start..start + line.len();
                start = range.end;
                found.clear();
                terms(line, range.start, &mut found);
                let line_no = answer.lines.len();
                answer.lines.push(range);
                let ids = (0..found.len()).map(|i| vocabulary.ids_of(&found, i));
                let kind = shape.line(line);
                match kind {
                    Line::Outside => continue,
                    Line::Heading => {
                        let mut ids: Vec<usize> = ids.flatten().collect();
                        ids.sort_unstable();
                        ids.dedup();
                        answer.sections.push((ids, Some(line_no)));
                        lead_parent = None;
                        continue;
                    }
                    Line::Item => answer.lead_in(&mut blocks, &mut lead_parent),
                    Line::Opens => {
                        if let Some(parent) = lead_parent.take() {
                            let restored = answer.sections[parent].clone();
                            answer.sections.push(restored);
                        }
                    }
                    Line::Continues => {}
                }
                let section = answer.sections.len() - 1;
                if kind != Line::Continues {
                    let at = answer.tokens.len();
                    let item = kind == Line::Item;
                    blocks.push(Block {
                        tokens: at..at,
                        section,
                        own: 0,
                        item,
                        colon: false,
                        lead: false,
                    });
                }
                let number = blocks.len().saturating_sub(1);
                let Some(block) = blocks.last_mut() else { continue };
                block.colon = line.trim_end().ends_with(':');
                for (term, ids) in found.iter().zip(ids) {
                    let own = !vocabulary.knows(&term.stem)
                        && !lexicon.is_generic(&term.stem)
                        && !lexicon.is_filler(&term.stem);
                    block.own += usize::from(own);
                    let token =
                        Token { ids, start: term.start, line: line_no, section, block: number };
                    answer.tokens.push(token);
                }
                block.tokens.end = answer.tokens.len();
            }
        }
        let mut keep = vec![false; answer.tokens.len()];
        for block in blocks.iter().filter(|b| !b.lead) {
            let named = answer.points_named(block, points, vocabulary);
            if block.own >= SUBSTANCE_MIN * named.max(1) {
                keep[block.tokens.clone()].fill(true);
            }
        }
        let mut keep = keep.into_iter();
        answer.tokens.retain(|_| keep.next().unwrap_or(false));
        answer
    }

    /// A list starts: when the block before it is a paragraph of its section that ends in
    /// a colon ("Use a preStop hook when:"), that paragraph becomes a heading for the list.
    fn lead_in(&mut self, blocks: &mut [Block], lead_parent: &mut Option<usize>) {
        let section = self.sections.len() - 1;
        let Some(block) = blocks.last_mut().filter(|b| !b.item && b.colon && b.section == section)
        else {
            return;
        };
        let (mut ids, _) = self.sections[section].clone();
        ids.extend(self.tokens[block.tokens.clone()].iter().flat_map(|t| t.ids.iter().copied()));
        ids.sort_unstable();
        ids.dedup();
        let line = self.tokens[block.tokens.clone()].last().map(|t| t.line);
        block.lead = true;
        lead_parent.get_or_insert(section);
        self.sections.push((ids, line.or(self.sections[section].1)));
    }

    /// How many points a block names with its heading, on its own: shows every core term
    /// of.
    fn points_named(&self, block: &Block, points: &[PointTerms], vocabulary: &Vocabulary) -> usize {
        let mut ids: Vec<usize> = self.tokens[block.tokens.clone()]
            .iter()
            .flat_map(|t| t.ids.iter().copied())
            .chain(self.sections[block.section].0.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut shown = vec![Shown::default(); points.len()];
        for id in ids {
            for posting in &vocabulary.postings[id] {
                shown[posting.point].add(*posting, 1);
            }
        }
        // One generic word ("operations") does not name a point.
        let names = |(point, shown): &(&PointTerms, &Shown)| {
            let one_generic = point.core.len() == 1 && !point.core[0].telling;
            !point.core.is_empty() && shown.core as usize == point.core.len() && !one_generic
        };
        points.iter().zip(&shown).filter(names).count()
    }

    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// Term ids present in a passage: its window of tokens plus its section's heading.
    pub(super) fn passage_terms(&self, passage: &Passage) -> Vec<usize> {
        let window = self.tokens[passage.tokens.clone()].iter().flat_map(|t| t.ids.iter().copied());
        let mut ids: Vec<usize> =
            window.chain(self.sections[passage.section].0.iter().copied()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The line of a passage that shows the most of `wanted` (the earliest on a tie),
    /// from its first such term; its heading when only the heading shows them.
    pub(super) fn evidence(&self, passage: &Passage, wanted: &[usize]) -> Option<Range<usize>> {
        let mut best: Option<(usize, usize, usize)> = None; // (distinct terms, line, first byte)
        let mut tokens = self.tokens[passage.tokens.clone()].iter().peekable();
        while let Some(first) = tokens.peek().map(|t| t.line) {
            let mut seen: Vec<usize> = Vec::new();
            let mut from = None;
            while let Some(token) = tokens.next_if(|t| t.line == first) {
                for &id in token.ids.iter().filter(|id| wanted.contains(id)) {
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

/// A paragraph, list item, table row or code block.
struct Block {
    tokens: Range<usize>,
    section: usize,
    /// Words of its own: not the points' terms, generic words or filler.
    own: usize,
    item: bool,
    /// Its last line ends in a colon.
    colon: bool,
    /// Turned into the heading of the list after it.
    lead: bool,
}

/// Where a point was best matched: token indices of the window, and its section.
#[derive(Clone, Debug)]
pub(super) struct Passage {
    pub tokens: Range<usize>,
    pub section: usize,
}

/// The distinct terms of one point that a passage shows.
#[derive(Clone, Copy, Default)]
struct Shown {
    core: u32,
    extras: u32,
    telling: u32,
}

impl Shown {
    fn add(&mut self, posting: Posting, delta: i32) {
        let counter = if posting.core { &mut self.core } else { &mut self.extras };
        *counter = counter.saturating_add_signed(delta);
        if posting.telling {
            self.telling = self.telling.saturating_add_signed(delta);
        }
    }
}

/// Whether a point is covered by what a passage shows of it, and how well (in half core
/// terms: a core term 2, an extra 1). Covered: every core term, or [`PointTerms::needed`]
/// core terms' worth with a telling term in the passage's own block when the point has
/// one, so that the block that says something says it about this point.
fn judge(point: &PointTerms, block: Shown, window: Shown) -> (bool, u32) {
    let score = 2 * window.core + window.extras;
    let all_core = !point.core.is_empty() && window.core as usize == point.core.len();
    let telling = block.telling > 0 || !point.needs_telling();
    (all_core || (score >= 2 * point.needed() && telling), score)
}

/// Per point: the passage with the best match (covered first, then the best score;
/// the earliest on a tie), and whether it covers the point. `None` when no term of
/// the point occurs in a block that says something.
///
/// A passage is a window of tokens within one section that has a heading (within one
/// block where there is none), and the block of its last token. Points are judged
/// when one of their terms enters the window, and on each block under a heading that
/// has theirs: a heading without a block that says something never covers a point.
pub(super) fn best_passages(
    points: &[PointTerms],
    vocabulary: &Vocabulary,
    answer: &Answer,
) -> Vec<Option<(Passage, bool)>> {
    let ids = vocabulary.postings.len();
    let (mut in_window, mut in_block, mut in_heading) =
        (vec![0u32; ids], vec![0u32; ids], vec![false; ids]);
    let mut window = vec![Shown::default(); points.len()];
    let mut block = vec![Shown::default(); points.len()];
    let mut best: Vec<((bool, u32), Option<Passage>)> = vec![((false, 0), None); points.len()];
    let mut dirty = Vec::new();
    let (mut section, mut current_block, mut first) = (usize::MAX, usize::MAX, 0);
    // Applies a change of presence of `id` to the tallies it feeds.
    let toggle = |id: usize, before: bool, after: bool, tallies: &mut [Shown]| {
        if before != after {
            for &posting in &vocabulary.postings[id] {
                tallies[posting.point].add(posting, if after { 1 } else { -1 });
            }
        }
    };
    for (i, token) in answer.tokens.iter().enumerate() {
        // A new scope always comes with a new block: a heading or a part ends a block.
        if token.block != current_block {
            for old in answer.tokens[first..i].iter().filter(|t| t.block == current_block) {
                for &id in &old.ids {
                    in_block[id] -= 1;
                    toggle(id, true, in_block[id] > 0 || in_heading[id], &mut block);
                }
            }
            let headed = answer.sections[token.section].1.is_some();
            if token.section != section || !headed {
                for old in &answer.tokens[first..i] {
                    for &id in &old.ids {
                        in_window[id] -= 1;
                        toggle(id, true, in_window[id] > 0 || in_heading[id], &mut window);
                    }
                }
                first = i;
            }
            current_block = token.block;
        }
        if token.section != section {
            let old: &[usize] = answer.sections.get(section).map_or(&[], |(ids, _)| ids);
            for &id in old {
                in_heading[id] = false;
                toggle(id, true, in_window[id] > 0, &mut window);
                toggle(id, true, in_block[id] > 0, &mut block);
            }
            section = token.section;
            for &id in &answer.sections[section].0 {
                in_heading[id] = true;
                toggle(id, in_window[id] > 0, true, &mut window);
                toggle(id, in_block[id] > 0, true, &mut block);
            }
        }
        // Each block is read with its heading: the heading's points are judged on it too.
        if i == 0 || answer.tokens[i - 1].block != token.block {
            for &id in &answer.sections[section].0 {
                dirty.extend(vocabulary.postings[id].iter().map(|p| p.point));
            }
        }
        for &id in &token.ids {
            in_window[id] += 1;
            toggle(id, in_window[id] > 1 || in_heading[id], true, &mut window);
            in_block[id] += 1;
            toggle(id, in_block[id] > 1 || in_heading[id], true, &mut block);
            dirty.extend(vocabulary.postings[id].iter().map(|p| p.point));
        }
        if i >= first + WINDOW {
            let old = &answer.tokens[first];
            for &id in &old.ids {
                in_window[id] -= 1;
                toggle(id, true, in_window[id] > 0 || in_heading[id], &mut window);
                if old.block == current_block {
                    in_block[id] -= 1;
                    toggle(id, true, in_block[id] > 0 || in_heading[id], &mut block);
                }
            }
            first += 1;
        }
        for p in dirty.drain(..) {
            let key = judge(&points[p], block[p], window[p]);
            if key > best[p].0 {
                best[p] = (key, Some(Passage { tokens: first..i + 1, section }));
            }
        }
    }
    best.into_iter().map(|((covered, _), passage)| passage.map(|p| (p, covered))).collect()
}
