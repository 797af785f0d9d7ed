//! One pass over the answer: a window of [`WINDOW`] consecutive key terms slides along
//! it, within one section, together with the section's heading, and each point keeps
//! the passage where it was best matched.

use super::answer::{Answer, Passage};
use super::point::PointTerms;
use super::vocabulary::{Shown, Vocabulary};

/// Passage length in key terms (stop-words are not counted): about one paragraph.
pub(super) const WINDOW: usize = 40;

/// Whether a point is covered by what a passage shows of it, and how well (in half core
/// terms: a core term 2, an extra 1). Covered: every core term, or [`PointTerms::needed`]
/// core terms' worth with a telling term in the passage's own block when the point has
/// one, so that the block that says something says it about this point.
fn judge(point: &PointTerms, block: Shown, text: Shown, window: Shown) -> (bool, u32) {
    let free = window.core.saturating_sub(text.core).min(point.needed() / 2);
    let window = Shown { core: text.core + free, ..window };
    let score = 2 * window.core + window.extras;
    // All core terms, or all but one of four or more.
    let n = point.core.len();
    let all_core =
        n > 0 && (window.core as usize == n || (n >= 4 && window.core as usize + 1 >= n));
    let telling = block.telling > 0 || !point.needs_telling();
    (all_core || (score >= 2 * point.needed() && telling), score)
}

/// Where a term id is present as the window slides: occurrences in the window and in
/// its last block, and whether the section's heading or the part's title has it.
#[derive(Clone, Copy, Default)]
struct Presence {
    window: u32,
    block: u32,
    heading: bool,
    title: bool,
}

impl Presence {
    /// Present in the passage: the window, the heading, or (a topic word) the title.
    fn in_window(self) -> bool {
        self.window > 0 || self.heading || self.title
    }

    /// Present in the window or the heading, the title aside.
    fn in_text(self) -> bool {
        self.window > 0 || self.heading
    }

    /// Present in the block being read or its heading.
    fn in_block(self) -> bool {
        self.block > 0 || self.heading
    }
}

/// The tallies of what the window and its block show of each point, kept up to date as
/// term ids come and go.
struct Tallies<'a> {
    vocabulary: &'a Vocabulary,
    presence: Vec<Presence>,
    window: Vec<Shown>,
    /// What the window and heading show, the title aside.
    text: Vec<Shown>,
    block: Vec<Shown>,
}

