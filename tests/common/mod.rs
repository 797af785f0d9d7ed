//! Shared test support: an isolated sandbox for the binary and a scripted local server.
// Test support may panic: a failed set-up is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod sandbox;
pub mod server;
pub mod tiny_gguf;
