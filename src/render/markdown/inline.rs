//! Inline markdown of one line: `**bold**`, `*emphasis*`, `_emphasis_`, `~~strike~~`,
//! `` `code` `` and backslash escapes, turned into styled spans. A marker without its
//! partner is kept as text, so nothing the model wrote is lost.

/// How a span of text looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Look {
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub code: bool,
}

impl Look {
    /// The SGR parameters of this look, e.g. `1;3`; empty for plain text.
    pub fn sgr(self) -> String {
        let codes = [(self.bold, "1"), (self.italic, "3"), (self.strike, "9"), (self.code, "36")];
        let on: Vec<&str> = codes.iter().filter(|(on, _)| *on).map(|(_, code)| *code).collect();
        on.join(";")
    }
}

/// A run of text with one look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub look: Look,
}

/// The spans of one line of inline markdown.
pub fn parse(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    parse_into(text, Look::default(), &mut out);
    out
}

fn parse_into(text: &str, look: Look, out: &mut Vec<Span>) {
    let bytes = text.as_bytes();
    let mut plain = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' && bytes.get(i + 1).is_some_and(u8::is_ascii_punctuation) {
            plain.push(char::from(bytes[i + 1]));
            i += 2;
            continue;
        }
        if b == b'`' {
            let run = run_len(bytes, i);
            if let Some(close) = code_close(bytes, i + run, run) {
                flush(&mut plain, look, out);
                let inner = &text[i + run..close];
                let inner = match inner.strip_prefix(' ').and_then(|s| s.strip_suffix(' ')) {
                    Some(trimmed) if !trimmed.trim().is_empty() => trimmed,
                    _ => inner,
                };
                out.push(Span { text: inner.to_string(), look: Look { code: true, ..look } });
                i = close + run;
            } else {
                plain.push_str(&text[i..i + run]);
                i += run;
            }
            continue;
        }
        if matches!(b, b'*' | b'_' | b'~') {
            let run = run_len(bytes, i);
            let width = if b == b'~' || run >= 2 { 2 } else { 1 };
            if run >= width
                && let Some(close) = emphasis_close(text, i, b, width)
            {
                flush(&mut plain, look, out);
                let inner = match (b, width) {
                    (b'~', _) => Look { strike: true, ..look },
                    (_, 2) => Look { bold: true, ..look },
                    _ => Look { italic: true, ..look },
                };
                parse_into(&text[i + width..close], inner, out);
                i = close + width;
                continue;
            }
            plain.push_str(&text[i..i + run]);
            i += run;
            continue;
        }
        // Multi-byte characters are copied whole: `i` only ever stops at ASCII bytes or at
        // the start of a character.
        let len = utf8_len(b);
        plain.push_str(&text[i..i + len]);
        i += len;
    }
    flush(&mut plain, look, out);
}

fn flush(plain: &mut String, look: Look, out: &mut Vec<Span>) {
    if !plain.is_empty() {
        out.push(Span { text: std::mem::take(plain), look });
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// How many copies of `bytes[at]` start at `at`.
fn run_len(bytes: &[u8], at: usize) -> usize {
    bytes[at..].iter().take_while(|&&b| b == bytes[at]).count()
}

/// Where a code span opened by `run` backticks closes: the next run of exactly `run`.
fn code_close(bytes: &[u8], from: usize, run: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let len = run_len(bytes, i);
            if len == run {
                return Some(i);
            }
            i += len;
        } else {
            i += 1;
        }
    }
    None
}

/// Where emphasis opened at `open` by `width` copies of `mark` closes, if it does. The
/// opener must be followed by a non-space, the closer preceded by one; `_` only works at
/// word edges (so `snake_case_name` stays as it is). Code spans are skipped.
fn emphasis_close(text: &str, open: usize, mark: u8, width: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let after = open + width;
    let next = text[after..].chars().next()?;
    if next.is_whitespace() {
        return None;
    }
    let before = text[..open].chars().next_back();
    if mark == b'_' && before.is_some_and(char::is_alphanumeric) {
        return None;
    }
    let mut i = after;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'`' {
            let run = run_len(bytes, i);
            i = code_close(bytes, i + run, run).map_or(i + run, |close| close + run);
            continue;
        }
        if b == b'\\' {
            i += 2;
            continue;
        }
        if b != mark {
            i += 1;
            continue;
        }
        let run = run_len(bytes, i);
        let fits = if width == 1 { run == 1 || run == 3 } else { run >= 2 };
        // The closer is the last `width` marks of the run: `**a *b***` closes bold last.
        let close = i + run - width;
        let prev = text[..i].chars().next_back();
        let follow = text[i + run..].chars().next();
        let edge_ok = mark != b'_' || !follow.is_some_and(char::is_alphanumeric);
        if fits && close > after && prev.is_some_and(|c| !c.is_whitespace()) && edge_ok {
            return Some(close);
        }
        i += run;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> Vec<(String, String)> {
        parse(text).into_iter().map(|s| (s.text, s.look.sgr())).collect()
    }

    fn pair(text: &str, sgr: &str) -> (String, String) {
        (text.to_string(), sgr.to_string())
    }

    #[test]
    fn styles_bold_emphasis_code_and_strike() {
        assert_eq!(
            shown("a **b** *c* `d` ~~e~~ _f_"),
            vec![
                pair("a ", ""),
                pair("b", "1"),
                pair(" ", ""),
                pair("c", "3"),
                pair(" ", ""),
                pair("d", "36"),
                pair(" ", ""),
                pair("e", "9"),
                pair(" ", ""),
                pair("f", "3"),
            ]
        );
    }

    #[test]
    fn nests_emphasis_inside_bold() {
        assert_eq!(
            shown("**a *b***"),
            vec![pair("a ", "1"), pair("b", "1;3")],
            "the closing run serves both"
        );
    }

    #[test]
    fn unmatched_markers_stay_as_text() {
        assert_eq!(shown("2 * 3 * 4"), vec![pair("2 * 3 * 4", "")]);
        assert_eq!(shown("**open"), vec![pair("**open", "")]);
        assert_eq!(shown("snake_case_name"), vec![pair("snake_case_name", "")]);
        assert_eq!(shown("`open"), vec![pair("`open", "")]);
    }

    #[test]
    fn code_spans_are_literal_and_escapes_drop_the_backslash() {
        assert_eq!(shown("`**x**`"), vec![pair("**x**", "36")]);
        assert_eq!(shown("`` a`b ``"), vec![pair("a`b", "36")]);
        assert_eq!(shown(r"\*not\*"), vec![pair("*not*", "")]);
    }

    #[test]
    fn multibyte_text_passes_through() {
        assert_eq!(shown("→ **ü** 日本"), vec![pair("→ ", ""), pair("ü", "1"), pair(" 日本", "")]);
    }
}
