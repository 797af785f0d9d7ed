//! The answer as the program reads it: its markdown shape (headings, and the blocks
//! under them), and the key terms of the blocks that say something.
//!
//! A paragraph, list item, table row or code block counts when it has at least
//! [`SUBSTANCE_MIN`] words of its own for each point it names: words that are not the
//! topic's point terms, generic domain words or filler ("Monitor your connections." has
//! none; neither has a table of contents). A heading gives context to the blocks under
//! it and counts for nothing without them; so does a paragraph ending in a colon for the
//! list after it.

use std::ops::Range;

use super::lexicon::Lexicon;
use super::point::PointTerms;
use super::structure::{Line, Shape};
use super::text::terms;
use super::vocabulary::{Shown, Vocabulary};

/// Fewest words of its own, per point it names, that make a block say something.
pub(super) const SUBSTANCE_MIN: usize = 2;

/// A key term of the answer: the ids it stands for (none for other words), where it
/// is, and which block and section it belongs to.
pub(super) struct Token {
    pub ids: Vec<usize>,
    pub start: usize,
    pub line: usize,
    pub section: usize,
    pub block: usize,
}

/// The answer as tokens of the blocks that say something, its lines and its sections.
/// Each part of the answer starts a section without a heading.
pub(super) struct Answer {
    text: String,
    pub tokens: Vec<Token>,
    lines: Vec<Range<usize>>,
    pub sections: Vec<Section>,
    /// Per part: the ids of its title (its first heading, if nothing comes before it)
    /// that name the topic rather than a point: the whole part is about them.
    pub titles: Vec<Vec<usize>>,
}

/// A heading and what follows it, up to the next heading; section 0 of each part has no
/// heading.
#[derive(Clone)]
pub(super) struct Section {
    /// The term ids of the heading.
    pub heading: Vec<usize>,
    /// The heading's line.
    pub line: Option<usize>,
    /// Which part of the answer it is in.
    pub part: usize,
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
            titles: Vec::new(),
        };
        let mut blocks: Vec<Block> = Vec::new();
        let mut found = Vec::new();
        for part in parts {
            if !answer.text.is_empty() {
                answer.text.push_str("\n\n");
            }
            let mut start = answer.text.len();
            answer.text.push_str(part);
            let part_no = answer.titles.len();
            answer.titles.push(Vec::new());
            answer.sections.push(Section { heading: Vec::new(), line: None, part: part_no });
            // The section a lead-in interrupted: restored after the lead-in's list.
            let mut lead_parent: Option<usize> = None;
            let (mut headed, mut first_block) = (false, None);
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
                        if first_block.is_none() && !headed {
                            answer.titles[part_no].extend(ids.iter().copied());
                        }
                        headed = true;
                        answer.sections.push(Section {
                            heading: ids,
                            line: Some(line_no),
                            part: part_no,
                        });
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
                    first_block.get_or_insert(blocks.len());
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
                    // An identifier is one word: its parts are not words of their own.
                    let own = (term.identifier.is_none() || term.whole)
                        && !vocabulary.knows(&term.stem)
                        && !lexicon.is_generic(&term.stem)
                        && !lexicon.is_filler(&term.stem);
                    block.own += usize::from(own);
                    let token =
                        Token { ids, start: term.start, line: line_no, section, block: number };
                    answer.tokens.push(token);
                }
                block.tokens.end = answer.tokens.len();
            }
            let title = &mut answer.titles[part_no];
            title.retain(|&id| vocabulary.postings(id).iter().all(|p| !p.telling));
            title.sort_unstable();
            title.dedup();
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
        let mut ids = self.sections[section].heading.clone();
        ids.extend(self.tokens[block.tokens.clone()].iter().flat_map(|t| t.ids.iter().copied()));
        ids.sort_unstable();
        ids.dedup();
        let line = self.tokens[block.tokens.clone()].last().map(|t| t.line);
        block.lead = true;
        lead_parent.get_or_insert(section);
        let part = self.sections[section].part;
        self.sections.push(Section {
            heading: ids,
            line: line.or(self.sections[section].line),
            part,
        });
    }

    /// How many points a block names with its heading, on its own: shows every core term
    /// of.
    fn points_named(&self, block: &Block, points: &[PointTerms], vocabulary: &Vocabulary) -> usize {
        let mut ids: Vec<usize> = self.tokens[block.tokens.clone()]
            .iter()
            .flat_map(|t| t.ids.iter().copied())
            .chain(self.sections[block.section].heading.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut shown = vec![Shown::default(); points.len()];
        for id in ids {
            for posting in vocabulary.postings(id) {
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

    /// Term ids present in a passage: its window of tokens, its section's heading and the
    /// topic words of its part's title.
    pub(super) fn passage_terms(&self, passage: &Passage) -> Vec<usize> {
        let window = self.tokens[passage.tokens.clone()].iter().flat_map(|t| t.ids.iter().copied());
        let section = &self.sections[passage.section];
        let context = section.heading.iter().chain(&self.titles[section.part]).copied();
        let mut ids: Vec<usize> = window.chain(context).collect();
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
            None => self.sections[passage.section].line.map(|line| self.lines[line].clone()),
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
