//! The tokenizer stored in a GGUF file's metadata (byte-level BPE), with an incremental
//! decoder that never splits a UTF-8 character.

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use tokenizers::Tokenizer;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("the model file's tokenizer cannot be used ({0}); use another GGUF model")]
    Load(String),
    #[error("tokenizing failed ({0})")]
    Encode(String),
    #[error("decoding tokens failed ({0})")]
    Decode(String),
}

/// End-of-turn markers of the supported families, besides `tokenizer.ggml.eos_token_id`.
const END_MARKERS: &[&str] = &["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>"];

pub struct GgufTokenizer {
    inner: Tokenizer,
    eos: Vec<u32>,
}

impl GgufTokenizer {
    pub fn from_gguf(content: &Content) -> Result<Self, TokenizerError> {
        let inner =
            Tokenizer::from_gguf(content).map_err(|e| TokenizerError::Load(e.to_string()))?;
        let mut eos: Vec<u32> = END_MARKERS.iter().filter_map(|m| inner.token_to_id(m)).collect();
        if let Some(Value::U32(id)) = content.metadata.get("tokenizer.ggml.eos_token_id") {
            eos.push(*id);
        }
        eos.sort_unstable();
        eos.dedup();
        Ok(GgufTokenizer { inner, eos })
    }

    /// Token ids of `text`, whose special tokens are already spelled out; adds no BOS.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let encoding =
            self.inner.encode(text, false).map_err(|e| TokenizerError::Encode(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    pub fn eos_ids(&self) -> &[u32] {
        &self.eos
    }

    pub fn decoder(&self) -> StreamDecoder<'_> {
        StreamDecoder { tokenizer: &self.inner, pending: Vec::new() }
    }
}

/// Turns tokens into text as they come, holding back bytes of an unfinished character.
pub struct StreamDecoder<'a> {
    tokenizer: &'a Tokenizer,
    pending: Vec<u32>,
}

impl StreamDecoder<'_> {
    /// The text completed by `token`, if any.
    pub fn push(&mut self, token: u32) -> Result<Option<String>, TokenizerError> {
        self.pending.push(token);
        let text = self.decode()?;
        if text.ends_with('\u{FFFD}') {
            return Ok(None);
        }
        self.pending.clear();
        Ok((!text.is_empty()).then_some(text))
    }

    /// Whatever is still held back (an unfinished character comes out as U+FFFD).
    pub fn finish(self) -> Result<String, TokenizerError> {
        self.decode()
    }

    fn decode(&self) -> Result<String, TokenizerError> {
        self.tokenizer
            .decode(&self.pending, true)
            .map_err(|e| TokenizerError::Decode(e.to_string()))
    }
}
