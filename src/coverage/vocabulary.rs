//! The terms the points of one topic use, numbered, and what a passage shows of a point.

use rustc_hash::FxHashMap;

use super::point::PointTerms;
use super::text::Term;

/// How a point uses a term.
#[derive(Clone, Copy)]
pub(super) struct Posting {
    pub point: usize,
    pub core: bool,
    pub telling: bool,
}

/// The points' distinct terms, numbered, and for each the points that use it. A term
/// with a [modifier](super::point::KeyTerm::modifier) has an entry of its own. Every term
/// of an answer is looked up here; the keys are the points' own terms, so the fast hashing
/// is safe.
pub(super) struct Vocabulary {
    ids: FxHashMap<String, usize>,
    /// Stem → (modifier, id) for the terms that have one.
    senses: FxHashMap<String, Vec<(String, usize)>>,
    postings: Vec<Vec<Posting>>,
}

impl Vocabulary {
    pub(super) fn new(points: &[PointTerms]) -> Vocabulary {
        let mut vocabulary = Vocabulary {
            ids: FxHashMap::default(),
            senses: FxHashMap::default(),
            postings: Vec::new(),
        };
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

    /// How many ids there are: they run from 0.
    pub(super) fn len(&self) -> usize {
        self.postings.len()
    }

    /// The points that use an id, and how.
    pub(super) fn postings(&self, id: usize) -> &[Posting] {
        &self.postings[id]
    }

    /// Every stem the points use, with or without a modifier.
    pub(super) fn knows(&self, stem: &str) -> bool {
        self.ids.contains_key(stem) || self.senses.contains_key(stem)
    }

    /// The ids `terms[i]` stands for: its stem's, and those of the names it is part of.
    /// In an identifier it is part of a name only when the identifier holds the name's
    /// modifier too (`terminationGracePeriodSeconds` is a grace period, `periodSeconds`
    /// is not).
    pub(super) fn ids_of(&self, terms: &[Term], i: usize) -> Vec<usize> {
        let term = &terms[i];
        let mut ids: Vec<usize> = self.id(&term.stem).into_iter().collect();
        for (modifier, id) in self.senses.get(&term.stem).map_or(&[][..], Vec::as_slice) {
            // The terms of one identifier are next to each other.
            let same = |t: &&Term| t.identifier == term.identifier;
            let before = terms[..i].iter().rev().take_while(same);
            let after = terms[i + 1..].iter().take_while(same);
            let in_name =
                term.identifier.is_none() || before.chain(after).any(|t| t.stem == *modifier);
            if in_name {
                ids.push(*id);
            }
        }
        ids
    }
}

/// The distinct terms of one point that a passage shows.
#[derive(Clone, Copy, Default)]
pub(super) struct Shown {
    pub core: u32,
    pub extras: u32,
    pub telling: u32,
}

impl Shown {
    pub(super) fn add(&mut self, posting: Posting, delta: i32) {
        let counter = if posting.core { &mut self.core } else { &mut self.extras };
        *counter = counter.saturating_add_signed(delta);
        if posting.telling {
            self.telling = self.telling.saturating_add_signed(delta);
        }
    }
}
