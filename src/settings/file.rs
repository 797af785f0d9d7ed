//! The config file as written: raw, optional values, unknown keys rejected.
//!
//! Nothing here applies defaults or precedence; `resolve` does that.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Place};
use super::origin::Origin;

/// The whole file. Every table rejects keys it does not know.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The profile used when neither `--profile` nor `DEEPDIVE_PROFILE` names one.
    pub profile: Option<String>,
    pub sessions_dir: Option<PathBuf>,
    pub prompts_dir: Option<PathBuf>,
    pub stack: Option<String>,
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileConfig>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    pub max_attempts: Option<u32>,
    pub initial_backoff_ms: Option<u64>,
    pub max_backoff_ms: Option<u64>,
    /// The longest a batch request may wait in all on rate limits (429) before it fails.
    pub max_rate_limit_wait_secs: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
pub struct TimeoutsConfig {
    pub connect_secs: Option<u64>,
    pub idle_secs: Option<u64>,
    /// The longest one request may take, from sending it to the end of its answer.
    pub request_secs: Option<u64>,
}

/// How much a server can make deepdive hold.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// The most answer text one response may bring, in megabytes (MiB).
    pub max_answer_mb: Option<u64>,
}

/// One named endpoint.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// `http` (an OpenAI-compatible endpoint, the default) or `local` (a GGUF model run in
    /// the process; `model` names it as `owner/repo:QUANT` or a path to a `.gguf` file).
    pub backend: Option<Backend>,
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Name of the environment variable holding the key; `""` means no key is sent.
    pub api_key_env: Option<String>,
    /// A command run with `sh -c`; its standard output is the key.
    pub api_key_cmd: Option<String>,
    pub context_window: Option<u32>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub stream: Option<bool>,
    pub include_usage: Option<bool>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub prices: Option<Prices>,
    /// How the topic's "Cover:" points are judged after each answer: `lexical` (the default)
    /// or `model` (a model grades them, with quotes checked against the answers).
    pub coverage: Option<CoverageMode>,
    /// The judge's model with `coverage = "model"`; default: `judge_profile`'s model, else
    /// this profile's.
    pub judge_model: Option<String>,
    /// A profile whose endpoint the judge's requests go to; default: this profile's.
    pub judge_profile: Option<String>,
}

/// How coverage verdicts are made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(rename_all = "lowercase")]
pub enum CoverageMode {
    /// Term matching in the process: no model call.
    #[default]
    Lexical,
    /// One request to a model judge after each answer.
    Model,
}

impl CoverageMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageMode::Lexical => "lexical",
            CoverageMode::Model => "model",
        }
    }
}

/// What answers requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An OpenAI-compatible chat-completions endpoint.
    #[default]
    Http,
    /// A GGUF model run in the process, on the CPU.
    Local,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Http => "http",
            Backend::Local => "local",
        }
    }
}

/// What the endpoint charges, in USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// What prompt tokens the server served from its prompt cache cost (often a fraction of
    /// `input_per_mtok`); without it they cost as much as any prompt token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_mtok: Option<f64>,
}

impl Prices {
    /// The cost in USD of sending `prompt_tokens` and receiving `completion_tokens`.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_per_mtok
            + completion_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }

    /// The cost in USD of recorded usage: cached prompt tokens at the cached-input price
    /// when the profile has one.
    pub fn cost_of(&self, usage: &crate::message::Usage) -> f64 {
        let cached = usage.cached_tokens.min(usage.prompt_tokens);
        let cached_price = self.cached_input_per_mtok.unwrap_or(self.input_per_mtok);
        self.cost(usage.prompt_tokens - cached, usage.completion_tokens)
            + cached as f64 * cached_price / 1_000_000.0
    }
}

/// A config file that was read: its path, its text (for line numbers) and its contents.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    pub path: PathBuf,
    text: String,
    pub config: FileConfig,
}

impl LoadedFile {
    /// Parses `text`, read from `path`. Errors name the file, the line and the key.
    pub fn parse(path: &Path, text: String) -> Result<LoadedFile, ConfigError> {
        match toml::from_str::<FileConfig>(&text) {
            Ok(config) => Ok(LoadedFile { path: path.to_path_buf(), text, config }),
            Err(err) => Err(describe(path, &text, &err)),
        }
    }

    /// The origin of values taken from this file.
    pub fn origin(&self) -> Origin {
        Origin::File(self.path.clone())
    }

    /// Where the key at `keys` (`["profiles", "local", "temperature"]`) is written.
    pub fn place(&self, keys: &[&str]) -> Place {
        let line = DeTable::parse(&self.text)
            .ok()
            .and_then(|table| span_of(table.get_ref(), keys))
            .map(|span| line_at(&self.text, span.start));
        Place { origin: self.origin(), line }
    }
}

