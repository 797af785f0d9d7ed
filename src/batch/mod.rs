//! Batch runs: every topic of a plan as its own conversation, run concurrently, recorded in a
//! run folder (one transcript per topic, `manifest.json`, the `index.md` handbook), resumable
//! after anything short of losing the disk.

pub mod estimate;
mod executor;
pub mod folder;
pub mod handbook;
pub mod manifest;
pub mod plan;
pub mod priming;

pub use executor::{BatchError, Job, Rerun, RunSummary, execute, prepare};
pub use manifest::{Manifest, TopicRecord, TopicStatus};
pub use plan::Plan;
pub use priming::PRIMING_SLUG;

use crate::driver::Event;

/// What a batch run reports as it goes. Implementations draw progress bars or print lines;
/// methods take `&self` because the topics run concurrently.
pub trait Observer: Sync {
    /// The run starts: `to_run` topics will be sent, `done` were finished by earlier runs.
    fn start(&self, to_run: usize, done: usize);
    fn topic_started(&self, record: &TopicRecord);
    /// The shared priming request is sent (its events come with the slug [`PRIMING_SLUG`]);
    /// the topics wait for its answer.
    fn priming_started(&self);
    fn priming_finished(&self, record: &TopicRecord);
    /// Something happened in `slug`'s conversation, at its turn `turn` (1-based).
    fn event(&self, slug: &str, turn: usize, event: &Event<'_>);
    fn topic_finished(&self, record: &TopicRecord);
    /// Something the user should know that is not about one topic.
    fn note(&self, message: &str);
}
