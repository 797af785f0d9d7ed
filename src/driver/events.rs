//! The one stream of typed events a conversation run emits. Chat renders it, batch turns it
//! into progress, replay prints it; what a wait means is written once, here.

use std::fmt;
use std::time::Duration;

use super::conversation::PlannedTurn;
use super::run::TurnFailure;
use crate::client::ApiError;
use crate::coverage::Verdicts;
use crate::render::duration;
use crate::session::Exchange;
use crate::tokens::TokenCount;

/// Something that happened while a conversation ran.
#[derive(Debug)]
pub enum Event<'a> {
    /// A request for `turn` is about to be sent: `messages` messages, `prompt` tokens when
    /// they were counted.
    Sending { turn: &'a PlannedTurn, messages: usize, prompt: Option<TokenCount> },
    /// These follow-up questions were left out of the request to fit the context window.
    LeftOut(&'a [String]),
    /// Answer text arrived.
    Delta(&'a str),
    /// The answer so far is void: the request is sent again (after a [`Event::Wait`]).
    Restart,
    /// The request waits before it is sent again.
    Wait(Wait<'a>),
    /// The answer was recorded and saved.
    Answered { exchange: Exchange<'a>, elapsed: Duration },
    /// The user stopped the answer; what arrived was recorded and saved.
    Interrupted { exchange: Exchange<'a> },
    /// The turn failed (after the client's retries); recorded and saved.
    Failed { exchange: Exchange<'a>, failure: &'a TurnFailure },
    /// After an answer: the model judge `judge` grades the points of `topic`.
    Judging { topic: &'a str, judge: &'a str },
    /// After an answer: the verdicts in force on `topic`'s points were recorded and saved
    /// (their note says when they are not what was asked for).
    Coverage { topic: &'a str, verdicts: &'a Verdicts },
}

/// Why and how long a request waits.
#[derive(Clone, Copy, Debug)]
pub enum Wait<'a> {
    /// The last attempt failed with `error`; attempt `attempt` of `max_attempts` follows
    /// after `wait`.
    Retry { attempt: u32, max_attempts: u32, wait: Duration, error: &'a ApiError },
    /// The endpoint rate-limited the request; it is sent again once the pace allows, at
    /// least `wait` from now.
    RateLimited { wait: Duration, error: &'a ApiError },
}

impl fmt::Display for Wait<'_> {
    /// `the server failed with HTTP 503 …; attempt 2 of 5 in 1.2s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Retry { attempt, max_attempts, wait, error } => write!(
                f,
                "{}; attempt {attempt} of {max_attempts} in {}",
                error.reason(),
                duration(*wait)
            ),
            Wait::RateLimited { wait, error } => write!(
                f,
                "{}; slowing down: sending it again in {}",
                error.reason(),
                duration(*wait)
            ),
        }
    }
}

impl Wait<'_> {
    /// The same, short enough for a progress line: `attempt 2/5 in 1.2s: HTTP 503`.
    pub fn short(&self) -> String {
        match self {
            Wait::Retry { attempt, max_attempts, wait, error } => format!(
                "attempt {attempt}/{max_attempts} in {}: {}",
                duration(*wait),
                error.reason()
            ),
            Wait::RateLimited { wait, .. } => {
                format!("rate-limited: waiting {} for the endpoint", duration(*wait))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_one_line() {
        let overloaded =
            ApiError::Server { status: 503, message: "overloaded".into(), retry_after: None };
        let retry = Wait::Retry {
            attempt: 2,
            max_attempts: 5,
            wait: Duration::from_millis(1200),
            error: &overloaded,
        };
        assert_eq!(
            retry.to_string(),
            "HTTP 503 Service Unavailable: overloaded; attempt 2 of 5 in 1.2s"
        );
        assert_eq!(retry.short(), "attempt 2/5 in 1.2s: HTTP 503 Service Unavailable: overloaded");
        let slow = ApiError::RateLimited { message: "slow down".into(), retry_after: None };
        let limited = Wait::RateLimited { wait: Duration::from_secs(3), error: &slow };
        assert_eq!(
            limited.to_string(),
            "HTTP 429 Too Many Requests: slow down; slowing down: sending it again in 3.0s"
        );
    }
}
