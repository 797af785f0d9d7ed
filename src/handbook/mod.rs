//! The handbook a Tier 2 team reads: the guidance itself, one chapter per topic in guide
//! order, with a readiness checklist, the gaps and a coverage map, as `handbook.md`, a
//! self-contained `handbook.html` and `coverage.svg`. Built from transcripts, which are the
//! source of truth, so a conversation continued later shows up after a rebuild.
//!
//! [`book`] reads transcripts into chapters; [`markdown`] writes the sections both
//! documents share; [`html`] and [`svg`] render them.

pub mod book;
mod checklist;
mod demote;
mod fill;
mod html;
mod markdown;
mod paths;
mod svg;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use book::{Book, Chapter, Mark, Source};

use crate::atomic_file;
use crate::prompts::Library;
use crate::session::{StoreError, store};

pub const MARKDOWN_FILE: &str = "handbook.md";
pub const HTML_FILE: &str = "handbook.html";
pub const SVG_FILE: &str = "coverage.svg";

/// The markdown dialect of answers: GitHub's tables, task lists and strikethrough.
const OPTIONS: pulldown_cmark::Options = pulldown_cmark::Options::ENABLE_TABLES
    .union(pulldown_cmark::Options::ENABLE_TASKLISTS)
    .union(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);

/// Why a handbook could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HandbookError {
    /// A transcript could not be read or parsed (the message names the file and line).
    #[error(transparent)]
    Transcript(#[from] StoreError),
    #[error("{}: cannot write the handbook: {source}; check that the folder is writable and the disk has space", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl HandbookError {
    /// True when the input was at fault (a transcript), not the disk being written.
    pub fn is_input(&self) -> bool {
        matches!(self, HandbookError::Transcript(_))
    }
}

/// The three files of a handbook, rendered.
pub struct Files {
    pub markdown: String,
    pub html: String,
    pub svg: String,
}

impl Files {
    pub fn render(book: &Book) -> Files {
        let sections = markdown::sections(book);
        let svg = svg::render(book, HTML_FILE);
        let embedded = svg::render(book, "");
        Files {
            markdown: markdown::document(book, &sections),
            html: html::document(book, &sections, &embedded),
            svg,
        }
    }

    /// Writes `coverage.svg`, `handbook.md` and `handbook.html` into `dir`, each atomically
    /// (at once: each write waits for its fsync).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, HandbookError> {
        let files =
            [(SVG_FILE, &self.svg), (MARKDOWN_FILE, &self.markdown), (HTML_FILE, &self.html)];
        files
            .par_iter()
            .map(|(name, text)| {
                let path = dir.join(name);
                atomic_file::write_rebuildable(&path, text.as_bytes())
                    .map_err(|source| HandbookError::Write { path: path.clone(), source })?;
                Ok(path)
            })
            .collect()
    }
}

/// The handbook of the saved session `file`, written into `out`.
pub fn for_session(file: &Path, out: &Path, library: &Library) -> Result<Book, HandbookError> {
    let transcript = store::load(file)?;
    Ok(Book::from_session(file, out, &transcript, library))
}

/// Where `deepdive handbook FILE` writes by default: a folder next to the transcript, named
/// after it (`x.md` → `x.handbook/`), so no new `.md` file sits among the sessions.
pub fn session_out_dir(file: &Path) -> PathBuf {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
    let name = format!("{}.handbook", stem.unwrap_or_else(|| "session".to_string()));
    file.with_file_name(name)
}
