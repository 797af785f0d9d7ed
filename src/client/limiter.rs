//! Pacing for many requests to one endpoint: at most the configured number in flight, and
//! request *starts* spaced at the rate the endpoint allows, learned as the run goes.
//!
//! The spacing starts at zero (no limit known). It is learned from:
//! - a rate-limit answer (HTTP 429): every new start waits until the server's `Retry-After`
//!   (or `retry-after-ms`) has passed, and the spacing becomes the smaller of that wait and
//!   the spacing of the requests the endpoint admitted in the last second (so a strict
//!   limiter that says "next slot in 100 ms" and a window limiter that says "window ends in
//!   600 ms, after 10 requests" both give 100 ms), with a 3 % margin; a 429 for a request
//!   sent at the current pace widens it by a tenth at least;
//! - `x-ratelimit-limit-requests`, `-remaining-requests` and `-reset-requests` on answers:
//!   when few requests remain, the spacing is the refill rate they imply.
//!
//! After a run of successes without a 429 the spacing shrinks a little, so a limit that was
//! raised (or an estimate that was too cautious) is found again. The concurrency itself is
//! never lowered: with pacing, fewer slots would only cap the rate below what is allowed.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How far back admitted starts are counted to estimate the endpoint's rate.
const HORIZON: Duration = Duration::from_secs(1);
/// Requests are spaced this much wider than the estimate, so timing noise does not collide.
const MARGIN: f64 = 1.03;
/// A 429 for a request sent at the current pace, once that pace has been in force for a
/// whole [`HORIZON`] (so the server's window holds only requests sent at it): the pace was
/// still too fast, so the spacing grows by this factor at least.
const BACKOFF: f64 = 1.1;
/// Successes in a row after which the spacing shrinks by [`PROBE`].
const PROBE_AFTER: u32 = 20;
const PROBE: f64 = 0.97;
/// No spacing is wider than this, whatever a server says (the pause itself can be longer).
const MAX_INTERVAL: Duration = Duration::from_secs(60);

pub struct AdaptiveLimiter {
    max: usize,
    max_wait: Duration,
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    in_flight: usize,
    /// No new request starts before this instant (the server's Retry-After).
    paused_until: Option<Instant>,
    /// The spacing between request starts; zero while no limit is known.
    interval: Duration,
    /// The earliest start of the next request.
    next_start: Option<Instant>,
    /// Starts within [`HORIZON`]: when, which request, and whether it was rate-limited.
    starts: VecDeque<Start>,
    next_id: u64,
    successes: u32,
    /// Counts changes of the pace after a 429; a request started before the latest one was
    /// sent at an older pace, and its 429 says nothing about the current one.
    epoch: u64,
    /// When the current pace was set.
    paced_since: Instant,
}

struct Start {
    at: Instant,
    id: u64,
    limited: bool,
    epoch: u64,
}

/// What an answer's `x-ratelimit-*-requests` headers said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests allowed per window (`x-ratelimit-limit-requests`).
    pub limit: Option<u64>,
    /// Requests left (`x-ratelimit-remaining-requests`).
    pub remaining: Option<u64>,
    /// Until the allowance is whole again (`x-ratelimit-reset-requests`: `1s`, `6m0s`, `20ms`).
    pub reset: Option<Duration>,
}

impl RateLimits {
    /// Reads the headers through `header` (name → value); `None` when none is present.
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Option<RateLimits> {
        let number = |name| header(name).and_then(|v| v.trim().parse::<u64>().ok());
        let limits = RateLimits {
            limit: number("x-ratelimit-limit-requests"),
            remaining: number("x-ratelimit-remaining-requests"),
            reset: header("x-ratelimit-reset-requests").and_then(parse_reset),
        };
        (limits != RateLimits::default()).then_some(limits)
    }

    /// The spacing these limits ask for: the refill rate of what was used, once few
    /// requests are left (`in_flight` or fewer); `None` while there is room.
    fn interval(&self, in_flight: usize) -> Option<Duration> {
        let (limit, remaining, reset) = (self.limit?, self.remaining?, self.reset?);
        if remaining > in_flight as u64 || limit <= remaining {
            return None;
        }
        Some(reset / u32::try_from(limit - remaining).unwrap_or(u32::MAX))
    }
}

/// `1s`, `6m0s`, `1h2m3.5s`, `250ms`, or plain seconds (`0.5`).
fn parse_reset(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let mut total = 0.0;
    let mut rest = value;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        total += number
            * match &rest[..unit] {
                "ms" => 0.001,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return None,
            };
        rest = &rest[unit..];
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Held while a request is in flight; dropping it frees the slot.
pub struct Permit<'a> {
    limiter: &'a AdaptiveLimiter,
    id: u64,
}

