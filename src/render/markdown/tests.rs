use proptest::prelude::*;

use super::*;

/// An answer with every construct the renderer knows.
const ANSWER: &str = r#"# Health checks for **Spring Boot**

Kubernetes asks *three* questions; use `livenessProbe` wisely.

## Probes compared

| probe | question | on failure |
| --- | :---: | ---: |
| startup | finished starting? | keep waiting |
| liveness | stuck? | restart the container |
| readiness | can take traffic? | remove from `Service` endpoints |

1. First numbered step with a rather long explanation that has to wrap onto a second line here
2. Second step
   - nested bullet point

> Quoted advice from the operations team

---

```yaml
readinessProbe:
  httpGet: { path: /ready, port: 8081 }
```
Closing words, no final newline"#;

fn render(style: Style, width: usize, chunks: &[&str]) -> String {
    let mut stream = MarkdownStream::new(style, width);
    let mut out = Vec::new();
    for chunk in chunks {
        stream.push(chunk, &mut out).unwrap();
    }
    stream.finish(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The text without its ANSI escapes (shared with the table tests).
pub(super) fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs of letters and digits, counted.
fn word_counts(text: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        *counts.entry(word.to_string()).or_insert(0) += 1;
    }
    counts
}

fn assert_nothing_dropped(input: &str, output: &str) {
    let shown = word_counts(&strip_ansi(output));
    for (word, count) in word_counts(input) {
        let got = shown.get(&word).copied().unwrap_or(0);
        assert!(got >= count, "`{word}` appears {count}× in the input, {got}× in\n{output}");
    }
}

/// Every split of `text` at character boundaries into two chunks, then into single characters.
fn chunkings(text: &str) -> Vec<Vec<&str>> {
    let mut all: Vec<Vec<&str>> =
        text.char_indices().map(|(i, _)| vec![&text[..i], &text[i..]]).collect();
    all.push(text.char_indices().map(|(i, c)| &text[i..i + c.len_utf8()]).collect());
    all
}

#[test]
fn color_styles_headings_tables_code_and_lists() {
    let out = render(Style::Color, 80, &[ANSWER]);
    let plain = strip_ansi(&out);
    assert!(out.contains("\x1b[1;4;35mHealth checks for \x1b[0m\x1b[1;4;35;1mSpring Boot\x1b[0m"));
    assert!(!plain.contains("# "), "heading marks stay:\n{plain}");
    assert!(out.contains("\x1b[3mthree\x1b[0m") && out.contains("\x1b[36mlivenessProbe\x1b[0m"));
    assert!(
        plain.contains("│ liveness  │       stuck?       │         restart the container │"),
        "{plain}"
    );
    assert!(plain.contains("┌───") && plain.contains("└───"));
    assert!(out.contains("\x1b[36mreadinessProbe:\x1b[0m\n\x1b[36m  httpGet:"), "{out}");
    assert!(plain.contains("── yaml ──"), "{plain}");
    assert!(plain.contains("1. First numbered step with a rather long explanation that has to wrap onto a\n   second line here\n"), "{plain}");
    assert!(plain.contains("   ◦ nested bullet point"), "{plain}");
    assert!(plain.contains("│ Quoted advice"), "{plain}");
    assert!(plain.ends_with("Closing words, no final newline\n"), "{plain}");
    assert_nothing_dropped(ANSWER, &out);
}

#[test]
fn color_output_does_not_depend_on_chunking() {
    let whole = render(Style::Color, 60, &[ANSWER]);
    for chunks in chunkings(ANSWER) {
        assert_eq!(render(Style::Color, 60, &chunks), whole, "split as {chunks:?}");
    }
}

#[test]
fn narrow_terminals_wrap_but_keep_every_word() {
    for width in [0, 10, 24, 40] {
        assert_nothing_dropped(ANSWER, &render(Style::Color, width, &[ANSWER]));
    }
}

#[test]
fn unfinished_blocks_are_flushed_at_the_end() {
    let open_table = "| a | b |\n|---|---|\n| 1 | 2 |";
    let plain = strip_ansi(&render(Style::Color, 40, &[open_table]));
    assert!(plain.contains("│ 1 │ 2 │"), "{plain}");
    let lone_pipe = strip_ansi(&render(Style::Color, 40, &["a | b"]));
    assert_eq!(lone_pipe, "a | b\n");
    let open_code = strip_ansi(&render(Style::Color, 40, &["```\nlet x = 1;\n"]));
    assert!(open_code.contains("let x = 1;\n") && open_code.ends_with("─\n"), "{open_code}");
}

#[test]
fn the_stream_can_be_reused_after_finish() {
    let mut stream = MarkdownStream::new(Style::Color, 40);
    let mut first = Vec::new();
    stream.push("```\nunclosed", &mut first).unwrap();
    stream.finish(&mut first).unwrap();
    let mut second = Vec::new();
    stream.push("# Title\n", &mut second).unwrap();
    stream.finish(&mut second).unwrap();
    assert_eq!(String::from_utf8(second).unwrap(), "\x1b[1;4;35mTitle\x1b[0m\n");
}

#[test]
fn color_writes_each_line_as_it_completes() {
    let mut stream = MarkdownStream::new(Style::Color, 40);
    let mut out = Vec::new();
    stream.push("**bo", &mut out).unwrap();
    assert!(out.is_empty(), "half a line waits");
    stream.push("ld** done\nnext", &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "\x1b[1mbold\x1b[0m done\n");
}

#[test]
fn control_sequences_in_answers_are_shown_not_sent() {
    let answer = "**bold** \x1b]52;c;cm0gLXJmIC8=\x07 and \x1b[2J\u{9b}31m\n";
    for style in [Style::Color, Style::Plain] {
        let shown = render(style, 80, &[answer]);
        assert!(shown.contains("^[]52;c;cm0gLXJmIC8=^G and ^[[2J\\u{9b}31m"), "{shown:?}");
        assert!(!shown.contains('\x07') && !shown.contains('\u{9b}'), "{shown:?}");
        assert!(!shown.contains("\x1b]") && !shown.contains("\x1b[2J"), "{shown:?}");
    }
    // deepdive's own styling is still there.
    assert!(render(Style::Color, 80, &[answer]).contains("\x1b[1mbold\x1b[0m"));
}

#[test]
fn a_huge_line_is_rendered_in_pieces_whatever_the_chunking() {
    let line = "word ".repeat(3 * LONG_LINE / 5);
    let text = format!("{line}\nend\n");
    let whole = render(Style::Color, 0, &[&text]);
    let pieces: Vec<&str> =
        text.as_bytes().chunks(1000).map(|c| std::str::from_utf8(c).unwrap()).collect();
    assert_eq!(render(Style::Color, 0, &pieces), whole);
    assert!(whole.lines().count() >= 4, "cut into pieces of at most LONG_LINE bytes");
    assert!(whole.lines().all(|l| l.len() <= LONG_LINE + 16));
    assert_eq!(strip_ansi(&whole).split_whitespace().count(), text.split_whitespace().count());
}

proptest! {
    #[test]
    fn plain_passes_text_through_with_only_controls_made_visible(
        text in "(\\PC|\n|\r|\t|\x1b|\u{9b}|`|\\||#|\\*){0,200}",
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(text.len() + 1)).collect();
        bounds.push(0);
        bounds.push(text.len());
        bounds.sort_unstable();
        bounds.dedup();
        let bounds: Vec<usize> = bounds.into_iter().filter(|&b| text.is_char_boundary(b)).collect();
        let chunks: Vec<&str> = bounds.windows(2).map(|w| &text[w[0]..w[1]]).collect();
        prop_assert_eq!(render(Style::Plain, 40, &chunks), crate::render::sanitize::visible(&text));
    }

    #[test]
    fn color_never_drops_a_word_and_ignores_chunking(
        lines in proptest::collection::vec(
            "(#{0,3} |- |1\\. |> |\\| |```|    )?[a-z ]{0,12}(\\*\\*|`|\\||_)?[a-z ]{0,12}", 0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let text = lines.join("\n");
        let at = cut.index(text.len() + 1);
        let whole = render(Style::Color, 30, &[&text]);
        prop_assert_eq!(render(Style::Color, 30, &[&text[..at], &text[at..]]), whole.clone());
        assert_nothing_dropped(&text, &whole);
    }
}