impl Tallies<'_> {
    /// Changes the presence of `id` and, where it flips, the points' tallies.
    fn change(&mut self, id: usize, change: impl FnOnce(&mut Presence)) {
        let before = self.presence[id];
        change(&mut self.presence[id]);
        let after = self.presence[id];
        for (was, is, tallies) in [
            (before.in_window(), after.in_window(), &mut self.window),
            (before.in_text(), after.in_text(), &mut self.text),
            (before.in_block(), after.in_block(), &mut self.block),
        ] {
            if was != is {
                for &posting in self.vocabulary.postings(id) {
                    tallies[posting.point].add(posting, if is { 1 } else { -1 });
                }
            }
        }
    }
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
) -> Vec<Option<Best>> {
    let mut t = Tallies {
        vocabulary,
        presence: vec![Presence::default(); vocabulary.len()],
        window: vec![Shown::default(); points.len()],
        text: vec![Shown::default(); points.len()],
        block: vec![Shown::default(); points.len()],
    };
    let mut best: Vec<Option<Best>> = (0..points.len()).map(|_| None).collect();
    let mut dirty = Vec::new();
    let (mut section, mut part, mut current_block, mut first) = (None, None, usize::MAX, 0);
    for (i, token) in answer.tokens.iter().enumerate() {
        let here = &answer.sections[token.section];
        // A new scope always comes with a new block: a heading or a part ends a block.
        if token.block != current_block {
            for old in answer.tokens[first..i].iter().filter(|t| t.block == current_block) {
                for &id in &old.ids {
                    t.change(id, |p| p.block -= 1);
                }
            }
            if section != Some(token.section) || here.line.is_none() {
                for old in &answer.tokens[first..i] {
                    for &id in &old.ids {
                        t.change(id, |p| p.window -= 1);
                    }
                }
                first = i;
            }
            current_block = token.block;
        }
        if part != Some(here.part) {
            for &id in part.map_or(&[][..], |p| &answer.titles[p]) {
                t.change(id, |p| p.title = false);
            }
            part = Some(here.part);
            for &id in &answer.titles[here.part] {
                t.change(id, |p| p.title = true);
            }
        }
        if section != Some(token.section) {
            for &id in section.map_or(&[][..], |s| &answer.sections[s].heading) {
                t.change(id, |p| p.heading = false);
            }
            section = Some(token.section);
            for &id in &here.heading {
                t.change(id, |p| p.heading = true);
            }
        }
        // Each block is read with its heading: the heading's points are judged on it too.
        if i == 0 || answer.tokens[i - 1].block != token.block {
            for &id in &here.heading {
                dirty.extend(vocabulary.postings(id).iter().map(|p| p.point));
            }
        }
        for &id in &token.ids {
            t.change(id, |p| {
                p.window += 1;
                p.block += 1;
            });
            dirty.extend(vocabulary.postings(id).iter().map(|p| p.point));
        }
        if i >= first + WINDOW {
            let old = &answer.tokens[first];
            let in_block = old.block == current_block;
            for &id in &old.ids {
                t.change(id, |p| {
                    p.window -= 1;
                    p.block -= u32::from(in_block);
                });
            }
            first += 1;
        }
        if dirty.is_empty() {
            continue;
        }
        dirty.clear();
        let judged: Vec<(bool, u32)> = (0..points.len())
            .map(|p| judge(&points[p], t.block[p], t.text[p], t.window[p]))
            .collect();
        let shares: Vec<(u64, u64)> =
            (0..points.len()).map(|p| share(&points[p], t.window[p])).collect();
        let strongest = (0..points.len())
            .filter(|&p| judged[p].0)
            .max_by(|&a, &b| (shares[a].0 * shares[b].1).cmp(&(shares[b].0 * shares[a].1)));
        for (p, &(covered, score)) in judged.iter().enumerate() {
            if score == 0 {
                continue;
            }
            let rival = strongest.filter(|&m| {
                let ((sp, np), (sm, nm)) = (shares[p], shares[m]);
                m != p && RIVAL_DEN * sp * nm < RIVAL_NUM * sm * np
            });
            let credited = covered && rival.is_none();
            let better = best[p].as_ref().is_none_or(|b| (credited, score) > (b.covered, b.score));
            if better {
                let passage = Passage { tokens: first..i + 1, section: token.section };
                let about = if covered { rival } else { None };
                best[p] = Some(Best { passage, covered: credited, score, about });
            }
        }
    }
    best
}

/// A point's best passage.
pub(super) struct Best {
    pub passage: Passage,
    pub covered: bool,
    score: u32,
    /// The point the passage is about when it shows enough of this one but is clearly
    /// about that one.
    pub about: Option<usize>,
}

/// How much of what is its own a passage shows of a point, as a fraction: its telling
/// terms shown of all of them, or all its terms when none is telling.
fn share(point: &PointTerms, shown: Shown) -> (u64, u64) {
    let telling = point.telling_count();
    if telling > 0 {
        return (u64::from(shown.telling), u64::from(telling));
    }
    let all = point.core.len() + point.extras.len();
    (u64::from(shown.core + shown.extras), u64::try_from(all.max(1)).unwrap_or(u64::MAX))
}

/// A covered point is not credited by a passage that is clearly about another point: one
/// whose [share](share) the passage shows is more than RIVAL_DEN / RIVAL_NUM times the
/// point's.
const RIVAL_NUM: u64 = 4;
const RIVAL_DEN: u64 = 5;