impl AdaptiveLimiter {
    /// At most `max` requests in flight; one request may wait on rate limits `max_wait` in all.
    pub fn new(max: usize, max_wait: Duration) -> AdaptiveLimiter {
        AdaptiveLimiter {
            max: max.max(1),
            max_wait,
            state: Mutex::new(State {
                in_flight: 0,
                paused_until: None,
                interval: Duration::ZERO,
                next_start: None,
                starts: VecDeque::new(),
                next_id: 0,
                successes: 0,
                epoch: 0,
                paced_since: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one assignment.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The most requests in flight at once.
    pub fn limit(&self) -> usize {
        self.max
    }

    /// The longest one request may wait on rate limits in all.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The current spacing between request starts (zero: none).
    pub fn interval(&self) -> Duration {
        self.lock().interval
    }

    /// Waits for a free slot, for any rate-limit pause to end and for the pace to allow a
    /// start. Cancel-safe: dropping the future while it waits takes nothing.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Register before looking at the state, so a release in between is not missed.
            notified.as_mut().enable();
            let wait_until = {
                let mut state = self.lock();
                let now = Instant::now();
                let ready = [state.paused_until, state.next_start].into_iter().flatten().max();
                match ready {
                    Some(at) if at > now => Some(at),
                    _ if state.in_flight < self.max => {
                        state.in_flight += 1;
                        let id = state.next_id;
                        state.next_id += 1;
                        state.next_start = Some(now + state.interval);
                        let epoch = state.epoch;
                        state.starts.push_back(Start { at: now, id, limited: false, epoch });
                        while state.starts.front().is_some_and(|s| now - s.at > HORIZON) {
                            state.starts.pop_front();
                        }
                        return Permit { limiter: self, id };
                    }
                    _ => None,
                }
            };
            match wait_until {
                Some(at) => tokio::time::sleep_until(at).await,
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

impl Permit<'_> {
    /// The request was answered, with these rate-limit headers if the server sent any.
    pub fn succeeded(&self, limits: Option<&RateLimits>) {
        let mut state = self.limiter.lock();
        if let Some(spacing) = limits.and_then(|l| l.interval(state.in_flight)) {
            let spacing = spacing.mul_f64(MARGIN).min(MAX_INTERVAL);
            state.interval = state.interval.max(spacing);
            state.successes = 0;
        } else {
            state.successes += 1;
            if state.successes >= PROBE_AFTER {
                state.successes = 0;
                state.interval = state.interval.mul_f64(PROBE);
            }
        }
        drop(state);
        self.limiter.changed.notify_waiters();
    }

    /// The server rate-limited this request; no request starts before `wait` has passed,
    /// and the pace is set from what the server admitted.
    pub fn rate_limited(&self, wait: Duration) {
        let mut state = self.limiter.lock();
        let now = Instant::now();
        let until = now + wait;
        state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        let mut at_current_pace = false;
        let (epoch, settled) = (state.epoch, now - state.paced_since >= HORIZON);
        if let Some(start) = state.starts.iter_mut().find(|s| s.id == self.id) {
            start.limited = true;
            at_current_pace = start.epoch == epoch && settled;
        }
        let admitted =
            state.starts.iter().filter(|s| !s.limited && now - s.at <= HORIZON).count() as u32;
        // The spacing of what the endpoint admitted in the last second, and the server's
        // own "next slot" hint: the smaller is the pace (a window's end says little).
        let observed = (admitted > 0).then(|| HORIZON / admitted);
        let hint = (!wait.is_zero()).then_some(wait.min(HORIZON));
        if let Some(estimate) = [observed, hint].into_iter().flatten().min() {
            let mut spacing = estimate.mul_f64(MARGIN);
            if at_current_pace {
                spacing = spacing.max(state.interval.mul_f64(BACKOFF));
            }
            let spacing = state.interval.max(spacing.min(MAX_INTERVAL));
            if spacing != state.interval {
                state.interval = spacing;
                state.epoch += 1;
                state.paced_since = now;
            }
        }
        state.successes = 0;
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

    fn limiter(max: usize) -> AdaptiveLimiter {
        AdaptiveLimiter::new(max, Duration::from_secs(600))
    }

    #[tokio::test(start_paused = true)]
    async fn permits_are_bounded_by_the_limit() {
        let limiter = limiter(2);
        let a = limiter.acquire().await;
        let _b = limiter.acquire().await;
        let third = limiter.acquire();
        tokio::pin!(third);
        assert!(futures_util::poll!(third.as_mut()).is_pending());
        drop(a);
        assert!(futures_util::poll!(third.as_mut()).is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn new_requests_wait_for_retry_after() {
        let limiter = limiter(4);
        let permit = limiter.acquire().await;
        permit.rate_limited(Duration::from_secs(5));
        drop(permit);
        let started = Instant::now();
        let _next = limiter.acquire().await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_strict_limiter_s_next_slot_hint_sets_the_pace_and_starts_are_spaced() {
        let limiter = limiter(8);
        // A burst of 4: the endpoint (10/s, no burst) admits one, and says "next in 100 ms".
        let burst: Vec<Permit<'_>> = {
            let mut v = Vec::new();
            for _ in 0..4 {
                v.push(limiter.acquire().await);
            }
            v
        };
        for permit in &burst[1..] {
            permit.rate_limited(Duration::from_millis(100));
        }
        assert_eq!(limiter.interval(), Duration::from_millis(103));
        drop(burst);
        // The next starts come no faster than one per 105 ms, after the pause.
        let started = Instant::now();
        let mut at = Vec::new();
        for _ in 0..4 {
            let permit = limiter.acquire().await;
            at.push(started.elapsed());
            drop(permit);
        }
        let ms: Vec<u128> = at.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 203, 306, 409]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_limiter_s_long_wait_is_paced_by_what_it_admitted() {
        let limiter = limiter(8);
        // Ten admitted over the last second, then a 429 saying the window ends in 600 ms.
        for _ in 0..10 {
            let permit = limiter.acquire().await;
            permit.succeeded(None);
            drop(permit);
            tokio::time::advance(Duration::from_millis(40)).await;
        }
        let late = limiter.acquire().await;
        late.rate_limited(Duration::from_millis(600));
        assert_eq!(limiter.interval(), Duration::from_millis(103), "10 admitted per second");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_headers_pace_before_any_429_and_successes_probe_faster() {
        let limiter = limiter(4);
        let permit = limiter.acquire().await;
        let roomy = RateLimits {
            limit: Some(60),
            remaining: Some(50),
            reset: Some(Duration::from_secs(10)),
        };
        permit.succeeded(Some(&roomy));
        assert_eq!(limiter.interval(), Duration::ZERO, "room left: no pacing");
        let low = RateLimits {
            limit: Some(60),
            remaining: Some(0),
            reset: Some(Duration::from_secs(60)),
        };
        permit.succeeded(Some(&low));
        assert_eq!(limiter.interval(), Duration::from_millis(1030), "60 per minute");
        for _ in 0..PROBE_AFTER {
            permit.succeeded(None);
        }
        assert_eq!(limiter.interval(), Duration::from_millis(1030).mul_f64(PROBE));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_at_the_current_pace_widens_it_and_an_older_one_does_not() {
        let limiter = limiter(8);
        let first = limiter.acquire().await;
        let old = limiter.acquire().await;
        // The endpoint hints 50 ms; a request sent at that pace, once it held for a second,
        // is limited again: the pace was too fast.
        first.rate_limited(Duration::from_millis(50));
        let paced = limiter.interval();
        assert_eq!(paced, Duration::from_micros(51_500));
        old.rate_limited(Duration::from_millis(50));
        assert_eq!(limiter.interval(), paced, "sent before the pace was set: no change");
        drop((first, old));
        let early = limiter.acquire().await;
        early.rate_limited(Duration::from_millis(50));
        assert_eq!(limiter.interval(), paced, "the server's window still holds older requests");
        drop(early);
        tokio::time::advance(HORIZON).await;
        let settled = limiter.acquire().await;
        settled.rate_limited(Duration::from_millis(50));
        assert_eq!(limiter.interval(), paced.mul_f64(BACKOFF));
    }

    #[test]
    fn reset_durations_in_openai_s_format() {
        assert_eq!(parse_reset("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_reset("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_reset("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(parse_reset("1h2m3.5s"), Some(Duration::from_millis(3_723_500)));
        assert_eq!(parse_reset("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_reset("soon"), None);
        assert_eq!(parse_reset("5x"), None);
        let headers = |name: &str| match name {
            "x-ratelimit-limit-requests" => Some("500"),
            "x-ratelimit-remaining-requests" => Some("499"),
            "x-ratelimit-reset-requests" => Some("120ms"),
            _ => None,
        };
        let limits = RateLimits::from_headers(headers).unwrap();
        assert_eq!(limits.reset, Some(Duration::from_millis(120)));
        assert_eq!(RateLimits::from_headers(|_| None), None);
    }
}
