//! `manifest.json`: the plan of a batch run and what happened to each topic. Rewritten
//! atomically after every topic, so a run killed at any moment leaves a whole manifest.
//!
//! A manifest is input like any other file: on load every topic's `file` must be a plain
//! transcript name inside the run folder, so a crafted manifest cannot make deepdive write
//! (or read) anywhere else, and the endpoint it records is shown without credentials.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::plan::Plan;
use super::priming::{PRIMING_FILE, PRIMING_SLUG};
use crate::atomic_file;
use crate::message::Usage;
use crate::secret::redact_url;
use crate::session::{Coverage, SessionStatus, store};

pub const MANIFEST_FILE: &str = "manifest.json";
const MANIFEST_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopicStatus {
    /// Not run yet.
    Pending,
    Complete,
    /// Failed after the client's retries; `error` says why.
    Failed,
    /// Stopped by Ctrl-C; answered turns are kept and a resume continues from them.
    Interrupted,
    /// Not sent: `--max-cost` was reached or the endpoint rejected the run.
    Skipped,
    /// Every turn was answered, but an answer was cut off at `max_tokens`: not complete.
    /// `--retry-truncated` asks the cut-off turns again (after raising `--max-tokens`).
    Truncated,
}

impl TopicStatus {
    /// Every status, in the order summaries count them.
    pub const ALL: [TopicStatus; 6] = [
        TopicStatus::Complete,
        TopicStatus::Truncated,
        TopicStatus::Failed,
        TopicStatus::Interrupted,
        TopicStatus::Skipped,
        TopicStatus::Pending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TopicStatus::Pending => "pending",
            TopicStatus::Complete => "complete",
            TopicStatus::Failed => "failed",
            TopicStatus::Interrupted => "interrupted",
            TopicStatus::Skipped => "skipped",
            TopicStatus::Truncated => "truncated",
        }
    }

    /// How a finished conversation stands: truncated when any answer was cut off.
    pub fn of_finished(transcript: &crate::session::Transcript) -> TopicStatus {
        if transcript.exchanges().any(|e| e.is_truncated()) {
            TopicStatus::Truncated
        } else {
            TopicStatus::Complete
        }
    }
}

/// What happened to one topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub number: u32,
    pub slug: String,
    pub title: String,
    /// The transcript, relative to the run folder.
    pub file: String,
    pub status: TopicStatus,
    /// HTTP attempts made for this topic, over all runs of the folder.
    pub attempts: u32,
    pub error: Option<String>,
    pub usage: Usage,
    /// "Cover:" points the answers addressed.
    pub coverage: Option<Coverage>,
    /// The method that made the coverage verdicts: "lexical", "model judge gpt-4o-mini".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage_by: Option<String>,
    /// The model judge's tokens (included in `usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_usage: Option<Usage>,
    /// The "Cover:" points the answers did not address (listed in the handbook).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    #[serde(with = "rfc3339_opt")]
    pub started: Option<SystemTime>,
    #[serde(with = "rfc3339_opt")]
    pub finished: Option<SystemTime>,
    /// Time spent on this topic, over all runs of the folder.
    pub elapsed_ms: u64,
}

impl TopicRecord {
    /// A record of a conversation not run yet.
    pub fn pending(number: u32, slug: &str, title: &str, file: String) -> TopicRecord {
        TopicRecord {
            number,
            slug: slug.to_string(),
            title: title.to_string(),
            file,
            status: TopicStatus::Pending,
            attempts: 0,
            error: None,
            usage: Usage::default(),
            coverage: None,
            coverage_by: None,
            judge_usage: None,
            missing: Vec::new(),
            started: None,
            finished: None,
            elapsed_ms: 0,
        }
    }

    /// The record of the shared priming exchange, not asked yet.
    pub fn priming() -> TopicRecord {
        TopicRecord::pending(0, PRIMING_SLUG, "Priming", PRIMING_FILE.into())
    }

