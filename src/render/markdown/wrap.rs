//! Word wrapping of styled spans to a column width, and painting them with ANSI escapes.
//! Widths are display columns (`unicode-width`), so CJK text and emoji line up in tables.

use unicode_width::UnicodeWidthStr;

use super::inline::Span;

/// A word: the spans between two runs of whitespace (`**bold**,` is two spans, one word).
/// A code span is never split, even where it holds spaces.
type Word = Vec<Span>;

/// Display width of spans.
pub fn width(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.text.width()).sum()
}

fn words(spans: &[Span]) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current: Word = Vec::new();
    for span in spans {
        if span.look.code {
            current.push(span.clone());
            continue;
        }
        let mut parts = span.text.split(char::is_whitespace).peekable();
        while let Some(part) = parts.next() {
            if !part.is_empty() {
                current.push(Span { text: part.to_string(), look: span.look });
            }
            if parts.peek().is_some() && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Lays `spans` out in lines of at most `columns` display columns (0: no limit), joining
/// words with single spaces. A word wider than the limit gets a line of its own and runs
/// long: text is never cut.
pub fn lines(spans: &[Span], columns: usize) -> Vec<Vec<Span>> {
    let limit = if columns == 0 { usize::MAX } else { columns };
    let mut out: Vec<Vec<Span>> = Vec::new();
    let mut line: Vec<Span> = Vec::new();
    let mut used: usize = 0;
    for word in words(spans) {
        let w = width(&word);
        if used > 0 && used.saturating_add(1 + w) > limit {
            out.push(std::mem::take(&mut line));
            used = 0;
        }
        if used > 0 {
            // A space inside a styled phrase keeps the style (underlines do not break).
            let before = line.last().map(|s| s.look);
            let look = before.filter(|&l| Some(l) == word.first().map(|s| s.look));
            push_merged(&mut line, Span { text: " ".into(), look: look.unwrap_or_default() });
            used += 1;
        }
        used += w;
        for span in word {
            push_merged(&mut line, span);
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// Appends `span`, joining it to the last span when they look the same.
fn push_merged(line: &mut Vec<Span>, span: Span) {
    match line.last_mut() {
        Some(last) if last.look == span.look => last.text.push_str(&span.text),
        _ => line.push(span),
    }
}

/// The spans with ANSI escapes: `base` (SGR parameters such as `1;35`, or empty) under each
/// span's own look. Every styled span ends with a reset, so nothing bleeds into the next line.
pub fn paint(spans: &[Span], base: &str) -> String {
    let mut out = String::new();
    for span in spans {
        let own = span.look.sgr();
        let codes = match (base.is_empty(), own.is_empty()) {
            (true, _) => own,
            (false, true) => base.to_string(),
            (false, false) => format!("{base};{own}"),
        };
        if codes.is_empty() {
            out.push_str(&span.text);
        } else {
            out.push_str(&format!("\x1b[{codes}m{}\x1b[0m", span.text));
        }
    }
    out
}

/// `text` in one style (for rules, bullets and borders).
pub fn paint_str(text: &str, codes: &str) -> String {
    format!("\x1b[{codes}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::super::inline::parse;
    use super::*;

    fn plain(lines: Vec<Vec<Span>>) -> Vec<String> {
        lines.into_iter().map(|l| l.into_iter().map(|s| s.text).collect()).collect()
    }

    #[test]
    fn wraps_at_words_and_never_cuts_a_long_word() {
        let spans = parse("aaa bbb ccc averyveryverylongword d");
        assert_eq!(plain(lines(&spans, 8)), vec!["aaa bbb", "ccc", "averyveryverylongword", "d"]);
        assert_eq!(plain(lines(&spans, 0)), vec!["aaa bbb ccc averyveryverylongword d"]);
    }

    #[test]
    fn keeps_styled_punctuation_with_its_word_and_code_whole() {
        let spans = parse("see **this**, then `a b c` ok");
        assert_eq!(plain(lines(&spans, 10)), vec!["see this,", "then a b c", "ok"]);
    }

    #[test]
    fn counts_wide_characters_as_two_columns() {
        assert_eq!(width(&parse("日本")), 4);
        assert_eq!(plain(lines(&parse("日本 日本"), 6)), vec!["日本", "日本"]);
    }

    #[test]
    fn paints_with_base_and_own_look() {
        let spans = parse("a **b**");
        assert_eq!(paint(&spans, ""), "a \x1b[1mb\x1b[0m");
        assert_eq!(paint(&spans, "35"), "\x1b[35ma \x1b[0m\x1b[35;1mb\x1b[0m");
    }
}
