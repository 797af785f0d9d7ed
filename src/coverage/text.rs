//! From text to terms: words (split at punctuation and camelCase, lower-cased,
//! stemmed), then equivalent wordings rewritten and stop-words dropped.

use super::lexicon::Lexicon;
use super::stem::stem;

/// One word of a text, with its byte range.
pub(super) struct Word {
    pub stem: String,
    pub start: usize,
    pub end: usize,
    /// A stop-word, a number or a single letter.
    pub stop: bool,
    /// Part of an identifier (`periodSeconds`, `max_open_conns`): the identifier's byte
    /// range, shared by all its parts. `None` for a plain word.
    pub identifier: Option<(usize, usize)>,
}

/// A key term found in a text: a canonical stem and the byte range it was read from.
#[derive(Debug)]
pub(super) struct Term {
    pub stem: String,
    pub start: usize,
    pub end: usize,
    /// See [`Word::identifier`].
    pub identifier: Option<(usize, usize)>,
    /// The whole identifier as one term (`PgBouncer` → pgbouncer), which follows its parts.
    pub whole: bool,
}

/// The words of `text`. Runs of letters and digits are words; `initialDelaySeconds`,
/// `PreStop` and `ProxySQL` are split where the case changes, `IDs` and `PVCs` are not,
/// and `max_open_conns` at its underscores. The parts of such an identifier know it.
pub(super) fn words(text: &str, is_stop: &dyn Fn(&str) -> bool) -> Vec<Word> {
    let mut out = Vec::new();
    let mut run_start = None;
    let mut parts = Vec::new();
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let joins = c.is_alphanumeric() || (c == '_' && run_start.is_some());
        match (joins, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                run_start = None;
                let end = text[start..i].trim_end_matches('_').len() + start;
                parts.clear();
                let mut at = start;
                for piece in text[start..end].split('_') {
                    if !piece.is_empty() {
                        split_case(text, at, at + piece.len(), &mut |s, e| parts.push((s, e)));
                    }
                    at += piece.len() + 1;
                }
                let identifier = (parts.len() > 1).then_some((start, end));
                for &(s, e) in &parts {
                    out.push(word(&text[s..e], s, e, identifier, is_stop));
                }
            }
            _ => {}
        }
    }
    out
}

fn word(
    surface: &str,
    start: usize,
    end: usize,
    identifier: Option<(usize, usize)>,
    is_stop: &dyn Fn(&str) -> bool,
) -> Word {
    let lower = surface.to_lowercase();
    let stop =
        lower.chars().count() < 2 || lower.bytes().all(|b| b.is_ascii_digit()) || is_stop(&lower);
    Word { stem: stem(lower), start, end, stop, identifier }
}

/// Calls `emit` with the byte ranges of the camelCase parts of `text[start..end]`.
fn split_case(text: &str, start: usize, end: usize, emit: &mut dyn FnMut(usize, usize)) {
    // Most words have no capital after their first letter: nothing to split.
    if text.as_bytes()[start..end].iter().skip(1).all(u8::is_ascii_lowercase) {
        emit(start, end);
        return;
    }
    let chars: Vec<(usize, char)> =
        text[start..end].char_indices().map(|(i, c)| (start + i, c)).collect();
    let mut part_start = start;
    for k in 1..chars.len() {
        let (i, c) = chars[k];
        let prev = chars[k - 1].1;
        let next = chars.get(k + 1).map(|&(_, n)| n);
        let lower_to_upper = prev.is_lowercase() && c.is_uppercase();
        // "SQLServer": split before the "S" of "Server"; but not "PVCs" (a plural).
        let acronym_end = prev.is_uppercase()
            && c.is_uppercase()
            && next.is_some_and(char::is_lowercase)
            && !(next == Some('s') && k + 2 == chars.len());
        // No one-letter parts: "QoS" and "eBPF" stay whole.
        let one_letter = i - part_start == 1 || k + 1 == chars.len();
        if (lower_to_upper || acronym_end) && !one_letter {
            emit(part_start, i);
            part_start = i;
        }
    }
    emit(part_start, end);
}

