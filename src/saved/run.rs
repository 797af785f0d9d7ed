//! A batch run folder read back: its manifest and the transcript of each topic.

use std::path::{Path, PathBuf};

use super::SavedError;
use crate::batch::{Manifest, TopicRecord, TopicStatus};
use crate::session::{StoreError, Transcript, store};

/// How many of a run's topics stand at each status, in the order of [`TopicStatus::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStatus {
    pub counts: Vec<(TopicStatus, usize)>,
}

impl std::fmt::Display for RunStatus {
    /// `complete` when every topic is (or there is none), else `18 complete, 2 failed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.counts.iter().all(|&(s, _)| s == TopicStatus::Complete) {
            return f.write_str("complete");
        }
        let parts: Vec<String> =
            self.counts.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
        f.write_str(&parts.join(", "))
    }
}

#[derive(Clone, Debug)]
pub struct RunFolder {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl RunFolder {
    /// Reads `dir/manifest.json`; a folder without one is [`SavedError::NotARun`].
    pub fn open(dir: &Path) -> Result<RunFolder, SavedError> {
        match Manifest::load(dir)? {
            Some(manifest) => Ok(RunFolder { dir: dir.to_path_buf(), manifest }),
            None => Err(SavedError::NotARun { path: dir.to_path_buf() }),
        }
    }

    /// The topic's transcript; `None` when the run has not written it.
    pub fn transcript(&self, record: &TopicRecord) -> Option<Result<Transcript, StoreError>> {
        let path = self.dir.join(&record.file);
        path.exists().then(|| store::load(&path))
    }

    /// How its topics stand: `complete` when every topic is, else the count per status.
    pub fn status(&self) -> RunStatus {
        let topics = &self.manifest.topics;
        let counts = TopicStatus::ALL
            .iter()
            .map(|&s| (s, topics.iter().filter(|r| r.status == s).count()))
            .filter(|&(_, n)| n > 0)
            .collect();
        RunStatus { counts }
    }
}
