//! The one place where flags, environment, config file and defaults meet.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::defaults::{self, Dirs};
use super::error::{ConfigError, Place};
use super::file::{Backend, CoverageMode, LoadedFile, ProfileConfig};
use super::headers::{self, Headers};
use super::key::KeyResolver;
use super::origin::{Origin, Sourced};
use super::{Overrides, Settings};

/// Resolves the settings of this run, once.
///
/// For every key the first layer that sets it wins: **flags > environment > config file >
/// built-in defaults**. Environment variables with an empty value count as unset.
///
/// - Config file: `--config`, else `DEEPDIVE_CONFIG`, else `deepdive/config.toml` in the
///   platform config directory. A missing default file is fine; a missing named one is an error.
///   Relative paths in the file are relative to the file's directory; `~/` is the home directory.
/// - Profile: `--profile` > `DEEPDIVE_PROFILE` > the file's `profile` > the profile named
///   `default` or the only one defined. A file without profiles means the built-in `default`
///   profile (OpenAI, `gpt-4o-mini`, key from `OPENAI_API_KEY`).
/// - `base_url`: `--base-url` > `OPENAI_BASE_URL` > the profile's > OpenAI's.
/// - `model`: `--model` > `DEEPDIVE_MODEL` > the profile's > `gpt-4o-mini`.
/// - Key: the profile's `api_key_env` / `api_key_cmd` if it names one (`api_key_env = ""`:
///   no key), else `OPENAI_API_KEY`. A key command runs only in [`Settings::api_key`].
/// - `context_window`: `--context-window` > the profile's > the table of well-known models.
/// - `sessions_dir`, `prompts_dir`, `stack`: flag > `DEEPDIVE_*` > file > default
///   (`./sessions` if it exists, else `deepdive/sessions` in the platform data directory).
/// - `temperature`, `max_tokens`, `stream` (`--no-stream`), retry attempts: flag > profile/file.
///   `include_usage`, headers, prices, backoff, timeouts and limits come from the file only.
///
/// Every value is validated here; an error names the key and where it was set.
pub fn resolve(
    flags: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    resolve_in(flags, env, &Dirs::system())
}

