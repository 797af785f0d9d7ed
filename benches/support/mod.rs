//! Fixtures for the benchmarks: a local SSE server and realistic inputs.

pub mod answer_stream;
pub mod sandbox;
pub mod sse_server;
pub mod transcript;
