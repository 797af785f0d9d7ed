//! The local model behind the same [`ChatBackend`] interface as an HTTP endpoint.
//!
//! Generation runs on a blocking thread and sends its text over a channel, so the async side
//! (REPL, Ctrl-C, progress bars) stays responsive. Dropping the `complete` future sets the
//! cancel flag, and the generation stops before its next token.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use super::engine::{GenParams, LocalModel};
use super::error::LocalError;
use crate::client::{ApiError, ChatBackend, ChatRequest, ClientEvent, Completion};

/// Text pieces the generating thread may be ahead of the caller: bounds how far generation
/// runs past the moment the caller stops listening.
const PIECES_IN_FLIGHT: usize = 16;

pub struct LocalBackend {
    model: Arc<LocalModel>,
}

impl LocalBackend {
    pub fn new(model: LocalModel) -> LocalBackend {
        LocalBackend { model: Arc::new(model) }
    }

    pub fn model(&self) -> &LocalModel {
        &self.model
    }
}

impl ChatBackend for LocalBackend {
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
        on_event: &'a mut (dyn FnMut(ClientEvent<'_>) + Send),
    ) -> BoxFuture<'a, Result<Completion, ApiError>> {
        Box::pin(async move {
            let cancel = Arc::new(AtomicBool::new(false));
            let _cancel_on_drop = CancelOnDrop(cancel.clone());
            let (sender, mut pieces) = mpsc::channel::<String>(PIECES_IN_FLIGHT);
            let model = self.model.clone();
            let messages = req.messages.clone();
            let params = GenParams {
                max_tokens: req.max_tokens,
                temperature: req.temperature,
                seed: fastrand::u64(..),
            };
            let task = tokio::task::spawn_blocking(move || {
                let mut send = |piece: &str| {
                    // The receiver is gone only when the caller stopped listening (and cancelled).
                    let _ = sender.blocking_send(piece.to_string());
                };
                model.generate(&messages, &params, &cancel, &mut send)
            });
            // Ends when the blocking task returns and drops the sender.
            while let Some(piece) = pieces.recv().await {
                on_event(ClientEvent::Delta(&piece));
            }
            let generation = task
                .await
                .map_err(|e| ApiError::Local {
                    message: format!("the local model stopped unexpectedly ({e})"),
                })?
                .map_err(api_error)?;
            Ok(Completion {
                text: generation.text,
                finish_reason: generation.finish,
                usage: Some(generation.usage),
                attempts: 1,
                rate_limits: None,
            })
        })
    }

    fn target(&self) -> String {
        format!("local model {}", self.model.name())
    }
}

/// Sets the cancel flag when the `complete` future ends or is dropped.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn api_error(error: LocalError) -> ApiError {
    match error {
        LocalError::ContextFull { prompt_tokens, context } => ApiError::ContextLength {
            sent: Some(prompt_tokens as u64),
            server_count: None,
            limit: Some(context as u64),
            message: "the prompt does not fit the local model's context".to_string(),
        },
        other => ApiError::Local { message: other.to_string() },
    }
}
