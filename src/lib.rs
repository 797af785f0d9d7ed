//! deepdive: runs the Production Readiness Deep-Dive Prompt Guide against any
//! OpenAI-compatible chat-completions endpoint and keeps every session as markdown.
//!
//! See `docs/architecture.md` for how the modules fit together.

pub mod atomic_file;
pub mod batch;
pub mod chat;
pub mod cli;
pub mod client;
pub mod commands;
pub mod coverage;
pub mod driver;
pub mod exit;
pub mod handbook;
pub mod local;
pub mod message;
pub mod prompts;
pub mod render;
pub mod saved;
pub mod secret;
pub mod session;
pub mod settings;
pub mod tokens;