    /// Brings the status and usage in line with the transcript in `dir`.
    fn reconcile(&mut self, dir: &Path) -> Result<(), ManifestError> {
        let path = dir.join(&self.file);
        if !path.exists() {
            if matches!(self.status, TopicStatus::Complete | TopicStatus::Truncated) {
                self.status = TopicStatus::Pending;
            }
            return Ok(());
        }
        let transcript = store::load(&path)?;
        self.usage = transcript.meta.usage;
        match transcript.meta.status {
            SessionStatus::Complete => {
                self.status = TopicStatus::of_finished(&transcript);
                self.error = None;
            }
            SessionStatus::Failed if self.status != TopicStatus::Failed => {
                self.status = TopicStatus::Failed;
            }
            SessionStatus::InProgress | SessionStatus::Interrupted
                if matches!(self.status, TopicStatus::Complete | TopicStatus::Truncated) =>
            {
                self.status = TopicStatus::Interrupted;
            }
            _ => {}
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub plan: Plan,
    #[serde(with = "rfc3339")]
    pub created: SystemTime,
    #[serde(with = "rfc3339")]
    pub updated: SystemTime,
    pub topics: Vec<TopicRecord>,
    /// The priming exchange the run's topics share (`00-priming.md`), once it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priming: Option<TopicRecord>,
}

/// Why a manifest could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{}: cannot read the run manifest: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "{}: the run manifest is not valid ({source}); fix or delete it, the transcripts next to \
         it are kept",
        path.display()
    )]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error(
        "{}: the run manifest has version {found}, newer than this deepdive understands \
         ({MANIFEST_VERSION}); upgrade deepdive",
        path.display()
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error("{}: cannot write the run manifest: {source}; check the disk", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "{}: topic `{slug}` has file {file:?}, which is not a transcript name inside the run \
         folder ({why}); fix or delete the manifest, nothing was written",
        path.display()
    )]
    BadTopicFile { path: PathBuf, slug: String, file: String, why: &'static str },
    /// A transcript of the run folder cannot be read back.
    #[error("{0}; fix or remove that transcript, or run into another folder with --out")]
    Transcript(#[from] store::StoreError),
}

impl Manifest {
    pub fn new(plan: Plan, topics: Vec<TopicRecord>) -> Manifest {
        let now = crate::session::now();
        Manifest {
            version: MANIFEST_VERSION,
            plan,
            created: now,
            updated: now,
            topics,
            priming: None,
        }
    }

    /// Reads `dir/manifest.json`; `Ok(None)` when the folder has none. Anything that is not
    /// a manifest this deepdive understands, with topic files inside the folder, is an error.
    pub fn load(dir: &Path) -> Result<Option<Manifest>, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ManifestError::Read { path, source }),
        };
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        // From bytes: text that is not UTF-8 is a parse error too, with its advice.
        let version: Version = serde_json::from_slice(&bytes)
            .map_err(|source| ManifestError::Parse { path: path.clone(), source })?;
        if version.version > MANIFEST_VERSION {
            return Err(ManifestError::TooNew { path, found: version.version });
        }
        let mut manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|source| ManifestError::Parse { path: path.clone(), source })?;
        manifest.check_files(&path)?;
        manifest.plan.endpoint = redact_url(&manifest.plan.endpoint);
        Ok(Some(manifest))
    }

    /// Every topic's `file` is a plain, distinct transcript name (`15-health-checks.md`):
    /// no directory, no `..`, no absolute path, not one of the run's own files.
    fn check_files(&self, path: &Path) -> Result<(), ManifestError> {
        let mut seen = HashSet::new();
        for record in &self.topics {
            let why = transcript_name_problem(&record.file)
                .or_else(|| (!seen.insert(record.file.as_str())).then_some("another topic has it"));
            if let Some(why) = why {
                return Err(ManifestError::BadTopicFile {
                    path: path.to_path_buf(),
                    slug: record.slug.clone(),
                    file: record.file.clone(),
                    why,
                });
            }
        }
        Ok(())
    }

    /// Writes `dir/manifest.json` atomically, its content on disk before the rename. Its new
    /// name is not waited for: the next transcript saved into the run folder syncs the
    /// folder, and with it this name. A power loss before that keeps the manifest before
    /// this save, whole (or none, at the start of a run, when no answer was saved either);
    /// [`Manifest::reconcile`] brings its records in line with the transcripts.
    pub fn save(&mut self, dir: &Path) -> Result<(), ManifestError> {
        self.updated = crate::session::now();
        self.plan.endpoint = redact_url(&self.plan.endpoint);
        let path = dir.join(MANIFEST_FILE);
        // Serialising plain data cannot fail.
        let json = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        atomic_file::write_recoverable(&path, json.as_bytes())
            .map_err(|source| ManifestError::Write { path, source })
    }

    /// How the topics stand, for people: "18 complete, 1 failed, 1 skipped".
    pub fn status_summary(&self) -> String {
        let count = |status| self.topics.iter().filter(|r| r.status == status).count();
        let mut states = vec![format!("{} complete", count(TopicStatus::Complete))];
        for status in [
            TopicStatus::Truncated,
            TopicStatus::Failed,
            TopicStatus::Interrupted,
            TopicStatus::Skipped,
            TopicStatus::Pending,
        ] {
            if count(status) > 0 {
                states.push(format!("{} {}", count(status), status.as_str()));
            }
        }
        states.join(", ")
    }

    /// Tokens over the whole run: every topic and the shared priming exchange.
    pub fn usage(&self) -> Usage {
        let mut usage = self.priming.as_ref().map(|p| p.usage).unwrap_or_default();
        for record in &self.topics {
            usage += record.usage;
        }
        usage
    }

    pub fn record(&self, slug: &str) -> Option<&TopicRecord> {
        self.topics.iter().find(|t| t.slug == slug)
    }

    pub fn record_mut(&mut self, slug: &str) -> Option<&mut TopicRecord> {
        self.topics.iter_mut().find(|t| t.slug == slug)
    }

    /// Brings each record in line with its transcript on disk: a run killed after saving a
    /// transcript but before saving the manifest loses nothing, nor does a power loss after
    /// [`Manifest::save`]. A transcript that cannot be read back is an error about
    /// the run folder (exit 2), as for `show` and `replay`.
    pub fn reconcile(&mut self, dir: &Path) -> Result<(), ManifestError> {
        if self.priming.is_none() && dir.join(PRIMING_FILE).exists() {
            self.priming = Some(TopicRecord::priming());
        }
        for record in self.topics.iter_mut().chain(self.priming.as_mut()) {
            record.reconcile(dir)?;
        }
        Ok(())
    }
}

