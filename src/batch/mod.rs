//! Batch runs: every topic of a plan as its own conversation, run concurrently, recorded in a
//! run folder (one transcript per topic, `manifest.json`, the `index.md` handbook), resumable
//! after anything short of losing the disk.

pub mod estimate;
mod executor;
pub mod handbook;
pub mod limiter;
pub mod manifest;
pub mod plan;

use std::time::Duration;

pub use executor::{BatchError, Job, RunSummary, execute, prepare};
pub use manifest::{Manifest, TopicRecord, TopicStatus};
pub use plan::Plan;

use crate::tokens::TokenCount;

/// What a batch run reports as it goes. Implementations draw progress bars or print lines;
/// methods take `&self` because the topics run concurrently.
pub trait Observer: Sync {
    /// The run starts: `to_run` topics will be sent, `done` were finished by earlier runs.
    fn start(&self, to_run: usize, done: usize);
    fn topic_started(&self, record: &TopicRecord);
    /// A request for turn `turn` (1-based) of `slug` is being sent.
    fn request(&self, slug: &str, turn: usize, prompt: TokenCount);
    /// One streamed chunk of `slug`'s answer arrived.
    fn chunk(&self, slug: &str);
    /// The answer being streamed was discarded (the client retries the turn).
    fn restart(&self, slug: &str);
    fn retrying(&self, slug: &str, attempt: u32, max_attempts: u32, wait: Duration, reason: &str);
    /// The endpoint rate-limited `slug`'s request; the batch slows down and sends it again.
    fn rate_limited(&self, slug: &str, wait: Duration, reason: &str);
    fn topic_finished(&self, record: &TopicRecord);
    /// Something the user should know that is not about one topic.
    fn note(&self, message: &str);
}