/// [`resolve`] with the platform directories given, so tests never read the user's files.
pub(super) fn resolve_in(
    flags: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    dirs: &Dirs,
) -> Result<Settings, ConfigError> {
    let env = Env(env);
    let (config_file, config_missing, file) = load_file(flags, &env, dirs)?;
    let layer = FileLayer { file: file.as_ref(), dirs };
    let (profile, p) = choose_profile(flags, &env, &layer)?;
    let name = profile.value.as_str();
    let backend = match p.backend {
        Some(backend) if profile.origin == Origin::Default => Sourced::default(backend),
        Some(backend) => layer.get(Some(backend)).unwrap_or_else(|| Sourced::default(backend)),
        None => Sourced::default(Backend::Http),
    };
    let local = backend.value == Backend::Local;

    let base_url = if local {
        Sourced::default(defaults::LOCAL_BASE_URL.to_string())
    } else {
        flag(flags.base_url.clone(), "--base-url")
            .or_else(|| env.get("OPENAI_BASE_URL"))
            .or_else(|| layer.get(p.base_url.clone()))
            .unwrap_or_else(|| Sourced::default(defaults::BASE_URL.to_string()))
    };
    let default_model = if local { defaults::LOCAL_MODEL } else { defaults::MODEL };
    let model = flag(flags.model.clone(), "--model")
        .or_else(|| env.get("DEEPDIVE_MODEL"))
        .or_else(|| layer.get(p.model.clone()))
        .unwrap_or_else(|| Sourced::default(default_model.to_string()));

    if p.api_key_env.is_some() && p.api_key_cmd.is_some() {
        return Err(layer.invalid(
            &layer.origin(),
            &["profiles", name, "api_key_cmd"],
            "is set together with api_key_env; keep only one of them".to_string(),
        ));
    }
    let key = KeyResolver::new(p.api_key_env.as_deref(), p.api_key_cmd.as_deref(), env.0);
    let key_origin = match (&p.api_key_env, &p.api_key_cmd) {
        (None, None) => match env.get(defaults::OPENAI_API_KEY) {
            Some(set) => set.origin,
            None => Origin::Default,
        },
        _ => layer.origin(),
    };

    let headers_origin = if p.headers.is_empty() { Origin::Default } else { layer.origin() };
    let headers =
        Sourced::new(Headers::new(p.headers.clone().into_iter().collect()), headers_origin);
    let temperature = flag(flags.temperature, "--temperature")
        .or_else(|| layer.get(p.temperature))
        .map_or_else(unset, |s| s.map(Some));
    let max_tokens = flag(flags.max_tokens, "--max-tokens")
        .or_else(|| layer.get(p.max_tokens))
        .map_or_else(unset, |s| s.map(Some));
    let stream = flag(flags.no_stream.then_some(false), "--no-stream")
        .or_else(|| layer.get(p.stream))
        .unwrap_or_else(|| Sourced::default(defaults::STREAM));
    let include_usage =
        layer.get(p.include_usage).unwrap_or_else(|| Sourced::default(defaults::INCLUDE_USAGE));
    let context_window = flag(flags.context_window, "--context-window")
        .or_else(|| layer.get(p.context_window))
        .map(|s| s.map(Some))
        .unwrap_or_else(|| Sourced::default(defaults::context_window(&model.value)));
    let prices = layer.get(p.prices).map_or_else(unset, |s| s.map(Some));

    let config = file.as_ref().map(|f| f.config.clone()).unwrap_or_default();
    let retry = &config.retry;
    let max_attempts = flag(flags.max_attempts, "--max-attempts")
        .or_else(|| layer.get(retry.max_attempts))
        .unwrap_or_else(|| Sourced::default(defaults::MAX_ATTEMPTS));
    let initial_backoff = layer
        .get(retry.initial_backoff_ms.map(Duration::from_millis))
        .unwrap_or_else(|| Sourced::default(defaults::INITIAL_BACKOFF));
    let max_backoff = layer
        .get(retry.max_backoff_ms.map(Duration::from_millis))
        .unwrap_or_else(|| Sourced::default(defaults::MAX_BACKOFF));
    let max_rate_limit_wait = layer
        .get(retry.max_rate_limit_wait_secs.map(Duration::from_secs))
        .unwrap_or_else(|| Sourced::default(defaults::MAX_RATE_LIMIT_WAIT));
    let timeouts = &config.timeouts;
    let connect_timeout = layer
        .get(timeouts.connect_secs.map(Duration::from_secs))
        .unwrap_or_else(|| Sourced::default(defaults::CONNECT_TIMEOUT));
    let idle_timeout = layer
        .get(timeouts.idle_secs.map(Duration::from_secs))
        .unwrap_or_else(|| Sourced::default(defaults::IDLE_TIMEOUT));
    let request_timeout = layer
        .get(timeouts.request_secs.map(Duration::from_secs))
        .unwrap_or_else(|| Sourced::default(defaults::REQUEST_TIMEOUT));
    let max_answer_mb = layer
        .get(config.limits.max_answer_mb)
        .unwrap_or_else(|| Sourced::default(defaults::MAX_ANSWER_MB));

    let sessions_dir = flag(flags.sessions_dir.clone(), "--sessions-dir")
        .or_else(|| env.path("DEEPDIVE_SESSIONS_DIR", dirs))
        .or_else(|| layer.path(config.sessions_dir.clone()))
        .unwrap_or_else(|| Sourced::default(dirs.default_sessions_dir()));
    let prompts_dir = flag(flags.prompts_dir.clone(), "--prompts")
        .or_else(|| env.path("DEEPDIVE_PROMPTS_DIR", dirs))
        .or_else(|| layer.path(config.prompts_dir.clone()))
        .map_or_else(unset, |s| s.map(Some));
    let stack = flag(flags.stack.clone().filter(|s| !s.trim().is_empty()), "--stack")
        .or_else(|| env.get("DEEPDIVE_STACK"))
        .or_else(|| layer.get(config.stack.clone().filter(|s| !s.trim().is_empty())))
        .map_or_else(unset, |s| s.map(|v| Some(v.trim().to_string())));
    let coverage = flag(flags.coverage, "--coverage")
        .or_else(|| layer.get(p.coverage))
        .unwrap_or_else(|| Sourced::default(CoverageMode::Lexical));
    let judge_model = flag(flags.judge_model.clone(), "--judge-model")
        .or_else(|| layer.get(p.judge_model.clone()))
        .map_or_else(unset, |s| s.map(|m| Some(m.trim().to_string())));
    let judge_profile = flag(flags.judge_profile.clone(), "--judge-profile")
        .or_else(|| layer.get(p.judge_profile.clone()))
        .map_or_else(unset, |s| s.map(|m| Some(m.trim().to_string())));
    let judge = match (&judge_profile.value, coverage.value) {
        (Some(name), CoverageMode::Model) => {
            let judge =
                judge_settings(flags, &env, dirs, &layer, &profile.value, name, &judge_profile);
            Some(Box::new(judge?))
        }
        _ => None,
    };

    let settings = Settings {
        config_file,
        config_missing,
        base_url: base_url.map(|url| url.trim().trim_end_matches('/').to_string()),
        model: model.map(|m| m.trim().to_string()),
        key,
        key_origin,
        headers,
        temperature,
        max_tokens,
        stream,
        include_usage,
        context_window,
        prices,
        max_attempts,
        initial_backoff,
        max_backoff,
        max_rate_limit_wait,
        connect_timeout,
        idle_timeout,
        request_timeout,
        max_answer_mb,
        sessions_dir,
        prompts_dir,
        stack,
        profile,
        backend,
        coverage,
        judge_model,
        judge_profile,
        judge,
    };
    validate(&settings, &layer)?;
    Ok(settings)
}