/// Turns a TOML/serde error into a one-line error naming the key path and line.
fn describe(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let span = err.span();
    let place = Place {
        origin: Origin::File(path.to_path_buf()),
        line: span.as_ref().map(|s| line_at(text, s.start)),
    };
    let keys = match (&span, DeTable::parse(text)) {
        (Some(span), Ok(table)) => keys_at(table.get_ref(), span.start).unwrap_or_default(),
        _ => Vec::new(),
    };
    let message = err.message().trim();
    if let Some((key, known)) = unknown_field(message) {
        let table = match keys.split_last() {
            Some((_, parents)) if !parents.is_empty() => format!("[{}]", parents.join(".")),
            _ => "the top level".to_string(),
        };
        return ConfigError::UnknownKey { place, key, table, known };
    }
    let message = if keys.is_empty() {
        message.to_string()
    } else {
        format!("{}: {message}", keys.join("."))
    };
    ConfigError::Syntax { place, message }
}

/// Picks serde's "unknown field `x`, expected one of `a`, `b`" apart into the key and the
/// known keys.
fn unknown_field(message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest.trim_start_matches(',').trim();
    let expected = expected.strip_prefix("expected").unwrap_or(expected).trim();
    let expected = expected.strip_prefix("one of").unwrap_or(expected).trim();
    let known = if expected.starts_with("there are no fields") {
        "none".to_string()
    } else {
        expected.replace('`', "")
    };
    Some((key.to_string(), known))
}

fn line_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The dotted key path of the key or value covering byte `at`, deepest first found.
fn keys_at(table: &DeTable<'_>, at: usize) -> Option<Vec<String>> {
    for (key, value) in table.iter() {
        if let DeValue::Table(inner) = value.get_ref() {
            if let Some(mut rest) = keys_at(inner, at) {
                rest.insert(0, key.get_ref().to_string());
                return Some(rest);
            }
        }
        if covers(&key.span(), at) || covers(&value.span(), at) {
            return Some(vec![key.get_ref().to_string()]);
        }
    }
    None
}

fn covers(span: &Range<usize>, at: usize) -> bool {
    span.start <= at && at < span.end.max(span.start + 1)
}

/// The span of the key at `keys`, if the file has it.
fn span_of(table: &DeTable<'_>, keys: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = keys.split_first()?;
    let (key, value) = table.iter().find(|(key, _)| key.get_ref() == first)?;
    if rest.is_empty() {
        return Some(key.span());
    }
    match value.get_ref() {
        DeValue::Table(inner) => span_of(inner, rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedFile, ConfigError> {
        LoadedFile::parse(Path::new("/cfg/config.toml"), text.to_string())
    }

    #[test]
    fn unknown_key_names_key_table_file_and_line() {
        let text =
            "profile = \"local\"\n\n[profiles.local]\nmodel = \"llama3\"\ntemprature = 0.2\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with("config error in /cfg/config.toml:5: "), "{err}");
        assert!(err.contains("unknown key 'temprature' in [profiles.local]"), "{err}");
        assert!(err.contains("known: backend, base_url, model, api_key_env"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn unknown_key_at_top_level_and_in_sub_tables() {
        let err = parse("sesions_dir = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("unknown key 'sesions_dir' in the top level"), "{err}");
        assert!(err.contains(":1:"), "{err}");

        let err = parse("[retry]\nmax_attempt = 3\n").unwrap_err().to_string();
        assert!(err.contains("unknown key 'max_attempt' in [retry]"), "{err}");

        let text =
            "[profiles.a.prices]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\nper_call = 1\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("unknown key 'per_call' in [profiles.a.prices]"), "{err}");
        assert!(err.contains(":4:"), "{err}");
    }

    #[test]
    fn unknown_key_in_a_dotted_key_is_found_too() {
        let err = parse("profiles.a.modle = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("unknown key 'modle' in [profiles.a]"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key_path() {
        let err = parse("[profiles.a]\ntemperature = \"hot\"\n").unwrap_err().to_string();
        assert!(err.starts_with("config error in /cfg/config.toml:2: "), "{err}");
        assert!(err.contains("profiles.a.temperature"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = parse("[profiles.a]\nmodel = \n").unwrap_err().to_string();
        assert!(err.starts_with("config error in /cfg/config.toml:2"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn place_finds_the_line_of_a_key() {
        let file = parse("profile = \"a\"\n[profiles.a]\nmodel = \"m\"\nmax_tokens = 0\n").unwrap();
        assert_eq!(file.place(&["profiles", "a", "max_tokens"]).line, Some(4));
        assert_eq!(file.place(&["profile"]).line, Some(1));
        assert_eq!(file.place(&["nowhere"]).line, None);
    }

    #[test]
    fn prices_cost_is_per_million_tokens() {
        let prices =
            Prices { input_per_mtok: 2.0, output_per_mtok: 8.0, cached_input_per_mtok: None };
        assert!((prices.cost(1_000_000, 500_000) - 6.0).abs() < 1e-9);
        let usage = crate::message::Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 500_000,
            cached_tokens: 400_000,
        };
        assert!((prices.cost_of(&usage) - 6.0).abs() < 1e-9, "no cached price: full price");
        let cached = Prices { cached_input_per_mtok: Some(0.5), ..prices };
        assert!((cached.cost_of(&usage) - (1.2 + 0.2 + 4.0)).abs() < 1e-9);
    }
}
