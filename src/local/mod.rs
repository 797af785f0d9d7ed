//! An in-process CPU model: deepdive's zero-setup default when no endpoint is configured.
//! GGUF chat models (Qwen2.5, Llama-3.x, SmolLM2) run with candle; the tokenizer and chat
//! template come from the GGUF file itself; models are pulled from the Hugging Face hub into
//! its standard cache on first use.

pub mod backend;
pub mod counter;
pub mod download;
pub mod engine;
pub mod error;
pub mod hub;
pub mod template;
pub mod tokenizer;
mod transformer;
