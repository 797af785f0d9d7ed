//! Configuration, resolved once: flags > environment > config file > built-in defaults.
//!
//! [`FileConfig`] is the file as written (unknown keys are errors); [`resolve`] layers it
//! with the environment and the flags ([`Overrides`]) into a plain [`Settings`], where each
//! value remembers its [`Origin`]. Nothing below the commands sees clap or the environment.

mod defaults;
mod entries;
mod error;
mod file;
mod headers;
mod key;
mod notice;
mod origin;
mod resolve;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use defaults::context_window as known_context_window;
pub use entries::Entry;
pub use error::{ConfigError, Place};
pub use file::{
    Backend, CoverageMode, FileConfig, LimitsConfig, Prices, ProfileConfig, RetryConfig,
    TimeoutsConfig,
};
pub use headers::is_secret as is_secret_header;
pub use origin::{Origin, Sourced, display_path};
pub use resolve::resolve;

use crate::secret::{ApiKey, KeySource, redact_url};
use headers::Headers;
use key::KeyResolver;

/// What the command-line flags say; `None`/`false` means the flag was not given.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--config FILE`
    pub config_path: Option<PathBuf>,
    /// `--profile NAME`
    pub profile: Option<String>,
    /// `--model M`
    pub model: Option<String>,
    /// `--base-url URL`
    pub base_url: Option<String>,
    /// `--temperature T`
    pub temperature: Option<f32>,
    /// `--max-tokens N`
    pub max_tokens: Option<u32>,
    /// `--no-stream`
    pub no_stream: bool,
    /// `--sessions-dir DIR`
    pub sessions_dir: Option<PathBuf>,
    /// `--prompts DIR`
    pub prompts_dir: Option<PathBuf>,
    /// `--stack "…"`
    pub stack: Option<String>,
    /// `--context-window N`
    pub context_window: Option<u32>,
    /// `--max-attempts N`
    pub max_attempts: Option<u32>,
    /// `--coverage lexical|model`
    pub coverage: Option<CoverageMode>,
    /// `--judge-model M`
    pub judge_model: Option<String>,
    /// `--judge-profile NAME`
    pub judge_profile: Option<String>,
}

/// How often and how patiently to retry a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a batch request may spend waiting on rate limits in all; 429s do not use up
    /// `max_attempts` under a batch's pacing, this bounds them instead.
    pub max_rate_limit_wait: Duration,
}

/// The resolved configuration of one run. It holds no key in the clear: an environment key
/// is an [`ApiKey`] (redacted `Debug`) and a key command runs only in [`Settings::api_key`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// The config file that was read, if any.
    config_file: Sourced<Option<PathBuf>>,
    /// The default config file that was looked for and not found.
    config_missing: Option<PathBuf>,
    profile: Sourced<String>,
    backend: Sourced<Backend>,
    base_url: Sourced<String>,
    model: Sourced<String>,
    key: KeyResolver,
    key_origin: Origin,
    headers: Sourced<Headers>,
    temperature: Sourced<Option<f32>>,
    max_tokens: Sourced<Option<u32>>,
    stream: Sourced<bool>,
    include_usage: Sourced<bool>,
    context_window: Sourced<Option<u32>>,
    prices: Sourced<Option<Prices>>,
    max_attempts: Sourced<u32>,
    initial_backoff: Sourced<Duration>,
    max_backoff: Sourced<Duration>,
    max_rate_limit_wait: Sourced<Duration>,
    connect_timeout: Sourced<Duration>,
    idle_timeout: Sourced<Duration>,
    request_timeout: Sourced<Duration>,
    max_answer_mb: Sourced<u64>,
    sessions_dir: Sourced<PathBuf>,
    prompts_dir: Sourced<Option<PathBuf>>,
    stack: Sourced<Option<String>>,
    coverage: Sourced<CoverageMode>,
    judge_model: Sourced<Option<String>>,
    judge_profile: Sourced<Option<String>>,
    /// With `coverage = "model"` and a judge profile: that profile's settings.
    judge: Option<Box<Settings>>,
}

