//! Whether a model judge's quote is in the answers it graded.
//!
//! A quote counts as found when one answer contains it after both are put in the same form:
//! markdown emphasis, code, table and heading marks (`*` `` ` `` `_` `|` `#`) dropped, every
//! run of whitespace one space, letters lower-cased; the quote's own surrounding quotation
//! marks, ellipses and full stops are taken off first. So a quote that drops the
//! answer's bold or joins a table row's cells is found, and one the answer does not say is not.

/// Shorter quotes (in characters, in that form) say too little to check.
pub const MIN_QUOTE_CHARS: usize = 8;

/// True when `quote` is in one of `answers` (see the module doc).
pub fn quote_found<S: AsRef<str>>(answers: &[S], quote: &str) -> bool {
    let quote = normal(trim_quote(quote));
    quote.chars().count() >= MIN_QUOTE_CHARS
        && answers.iter().any(|answer| normal(answer.as_ref()).contains(&quote))
}

/// `quote` without surrounding quotation marks, ellipses, full stops and whitespace.
fn trim_quote(quote: &str) -> &str {
    quote.trim_matches(|c: char| c.is_whitespace() || "\"'“”‘’….".contains(c))
}

/// The form quotes and answers are compared in.
fn normal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if matches!(c, '*' | '`' | '_' | '|' | '#') {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "## Probes\n\n**Liveness** restarts a container   that is\nstuck; \
                          keep it `cheap`.\n\n| probe | on failure |\n| --- | --- |\n| \
                          readiness | removed from the Service endpoints |\n";

    #[test]
    fn quotes_are_found_whatever_their_markdown_and_line_breaks() {
        let found = |q: &str| quote_found(&[ANSWER], q);
        assert!(found("Liveness restarts a container that is stuck"));
        assert!(found("**Liveness** restarts a container that is stuck; keep it `cheap`."));
        assert!(found("\u{201c}liveness restarts a container\u{201d}"));
        assert!(found("...restarts a container that is stuck…"));
        assert!(found("readiness | removed from the Service endpoints"));
        assert!(found("readiness removed from the Service endpoints"));
    }

    #[test]
    fn made_up_or_trivial_quotes_are_not() {
        let found = |q: &str| quote_found(&[ANSWER], q);
        assert!(!found("Liveness restarts a pod that is stuck"));
        assert!(!found("Readiness checks the database"));
        assert!(!found("stuck"), "too short to say anything");
        assert!(!found(""));
        assert!(!found("\"...\""));
    }

    #[test]
    fn a_quote_must_lie_within_one_answer() {
        let answers = ["The pod starts.", "Then it serves."];
        assert!(quote_found(&answers, "Then it serves"));
        assert!(!quote_found(&answers, "The pod starts. Then it serves."));
    }
}
