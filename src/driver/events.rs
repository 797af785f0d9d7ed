//! The one stream of typed events a conversation run emits. Chat renders it, batch turns it
//! into progress, replay prints it; what a wait means is written once, here.

use std::fmt;
use std::time::Duration;

use super::conversation::PlannedTurn;
use super::run::TurnFailure;
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
}

/// Why and how long a request waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait<'a> {
    /// The last attempt failed; attempt `attempt` of `max_attempts` follows after `wait`.
    Retry { attempt: u32, max_attempts: u32, wait: Duration, reason: &'a str },
    /// The endpoint rate-limited the request; it is sent again once the pace allows, at
    /// least `wait` from now.
    RateLimited { wait: Duration, reason: &'a str },
}

impl fmt::Display for Wait<'_> {
    /// `the server failed with HTTP 503 …; attempt 2 of 5 in 1.2s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Retry { attempt, max_attempts, wait, reason } => {
                write!(f, "{reason}; attempt {attempt} of {max_attempts} in {}", duration(*wait))
            }
            Wait::RateLimited { wait, reason } => {
                write!(f, "{reason}; slowing down: sending it again in {}", duration(*wait))
            }
        }
    }
}

impl Wait<'_> {
    /// The same, short enough for a progress line: `attempt 2/5 in 1.2s: HTTP 503`.
    pub fn short(&self) -> String {
        match self {
            Wait::Retry { attempt, max_attempts, wait, reason } => {
                format!("attempt {attempt}/{max_attempts} in {}: {reason}", duration(*wait))
            }
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
        let retry = Wait::Retry {
            attempt: 2,
            max_attempts: 5,
            wait: Duration::from_millis(1200),
            reason: "HTTP 503",
        };
        assert_eq!(retry.to_string(), "HTTP 503; attempt 2 of 5 in 1.2s");
        assert_eq!(retry.short(), "attempt 2/5 in 1.2s: HTTP 503");
        let limited = Wait::RateLimited { wait: Duration::from_secs(3), reason: "HTTP 429" };
        assert_eq!(limited.to_string(), "HTTP 429; slowing down: sending it again in 3.0s");
    }
}
