//! The markdown transcript format (documented in `docs/transcript-format.md`).
//!
//! A file is TOML front matter between `+++` lines, then markdown in which every turn's text
//! sits verbatim between an opening and a closing HTML-comment marker. The markers carry a
//! per-file boundary token that occurs in no text, so no text can end its own block.

mod body;
mod boundary;
mod fence;
mod front_matter;
mod lines;
mod marker;
mod turn_info;

use std::fmt;

use crate::session::model::Transcript;
use lines::Document;

/// The format version [`render`] writes and the newest one [`parse`] reads.
pub const FORMAT_VERSION: i64 = 1;

/// Why a transcript could not be read: a 1-based line of the file and a one-line message
/// that says what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> ParseError {
        ParseError { line, message: message.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Writes a transcript in the current format version.
pub fn render(t: &Transcript) -> String {
    let boundary = boundary::choose(t);
    let mut out = front_matter::render(&t.meta, &boundary);
    body::render(t, &boundary, &mut out);
    out
}

/// Reads a transcript of any supported format version.
pub fn parse(text: &str) -> Result<Transcript, ParseError> {
    let doc = Document::split(text)?;
    let (version, version_line) = front_matter::version(&doc)?;
    match version {
        FORMAT_VERSION => {
            let (meta, boundary) = front_matter::parse(&doc)?;
            let turns = body::parse(&doc, &boundary)?;
            Ok(Transcript { meta, turns })
        }
        // Migrations go here: when version 2 is introduced, a version 1 file is read with
        // the version 1 reader (kept as it is, in its own module) and converted to the
        // current model. No version before 1 was ever written.
        v if v > FORMAT_VERSION => Err(ParseError::new(
            version_line,
            format!(
                "format_version {v} is newer than this deepdive reads (up to {FORMAT_VERSION}); upgrade deepdive to open this file"
            ),
        )),
        v => Err(ParseError::new(
            version_line,
            format!("format_version {v} does not exist; set it to {FORMAT_VERSION}"),
        )),
    }
}