/// The settings of the judge's profile `name`: that profile's endpoint, key, headers and
/// model, with the config file's retries and timeouts. The environment's endpoint and model
/// (`OPENAI_BASE_URL`, `DEEPDIVE_MODEL`) and the flags are the conversation's, not the
/// judge's, so they do not apply; the judge profile's own coverage keys are ignored.
fn judge_settings(
    flags: &Overrides,
    env: &Env<'_>,
    dirs: &Dirs,
    layer: &FileLayer<'_>,
    profile: &str,
    name: &str,
    set: &Sourced<Option<String>>,
) -> Result<Settings, ConfigError> {
    let defined = layer.file.is_some_and(|f| f.config.profiles.contains_key(name));
    if !defined && name != defaults::LOCAL_PROFILE {
        let problem = match layer.file {
            Some(file) => format!(
                "names profile `{name}`, which {} does not define; add a [profiles.{name}] table",
                super::display_path(&file.path)
            ),
            None => format!(
                "names profile `{name}`, and there is no config file; create one with a \
                 [profiles.{name}] table (see config.example.toml)"
            ),
        };
        let keys = ["profiles", profile, "judge_profile"];
        return Err(layer.invalid(&set.origin, &keys, problem));
    }
    let conversation_only = ["OPENAI_BASE_URL", "DEEPDIVE_MODEL", "DEEPDIVE_PROFILE"];
    let judge_env = |var: &str| if conversation_only.contains(&var) { None } else { (env.0)(var) };
    let judge_flags = Overrides {
        config_path: flags.config_path.clone(),
        profile: Some(name.to_string()),
        coverage: Some(CoverageMode::Lexical),
        ..Overrides::default()
    };
    resolve_in(&judge_flags, &judge_env, dirs)
}

