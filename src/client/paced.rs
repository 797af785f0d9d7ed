//! Many requests to one endpoint, paced together: under a batch's [`AdaptiveLimiter`], a
//! rate-limit answer is not retried by the client while it holds its slot. The limiter pauses
//! every request for the server's Retry-After and lowers the concurrency, and this request
//! queues again for a slot, so requests stop colliding.

use super::limiter::{AdaptiveLimiter, Permit};
use super::{ApiError, ChatBackend, ChatRequest, ClientEvent, Completion, RetryPolicy};

/// How many times one request may be rate-limited under a limiter before it counts as failed.
const MAX_RATE_LIMITED: u32 = 50;

/// Sends `req` through `backend`, paced by `limiter` when there is one. The configured
/// `policy` backs off a rate limit that named no wait, as it does every other retry.
pub async fn send(
    backend: &dyn ChatBackend,
    limiter: Option<&AdaptiveLimiter>,
    policy: &RetryPolicy,
    req: &ChatRequest,
    on_event: &mut (dyn FnMut(ClientEvent<'_>) + Send),
) -> Result<Completion, ApiError> {
    let Some(limiter) = limiter else {
        return backend.complete(req, on_event).await;
    };
    let req = ChatRequest { rate_limits_to_caller: true, ..req.clone() };
    let mut rate_limited = 0;
    loop {
        let permit = limiter.acquire().await;
        let mut emitted = false;
        let result = backend
            .complete(&req, &mut |event| {
                emitted |= matches!(event, ClientEvent::Delta(_));
                lower_on_rate_limit(&permit, &event);
                on_event(event);
            })
            .await;
        match result {
            Ok(completion) => {
                permit.succeeded();
                return Ok(completion);
            }
            Err(error @ ApiError::RateLimited { .. }) if rate_limited < MAX_RATE_LIMITED => {
                rate_limited += 1;
                let wait = error.retry_after().unwrap_or_else(|| policy.backoff(rate_limited));
                permit.rate_limited(wait);
                if emitted {
                    on_event(ClientEvent::Restart);
                }
                on_event(ClientEvent::RateLimited { wait, error: &error });
            }
            Err(error) => return Err(error),
        }
    }
}

/// A rate-limited retry the client makes itself lowers the limiter too.
fn lower_on_rate_limit(permit: &Permit<'_>, event: &ClientEvent<'_>) {
    if let ClientEvent::Retrying { wait, error, .. } = event {
        if error.is_rate_limit() {
            permit.rate_limited(*wait);
        }
    }
}