/// Why `file` cannot be a topic's transcript in a run folder, if it cannot.
fn transcript_name_problem(file: &str) -> Option<&'static str> {
    let mut components = Path::new(file).components();
    let plain = matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(name)), None) if name == std::ffi::OsStr::new(file)
    );
    if file.is_empty() {
        Some("it is empty")
    } else if file.contains(['/', '\\']) || !plain {
        Some("it is a path, not a file name")
    } else if file.contains(|c: char| c.is_control() || c == ':') {
        Some("it has a control character or a colon")
    } else if !file.ends_with(".md")
        || [super::handbook::INDEX_FILE, crate::handbook::MARKDOWN_FILE].contains(&file)
    {
        Some("a transcript is a .md file other than index.md and handbook.md")
    } else {
        None
    }
}

mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_rfc3339_seconds(*time).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => super::rfc3339::serialize(time, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => {
                humantime::parse_rfc3339_weak(&text).map(Some).map_err(serde::de::Error::custom)
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_files_must_be_plain_transcript_names() {
        for good in ["15-health-checks.md", "my topic.md", ".md"] {
            assert_eq!(transcript_name_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "..",
            ".",
            "../escape.md",
            "sub/dir.md",
            "/etc/passwd.md",
            "a\\b.md",
            "C:evil.md",
            "manifest.json",
            "index.md",
            "handbook.md",
            "x.md\n",
            "./15.md",
        ] {
            assert!(transcript_name_problem(bad).is_some(), "{bad:?} was accepted");
        }
    }
}
