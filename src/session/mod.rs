//! Transcripts: the conversation model, its versioned markdown format and an atomic store.
//!
//! The format is documented for users in `docs/transcript-format.md`.

pub mod codec;
mod exchange;
mod model;
pub mod store;
mod time;

pub use codec::{FORMAT_VERSION, ParseError};
pub use exchange::{Exchange, TopicSection};
pub use model::{
    AnswerStatus, Coverage, CoverageMethod, Meta, PointVerdict, ReplayOf, SessionStatus,
    TopicCoverage, Transcript, Turn, TurnInfo, TurnKind, now,
};
pub use store::StoreError;
