//! A batch run folder read back: its manifest and the transcript of each topic.

use std::path::{Path, PathBuf};

use super::SavedError;
use crate::batch::{Manifest, TopicRecord, TopicStatus};
use crate::session::{StoreError, Transcript, store};

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

    /// `complete` when every topic is, else the count per status: `18 complete, 2 failed`.
    pub fn status(&self) -> String {
        let topics = &self.manifest.topics;
        if topics.iter().all(|r| r.status == TopicStatus::Complete) {
            return "complete".to_string();
        }
        let statuses = [
            TopicStatus::Complete,
            TopicStatus::Truncated,
            TopicStatus::Failed,
            TopicStatus::Interrupted,
            TopicStatus::Skipped,
            TopicStatus::Pending,
        ];
        let parts: Vec<String> = statuses
            .iter()
            .map(|&s| (s, topics.iter().filter(|r| r.status == s).count()))
            .filter(|&(_, n)| n > 0)
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect();
        parts.join(", ")
    }
}