impl Settings {
    /// The config file that was read, if any.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.value.as_deref()
    }

    /// The config file deepdive reads: the one read, or the default path where one would be.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_file.value.as_deref().or(self.config_missing.as_deref())
    }

    pub fn profile(&self) -> &str {
        &self.profile.value
    }

    /// What answers requests: an HTTP endpoint, or a model in the process.
    pub fn backend(&self) -> Backend {
        self.backend.value
    }

    /// The endpoint's base URL, without a trailing `/` (`https://api.openai.com/v1`). It may
    /// hold credentials: show and record [`Settings::base_url_shown`] instead.
    pub fn base_url(&self) -> &str {
        &self.base_url.value
    }

    /// Where the base URL came from: a flag or the environment names an endpoint that a
    /// resumed batch must be pointed at again; the profile's own follows the config file.
    pub fn base_url_origin(&self) -> &Origin {
        &self.base_url.origin
    }

    /// The base URL as it may be printed or written anywhere (manifests, handbooks, status
    /// lines): user info and secret query parameters redacted ([`redact_url`]).
    pub fn base_url_shown(&self) -> String {
        redact_url(&self.base_url.value)
    }

    /// When the key and the base URL come from different places (a profile's own key sent to
    /// a URL that `--base-url` or `OPENAI_BASE_URL` overrode, or `OPENAI_API_KEY` sent to a
    /// profile's or a flag's URL), a line saying so, to be shown once before sending. `None`
    /// when no key is configured or both come from the same place.
    pub fn key_destination_notice(&self) -> Option<String> {
        notice::key_destination(self)
    }

    pub fn model(&self) -> &str {
        &self.model.value
    }

    /// Where the key comes from, for error messages ("401: check OPENAI_API_KEY").
    pub fn key_source(&self) -> &KeySource {
        self.key.source()
    }

    /// The API key, resolved now: runs the profile's key command on first use (never call
    /// this for commands that send nothing). `Ok(None)` means no key is sent.
    pub fn api_key(&self) -> Result<Option<ApiKey>, ConfigError> {
        self.key.api_key()
    }

    /// Extra HTTP headers for every request. Values may be credentials: never print them
    /// (see [`is_secret_header`] and [`Settings::entries`]).
    pub fn headers(&self) -> &[(String, String)] {
        self.headers.value.as_slice()
    }

    pub fn temperature(&self) -> Option<f32> {
        self.temperature.value
    }

    pub fn max_tokens(&self) -> Option<u32> {
        self.max_tokens.value
    }

    pub fn stream(&self) -> bool {
        self.stream.value
    }

    /// Whether to ask for `stream_options.include_usage` when streaming.
    pub fn include_usage(&self) -> bool {
        self.include_usage.value
    }

    /// The model's context window in tokens; `None` when unknown (no pre-send check).
    pub fn context_window(&self) -> Option<u32> {
        self.context_window.value
    }

    pub fn prices(&self) -> Option<Prices> {
        self.prices.value
    }

    pub fn retry(&self) -> Retry {
        Retry {
            max_attempts: self.max_attempts.value,
            initial_backoff: self.initial_backoff.value,
            max_backoff: self.max_backoff.value,
            max_rate_limit_wait: self.max_rate_limit_wait.value,
        }
    }

    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout.value
    }

    /// How long a response may go without a byte before it counts as stalled.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout.value
    }

    /// The longest one request may take, from sending it to the end of its answer.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout.value
    }

    /// The most answer text one response may bring, in bytes.
    pub fn max_answer_bytes(&self) -> usize {
        usize::try_from(self.max_answer_mb.value.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    pub fn sessions_dir(&self) -> &Path {
        &self.sessions_dir.value
    }

    /// The user's prompts directory (custom topics, overrides), if any.
    pub fn prompts_dir(&self) -> Option<&Path> {
        self.prompts_dir.value.as_deref()
    }

    /// The technology stack line ("PostgreSQL, Spring Boot, EKS"), if any.
    pub fn stack(&self) -> Option<&str> {
        self.stack.value.as_deref()
    }

    /// How the topics' "Cover:" points are judged after each answer.
    pub fn coverage(&self) -> CoverageMode {
        self.coverage.value
    }

    /// With `coverage = "model"`: the judge profile's settings when one is named (its
    /// endpoint, key, headers and timeouts serve the judge), else `None`: the judge uses
    /// this profile's endpoint.
    pub fn judge_profile(&self) -> Option<&Settings> {
        self.judge.as_deref()
    }

    /// With `coverage = "model"`: the judge's model (`judge_model`, else the judge profile's
    /// model, else this profile's); `None` with lexical coverage.
    pub fn judge_model(&self) -> Option<&str> {
        if self.coverage.value != CoverageMode::Model {
            return None;
        }
        let profile = self.judge.as_deref().map(Settings::model);
        Some(self.judge_model.value.as_deref().or(profile).unwrap_or(self.model()))
    }
}
