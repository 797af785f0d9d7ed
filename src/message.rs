//! The chat vocabulary shared by the client, the conversation core and transcripts.

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat-completions request, exactly as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Message { role: Role::User, content: content.into() }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Message { role: Role::Assistant, content: content.into() }
    }
}

/// Token usage of one request: server-reported when the server gives it. Sums saturate: a
/// server that reports absurd counts cannot make a total wrap around (or panic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Of `prompt_tokens`, those the server served from its prompt cache
    /// (`usage.prompt_tokens_details.cached_tokens`); 0 when it reported none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(other.completion_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
    }
}

/// Why the server stopped generating (`finish_reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// A natural end of the answer.
    Stop,
    /// `max_tokens` or the context ran out: the answer is truncated.
    Length,
    ContentFilter,
    /// Anything else a server sends, kept verbatim.
    Other(String),
}

impl FinishReason {
    /// A server's `finish_reason`, with the aliases some servers use for the standard ones.
    pub fn from_server(s: &str) -> FinishReason {
        match s {
            "eos" | "end_turn" => FinishReason::Stop,
            "max_tokens" => FinishReason::Length,
            other => FinishReason::parse(other),
        }
    }

    /// Exactly the inverse of [`Self::as_str`], so a stored reason reads back unchanged.
    pub fn parse(s: &str) -> FinishReason {
        match s {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(s) => s,
        }
    }

    /// True when the answer did not end by itself and is therefore incomplete.
    pub fn is_truncated(&self) -> bool {
        matches!(self, FinishReason::Length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_totals_saturate_instead_of_wrapping() {
        let huge = Usage { prompt_tokens: u64::MAX - 1, completion_tokens: 5, cached_tokens: 0 };
        assert_eq!(huge.total(), u64::MAX);
        let mut sum = huge;
        sum += huge;
        assert_eq!(sum, Usage { prompt_tokens: u64::MAX, completion_tokens: 10, cached_tokens: 0 });
    }
}
