//! Adaptive concurrency for requests to one endpoint (AIMD, as TCP does for packets).
//!
//! Requests take a permit before they are sent. The number of permits starts at the
//! configured concurrency. A rate-limit answer (HTTP 429) halves it — once per round of
//! requests, so a burst of 429s from requests that were already in flight counts once — and
//! pauses every new request until the server's `Retry-After` has passed. Each success adds
//! 1/limit, i.e. one permit per round of successful requests, back up to the configured
//! maximum. A batch against a rate-limited endpoint thus settles near the rate the endpoint
//! allows instead of failing topics.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

pub struct AdaptiveLimiter {
    max: usize,
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    /// Current number of permits, fractional so additive increase can be gradual.
    limit: f64,
    in_flight: usize,
    /// No new request starts before this instant (the server's Retry-After).
    paused_until: Option<Instant>,
    /// Counts decreases; a request that started before the latest one cannot lower the limit
    /// again (its 429 belongs to the round that already caused the decrease).
    epoch: u64,
}

/// Held while a request is in flight; dropping it frees the slot.
pub struct Permit<'a> {
    limiter: &'a AdaptiveLimiter,
    epoch: u64,
}

impl AdaptiveLimiter {
    pub fn new(max: usize) -> AdaptiveLimiter {
        let max = max.max(1);
        AdaptiveLimiter {
            max,
            state: Mutex::new(State {
                limit: max as f64,
                in_flight: 0,
                paused_until: None,
                epoch: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one assignment.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current number of permits.
    pub fn limit(&self) -> usize {
        permits(self.lock().limit)
    }

    /// Waits for a free slot and for any rate-limit pause to end. Cancel-safe: dropping the
    /// future while it waits takes nothing.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Register before looking at the state, so a release in between is not missed.
            notified.as_mut().enable();
            let pause = {
                let mut state = self.lock();
                let now = Instant::now();
                match state.paused_until {
                    Some(until) if until > now => Some(until),
                    _ => {
                        if state.in_flight < permits(state.limit) {
                            state.in_flight += 1;
                            return Permit { limiter: self, epoch: state.epoch };
                        }
                        None
                    }
                }
            };
            match pause {
                Some(until) => tokio::time::sleep_until(until).await,
                None => notified.await,
            }
        }
    }

    fn release(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.changed.notify_waiters();
    }
}

/// Whole permits of a fractional limit (sums of 1/n steps land a hair below whole numbers).
fn permits(limit: f64) -> usize {
    ((limit + 1e-9).floor() as usize).max(1)
}

impl Permit<'_> {
    /// The request was answered: grow the limit by one per round of successes.
    pub fn succeeded(&self) {
        let mut state = self.limiter.lock();
        let max = self.limiter.max as f64;
        state.limit = (state.limit + 1.0 / state.limit.max(1.0)).min(max);
        drop(state);
        self.limiter.changed.notify_waiters();
    }

    /// The server rate-limited this request and asks to wait `retry_after`.
    pub fn rate_limited(&self, retry_after: Duration) {
        let mut state = self.limiter.lock();
        let now = Instant::now();
        let until = now + retry_after;
        state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        if self.epoch == state.epoch {
            state.limit = (state.limit / 2.0).max(1.0);
            state.epoch += 1;
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn permits_are_bounded_by_the_limit() {
        let limiter = AdaptiveLimiter::new(2);
        let a = limiter.acquire().await;
        let _b = limiter.acquire().await;
        let third = limiter.acquire();
        tokio::pin!(third);
        assert!(futures_util::poll!(third.as_mut()).is_pending());
        drop(a);
        assert!(futures_util::poll!(third.as_mut()).is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_rate_limits_halves_the_limit_once_and_successes_grow_it_back() {
        let limiter = AdaptiveLimiter::new(8);
        let permits: Vec<Permit<'_>> = {
            let mut v = Vec::new();
            for _ in 0..8 {
                v.push(limiter.acquire().await);
            }
            v
        };
        for permit in &permits {
            permit.rate_limited(Duration::from_secs(1));
        }
        assert_eq!(limiter.limit(), 4, "requests already in flight count once");
        drop(permits);
        // A request started after the decrease may lower it again.
        let late = limiter.acquire().await;
        late.rate_limited(Duration::ZERO);
        assert_eq!(limiter.limit(), 2);
        // Each success adds 1/limit: 2 → 2.5 → 2.9 → 3.24 → 3.55 → 3.83 → 4.10.
        for _ in 0..5 {
            late.succeeded();
        }
        assert_eq!(limiter.limit(), 3);
        late.succeeded();
        assert_eq!(limiter.limit(), 4);
        for _ in 0..100 {
            late.succeeded();
        }
        assert_eq!(limiter.limit(), 8, "never above the configured concurrency");
    }

    #[tokio::test(start_paused = true)]
    async fn new_requests_wait_for_retry_after() {
        let limiter = AdaptiveLimiter::new(4);
        let permit = limiter.acquire().await;
        permit.rate_limited(Duration::from_secs(5));
        drop(permit);
        let started = Instant::now();
        let _next = limiter.acquire().await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