/// Reads the config file: `(which file, the default file looked for in vain, its contents)`.
type Loaded = (Sourced<Option<PathBuf>>, Option<PathBuf>, Option<LoadedFile>);

fn load_file(flags: &Overrides, env: &Env<'_>, dirs: &Dirs) -> Result<Loaded, ConfigError> {
    let named =
        flag(flags.config_path.clone(), "--config").or_else(|| env.path("DEEPDIVE_CONFIG", dirs));
    let (path, origin, explicit) = match named {
        Some(named) => (named.value, named.origin, true),
        None => match dirs.default_config_file() {
            Some(path) => (path, Origin::Default, false),
            None => return Ok((Sourced::default(None), None, None)),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let file = LoadedFile::parse(&path, text)?;
            Ok((Sourced::new(Some(path), origin), None, Some(file)))
        }
        Err(err) if err.kind() == ErrorKind::NotFound && !explicit => {
            Ok((Sourced::default(None), Some(path), None))
        }
        Err(err) if err.kind() == ErrorKind::NotFound => {
            Err(ConfigError::MissingFile { path, origin })
        }
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

/// The profile to use and its table (empty for the built-in default profile).
fn choose_profile(
    flags: &Overrides,
    env: &Env<'_>,
    layer: &FileLayer<'_>,
) -> Result<(Sourced<String>, ProfileConfig), ConfigError> {
    let profiles = layer.file.map(|f| &f.config.profiles);
    let defined = profiles.map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let chosen = flag(flags.profile.clone(), "--profile")
        .or_else(|| env.get("DEEPDIVE_PROFILE"))
        .or_else(|| layer.get(layer.file.and_then(|f| f.config.profile.clone())));
    let Some(chosen) = chosen else {
        if defined.is_empty() {
            // No profile and no endpoint anywhere: the model in the process.
            let endpoint_named = flags.base_url.is_some()
                || env.get("OPENAI_BASE_URL").is_some()
                || env.get(defaults::OPENAI_API_KEY).is_some();
            if !endpoint_named {
                return Ok((
                    Sourced::default(defaults::LOCAL_PROFILE.to_string()),
                    local_profile(),
                ));
            }
            return Ok((Sourced::default(defaults::PROFILE.to_string()), ProfileConfig::default()));
        }
        let only = (defined.len() == 1).then(|| defined[0].clone());
        let name = if defined.iter().any(|n| n == defaults::PROFILE) {
            Some(defaults::PROFILE.to_string())
        } else {
            only
        };
        return match (name, layer.file) {
            (Some(name), Some(file)) => {
                let profile = file.config.profiles.get(&name).cloned().unwrap_or_default();
                Ok((Sourced::new(name, file.origin()), profile))
            }
            _ => Err(ConfigError::NoProfileChosen {
                place: layer.place(&layer.origin(), &["profiles"]),
                defined: defined.join(", "),
            }),
        };
    };
    match profiles.and_then(|p| p.get(&chosen.value)) {
        Some(profile) => Ok((chosen.clone(), profile.clone())),
        None if defined.is_empty() && chosen.value == defaults::PROFILE => {
            Ok((chosen, ProfileConfig::default()))
        }
        None if chosen.value == defaults::LOCAL_PROFILE => Ok((chosen, local_profile())),
        None => {
            let defined = match layer.file {
                Some(file) if !defined.is_empty() => {
                    format!("{} defines: {}", super::display_path(&file.path), defined.join(", "))
                }
                Some(file) => format!(
                    "{} defines no profiles; add a [profiles.{}] table",
                    super::display_path(&file.path),
                    chosen.value
                ),
                None => format!(
                    "there is no config file; create one with a [profiles.{}] table (see config.example.toml)",
                    chosen.value
                ),
            };
            Err(ConfigError::UnknownProfile { name: chosen.value, origin: chosen.origin, defined })
        }
    }
}

/// The built-in `local` profile: a GGUF model in the process (selectable by name unless the
/// config file defines its own `local`).
fn local_profile() -> ProfileConfig {
    ProfileConfig {
        backend: Some(Backend::Local),
        api_key_env: Some(String::new()),
        ..ProfileConfig::default()
    }
}

/// Checks every value that parsed but may still be wrong.
fn validate(s: &Settings, layer: &FileLayer<'_>) -> Result<(), ConfigError> {
    let profile = s.profile.value.as_str();
    let in_profile = |key: &'static str| ["profiles", profile, key];

    let url = s.base_url.value.to_ascii_lowercase();
    let has_host = |scheme: &str| url.strip_prefix(scheme).is_some_and(|rest| !rest.is_empty());
    let http = s.backend.value == Backend::Http;
    if http && (!(has_host("http://") || has_host("https://")) || url.contains(char::is_whitespace))
    {
        let problem = format!(
            "must be an http:// or https:// URL such as http://localhost:11434/v1 (got \"{}\")",
            crate::secret::redact_url(&s.base_url.value)
        );
        return Err(layer.invalid(&s.base_url.origin, &in_profile("base_url"), problem));
    }
    if s.coverage.value == CoverageMode::Model {
        if s.judge_model.value.as_deref() == Some("") {
            let problem = "must not be empty; name the judge's model, or leave it out".to_string();
            return Err(layer.invalid(&s.judge_model.origin, &in_profile("judge_model"), problem));
        }
        let other_model = s.judge_model.value.as_deref().is_some_and(|m| m != s.model.value);
        if s.backend.value == Backend::Local && s.judge.is_none() && other_model {
            let problem = "names another model than the local one, and the local backend runs \
                           one model; name a judge_profile whose endpoint serves it"
                .to_string();
            return Err(layer.invalid(&s.judge_model.origin, &in_profile("judge_model"), problem));
        }
    }
    if s.model.value.is_empty() {
        let problem = "must not be empty; name the model the endpoint serves".to_string();
        return Err(layer.invalid(&s.model.origin, &in_profile("model"), problem));
    }
    if let Some(t) = s.temperature.value {
        if !(0.0..=2.0).contains(&t) {
            let problem = format!("must be between 0 and 2 (got {t})");
            return Err(layer.invalid(&s.temperature.origin, &in_profile("temperature"), problem));
        }
    }
    if s.max_tokens.value == Some(0) {
        let problem = "must be at least 1; leave it out to let the server decide".to_string();
        return Err(layer.invalid(&s.max_tokens.origin, &in_profile("max_tokens"), problem));
    }
    if s.context_window.value == Some(0) {
        let problem = "must be at least 1; leave it out if the window is unknown".to_string();
        return Err(layer.invalid(
            &s.context_window.origin,
            &in_profile("context_window"),
            problem,
        ));
    }
    if let Some(prices) = s.prices.value {
        let checks = [
            ("input_per_mtok", prices.input_per_mtok),
            ("output_per_mtok", prices.output_per_mtok),
        ];
        for (key, price) in checks {
            if !(price.is_finite() && price >= 0.0) {
                let problem =
                    format!("must be a price of 0 or more in USD per million tokens (got {price})");
                let keys = ["profiles", profile, "prices", key];
                return Err(layer.invalid(&s.prices.origin, &keys, problem));
            }
        }
    }
    for (name, value) in s.headers.value.as_slice() {
        if let Some(problem) = headers::problem(name, value) {
            let keys = ["profiles", profile, "headers", name.as_str()];
            return Err(layer.invalid(&s.headers.origin, &keys, problem.to_string()));
        }
    }
    if let Some(command) = layer.profile_key_cmd(profile) {
        if command.trim().is_empty() {
            let problem = "is empty; give a command that prints the key, or remove it".to_string();
            return Err(layer.invalid(&layer.origin(), &in_profile("api_key_cmd"), problem));
        }
    }
    if s.max_attempts.value == 0 {
        let problem = "must be at least 1 (1 means no retries)".to_string();
        return Err(layer.invalid(&s.max_attempts.origin, &["retry", "max_attempts"], problem));
    }
    if s.initial_backoff.value > s.max_backoff.value {
        let problem = format!(
            "({} ms) must not be larger than max_backoff_ms ({} ms)",
            s.initial_backoff.value.as_millis(),
            s.max_backoff.value.as_millis()
        );
        return Err(layer.invalid(
            &s.initial_backoff.origin,
            &["retry", "initial_backoff_ms"],
            problem,
        ));
    }
    let timeouts = [
        ("connect_secs", &s.connect_timeout),
        ("idle_secs", &s.idle_timeout),
        ("request_secs", &s.request_timeout),
    ];
    for (key, timeout) in timeouts {
        if timeout.value.is_zero() {
            let problem = "must be at least 1 second".to_string();
            return Err(layer.invalid(&timeout.origin, &["timeouts", key], problem));
        }
    }
    if s.max_answer_mb.value == 0 {
        let problem = "must be at least 1 (megabytes of answer text)".to_string();
        let keys = ["limits", "max_answer_mb"];
        return Err(layer.invalid(&s.max_answer_mb.origin, &keys, problem));
    }
    Ok(())
}

/// A value no layer sets.
fn unset<T>() -> Sourced<Option<T>> {
    Sourced::default(None)
}

/// A value set by a flag.
fn flag<T>(value: Option<T>, name: &'static str) -> Option<Sourced<T>> {
    value.map(|v| Sourced::new(v, Origin::Flag(name)))
}

/// The environment, where an empty value counts as unset.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<Sourced<String>> {
        let value = (self.0)(name).filter(|v| !v.trim().is_empty())?;
        Some(Sourced::new(value, Origin::Env(name.to_string())))
    }

    fn path(&self, name: &str, dirs: &Dirs) -> Option<Sourced<PathBuf>> {
        self.get(name).map(|s| s.map(|v| dirs.expand_home(Path::new(&v))))
    }
}

