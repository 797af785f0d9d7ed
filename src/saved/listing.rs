//! The saved sessions of a sessions directory: transcripts directly in it and batch run
//! folders under `runs/`, newest first. A transcript or run that cannot be read is listed
//! with its error rather than stopping the listing; a `.md` file that is not a transcript at
//! all (it does not open with a transcript's `+++` front matter: notes, a README) is set
//! aside as skipped.
//!
//! Only front matters are read: a transcript's header carries its turn count and coverage
//! (format version 2), so listing costs the same for short and long transcripts. A version 1
//! file, which has no such summary, is read whole.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::SavedError;
use super::run::{RunFolder, RunStatus};
use crate::message::Usage;
use crate::session::codec::{Header, Summary, sum};
use crate::session::{Coverage, SessionStatus, StoreError, store};

/// Where batch runs keep their folders, inside the sessions directory.
pub const RUNS_DIR: &str = "runs";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One transcript.
    Session,
    /// A batch run folder.
    Run,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Session => "session",
            Kind::Run => "run",
        }
    }
}

/// How a listed session or run stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    Session(SessionStatus),
    Run(RunStatus),
    /// The file or folder could not be read (`Entry::error` says why).
    Unreadable,
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Standing::Session(status) => f.write_str(status.as_str()),
            Standing::Run(status) => status.fmt(f),
            Standing::Unreadable => f.write_str("unreadable"),
        }
    }
}

/// One listed session or run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The transcript, or the run folder.
    pub path: PathBuf,
    pub kind: Kind,
    /// When it was created; the file's modification time when it could not be read.
    pub created: SystemTime,
    /// Topic slugs.
    pub topics: Vec<String>,
    pub model: String,
    /// Turns of the transcript; for a run, of all its transcripts that could be read.
    pub turns: usize,
    pub usage: Usage,
    /// "Cover:" points addressed, summed over topics.
    pub coverage: Option<Coverage>,
    pub status: Standing,
    /// Why the entry could not be read (then the fields above are empty).
    pub error: Option<String>,
}

impl Entry {
    pub fn includes(&self, slug: &str) -> bool {
        self.topics.iter().any(|t| t == slug)
    }

    fn broken(path: PathBuf, kind: Kind, error: String) -> Entry {
        let created = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or(UNIX_EPOCH);
        Entry {
            path,
            kind,
            created,
            topics: Vec::new(),
            model: String::new(),
            turns: 0,
            usage: Usage::default(),
            coverage: None,
            status: Standing::Unreadable,
            error: Some(error),
        }
    }
}

/// What a sessions directory holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Transcripts and runs, newest first.
    pub entries: Vec<Entry>,
    /// `.md` files that are not transcripts.
    pub skipped: Vec<PathBuf>,
}

/// Everything saved in `dir`. A missing directory holds nothing.
pub fn list(dir: &Path) -> Result<Listing, SavedError> {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for path in children(dir)? {
        if path.is_file() && path.extension().is_some_and(|e| e == "md") {
            match summarised(&path) {
                Ok((header, summary)) => entries.push(session_entry(path, &header, summary)),
                Err(_) if !opens_with_front_matter(&path) => skipped.push(path),
                Err(e) => entries.push(Entry::broken(path, Kind::Session, e.to_string())),
            }
        }
    }
    for path in children(&dir.join(RUNS_DIR))? {
        if path.join(crate::batch::manifest::MANIFEST_FILE).is_file() {
            entries.push(match RunFolder::open(&path) {
                Ok(run) => run_entry(&run),
                Err(e) => Entry::broken(path, Kind::Run, e.to_string()),
            });
        }
    }
    entries.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.path.cmp(&b.path)));
    Ok(Listing { entries, skipped })
}

/// A transcript's front matter and the summary of its body: from the front matter, or, for a
/// file without one (version 1), from the whole file.
fn summarised(path: &Path) -> Result<(Header, Summary), StoreError> {
    let header = store::load_header(path)?;
    match header.summary {
        Some(summary) => Ok((header, summary)),
        None => {
            let t = store::load(path)?;
            Ok((Header { meta: t.meta.clone(), summary: None }, Summary::of(&t)))
        }
    }
}

/// True when the file's first line is the `+++` that opens a transcript's front matter (a
/// byte-order mark before it is allowed), however broken the rest may be.
fn opens_with_front_matter(path: &Path) -> bool {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(64).read_to_end(&mut bytes));
    if read.is_err() {
        return true;
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    text.lines().next().is_some_and(|line| line.trim_end() == "+++")
}

/// The paths in `dir`, sorted; none when it does not exist.
fn children(dir: &Path) -> Result<Vec<PathBuf>, SavedError> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SavedError::List { path: dir.to_path_buf(), source }),
    };
    let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

fn session_entry(path: PathBuf, header: &Header, summary: Summary) -> Entry {
    let meta = &header.meta;
    Entry {
        path,
        kind: Kind::Session,
        created: meta.created,
        topics: meta.topics.clone(),
        model: meta.model.clone(),
        turns: summary.turns,
        usage: meta.usage,
        coverage: summary.coverage,
        status: Standing::Session(meta.status),
        error: None,
    }
}

fn run_entry(run: &RunFolder) -> Entry {
    let records = &run.manifest.topics;
    let turns = records
        .iter()
        .map(|r| run.dir.join(&r.file))
        .filter(|path| path.exists())
        .filter_map(|path| summarised(&path).ok())
        .map(|(_, summary)| summary.turns)
        .sum();
    let mut usage = Usage::default();
    for record in records {
        usage += record.usage;
    }
    Entry {
        path: run.dir.clone(),
        kind: Kind::Run,
        created: run.manifest.created,
        topics: run.manifest.plan.topics.clone(),
        model: run.manifest.plan.model.clone(),
        turns,
        usage,
        coverage: sum(records.iter().filter_map(|r| r.coverage)),
        status: Standing::Run(run.status()),
        error: None,
    }
}
