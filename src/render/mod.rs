//! Everything that writes to the terminal. The work below reports through plain values and
//! callbacks; this module decides what is shown, how, and on which stream.

pub mod download;
pub mod markdown;
pub mod progress;
pub mod sanitize;

use std::io::{IsTerminal, Write};

/// How much the user asked to hear on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Prints status to stderr according to the verbosity. Results go to stdout through
/// [`Printer::out`], so they can be piped while progress stays visible. Lines may quote text
/// deepdive did not write (server messages, titles): control characters in them are shown
/// visibly ([`sanitize::visible`]) on stderr, and on stdout when it is a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    verbosity: Verbosity,
    color: bool,
}

impl Printer {
    pub fn new(verbosity: Verbosity) -> Printer {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stderr().is_terminal();
        Printer { verbosity, color }
    }

    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Progress and status lines (hidden with `--quiet`).
    pub fn status(&self, line: impl AsRef<str>) {
        if self.verbosity != Verbosity::Quiet {
            eprintln!("{}", sanitize::visible(line.as_ref()));
        }
    }

    /// Details for `--verbose` only.
    pub fn detail(&self, line: impl AsRef<str>) {
        if self.verbosity == Verbosity::Verbose {
            eprintln!("{}", self.dim(&sanitize::visible(line.as_ref())));
        }
    }

    /// Warnings: always shown.
    pub fn warn(&self, line: impl AsRef<str>) {
        let line = sanitize::visible(line.as_ref());
        eprintln!("{}", self.paint("33", &format!("warning: {line}")));
    }

    /// An error line (always shown).
    pub fn error(&self, line: impl AsRef<str>) {
        let line = sanitize::visible(line.as_ref());
        eprintln!("{}", self.paint("31", &format!("error: {line}")));
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

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
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
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(duration(Duration::from_secs(245)), "4m05s");
    }
}
