//! Many requests to one endpoint, paced together: under a batch's [`AdaptiveLimiter`], a
//! rate-limit answer is not retried by the client while it holds its slot. The limiter
//! pauses every request for the server's wait and paces later starts, and this request
//! queues again for a slot, so requests stop colliding.
//!
//! Every request has a hard ceiling: the time it spends waiting on rate limits is bounded
//! by the limiter's `max_wait` (`retry.max_rate_limit_wait_secs`), and it is sent at most
//! [`MAX_SENDS`] times in all, or `max_attempts` if that is higher. A 429 that names no
//! wait, or `Retry-After: 0`, still backs off.

use std::time::Duration;

use tokio::time::Instant;

use super::limiter::{AdaptiveLimiter, Permit};
use super::{ApiError, ChatBackend, ChatRequest, ClientEvent, Completion, RetryPolicy};

/// The most times one request is sent under a limiter, retries of any kind included
/// (unless `max_attempts` allows more).
pub const MAX_SENDS: u32 = 10;

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
    let max_sends = MAX_SENDS.max(policy.max_attempts);
    let (mut sends, mut rate_limited) = (0, 0);
    let mut waited = Duration::ZERO;
    loop {
        let queued = Instant::now();
        let permit = limiter.acquire().await;
        if rate_limited > 0 {
            waited += queued.elapsed();
        }
        let mut emitted = false;
        sends += 1;
        let result = backend
            .complete(&req, &mut |event| {
                emitted |= matches!(event, ClientEvent::Delta(_));
                if matches!(event, ClientEvent::Retrying { .. }) {
                    sends += 1;
                }
                lower_on_rate_limit(&permit, &event);
                on_event(event);
            })
            .await;
        let error = match result {
            Ok(completion) => {
                permit.succeeded(completion.rate_limits.as_ref());
                return Ok(completion);
            }
            Err(error @ ApiError::RateLimited { .. }) => error,
            Err(error) => return Err(error),
        };
        rate_limited += 1;
        let wait = wait_after(&error, policy, rate_limited);
        if sends >= max_sends || waited + wait > limiter.max_wait() {
            return Err(ApiError::RetriesExhausted { attempts: sends, last: Box::new(error) });
        }
        permit.rate_limited(wait);
        drop(permit);
        if emitted {
            on_event(ClientEvent::Restart);
        }
        on_event(ClientEvent::RateLimited { wait, error: &error });
    }
}

/// How long to wait after the `n`th rate limit of one request: the server's wait when it
/// names one; otherwise (no header, or `Retry-After: 0`, which must not mean "resend at
/// once") the configured backoff for that retry with equal jitter: between half of it and
/// all of it, so that requests limited together do not come back together.
fn wait_after(error: &ApiError, policy: &RetryPolicy, n: u32) -> Duration {
    match error.retry_after() {
        Some(wait) if !wait.is_zero() => wait,
        _ => {
            let doublings = n.saturating_sub(1).min(31);
            let cap = policy.initial_backoff.saturating_mul(1 << doublings).min(policy.max_backoff);
            let half = u64::try_from(cap.as_millis() / 2).unwrap_or(u64::MAX);
            cap / 2 + Duration::from_millis(fastrand::u64(0..=half))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::backend::ChatBackend;
    use futures_util::future::BoxFuture;
    use std::sync::Mutex;

    /// A backend that answers 429 (with this `Retry-After`) `limited` times, then an answer;
    /// it records when each request arrived.
    struct Limited {
        limited: usize,
        retry_after: Option<Duration>,
        arrivals: Mutex<Vec<Instant>>,
    }

    impl ChatBackend for Limited {
        fn complete<'a>(
            &'a self,
            _: &'a ChatRequest,
            _: &'a mut (dyn FnMut(ClientEvent<'_>) + Send),
        ) -> BoxFuture<'a, Result<Completion, ApiError>> {
            let mut arrivals = self.arrivals.lock().unwrap();
            arrivals.push(Instant::now());
            let result = if arrivals.len() <= self.limited {
                Err(ApiError::RateLimited {
                    message: "slow down".into(),
                    retry_after: self.retry_after,
                })
            } else {
                Ok(Completion {
                    text: "ok".into(),
                    finish_reason: crate::message::FinishReason::Stop,
                    usage: None,
                    attempts: 1,
                    rate_limits: None,
                })
            };
            Box::pin(std::future::ready(result))
        }

        fn target(&self) -> String {
            "test".into()
        }
    }

    fn backend(limited: usize, retry_after: Option<Duration>) -> Limited {
        Limited { limited, retry_after, arrivals: Mutex::new(Vec::new()) }
    }

    fn gaps(backend: &Limited) -> Vec<Duration> {
        let arrivals = backend.arrivals.lock().unwrap();
        arrivals.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_zero_or_missing_still_backs_off() {
        let policy = RetryPolicy::default();
        for retry_after in [Some(Duration::ZERO), None] {
            let limiter = AdaptiveLimiter::new(4, Duration::from_secs(600));
            let backend = backend(3, retry_after);
            send(&backend, Some(&limiter), &policy, &ChatRequest::default(), &mut |_| {})
                .await
                .unwrap();
            let gaps = gaps(&backend);
            assert_eq!(gaps.len(), 3, "{retry_after:?}");
            // Equal jitter: at least half the backoff cap of each retry (1 s, 2 s, 4 s).
            for (gap, cap) in gaps.iter().zip([1, 2, 4]) {
                let cap = Duration::from_secs(cap);
                assert!(*gap >= cap / 2 && *gap <= cap + Duration::from_millis(1), "{gap:?}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn with_defaults_no_request_is_sent_more_than_ten_times() {
        let policy = RetryPolicy::default();
        let limiter = AdaptiveLimiter::new(4, Duration::from_secs(600));
        let backend = backend(usize::MAX, Some(Duration::from_millis(10)));
        let error = send(&backend, Some(&limiter), &policy, &ChatRequest::default(), &mut |_| {})
            .await
            .unwrap_err();
        assert_eq!(backend.arrivals.lock().unwrap().len(), MAX_SENDS as usize);
        assert!(matches!(error, ApiError::RetriesExhausted { attempts: 10, .. }), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_spent_waiting_on_rate_limits_is_bounded() {
        let policy = RetryPolicy::default();
        let limiter = AdaptiveLimiter::new(4, Duration::from_secs(30));
        let backend = backend(usize::MAX, Some(Duration::from_secs(20)));
        let started = Instant::now();
        let error = send(&backend, Some(&limiter), &policy, &ChatRequest::default(), &mut |_| {})
            .await
            .unwrap_err();
        // 20 s waited once; another 20 s would pass the 30 s ceiling: it gives up at once.
        assert_eq!(backend.arrivals.lock().unwrap().len(), 2);
        assert_eq!(started.elapsed(), Duration::from_secs(20));
        assert!(error.to_string().contains("gave up after 2 attempts"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_wait_is_honoured_as_given() {
        let policy = RetryPolicy::default();
        let limiter = AdaptiveLimiter::new(4, Duration::from_secs(600));
        let backend = backend(2, Some(Duration::from_millis(250)));
        send(&backend, Some(&limiter), &policy, &ChatRequest::default(), &mut |_| {})
            .await
            .unwrap();
        let gaps = gaps(&backend);
        assert_eq!(gaps[0], Duration::from_millis(250));
        assert!(gaps[1] >= Duration::from_millis(250), "{gaps:?}");
    }
}
