//! Choosing the per-file boundary token that marker lines carry.
//!
//! The token must occur in no string of the transcript, so that no text (nor any heading or
//! attribute) can contain a line that ends or opens a block. It is derived from the creation
//! time, so a session keeps the same token from save to save and diffs stay small; when a
//! text happens to contain it, the next candidate is tried.

use std::time::UNIX_EPOCH;

use crate::message::FinishReason;
use crate::session::model::{CoverageMethod, Transcript, TurnKind};

/// Tokens are 8 base-36 digits: 40 bits.
const BITS: u32 = 40;
const DIGITS: usize = 8;

pub fn choose(t: &Transcript) -> String {
    let strings = strings(t);
    let seed = t.meta.created.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mask = (1u64 << BITS) - 1;
    let start = splitmix64(seed) & mask;
    // An odd step visits every 40-bit value before repeating, and the texts cannot contain
    // that many distinct 8-character strings, so this ends.
    let step = splitmix64(seed ^ 0x5bd1_e995) | 1;
    let mut n = start;
    loop {
        let token = base36(n);
        if !strings.iter().any(|s| s.contains(&token)) {
            return token;
        }
        n = n.wrapping_add(step) & mask;
    }
}

/// Every string the rendered file contains outside the front matter's fixed keys.
fn strings(t: &Transcript) -> Vec<&str> {
    let m = &t.meta;
    let mut all = vec![m.title.as_str(), &m.model, &m.endpoint];
    all.extend(m.topics.iter().map(String::as_str));
    all.extend(m.stack.as_deref());
    all.extend(m.profile.as_deref());
    if let Some(r) = &m.replay_of {
        all.extend([r.file.as_str(), &r.model]);
    }
    for entry in &m.coverage {
        all.push(&entry.topic);
        if let CoverageMethod::Model { judge } = &entry.method {
            all.push(judge);
        }
        all.extend(entry.note.as_deref());
        all.extend(entry.points.iter().filter_map(|p| p.quote.as_deref()));
    }
    for turn in &t.turns {
        all.push(&turn.text);
        all.extend(turn.info.finish_reason.as_ref().map(FinishReason::as_str));
        all.extend(turn.info.model.as_deref());
        if let Some(TurnKind::Topic(slug)) = &turn.info.kind {
            all.push(slug);
        }
    }
    all
}

fn base36(mut n: u64) -> String {
    let mut digits = [b'0'; DIGITS];
    for d in digits.iter_mut().rev() {
        *d = b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize];
        n /= 36;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
