//! The interactive `deepdive chat`: what it suggests after an answer and the slash commands
//! it understands. These parts are pure; the REPL around them does the IO.

pub mod commands;
pub mod suggest;
