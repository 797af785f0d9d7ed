//! A small English suffix stripper, in the spirit of Porter's stemmer.
//!
//! It only has to map the variants of one word to the same key ("probe", "probes",
//! "probing" → "prob"; "configure", "configuration" → "configur"), because the cover
//! points and the answer go through the same function. Keys need not be real words.

/// Shortest stem a derivational suffix may leave behind.
const MIN_STEM: usize = 3;

/// Derivational suffixes and their replacements, longest first, tried up to
/// [`MAX_ROUNDS`] times so that "gracefully" → "graceful" → "grace" → "grac".
const SUFFIXES: &[(&str, &str)] = &[
    ("ification", "if"),
    ("ization", ""),
    ("isation", ""),
    ("ational", ""),
    ("abiliti", ""),
    ("ibiliti", ""),
    ("ication", ""),
    ("ation", ""),
    ("ition", ""),
    ("icate", ""),
    ("ment", ""),
    ("ness", ""),
    ("ance", ""),
    ("ence", ""),
    ("anci", ""),
    ("enci", ""),
    ("able", ""),
    ("ible", ""),
    ("ator", ""),
    ("ifi", "if"),
    ("ful", ""),
    ("ous", ""),
    ("ive", ""),
    ("ize", ""),
    ("ise", ""),
    ("ate", ""),
    ("iti", ""),
    ("ion", ""),
    ("ent", ""),
    ("ant", ""),
    ("al", ""),
    ("er", ""),
    ("li", ""),
    ("e", ""),
];

const MAX_ROUNDS: usize = 4;

/// Words the suffixes would merge with a word of another meaning: "graceful" shutdown
/// is not a "grace" period.
const KEPT_APART: &[(&str, &str)] = &[("graceful", "graceful"), ("gracefully", "graceful")];

/// The stem of one lower-case word. Short words, words with digits and non-ASCII
/// words are returned unchanged. An owned `word` is stemmed in its own buffer.
pub(super) fn stem(word: impl Into<String>) -> String {
    let word = word.into();
    if word.len() <= MIN_STEM || !word.is_ascii() || word.bytes().any(|b| b.is_ascii_digit()) {
        return word;
    }
    if let Some((_, kept)) = KEPT_APART.iter().find(|(w, _)| *w == word) {
        return (*kept).to_string();
    }
    let mut s = word;
    strip_plural(&mut s);
    strip_inflection(&mut s);
    y_to_i(&mut s);
    for _ in 0..MAX_ROUNDS {
        // Comparing the last letters first spares most suffixes a whole comparison.
        let last = s.as_bytes().last().copied();
        let Some((suffix, replacement)) = SUFFIXES.iter().find(|(suffix, _)| {
            suffix.as_bytes().last().copied() == last
                && s.ends_with(suffix)
                && s.len() - suffix.len() >= MIN_STEM
        }) else {
            break;
        };
        s.truncate(s.len() - suffix.len());
        s.push_str(replacement);
    }
    y_to_i(&mut s);
    s
}

fn strip_plural(s: &mut String) {
    if s.ends_with("sses") || s.ends_with("ies") {
        s.truncate(s.len() - 2);
    } else if s.ends_with('s') && !(s.ends_with("ss") || s.ends_with("us") || s.ends_with("is")) {
        s.pop();
    }
}

/// "-ed" and "-ing", restoring the "e" of "validating" → "validate" and undoubling
/// the consonant of "planning" → "plan".
fn strip_inflection(s: &mut String) {
    for suffix in ["ing", "ed"] {
        if !s.ends_with(suffix) {
            continue;
        }
        let rest = &s[..s.len() - suffix.len()];
        if rest.len() < MIN_STEM || !rest.bytes().any(is_vowel) {
            return;
        }
        s.truncate(rest.len());
        if s.ends_with("at") || s.ends_with("bl") || s.ends_with("iz") || s.ends_with("is") {
            s.push('e');
        } else if ends_in_double_consonant(s) {
            s.pop();
        }
        return;
    }
}

/// "nn" of "plann", but not "ll", "ss" or "zz" ("kill", "pass", "buzz").
fn ends_in_double_consonant(s: &str) -> bool {
    match s.as_bytes() {
        [.., a, b] => a == b && !is_vowel(*b) && !matches!(b, b'l' | b's' | b'z'),
        _ => false,
    }
}

fn y_to_i(s: &mut String) {
    if s.len() > MIN_STEM && s.ends_with('y') {
        s.pop();
        s.push('i');
    }
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

#[cfg(test)]
mod tests {
    use super::stem;

    fn same(words: &[&str]) {
        let first = stem(words[0]);
        for w in words {
            assert_eq!(stem(*w), first, "{w} vs {}", words[0]);
        }
    }

    #[test]
    fn variants_of_a_word_share_a_stem() {
        same(&["probe", "probes", "probing", "probed"]);
        same(&["readiness", "ready"]);
        same(&["liveness", "live"]);
        same(&["configure", "configuration", "configured", "configuring", "configurations"]);
        same(&["validate", "validation", "validating", "validated"]);
        same(&["dependency", "dependencies", "depend", "dependent", "depends"]);
        same(&["escalate", "escalation", "escalating", "escalations"]);
        same(&["deploy", "deployment", "deploying", "deployments", "deployed"]);
        same(&["graceful", "gracefully"]);
        assert_ne!(stem("graceful"), stem("grace"), "a graceful shutdown is not a grace period");
        same(&["scale", "scaling", "scaled", "scales"]);
        same(&["plan", "planning", "planned", "plans"]);
        same(&["notify", "notification", "notifications", "notified"]);
        same(&["durable", "durability"]);
        same(&["communicate", "communication", "communicating"]);
        same(&["retry", "retries", "retrying"]);
        same(&["centralize", "centralization", "centralized"]);
        same(&["compromise", "compromised", "compromising"]);
    }

    #[test]
    fn short_and_technical_words_are_kept() {
        assert_eq!(stem("pod"), "pod");
        assert_eq!(stem("k8s"), "k8s");
        assert_eq!(stem("process"), "process");
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("string"), "string");
    }
}
