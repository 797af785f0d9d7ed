//! The tokenizer a GGUF carries in its metadata: a byte-level BPE vocabulary
//! (`tokenizer.ggml.model = "gpt2"`) with the pre-tokenizer of its family, as in the family's own
//! tokenizer.json. candle's `TokenizerFromGguf` maps `tokenizer.ggml.pre` wrongly for Llama-3.x
//! (`llama-bpe`) and SmolLM2 (`smollm`); this module builds the pipeline itself and decodes
//! byte-level tokens incrementally without ever splitting a UTF-8 character.

use candle_core::quantized::gguf_file::{self, Value};
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// The Split regex of Qwen2's tokenizer.json (digits one at a time).
const QWEN2_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// The Split regex of Llama-3's tokenizer.json (digits in groups of up to three).
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// `tokenizer.ggml.pre` values this module knows.
const KNOWN_PRE: &str = "qwen2, llama-bpe, llama3, llama-v3, smollm";

/// Names of end-of-turn tokens: generation stops at any of them that the vocabulary has.
const END_OF_TURN: [&str; 5] =
    ["<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|endoftext|>", "<|end_of_text|>"];

/// llama.cpp's `llama_token_type` values used here.
const TYPE_UNKNOWN: u32 = 2;
const TYPE_CONTROL: u32 = 3;
const TYPE_USER_DEFINED: u32 = 4;

/// What can go wrong building the tokenizer from a GGUF or using it.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error(
        "the model file has no `{0}`: it is not a complete GGUF chat model; use another GGUF of the model"
    )]
    MissingKey(&'static str),
    #[error("`{key}` in the model file is not {expected}: the file is damaged; download it again")]
    BadValue { key: &'static str, expected: &'static str },
    #[error(
        "tokenizer model `{0}` is not supported (only byte-level BPE `gpt2` vocabularies, as in Qwen2.5, Llama-3.x and SmolLM2): use a GGUF of one of those families"
    )]
    UnsupportedModel(String),
    #[error(
        "pre-tokenizer `{0}` (tokenizer.ggml.pre) is not supported (known: {KNOWN_PRE}): use a Qwen2.5, Llama-3.x or SmolLM2 GGUF"
    )]
    UnsupportedPre(String),
    #[error(
        "merge `{0}` in the model file is not two tokens separated by a space: the file is damaged; download it again"
    )]
    BadMerge(String),
    #[error("the model's vocabulary does not load ({0}): the file is damaged; download it again")]
    Build(#[source] tokenizers::Error),
    #[error("tokenizing the prompt failed: {0}")]
    Encode(#[source] tokenizers::Error),
    #[error(
        "token id {id} is outside the vocabulary ({size} tokens): the model and its tokenizer do not match"
    )]
    UnknownId { id: u32, size: usize },
}

/// The pre-tokenizer families, each as its real tokenizer.json configures it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// Qwen2/2.5: NFC, Split(QWEN2_REGEX), ByteLevel without its own regex.
    Qwen2,
    /// Llama-3.x: Split(LLAMA3_REGEX), ByteLevel without its own regex, `ignore_merges`.
    Llama3,
    /// SmolLM/SmolLM2: Digits(individual), ByteLevel with GPT-2's regex, no prefix space.
    SmolLm,
}

impl Family {
    fn from_pre(pre: &str) -> Result<Family, TokenizerError> {
        match pre {
            "qwen2" => Ok(Family::Qwen2),
            "llama-bpe" | "llama3" | "llama-v3" => Ok(Family::Llama3),
            "smollm" => Ok(Family::SmolLm),
            other => Err(TokenizerError::UnsupportedPre(other.to_string())),
        }
    }

