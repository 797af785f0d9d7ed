//! deepdive: runs the Production Readiness Deep-Dive Prompt Guide against any
//! OpenAI-compatible chat-completions endpoint and keeps every session as markdown.
//!
//! See `docs/architecture.md` for how the modules fit together.

pub mod client;
pub mod message;
pub mod prompts;
pub mod secret;
pub mod session;
pub mod settings;
