//! What answers a chat request: an HTTP endpoint ([`super::ChatClient`]) or a model running
//! in-process (`crate::local`). Callers hold a `&dyn ChatBackend` and never know which.

use futures_util::future::BoxFuture;

use super::{ApiError, ChatRequest, ClientEvent, Completion};
use crate::message::Message;

pub trait ChatBackend: Send + Sync {
    /// Answers `req`, reporting text as it arrives (and retries, for HTTP) through
    /// `on_event`. Cancel-safe: dropping the future stops the work.
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: &'a mut (dyn FnMut(ClientEvent<'_>) + Send),
    ) -> BoxFuture<'a, Result<Completion, ApiError>>;

    /// Where requests go, for status lines: a URL, or the local model's name.
    fn target(&self) -> String;

    /// The exact prompt tokens of a request for `messages`, as the model will see it (its
    /// chat template, its tokenizer), when this backend knows them: the local model does;
    /// an HTTP endpoint does not (`None`, the default).
    fn count_prompt(&self, _messages: &[Message]) -> Option<u64> {
        None
    }

    /// The exact token count of `text` (e.g. an answer) with the model's own tokenizer, when
    /// this backend knows it (`None` for HTTP, the default).
    fn count_text(&self, _text: &str) -> Option<u64> {
        None
    }
}

impl ChatBackend for super::ChatClient {
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: &'a mut (dyn FnMut(ClientEvent<'_>) + Send),
    ) -> BoxFuture<'a, Result<Completion, ApiError>> {
        Box::pin(super::ChatClient::complete(self, req, on_event))
    }

    fn target(&self) -> String {
        self.url().to_string()
    }
}