    fn configure(self, tokenizer: &mut Tokenizer) -> Result<(), TokenizerError> {
        let split = |regex: &str| {
            Split::new(
                SplitPattern::Regex(regex.to_string()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(TokenizerError::Build)
        };
        let pre = match self {
            Family::Qwen2 => {
                tokenizer.with_normalizer(Some(NFC)).map_err(TokenizerError::Build)?;
                Sequence::new(vec![
                    split(QWEN2_REGEX)?.into(),
                    ByteLevel::new(false, false, false).into(),
                ])
            }
            Family::Llama3 => Sequence::new(vec![
                split(LLAMA3_REGEX)?.into(),
                ByteLevel::new(false, true, false).into(),
            ]),
            Family::SmolLm => Sequence::new(vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, true).into(),
            ]),
        };
        tokenizer.with_pre_tokenizer(Some(pre));
        Ok(())
    }
}

/// A GGUF's byte-level BPE tokenizer. `Send + Sync`.
pub struct GgufTokenizer {
    tokenizer: Tokenizer,
    /// The bytes each token id decodes to, concatenated; `piece_ends[id]` is where id's end.
    piece_bytes: Vec<u8>,
    piece_ends: Vec<usize>,
    eos_ids: Vec<u32>,
}

impl std::fmt::Debug for GgufTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufTokenizer")
            .field("vocab_size", &self.piece_ends.len())
            .field("eos_ids", &self.eos_ids)
            .finish_non_exhaustive()
    }
}

impl GgufTokenizer {
    /// Builds the tokenizer from `tokenizer.ggml.*` metadata. Control, user-defined and unknown
    /// tokens (as llama.cpp treats them) are matched as single tokens anywhere in the text.
    pub fn from_gguf(content: &gguf_file::Content) -> Result<Self, TokenizerError> {
        let meta = |key: &'static str| content.metadata.get(key);
        let model = string(meta("tokenizer.ggml.model"), "tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(TokenizerError::UnsupportedModel(model.to_string()));
        }
        let pre = string(meta("tokenizer.ggml.pre"), "tokenizer.ggml.pre")?;
        let family = Family::from_pre(pre)?;

        let tokens = string_array(meta("tokenizer.ggml.tokens"), "tokenizer.ggml.tokens")?;
        let types = match meta("tokenizer.ggml.token_type") {
            None => vec![1; tokens.len()],
            Some(v) => integer_array(v, "tokenizer.ggml.token_type")?,
        };
        if types.len() != tokens.len() {
            return Err(TokenizerError::BadValue {
                key: "tokenizer.ggml.token_type",
                expected: "one type per token",
            });
        }
        let merges = string_array(meta("tokenizer.ggml.merges"), "tokenizer.ggml.merges")?
            .into_iter()
            .map(|m| match m.split_once(' ') {
                Some((a, b)) => Ok((a.to_string(), b.to_string())),
                None => Err(TokenizerError::BadMerge(m.to_string())),
            })
            .collect::<Result<Vec<_>, _>>()?;

        let vocab: Vocab =
            tokens.iter().enumerate().map(|(id, t)| (t.to_string(), id as u32)).collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .ignore_merges(family == Family::Llama3)
            .build()
            .map_err(TokenizerError::Build)?;
        let mut tokenizer = Tokenizer::new(bpe);
        family.configure(&mut tokenizer)?;

        let mut special = Vec::new();
        let mut user_defined = Vec::new();
        let mut piece_bytes = Vec::new();
        let mut piece_ends = Vec::with_capacity(tokens.len());
        let mut eos_ids = Vec::new();
        for (id, (&token, &kind)) in tokens.iter().zip(&types).enumerate() {
            match kind {
                // Control tokens are markup, not text: they decode to nothing (as llama.cpp
                // renders generated text, and as transformers' skip_special_tokens does).
                TYPE_CONTROL | TYPE_UNKNOWN => special.push(AddedToken::from(token, true)),
                TYPE_USER_DEFINED => {
                    user_defined.push(AddedToken::from(token, false).normalized(false));
                    piece_bytes.extend_from_slice(token.as_bytes());
                }
                _ => push_byte_level(&mut piece_bytes, token),
            }
            piece_ends.push(piece_bytes.len());
            if END_OF_TURN.contains(&token) {
                eos_ids.push(id as u32);
            }
        }
        tokenizer.add_special_tokens(special).map_err(TokenizerError::Build)?;
        tokenizer.add_tokens(user_defined).map_err(TokenizerError::Build)?;

        for key in [
            "tokenizer.ggml.eos_token_id",
            "tokenizer.ggml.eot_token_id",
            "tokenizer.ggml.eom_token_id",
        ] {
            let id = meta(key).and_then(as_u32).filter(|&id| (id as usize) < tokens.len());
            if let Some(id) = id.filter(|id| !eos_ids.contains(id)) {
                eos_ids.push(id);
            }
        }
        eos_ids.sort_unstable();

        Ok(GgufTokenizer { tokenizer, piece_bytes, piece_ends, eos_ids })
    }

