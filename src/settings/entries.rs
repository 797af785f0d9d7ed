//! The rows of `deepdive config show`: every setting, its value as it may be shown, its origin.

use std::fmt::Display;
use std::time::Duration;

use super::Settings;
use super::origin::{Origin, Sourced, display_path};

/// One resolved setting, safe to print: keys, secret header values, credentials in the base
/// URL and keys written inline in a key command are redacted.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key as the config file spells it (`retry.max_attempts`, `headers.X-Title`).
    pub key: String,
    pub value: String,
    pub origin: Origin,
}

const NONE: &str = "<none>";

impl Settings {
    /// Every setting in a stable order, for `deepdive config show`. Never contains a key.
    pub fn entries(&self) -> Vec<Entry> {
        let mut rows = Vec::new();
        let mut push = |key: &str, value: String, origin: &Origin| {
            rows.push(Entry { key: key.to_string(), value, origin: origin.clone() });
        };

        let config_file = match (&self.config_file.value, &self.config_missing) {
            (Some(path), _) => display_path(path),
            (None, Some(missing)) => format!("{NONE} ({} does not exist)", display_path(missing)),
            (None, None) => NONE.to_string(),
        };
        push("config_file", config_file, &self.config_file.origin);
        push("profile", self.profile.value.clone(), &self.profile.origin);
        push("backend", self.backend.value.as_str().to_string(), &self.backend.origin);
        push("base_url", self.base_url_shown(), &self.base_url.origin);
        push("model", self.model.value.clone(), &self.model.origin);
        push("api_key", self.key.describe(), &self.key_origin);
        for (name, value) in self.headers.value.shown() {
            push(&format!("headers.{name}"), value.to_string(), &self.headers.origin);
        }
        push("temperature", optional(&self.temperature), &self.temperature.origin);
        push("max_tokens", optional(&self.max_tokens), &self.max_tokens.origin);
        push("stream", self.stream.value.to_string(), &self.stream.origin);
        push("include_usage", self.include_usage.value.to_string(), &self.include_usage.origin);
        push("context_window", optional(&self.context_window), &self.context_window.origin);
        let (input, output) = match self.prices.value {
            Some(prices) => (prices.input_per_mtok.to_string(), prices.output_per_mtok.to_string()),
            None => (NONE.to_string(), NONE.to_string()),
        };
        push("prices.input_per_mtok", input, &self.prices.origin);
        push("prices.output_per_mtok", output, &self.prices.origin);
        push("retry.max_attempts", self.max_attempts.value.to_string(), &self.max_attempts.origin);
        push(
            "retry.initial_backoff_ms",
            millis(&self.initial_backoff),
            &self.initial_backoff.origin,
        );
        push("retry.max_backoff_ms", millis(&self.max_backoff), &self.max_backoff.origin);
        push(
            "retry.max_rate_limit_wait_secs",
            secs(&self.max_rate_limit_wait),
            &self.max_rate_limit_wait.origin,
        );
        push("timeouts.connect_secs", secs(&self.connect_timeout), &self.connect_timeout.origin);
        push("timeouts.idle_secs", secs(&self.idle_timeout), &self.idle_timeout.origin);
        push("timeouts.request_secs", secs(&self.request_timeout), &self.request_timeout.origin);
        let max_answer = self.max_answer_mb.value.to_string();
        push("limits.max_answer_mb", max_answer, &self.max_answer_mb.origin);
        push("sessions_dir", display_path(&self.sessions_dir.value), &self.sessions_dir.origin);
        let prompts = self.prompts_dir.value.as_deref().map_or(NONE.to_string(), display_path);
        push("prompts_dir", prompts, &self.prompts_dir.origin);
        push("stack", optional(&self.stack), &self.stack.origin);
        push("coverage", self.coverage.value.as_str().to_string(), &self.coverage.origin);
        let judge_model = self.judge_model().map_or(NONE.to_string(), str::to_string);
        push("judge_model", judge_model, &self.judge_model.origin);
        push("judge_profile", optional(&self.judge_profile), &self.judge_profile.origin);
        rows
    }
}

fn optional<T: Display>(value: &Sourced<Option<T>>) -> String {
    value.value.as_ref().map_or(NONE.to_string(), ToString::to_string)
}

fn millis(value: &Sourced<Duration>) -> String {
    value.value.as_millis().to_string()
}

fn secs(value: &Sourced<Duration>) -> String {
    value.value.as_secs().to_string()
}
