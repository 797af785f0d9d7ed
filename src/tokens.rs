//! Prompt-token counting with tiktoken.
//!
//! Choosing an encoding is free; the BPE tables (26–51 MB, 50–150 ms) load on the first count
//! only, once per process. Nothing counts unless a count decides something or is shown: a
//! request near the context window, `batch --dry-run` and `--max-cost` estimates, `-v`, and
//! the usage of an answer the server reported none for. So a request that plainly fits, and
//! every command that sends none, never pays for the tables ([`tables_loaded`] tells).

use std::sync::atomic::{AtomicBool, Ordering};

use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};

use crate::message::Message;

/// Set when this process first asks for BPE tables.
static TABLES_LOADED: AtomicBool = AtomicBool::new(false);

/// True once this process has built (or begun to build) a tokenizer's tables: how tests and
/// benchmarks check that a command never needed a count.
pub fn tables_loaded() -> bool {
    TABLES_LOADED.load(Ordering::Relaxed)
}

/// Framing tokens around every chat message (OpenAI cookbook: `<|start|>{role}<|message|>…<|end|>`).
const TOKENS_PER_MESSAGE: u64 = 3;
/// Tokens that prime the assistant's reply, added once per request.
const REPLY_PRIMING: u64 = 3;

/// A token count, and whether it is only an estimate (the model's own tokenizer is unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCount {
    pub tokens: u64,
    pub approximate: bool,
}

impl std::fmt::Display for TokenCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.approximate { write!(f, "~{}", self.tokens) } else { write!(f, "{}", self.tokens) }
    }
}

/// Something that counts tokens for one model: tiktoken's tables, or a local model's own
/// tokenizer and chat template.
pub trait CountTokens {
    /// Prompt tokens of a whole request, as the server will count them.
    fn count_request(&self, messages: &[Message]) -> TokenCount;
    /// Tokens of a plain text (an answer).
    fn count_text(&self, text: &str) -> TokenCount;
}

impl CountTokens for TokenCounter {
    fn count_request(&self, messages: &[Message]) -> TokenCount {
        TokenCounter::count_request(self, messages)
    }

    fn count_text(&self, text: &str) -> TokenCount {
        TokenCounter::count_text(self, text)
    }
}

/// Counts tokens the way a given model's tokenizer would, or approximates with cl100k.
#[derive(Clone, Copy, Debug)]
pub struct TokenCounter {
    tokenizer: Tokenizer,
    exact: bool,
}

impl TokenCounter {
    /// Picks the encoding for `model`. Router-style names (`openai/gpt-4o`) and other
    /// capitalisations (`GPT-4o`) are recognised; models tiktoken does not know (llama, qwen,
    /// mistral, …) are counted with cl100k and marked approximate.
    pub fn for_model(model: &str) -> TokenCounter {
        let lowered = model.trim().to_ascii_lowercase();
        let base = lowered.rsplit('/').next().unwrap_or(&lowered);
        match get_tokenizer(base) {
            Some(
                tokenizer
                @ (Tokenizer::Cl100kBase | Tokenizer::O200kBase | Tokenizer::O200kHarmony),
            ) => TokenCounter { tokenizer, exact: true },
            // Any BPE vocabulary of this size approximates an unknown model about as well;
            // cl100k's tables build 3x faster and take half the memory of o200k's.
            _ => TokenCounter { tokenizer: Tokenizer::Cl100kBase, exact: false },
        }
    }

    /// True when counts are what the server will count.
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    fn bpe(&self) -> &'static CoreBPE {
        TABLES_LOADED.store(true, Ordering::Relaxed);
        match self.tokenizer {
            Tokenizer::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
            Tokenizer::O200kHarmony => tiktoken_rs::o200k_harmony_singleton(),
            _ => tiktoken_rs::o200k_base_singleton(),
        }
    }

    /// Tokens of a plain text.
    pub fn count_text(&self, text: &str) -> TokenCount {
        TokenCount { tokens: self.bpe().count_ordinary(text) as u64, approximate: !self.exact }
    }

    /// Tokens one message adds to a request: its content plus role and framing.
    pub fn count_message(&self, message: &Message) -> TokenCount {
        let bpe = self.bpe();
        let tokens = TOKENS_PER_MESSAGE
            + bpe.count_ordinary(message.role.as_str()) as u64
            + bpe.count_ordinary(&message.content) as u64;
        TokenCount { tokens, approximate: !self.exact }
    }

    /// Prompt tokens of a whole request, as the server will count them.
    pub fn count_request(&self, messages: &[Message]) -> TokenCount {
        let tokens =
            REPLY_PRIMING + messages.iter().map(|m| self.count_message(m).tokens).sum::<u64>();
        TokenCount { tokens, approximate: !self.exact }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_models_are_exact_and_others_approximate() {
        assert!(TokenCounter::for_model("gpt-4o-mini").is_exact());
        assert!(TokenCounter::for_model("GPT-4o").is_exact());
        assert!(TokenCounter::for_model("openai/gpt-4.1").is_exact());
        assert!(!TokenCounter::for_model("qwen2.5:7b").is_exact());
        assert!(!TokenCounter::for_model("meta-llama/Llama-3.1-8B-Instruct").is_exact());
    }

    #[test]
    fn request_count_matches_the_cookbook_formula() {
        let counter = TokenCounter::for_model("gpt-4o");
        // "hello world" is 2 tokens in o200k, "user" 1: 3 framing + 1 + 2, plus 3 reply priming.
        let messages = [Message::user("hello world")];
        assert_eq!(counter.count_request(&messages).tokens, 3 + 1 + 2 + 3);
        assert!(!counter.count_request(&messages).approximate);
    }

    #[test]
    fn approximate_counts_say_so() {
        let count = TokenCounter::for_model("llama3").count_text("hello world");
        assert!(count.approximate);
        assert_eq!(count.to_string(), "~2");
    }
}