/// The key terms of `text`: equivalent wordings rewritten to their canonical form
/// (longest match first), then stop-words dropped; each identifier is also one term of
/// its own, after its parts. `offset` is added to byte ranges.
pub(super) fn terms(text: &str, offset: usize, out: &mut Vec<Term>) {
    let lexicon = Lexicon::get();
    let words = words(text, &|w| lexicon.is_stop(w));
    let mut i = 0;
    while i < words.len() {
        if let Some((start, end)) = words[i].identifier
            && words.get(i.wrapping_sub(1)).is_none_or(|w| w.identifier != words[i].identifier)
        {
            let last =
                words[i..].iter().take_while(|w| w.identifier == words[i].identifier).count();
            terms_of_words(&words[i..i + last], offset, out);
            let whole: String = text[start..end].chars().filter(|c| *c != '_').collect();
            let whole = stem(whole.to_lowercase());
            let identifier = Some((start + offset, end + offset));
            let rewrite = lexicon.equivalents(&whole).iter().find(|(from, _)| from.len() == 1);
            let stems = rewrite.map_or_else(|| vec![whole.clone()], |(_, to)| to.clone());
            for stem in stems {
                out.push(Term {
                    stem,
                    start: start + offset,
                    end: end + offset,
                    identifier,
                    whole: true,
                });
            }
            i += last;
            continue;
        }
        let plain = words[i..].iter().take_while(|w| w.identifier.is_none()).count();
        terms_of_words(&words[i..i + plain], offset, out);
        i += plain;
    }
}

/// [`terms`] of a run of words.
fn terms_of_words(words: &[Word], offset: usize, out: &mut Vec<Term>) {
    let lexicon = Lexicon::get();
    let mut i = 0;
    while i < words.len() {
        let rewrite = lexicon.equivalents(&words[i].stem).iter().find(|(from, _)| {
            words.len() - i >= from.len() && from.iter().zip(&words[i..]).all(|(f, w)| *f == w.stem)
        });
        let shift = |range: Option<(usize, usize)>| range.map(|(s, e)| (s + offset, e + offset));
        if let Some((from, to)) = rewrite {
            let (start, end) = (words[i].start, words[i + from.len() - 1].end);
            let identifier = shift(words[i].identifier);
            out.extend(to.iter().map(|stem| Term {
                stem: stem.clone(),
                start: start + offset,
                end: end + offset,
                identifier,
                whole: false,
            }));
            i += from.len();
        } else {
            if !words[i].stop {
                let w = &words[i];
                out.push(Term {
                    stem: w.stem.clone(),
                    start: w.start + offset,
                    end: w.end + offset,
                    identifier: shift(w.identifier),
                    whole: false,
                });
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        terms(text, 0, &mut out);
        out.into_iter().map(|t| t.stem).collect()
    }

    #[test]
    fn camel_case_is_split_but_plural_acronyms_are_not() {
        let parts = |t: &str| {
            words(t, &|_| false)
                .into_iter()
                .map(|w| t[w.start..w.end].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(parts("initialDelaySeconds"), ["initial", "Delay", "Seconds"]);
        assert_eq!(parts("ProxySQL PgBouncer"), ["Proxy", "SQL", "Pg", "Bouncer"]);
        assert_eq!(parts("PVCs and IDs"), ["PVCs", "and", "IDs"]);
        assert_eq!(parts("QoS eBPF"), ["QoS", "eBPF"]);
        assert_eq!(parts("SQLServer I/O"), ["SQL", "Server", "I", "O"]);
        assert_eq!(parts("max_open_conns _x_"), ["max", "open", "conns", "x"]);
    }

    #[test]
    fn the_parts_of_an_identifier_know_it() {
        let text = "periodSeconds: 5, pool_size and a plain word";
        let ranges: Vec<Option<&str>> = words(text, &|_| false)
            .iter()
            .map(|w| w.identifier.map(|(s, e)| &text[s..e]))
            .collect();
        let (period, pool) = (Some("periodSeconds"), Some("pool_size"));
        assert_eq!(ranges, [period, period, None, pool, pool, None, None, None, None]);
    }

    #[test]
    fn equivalents_are_rewritten_and_stop_words_dropped() {
        assert_eq!(stems("readiness checks"), stems("readiness probes"));
        assert_eq!(stems("the HPA"), stems("a Horizontal Pod Autoscaler"));
        assert_eq!(stems("post-mortem"), stems("postmortems"));
        assert_eq!(stems("k8s db config"), ["kubernet", "databas", "configur"]);
        assert!(stems("how to use the approaches of it").is_empty());
    }

    #[test]
    fn byte_ranges_point_into_the_text() {
        let text = "Use **PgBouncer** to pool";
        let mut out = Vec::new();
        terms(text, 10, &mut out);
        let surfaces: Vec<&str> = out.iter().map(|t| &text[t.start - 10..t.end - 10]).collect();
        assert_eq!(surfaces, ["Pg", "Bouncer", "PgBouncer", "pool"]);
    }
}
