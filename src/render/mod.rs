//! Everything that writes to the terminal. The work below reports through plain values and
//! callbacks; this module decides what is shown, how, and on which stream.

pub mod columns;
pub mod download;
pub mod markdown;
pub mod progress;
pub mod sanitize;
pub mod wait;

use std::io::{IsTerminal, Write};

use unicode_width::UnicodeWidthStr;

/// How much the user asked to hear on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Prints status to stderr according to the verbosity. Results go to stdout through
/// [`Printer::out`], so they can be piped while progress stays visible.
///
/// Every line it prints has one of two prefixes, `error: ` or `warning: `, or none; on a
/// terminal, lines wider than the terminal wrap at spaces, continuing under the text after
/// the prefix and the line's own indentation. Lines may quote text deepdive did not write
/// (server messages, titles): control characters in them are shown visibly
/// ([`sanitize::visible`]) on stderr, and on stdout when it is a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    verbosity: Verbosity,
    color: bool,
    /// Columns of the terminal on stderr; 0 when stderr is not one (nothing wraps).
    width: usize,
}

const WARNING: &str = "warning: ";
const ERROR: &str = "error: ";

impl Printer {
    pub fn new(verbosity: Verbosity) -> Printer {
        let terminal = std::io::stderr().is_terminal();
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal;
        let width = match terminal {
            true => terminal_size::terminal_size_of(std::io::stderr())
                .map_or(0, |(w, _)| usize::from(w.0)),
            false => 0,
        };
        Printer { verbosity, color, width }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Progress and status lines (hidden with `--quiet`).
    pub fn status(&self, line: impl AsRef<str>) {
        if self.verbosity != Verbosity::Quiet {
            eprintln!("{}", self.lines("", None, line.as_ref()));
        }
    }

    /// Details for `--verbose` only.
    pub fn detail(&self, line: impl AsRef<str>) {
        if self.verbosity == Verbosity::Verbose {
            eprintln!("{}", self.lines("", Some("2"), line.as_ref()));
        }
    }

    /// Warnings: always shown.
    pub fn warn(&self, line: impl AsRef<str>) {
        eprintln!("{}", self.warning_text(line.as_ref()));
    }

    /// An error line (always shown).
    pub fn error(&self, line: impl AsRef<str>) {
        eprintln!("{}", self.lines(ERROR, Some("31"), line.as_ref()));
    }

    /// A warning as [`Printer::warn`] prints it, for output that goes through a progress
    /// display instead of straight to stderr.
    pub fn warning_text(&self, line: &str) -> String {
        self.lines(WARNING, Some("33"), line)
    }

    /// Results: written to stdout, a broken pipe surfaces as an `io::Error` the caller maps to exit 0.
    /// Piped output is exact; on a terminal, control characters are shown visibly.
    pub fn out(&self, text: &str) -> std::io::Result<()> {
        let stdout = std::io::stdout();
        let text = if stdout.is_terminal() {
            sanitize::visible(text)
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        let mut stdout = stdout.lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()
    }

    /// `text` behind `prefix` (later lines aligned under the first), wrapped to the terminal
    /// and painted with the SGR `code`.
    fn lines(&self, prefix: &str, code: Option<&str>, text: &str) -> String {
        let text = sanitize::visible(text);
        let mut out = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let lead = if i == 0 { prefix.to_string() } else { " ".repeat(prefix.len()) };
            for piece in hang(&lead, line, self.width) {
                out.push(match (code, self.color) {
                    (Some(code), true) => format!("\x1b[{code}m{piece}\x1b[0m"),
                    _ => piece,
                });
            }
        }
        out.join("\n")
    }
}

/// `lead` and `line` as lines of at most `width` columns (0: no limit), broken at spaces.
/// Lines after the first are indented as far as the text of the first starts (`lead` plus
/// the line's own indentation), unless that would leave less than 20 columns. A word wider
/// than the room runs long: nothing is cut.
fn hang(lead: &str, line: &str, width: usize) -> Vec<String> {
    let whole = format!("{lead}{line}");
    if width == 0 || whole.width() <= width {
        return vec![whole];
    }
    let text = line.trim_start_matches(' ');
    let indent = lead.width() + (line.len() - text.len());
    if width < indent + 20 {
        return markdown::wrap_plain(&whole, width);
    }
    let pad = " ".repeat(indent);
    markdown::wrap_plain(text, width - indent)
        .into_iter()
        .enumerate()
        .map(|(i, piece)| match i {
            0 => format!("{lead}{}{piece}", &line[..line.len() - text.len()]),
            _ => format!("{pad}{piece}"),
        })
        .collect()
}

/// A count and its noun, singular for exactly one: `plural(1, "topic")` is "1 topic",
/// `plural(1234, "token")` is "1,234 tokens". For nouns whose plural adds an "s".
pub fn plural(n: u64, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", thousands(n))
}

/// Formats a count with thousands separators: 12345 → "12,345".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration as a person reads it: "850ms", "12.3s", "4m05s".
pub fn duration(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{}ms", d.as_millis())
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// The first non-blank line of `text`, trimmed and cut to `max` characters (with `…`).
pub fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max.saturating_sub(1)).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn counts_take_the_singular_for_one_only() {
        assert_eq!(plural(0, "topic"), "0 topics");
        assert_eq!(plural(1, "topic"), "1 topic");
        assert_eq!(plural(2, "follow-up exchange"), "2 follow-up exchanges");
        assert_eq!(plural(1234, "token"), "1,234 tokens");
    }

    #[test]
    fn long_lines_wrap_at_spaces_under_the_text_after_the_prefix() {
        let line = "to fit the context window, left out the oldest follow-up exchanges";
        assert_eq!(
            hang("warning: ", line, 40),
            [
                "warning: to fit the context window, left",
                "         out the oldest follow-up",
                "         exchanges"
            ]
        );
        assert_eq!(
            hang("  ", "812 → 640 tokens · context 1,452 of 128,000", 30),
            ["  812 → 640 tokens · context", "  1,452 of 128,000"]
        );
    }

    #[test]
    fn short_lines_and_unknown_widths_are_left_alone() {
        let line = "a  table   row that is long enough to pass twenty columns";
        assert_eq!(hang("", line, 0), [line]);
        assert_eq!(hang("", line, 80), [line], "spacing kept when it fits");
    }

    #[test]
    fn a_word_longer_than_the_room_runs_long_and_a_narrow_terminal_drops_the_hang() {
        let path = "/a/very/long/path/that/does/not/fit/anywhere.md";
        assert_eq!(
            hang("error: ", &format!("{path}: no such file"), 30),
            [format!("error: {path}:"), "       no such file".to_string()]
        );
        assert_eq!(
            hang("error: ", "one two three four five six", 22),
            ["error: one two three", "four five six"]
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(duration(Duration::from_secs(245)), "4m05s");
    }
}
