//! Token counts exactly as the model sees them: the GGUF's own chat template rendered and
//! tokenized with its own tokenizer. Built from the file's metadata alone (no weights are
//! read), so a command that only counts does not load the model.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file::Content;

use super::error::{LocalError, one_line};
use super::template::ChatTemplate;
use super::tokenizer::GgufTokenizer;
use crate::message::{Message, Role};
use crate::tokens::{CountTokens, TokenCount};

/// The chat template and tokenizer of one GGUF model. `Send + Sync`.
#[derive(Debug)]
pub struct PromptCounter {
    template: ChatTemplate,
    tokenizer: GgufTokenizer,
}

impl PromptCounter {
    /// Reads only the metadata of the GGUF file at `path` (tens of MB for a large vocabulary,
    /// never the weights).
    pub fn open(path: &Path) -> Result<PromptCounter, LocalError> {
        let file = File::open(path)
            .map_err(|source| LocalError::Read { path: path.to_path_buf(), source })?;
        let content = Content::read(&mut BufReader::new(file))
            .map_err(|e| LocalError::Gguf { path: path.to_path_buf(), detail: one_line(&e) })?;
        PromptCounter::from_gguf(&content)
    }

    pub fn from_gguf(content: &Content) -> Result<PromptCounter, LocalError> {
        Ok(PromptCounter {
            template: ChatTemplate::from_gguf(content)?,
            tokenizer: GgufTokenizer::from_gguf(content)?,
        })
    }

    /// The text the model is given for `messages`: the chat template with the opening of the
    /// assistant's answer appended.
    pub fn render(&self, messages: &[Message]) -> Result<String, LocalError> {
        Ok(self.template.render(messages, true)?)
    }

    /// The token ids of a request for `messages`, as generation feeds them to the model.
    pub fn prompt_tokens(&self, messages: &[Message]) -> Result<Vec<u32>, LocalError> {
        let tokens = self.tokenizer.encode(&self.render(messages)?)?;
        if tokens.is_empty() {
            return Err(LocalError::EmptyPrompt);
        }
        Ok(tokens)
    }

    /// How many tokens a request for `messages` takes: a generation's `prompt_tokens`.
    pub fn count_prompt(&self, messages: &[Message]) -> Result<u64, LocalError> {
        Ok(self.prompt_tokens(messages)?.len() as u64)
    }

    /// How many tokens `text` is on its own (special-token names in it count as those tokens,
    /// as in a rendered prompt).
    pub fn count_text(&self, text: &str) -> Result<u64, LocalError> {
        Ok(self.tokenizer.encode(text)?.len() as u64)
    }

    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    /// The requests a conversation opening with the user turns `turns` sends, as the model
    /// sees them, before any answer is known: the first request whole; each later one as the
    /// text (and tokens) it adds after the previous answer. When the template does not simply
    /// append a turn (it rewrites earlier ones), that request is given whole, with
    /// [`ANSWER_PLACEHOLDER`]s where the answers go.
    pub fn render_turns(&self, turns: &[String]) -> Result<Vec<RenderedRequest>, LocalError> {
        let mut out = Vec::with_capacity(turns.len());
        let mut history: Vec<Message> = Vec::new();
        for (i, turn) in turns.iter().enumerate() {
            let before =
                (!history.is_empty()).then(|| self.template.render(&history, false)).transpose()?;
            history.push(Message::user(turn.clone()));
            let whole = self.render(&history)?;
            let tokens = self.tokenizer.encode(&whole)?.len() as u64;
            let request = match before {
                Some(before) if whole.starts_with(&before) => {
                    let earlier = self.tokenizer.encode(&before)?.len() as u64;
                    RenderedRequest {
                        text: whole[before.len()..].to_string(),
                        tokens: tokens.saturating_sub(earlier),
                        after_answer: true,
                    }
                }
                _ => RenderedRequest { text: whole, tokens, after_answer: false },
            };
            out.push(request);
            history
                .push(Message::assistant(ANSWER_PLACEHOLDER.replace("{n}", &(i + 1).to_string())));
        }
        Ok(out)
    }
}

/// Exact counts for context fitting, `--dry-run` and `-v`. Should the template or tokenizer
/// fail on a request (generation then fails the same way), the count is an upper bound
/// marked approximate: one token per byte plus generous framing.
impl CountTokens for PromptCounter {
    fn count_request(&self, messages: &[Message]) -> TokenCount {
        match self.count_prompt(messages) {
            Ok(tokens) => exact(tokens),
            Err(_) => byte_bound(messages),
        }
    }

    fn count_text(&self, text: &str) -> TokenCount {
        match PromptCounter::count_text(self, text) {
            Ok(tokens) => exact(tokens),
            Err(_) => byte_bound(&[Message::user(text)]),
        }
    }

    /// What `message` adds after an exchange (or, for an answer, after a question) in the
    /// template: the difference of two renderings, so role names and turn markers count.
    fn count_message(&self, message: &Message) -> TokenCount {
        let mut before = vec![Message::user(".")];
        if message.role != Role::Assistant {
            before.push(Message::assistant("."));
        }
        let tokens = |messages: &[Message]| -> Result<u64, LocalError> {
            Ok(self.tokenizer.encode(&self.template.render(messages, false)?)?.len() as u64)
        };
        let earlier = tokens(&before);
        before.push(message.clone());
        match (earlier, tokens(&before)) {
            (Ok(earlier), Ok(whole)) => exact(whole.saturating_sub(earlier)),
            _ => byte_bound(std::slice::from_ref(message)),
        }
    }

    /// The generation prompt plus whatever the template adds once (a default system prompt).
    fn request_framing(&self) -> u64 {
        let message = Message::user(".");
        let request = CountTokens::count_request(self, std::slice::from_ref(&message));
        request.tokens.saturating_sub(self.count_message(&message).tokens)
    }
}

fn exact(tokens: u64) -> TokenCount {
    TokenCount { tokens, approximate: false }
}

/// More tokens than any tokenizer makes of `messages` (a token is at least one byte).
fn byte_bound(messages: &[Message]) -> TokenCount {
    let bytes: usize = messages.iter().map(|m| m.content.len() + 16).sum();
    TokenCount { tokens: bytes as u64 + 64, approximate: true }
}

/// What stands for the answer to request `{n}` in [`PromptCounter::render_turns`].
pub const ANSWER_PLACEHOLDER: &str = "[the answer to request {n}]";

/// One request of [`PromptCounter::render_turns`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedRequest {
    /// The rendered text: the whole request, or what it adds after the previous answer.
    pub text: String,
    /// Tokens of `text` as part of the request (exact: the whole request's tokens minus the
    /// earlier part's).
    pub tokens: u64,
    /// True when `text` is what the request adds after the previous answer.
    pub after_answer: bool,
}
