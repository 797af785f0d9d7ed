//! What can go wrong loading or running the in-process model.
//!
//! Every message is one line that says what happened and what to do.

use std::path::PathBuf;

use super::engine::Generation;
use super::template::TemplateError;
use super::tokenizer::TokenizerError;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("could not read the model file {}: {source}; check the path", path.display())]
    Read { path: PathBuf, source: std::io::Error },

    #[error(
        "{} is not a usable GGUF model file ({detail}); pull the model again or point at another \
         .gguf file",
        path.display()
    )]
    Gguf { path: PathBuf, detail: String },

    #[error(
        "model architecture `{architecture}` is not supported by the local backend; use a Qwen2.5, \
         Llama-3.x or SmolLM2 GGUF model, or configure an endpoint"
    )]
    UnsupportedArchitecture { architecture: String },

    #[error("the local model failed while generating ({detail}); try again or use another model")]
    Inference { detail: String },

    #[error(
        "the conversation ({prompt_tokens} tokens) does not fit the local model's context of \
         {context} tokens; start a new session or use a model with a longer context"
    )]
    ContextFull { prompt_tokens: usize, context: usize },

    #[error("the chat template rendered an empty prompt; the model file's template looks broken")]
    EmptyPrompt,

    /// Generation stopped because the caller set the cancel flag. Holds what was produced until
    /// then (its `finish` is `Other("cancelled")`; the text was already streamed).
    #[error("generation was cancelled after {} tokens", partial.usage.completion_tokens)]
    Cancelled { partial: Box<Generation> },

    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),

    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl LocalError {
    /// A candle failure while running the model.
    pub(crate) fn inference(error: candle_core::Error) -> LocalError {
        LocalError::Inference { detail: one_line(&error) }
    }
}

/// An error's text with newlines and runs of whitespace collapsed (candle's can span lines).
pub(crate) fn one_line(error: &dyn std::fmt::Display) -> String {
    error.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}
