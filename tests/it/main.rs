//! Every integration test, linked into one test binary: the crate (and candle behind it) is
//! linked once instead of once per file. Each module is one area of the product.

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod batch_folder;
mod chat;
mod cli;
mod client;
mod driver;
mod handbook;
mod handbook_browser;
mod hostile;
mod hub;
mod judge;
mod library;
mod local_cli;
mod local_counts;
mod local_determinism;
mod local_engine;
mod local_text;
mod paths;
mod polish;
mod replay;
mod secrets;
mod terminal;
mod tokenizer;
mod transcript_roundtrip;
