//! Saved sessions and batch run folders, read back: listing them, describing a transcript's
//! turns the way chat shows them, summing up a run, finding what a user named, and
//! comparing two sessions or two runs topic by topic.
//! Nothing here prints; the `show`, `sessions` and `compare` commands do.

pub mod compare;
pub mod describe;
pub mod listing;
pub mod locate;
pub mod run;
pub mod summary;

use std::path::PathBuf;

use crate::batch::manifest::ManifestError;
use crate::session::StoreError;

/// Why a saved session or run folder could not be read. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(
        "{}: no such file or folder{}; name a transcript (.md) or a batch run folder \
         ('deepdive sessions' lists what is saved)",
        path.display(),
        places(looked)
    )]
    Missing { path: PathBuf, looked: Vec<PathBuf> },
    #[error("{}: this is a folder, not a transcript; name one of the .md files in it", path.display())]
    NotATranscript { path: PathBuf },
    #[error("{}: this folder has no manifest.json, so it is not a batch run folder; name a run folder or a transcript", path.display())]
    NotARun { path: PathBuf },
    #[error("{}: cannot list the folder: {source}; check the path and its permissions", path.display())]
    List { path: PathBuf, source: std::io::Error },
    #[error("cannot compare a transcript with a run folder ({} and {}); name two transcripts or two run folders", a.display(), b.display())]
    Mixed { a: PathBuf, b: PathBuf },
}

/// ` (looked for a, b and c)` when more than one place was tried.
fn places(looked: &[PathBuf]) -> String {
    let shown: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    match shown.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!(" (looked for {} and {last})", rest.join(", "))
        }
        _ => String::new(),
    }
}

/// `2026-11-27 04:35` (UTC), for tables and headings.
pub fn short_time(time: std::time::SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(time).to_string();
    text.get(..16).map_or(text.clone(), |s| s.replacen('T', " ", 1))
}
