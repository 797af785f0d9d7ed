//! The interactive `deepdive chat`: a guided conversation on one or more topics, with
//! suggested follow-ups after every answer and slash commands.
//!
//! The pure parts (what to suggest, what a line of input means) are `suggest` and
//! `commands`; `repl` runs the session, `input` reads lines, `display` prints.

pub mod commands;
mod display;
mod editor;
pub mod input;
mod model_suggestions;
pub mod repl;
pub mod suggest;