/// Values from the config file, when there is one.
struct FileLayer<'a> {
    file: Option<&'a LoadedFile>,
    dirs: &'a Dirs,
}

impl FileLayer<'_> {
    fn origin(&self) -> Origin {
        self.file.map_or(Origin::Default, LoadedFile::origin)
    }

    fn get<T>(&self, value: Option<T>) -> Option<Sourced<T>> {
        let file = self.file?;
        value.map(|v| Sourced::new(v, file.origin()))
    }

    /// A path from the file: `~/` expanded, relative paths taken from the file's directory.
    fn path(&self, value: Option<PathBuf>) -> Option<Sourced<PathBuf>> {
        let file = self.file?;
        let path = self.dirs.expand_home(&value?);
        let path = match file.path.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        };
        Some(Sourced::new(path, file.origin()))
    }

    fn profile_key_cmd(&self, profile: &str) -> Option<&str> {
        self.file?.config.profiles.get(profile)?.api_key_cmd.as_deref()
    }

    /// Where a value with this origin was set; the line when it was set in the file.
    fn place(&self, origin: &Origin, keys: &[&str]) -> Place {
        match (origin, self.file) {
            (Origin::File(_), Some(file)) => file.place(keys),
            _ => Place { origin: origin.clone(), line: None },
        }
    }

    fn invalid(&self, origin: &Origin, keys: &[&str], problem: String) -> ConfigError {
        let key = match (origin, keys.split_last()) {
            (Origin::File(_), Some((last, parents))) if !parents.is_empty() => {
                format!("{last} in [{}]", parents.join("."))
            }
            (_, Some((last, _))) => (*last).to_string(),
            (_, None) => String::new(),
        };
        ConfigError::Invalid { place: self.place(origin, keys), key, problem }
    }
}
