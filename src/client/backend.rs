//! What answers a chat request: an HTTP endpoint ([`super::ChatClient`]) or a model running
//! in-process (`crate::local`). Callers hold a `&dyn ChatBackend` and never know which.

use futures_util::future::BoxFuture;

use super::{ApiError, ChatRequest, ClientEvent, Completion};
use crate::tokens::CountTokens;

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

    /// Counts with the model's own chat template and tokenizer, when this backend knows
    /// them: the local model does (exact counts); an HTTP endpoint does not (`None`, the
    /// default: callers estimate with tiktoken).
    fn token_counter(&self) -> Option<&dyn CountTokens> {
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
