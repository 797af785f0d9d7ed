//! The interactive `deepdive chat`: a guided conversation on one or more topics, with
//! suggested follow-ups after every answer and slash commands.
//!
//! The pure parts (what to suggest, what a line of input means) are `suggest` and
//! `commands`; `user` is the person at the keyboard as the driver's agenda sees them, `input`
//! reads lines, `interrupt` listens for Ctrl-C, `display` renders the driver's events.

pub mod commands;
pub mod display;
mod editor;
pub mod input;
pub mod interrupt;
mod model_suggestions;
pub mod suggest;
pub mod user;