    /// Token ids of `text`, a rendered chat template: its special tokens are parsed as such and
    /// no BOS is added (the template writes it where the family needs it).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let encoding = self.tokenizer.encode_fast(text, false).map_err(TokenizerError::Encode)?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Every id that ends a turn: the GGUF's eos/eot/eom ids and the family's end-of-turn tokens.
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    /// The text of `ids`; control tokens decode to nothing, invalid UTF-8 to U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend_from_slice(self.piece(id)?);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// An incremental decoder for generated tokens.
    pub fn decoder(&self) -> StreamDecoder<'_> {
        StreamDecoder { tokenizer: self, pending: Vec::new() }
    }

    fn piece(&self, id: u32) -> Result<&[u8], TokenizerError> {
        let index = id as usize;
        let unknown = || TokenizerError::UnknownId { id, size: self.piece_ends.len() };
        let end = *self.piece_ends.get(index).ok_or_else(unknown)?;
        let start = if index == 0 { 0 } else { self.piece_ends[index - 1] };
        Ok(&self.piece_bytes[start..end])
    }
}

/// Turns generated tokens into text as they come. A byte-level token can end inside a UTF-8
/// character: its bytes wait until the character is complete, so every chunk is whole text.
/// The chunks of all `push`es plus `finish` equal `decode` of all the tokens.
pub struct StreamDecoder<'a> {
    tokenizer: &'a GgufTokenizer,
    pending: Vec<u8>,
}

impl StreamDecoder<'_> {
    /// The complete text the token adds, if any.
    pub fn push(&mut self, token: u32) -> Result<Option<String>, TokenizerError> {
        self.pending.extend_from_slice(self.tokenizer.piece(token)?);
        let mut out = String::new();
        let mut rest = self.pending.as_slice();
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    out.push_str(text);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // The prefix is valid UTF-8 by construction; the lossy call copies it.
                    out.push_str(&String::from_utf8_lossy(valid));
                    match e.error_len() {
                        // Bytes that can never become a character: one U+FFFD, as decode does.
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        // A character still being spelled out: keep its bytes for later.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        let kept = rest.len();
        self.pending.drain(..self.pending.len() - kept);
        Ok((!out.is_empty()).then_some(out))
    }

    /// Whatever is left: an unfinished character becomes U+FFFD.
    pub fn finish(self) -> Result<String, TokenizerError> {
        Ok(String::from_utf8_lossy(&self.pending).into_owned())
    }
}

/// GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves; the other 68
/// bytes (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100.. in byte order.
const fn printable(byte: u32) -> bool {
    matches!(byte, 33..=126 | 161..=172 | 174..=255)
}

const SHIFTED: [u8; 68] = {
    let mut out = [0u8; 68];
    let (mut byte, mut n) = (0u32, 0usize);
    while byte < 256 {
        if !printable(byte) {
            out[n] = byte as u8;
            n += 1;
        }
        byte += 1;
    }
    out
};

/// Appends the bytes a byte-level token stands for (a char outside the alphabet as its UTF-8).
fn push_byte_level(out: &mut Vec<u8>, token: &str) {
    for c in token.chars() {
        let code = c as u32;
        let byte = if printable(code) {
            Some(code as u8)
        } else {
            code.checked_sub(256).and_then(|n| SHIFTED.get(n as usize).copied())
        };
        match byte {
            Some(b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

fn as_u32(value: &Value) -> Option<u32> {
    match *value {
        Value::U8(v) => Some(v.into()),
        Value::U16(v) => Some(v.into()),
        Value::U32(v) => Some(v),
        Value::U64(v) => v.try_into().ok(),
        Value::I8(v) => v.try_into().ok(),
        Value::I16(v) => v.try_into().ok(),
        Value::I32(v) => v.try_into().ok(),
        Value::I64(v) => v.try_into().ok(),
        _ => None,
    }
}

fn string<'a>(value: Option<&'a Value>, key: &'static str) -> Result<&'a str, TokenizerError> {
    match value {
        None => Err(TokenizerError::MissingKey(key)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(TokenizerError::BadValue { key, expected: "a string" }),
    }
}

fn string_array<'a>(
    value: Option<&'a Value>,
    key: &'static str,
) -> Result<Vec<&'a str>, TokenizerError> {
    let bad = || TokenizerError::BadValue { key, expected: "an array of strings" };
    match value {
        None => Err(TokenizerError::MissingKey(key)),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn integer_array(value: &Value, key: &'static str) -> Result<Vec<u32>, TokenizerError> {
    let bad = || TokenizerError::BadValue { key, expected: "an array of integers" };
    match value {
        Value::Array(items) => items.iter().map(|v| as_u32(v).ok_or_else(bad)).collect(),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The 256 single-byte tokens in byte order, then `extra` (id 256..) with their types.
    fn gguf(pre: &str, extra: &[(&str, u32)], merges: &[&str]) -> gguf_file::Content {
        let mut tokens: Vec<String> = (0u32..256)
            .map(|b| {
                let mut s = Vec::new();
                push_byte_level_inverse(&mut s, b as u8);
                String::from_utf8(s).unwrap()
            })
            .collect();
        let mut types = vec![1i32; 256];
        for (t, ty) in extra {
            tokens.push(t.to_string());
            types.push(*ty as i32);
        }
        let strings = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
        let metadata: HashMap<String, Value> = [
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String(pre.into())),
            ("tokenizer.ggml.tokens", strings(tokens)),
            (
                "tokenizer.ggml.token_type",
                Value::Array(types.into_iter().map(Value::I32).collect()),
            ),
            ("tokenizer.ggml.merges", strings(merges.iter().map(|m| m.to_string()).collect())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        gguf_file::Content {
            magic: gguf_file::VersionedMagic::GgufV3,
            metadata,
            tensor_infos: HashMap::new(),
            tensor_data_offset: 0,
        }
    }

    /// The byte-level char standing for `byte` (the inverse of `push_byte_level`).
    fn push_byte_level_inverse(out: &mut Vec<u8>, byte: u8) {
        let c = if printable(byte.into()) {
            char::from(byte)
        } else {
            let n = SHIFTED.iter().position(|&b| b == byte).unwrap();
            char::from_u32(256 + n as u32).unwrap()
        };
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }

    #[test]
    fn byte_level_alphabet_round_trips_every_byte() {
        for byte in 0u8..=255 {
            let mut token = Vec::new();
            push_byte_level_inverse(&mut token, byte);
            let mut back = Vec::new();
            push_byte_level(&mut back, std::str::from_utf8(&token).unwrap());
            assert_eq!(back, [byte]);
        }
        let mut out = Vec::new();
        push_byte_level(&mut out, "\u{120}hi\u{10a}");
        assert_eq!(out, b" hi\n");
    }

    #[test]
    fn stream_decoder_holds_a_character_until_its_last_byte() {
        let tok = GgufTokenizer::from_gguf(&gguf("qwen2", &[], &[])).unwrap();
        let text = "a€😀"; // 1 + 3 + 4 bytes, one token per byte
        let ids: Vec<u32> = text.bytes().map(u32::from).collect();
        let mut dec = tok.decoder();
        let chunks: Vec<Option<String>> = ids.iter().map(|&id| dec.push(id).unwrap()).collect();
        let expected = [Some("a"), None, None, Some("€"), None, None, None, Some("😀")];
        assert_eq!(chunks, expected.map(|c| c.map(String::from)));
        assert_eq!(dec.finish().unwrap(), "");
        assert_eq!(tok.decode(&ids).unwrap(), text);
    }

    #[test]
    fn stream_decoder_replaces_invalid_bytes_like_decode() {
        let tok = GgufTokenizer::from_gguf(&gguf("qwen2", &[], &[])).unwrap();
        // A lone continuation byte, a truncated 3-byte char followed by ASCII, and a dangling lead.
        let ids = [0x80u32, 0x41, 0xE2, 0x82, 0x42, 0xF0];
        let mut dec = tok.decoder();
        let mut streamed = String::new();
        for id in ids {
            if let Some(chunk) = dec.push(id).unwrap() {
                streamed.push_str(&chunk);
            }
        }
        assert_eq!(streamed, "\u{FFFD}A\u{FFFD}B");
        streamed.push_str(&dec.finish().unwrap());
        assert_eq!(streamed, tok.decode(&ids).unwrap());
        assert_eq!(streamed, "\u{FFFD}A\u{FFFD}B\u{FFFD}");
    }

    #[test]
    fn control_tokens_are_single_tokens_that_decode_to_nothing() {
        let extra = [
            ("<|im_start|>", TYPE_CONTROL),
            ("<|im_end|>", TYPE_CONTROL),
            ("<tool_call>", TYPE_USER_DEFINED),
        ];
        let tok = GgufTokenizer::from_gguf(&gguf("qwen2", &extra, &[])).unwrap();
        let ids = tok.encode("<|im_start|>a<tool_call><|im_end|>").unwrap();
        assert_eq!(ids, [256, u32::from(b'a'), 258, 257]);
        assert_eq!(tok.decode(&ids).unwrap(), "a<tool_call>");
        assert_eq!(tok.eos_ids(), [257]);
    }

    #[test]
    fn unknown_ids_are_errors() {
        let tok = GgufTokenizer::from_gguf(&gguf("qwen2", &[], &[])).unwrap();
        let err = tok.decoder().push(256).unwrap_err();
        assert!(matches!(err, TokenizerError::UnknownId { id: 256, size: 256 }), "{err}");
        assert!(tok.decode(&[9999]).is_err());
    }

    #[test]
    fn unknown_pre_tokenizers_and_models_are_rejected_by_name() {
        let err = GgufTokenizer::from_gguf(&gguf("deepseek-llm", &[], &[])).unwrap_err();
        assert!(err.to_string().contains("`deepseek-llm`"), "{err}");
        let mut sentencepiece = gguf("qwen2", &[], &[]);
        sentencepiece.metadata.insert("tokenizer.ggml.model".into(), Value::String("llama".into()));
        let err = GgufTokenizer::from_gguf(&sentencepiece).unwrap_err();
        assert!(matches!(&err, TokenizerError::UnsupportedModel(m) if m == "llama"), "{err}");
        let mut no_pre = gguf("qwen2", &[], &[]);
        no_pre.metadata.remove("tokenizer.ggml.pre");
        let err = GgufTokenizer::from_gguf(&no_pre).unwrap_err();
        assert!(err.to_string().contains("tokenizer.ggml.pre"), "{err}");
    }

    #[test]
    fn a_merge_without_a_space_is_reported() {
        let err = GgufTokenizer::from_gguf(&gguf("qwen2", &[], &["ab"])).unwrap_err();
        assert!(matches!(&err, TokenizerError::BadMerge(m) if m == "ab"), "{err}");
    }

    #[test]
    fn tokenizer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<GgufTokenizer>();
    }
}
