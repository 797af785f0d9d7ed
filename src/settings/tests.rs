//! Resolution tests: precedence and origins, key sources, validation, the example file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::defaults::Dirs;
use super::resolve::resolve_in;
use super::*;

/// A config directory, a data directory and an environment, all private to one test.
struct World {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

impl World {
    fn new() -> World {
        World { dir: tempfile::tempdir().unwrap(), env: HashMap::new() }
    }

    /// Writes the default config file (`<config>/deepdive/config.toml`).
    fn with_file(text: &str) -> World {
        let world = World::new();
        let path = world.default_file();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        world
    }

    fn default_file(&self) -> PathBuf {
        self.dir.path().join("config").join("deepdive").join("config.toml")
    }

    fn env(mut self, name: &str, value: &str) -> World {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    fn dirs(&self) -> Dirs {
        Dirs {
            config: Some(self.dir.path().join("config")),
            data: Some(self.dir.path().join("data")),
            home: Some(self.dir.path().join("home")),
            local_sessions: None,
        }
    }

    fn resolve(&self, flags: &Overrides) -> Result<Settings, ConfigError> {
        let lookup = |name: &str| self.env.get(name).cloned();
        resolve_in(flags, &lookup, &self.dirs())
    }

    fn settings(&self) -> Settings {
        self.resolve(&Overrides::default()).unwrap()
    }

    fn error(&self, flags: &Overrides) -> String {
        let err = self.resolve(flags).unwrap_err().to_string();
        assert!(!err.contains('\n'), "error is not one line: {err}");
        err
    }

    fn file_origin(&self) -> Origin {
        Origin::File(self.default_file())
    }
}

fn flag_model(model: &str) -> Overrides {
    Overrides { model: Some(model.into()), ..Overrides::default() }
}

fn entry(settings: &Settings, key: &str) -> Entry {
    settings.entries().into_iter().find(|e| e.key == key).unwrap()
}

const LOCAL: &str = r#"
profile = "local"
sessions_dir = "/file/sessions"
prompts_dir = "/file/prompts"
stack = "file stack"

[retry]
max_attempts = 2

[profiles.local]
base_url = "http://localhost:8080/v1"
model = "file-model"
api_key_env = ""
temperature = 0.5
max_tokens = 100
stream = true
context_window = 4096

[profiles.other]
base_url = "http://localhost:9999/v1"
model = "other-model"
"#;

#[test]
fn without_any_endpoint_the_local_model_runs() {
    let world = World::new();
    let s = world.settings();
    assert_eq!(s.profile(), "local");
    assert_eq!(s.backend(), Backend::Local);
    assert_eq!(s.model(), "Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M");
    assert_eq!(s.key_source(), &KeySource::None);
    assert_eq!(s.context_window(), None);
    assert!(entry(&s, "backend").value == "local");
}

#[test]
fn a_local_profile_can_name_its_model() {
    let world = World::new();
    let flags = Overrides {
        profile: Some("local".into()),
        model: Some("/models/tiny.gguf".into()),
        ..Overrides::default()
    };
    let s = world.resolve(&flags).unwrap();
    assert_eq!((s.backend(), s.model()), (Backend::Local, "/models/tiny.gguf"));
}

#[test]
fn an_openai_key_alone_selects_the_openai_default() {
    let world = World::new().env("OPENAI_API_KEY", "sk-test-1");
    let s = world.settings();
    assert_eq!(s.backend(), Backend::Http);
    assert_eq!(s.profile(), "default");
    assert_eq!(s.base_url(), "https://api.openai.com/v1");
    assert_eq!(s.model(), "gpt-4o-mini");
    assert_eq!(s.key_source(), &KeySource::Env("OPENAI_API_KEY".into()));
    assert_eq!(s.context_window(), Some(128_000));
    assert_eq!(s.temperature(), None);
    assert_eq!(s.max_tokens(), None);
    assert!(s.stream());
    assert!(s.include_usage());
    assert_eq!(
        s.retry(),
        Retry {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(600),
        }
    );
    assert_eq!(s.connect_timeout(), Duration::from_secs(10));
    assert_eq!(s.idle_timeout(), Duration::from_secs(120));
    assert_eq!(s.sessions_dir(), world.dir.path().join("data/deepdive/sessions"));
    assert_eq!(s.prompts_dir(), None);
    assert_eq!(s.stack(), None);
    assert_eq!(s.config_file(), None);
    let not_default: Vec<_> =
        s.entries().into_iter().filter(|e| e.origin != Origin::Default).collect();
    assert_eq!(not_default.len(), 1, "only the key came from the environment: {not_default:?}");
    assert_eq!(not_default[0].key, "api_key");
    assert!(entry(&s, "config_file").value.contains("does not exist"));
}

#[test]
fn model_flag_beats_env_beats_file_beats_default() {
    let world = World::with_file(LOCAL);
    let s = world.settings();
    assert_eq!((s.model(), &entry(&s, "model").origin), ("file-model", &world.file_origin()));

    let world = world.env("DEEPDIVE_MODEL", "env-model");
    let s = world.settings();
    assert_eq!(
        (s.model(), entry(&s, "model").origin),
        ("env-model", Origin::Env("DEEPDIVE_MODEL".into()))
    );

    let s = world.resolve(&flag_model("flag-model")).unwrap();
    assert_eq!((s.model(), entry(&s, "model").origin), ("flag-model", Origin::Flag("--model")));
}

#[test]
fn base_url_flag_beats_openai_base_url_beats_profile() {
    let world = World::with_file(LOCAL);
    assert_eq!(world.settings().base_url(), "http://localhost:8080/v1");

    let world = world.env("OPENAI_BASE_URL", "http://gateway:4000/v1/");
    let s = world.settings();
    assert_eq!(s.base_url(), "http://gateway:4000/v1", "trailing slash is dropped");
    assert_eq!(entry(&s, "base_url").origin, Origin::Env("OPENAI_BASE_URL".into()));

    let flags =
        Overrides { base_url: Some("https://flag.example/v1".into()), ..Overrides::default() };
    let s = world.resolve(&flags).unwrap();
    assert_eq!(
        (s.base_url(), entry(&s, "base_url").origin),
        ("https://flag.example/v1", Origin::Flag("--base-url"))
    );
}

#[test]
fn profile_flag_beats_env_beats_file() {
    let world = World::with_file(LOCAL);
    let s = world.settings();
    assert_eq!((s.profile(), entry(&s, "profile").origin), ("local", world.file_origin()));

    let world = world.env("DEEPDIVE_PROFILE", "other");
    let s = world.settings();
    assert_eq!((s.profile(), s.model()), ("other", "other-model"));
    assert_eq!(entry(&s, "profile").origin, Origin::Env("DEEPDIVE_PROFILE".into()));

    let flags = Overrides { profile: Some("local".into()), ..Overrides::default() };
    let s = world.resolve(&flags).unwrap();
    assert_eq!((s.profile(), entry(&s, "profile").origin), ("local", Origin::Flag("--profile")));
}

#[test]
fn directories_and_stack_flag_beats_env_beats_file() {
    let world = World::with_file(LOCAL);
    let s = world.settings();
    assert_eq!(s.sessions_dir(), Path::new("/file/sessions"));
    assert_eq!(s.prompts_dir(), Some(Path::new("/file/prompts")));
    assert_eq!(s.stack(), Some("file stack"));
    for key in ["sessions_dir", "prompts_dir", "stack"] {
        assert_eq!(entry(&s, key).origin, world.file_origin(), "{key}");
    }

    let world = world
        .env("DEEPDIVE_SESSIONS_DIR", "/env/sessions")
        .env("DEEPDIVE_PROMPTS_DIR", "/env/prompts")
        .env("DEEPDIVE_STACK", "env stack");
    let s = world.settings();
    assert_eq!(s.sessions_dir(), Path::new("/env/sessions"));
    assert_eq!(s.prompts_dir(), Some(Path::new("/env/prompts")));
    assert_eq!(s.stack(), Some("env stack"));
    assert_eq!(entry(&s, "stack").origin, Origin::Env("DEEPDIVE_STACK".into()));

    let flags = Overrides {
        sessions_dir: Some("/flag/sessions".into()),
        prompts_dir: Some("/flag/prompts".into()),
        stack: Some("flag stack".into()),
        ..Overrides::default()
    };
    let s = world.resolve(&flags).unwrap();
    assert_eq!(s.sessions_dir(), Path::new("/flag/sessions"));
    assert_eq!(s.prompts_dir(), Some(Path::new("/flag/prompts")));
    assert_eq!(s.stack(), Some("flag stack"));
    assert_eq!(entry(&s, "sessions_dir").origin, Origin::Flag("--sessions-dir"));
    assert_eq!(entry(&s, "prompts_dir").origin, Origin::Flag("--prompts"));
    assert_eq!(entry(&s, "stack").origin, Origin::Flag("--stack"));
}

#[test]
fn sampling_and_retry_flags_beat_the_profile() {
    let world = World::with_file(LOCAL);
    let s = world.settings();
    assert_eq!((s.temperature(), s.max_tokens(), s.stream()), (Some(0.5), Some(100), true));
    assert_eq!((s.context_window(), s.retry().max_attempts), (Some(4096), 2));
    for key in ["temperature", "max_tokens", "stream", "context_window", "retry.max_attempts"] {
        assert_eq!(entry(&s, key).origin, world.file_origin(), "{key}");
    }

    let flags = Overrides {
        temperature: Some(1.5),
        max_tokens: Some(7),
        no_stream: true,
        context_window: Some(9000),
        max_attempts: Some(1),
        ..Overrides::default()
    };
    let s = world.resolve(&flags).unwrap();
    assert_eq!((s.temperature(), s.max_tokens(), s.stream()), (Some(1.5), Some(7), false));
    assert_eq!((s.context_window(), s.retry().max_attempts), (Some(9000), 1));
    assert_eq!(entry(&s, "temperature").origin, Origin::Flag("--temperature"));
    assert_eq!(entry(&s, "max_tokens").origin, Origin::Flag("--max-tokens"));
    assert_eq!(entry(&s, "stream").origin, Origin::Flag("--no-stream"));
    assert_eq!(entry(&s, "context_window").origin, Origin::Flag("--context-window"));
    assert_eq!(entry(&s, "retry.max_attempts").origin, Origin::Flag("--max-attempts"));
}

#[test]
fn file_only_keys_come_from_the_file() {
    let world = World::with_file(
        r#"
[retry]
initial_backoff_ms = 100
max_backoff_ms = 2000
[timeouts]
connect_secs = 3
idle_secs = 600
[profiles.default]
include_usage = false
prices = { input_per_mtok = 0.15, output_per_mtok = 0.6 }
headers = { "X-Title" = "deepdive" }
"#,
    );
    let s = world.settings();
    assert_eq!(s.retry().initial_backoff, Duration::from_millis(100));
    assert_eq!(s.retry().max_backoff, Duration::from_secs(2));
    assert_eq!(
        (s.connect_timeout(), s.idle_timeout()),
        (Duration::from_secs(3), Duration::from_secs(600))
    );
    assert!(!s.include_usage());
    assert_eq!(
        s.prices(),
        Some(Prices { input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: None })
    );
    assert_eq!(s.headers(), &[("X-Title".to_string(), "deepdive".to_string())]);
    for key in [
        "retry.initial_backoff_ms",
        "timeouts.idle_secs",
        "include_usage",
        "prices.input_per_mtok",
        "headers.X-Title",
    ] {
        assert_eq!(entry(&s, key).origin, world.file_origin(), "{key}");
    }
    assert_eq!(entry(&s, "headers.X-Title").value, "deepdive");
}

#[test]
fn context_window_falls_back_to_the_model_table() {
    let world = World::new();
    let s = world.resolve(&flag_model("gpt-3.5-turbo")).unwrap();
    assert_eq!(
        (s.context_window(), entry(&s, "context_window").origin),
        (Some(16_385), Origin::Default)
    );
    let s = world.resolve(&flag_model("llama3.1:8b")).unwrap();
    assert_eq!(s.context_window(), None);
    assert_eq!(entry(&s, "context_window").value, "<none>");
}

#[test]
fn empty_environment_values_count_as_unset() {
    let world = World::with_file(LOCAL)
        .env("DEEPDIVE_MODEL", "")
        .env("OPENAI_BASE_URL", "  ")
        .env("DEEPDIVE_PROFILE", "")
        .env("DEEPDIVE_STACK", "");
    let s = world.settings();
    assert_eq!(
        (s.profile(), s.model(), s.base_url()),
        ("local", "file-model", "http://localhost:8080/v1")
    );
    assert_eq!(s.stack(), Some("file stack"));
}

#[test]
fn relative_paths_in_the_file_are_relative_to_the_file() {
    let world = World::with_file("sessions_dir = \"runs\"\nprompts_dir = \"~/prompts\"\n");
    let s = world.settings();
    assert_eq!(s.sessions_dir(), world.default_file().parent().unwrap().join("runs"));
    assert_eq!(s.prompts_dir(), Some(world.dir.path().join("home/prompts").as_path()));
}

#[test]
fn a_local_sessions_folder_is_the_default() {
    let world = World::new();
    let dirs = Dirs { local_sessions: Some("sessions".into()), ..world.dirs() };
    let s = resolve_in(&Overrides::default(), &|_: &str| None, &dirs).unwrap();
    assert_eq!(s.sessions_dir(), Path::new("sessions"));
}

#[test]
fn settings_can_be_shared_between_tasks() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Settings>();
}

// ---- the config file itself ----

#[test]
fn explicitly_named_missing_file_is_an_error_naming_it() {
    let world = World::new();
    let flags =
        Overrides { config_path: Some("/nowhere/deepdive.toml".into()), ..Overrides::default() };
    let err = world.error(&flags);
    assert!(err.contains("/nowhere/deepdive.toml") && err.contains("flag --config"), "{err}");

    let world = World::new().env("DEEPDIVE_CONFIG", "/nowhere/env.toml");
    let err = world.error(&Overrides::default());
    assert!(err.contains("/nowhere/env.toml") && err.contains("env DEEPDIVE_CONFIG"), "{err}");
}

#[test]
fn named_file_flag_beats_env_beats_default_file() {
    let world = World::with_file("[profiles.default]\nmodel = \"from-default-file\"\n");
    let env_file = world.dir.path().join("env.toml");
    std::fs::write(&env_file, "[profiles.default]\nmodel = \"from-env-file\"\n").unwrap();
    let flag_file = world.dir.path().join("flag.toml");
    std::fs::write(&flag_file, "[profiles.default]\nmodel = \"from-flag-file\"\n").unwrap();

    assert_eq!(world.settings().model(), "from-default-file");
    let world = world.env("DEEPDIVE_CONFIG", env_file.to_str().unwrap());
    let s = world.settings();
    assert_eq!((s.model(), s.config_file()), ("from-env-file", Some(env_file.as_path())));
    assert_eq!(entry(&s, "config_file").origin, Origin::Env("DEEPDIVE_CONFIG".into()));
    let flags = Overrides { config_path: Some(flag_file.clone()), ..Overrides::default() };
    let s = world.resolve(&flags).unwrap();
    assert_eq!((s.model(), entry(&s, "model").origin), ("from-flag-file", Origin::File(flag_file)));
}

#[test]
fn unknown_key_error_names_the_key_and_the_file() {
    let world = World::with_file("[profiles.local]\nmodel = \"m\"\ntemprature = 0.2\n");
    let err = world.error(&Overrides::default());
    let file = world.default_file().display().to_string();
    assert!(err.contains(&format!("config error in {file}:3")), "{err}");
    assert!(err.contains("unknown key 'temprature' in [profiles.local]"), "{err}");
    assert!(err.contains("temperature"), "the known keys are listed: {err}");
}

// ---- profiles ----

#[test]
fn unknown_profile_lists_the_defined_ones() {
    let world = World::with_file(LOCAL);
    let flags = Overrides { profile: Some("lcoal".into()), ..Overrides::default() };
    let err = world.error(&flags);
    assert!(err.contains("profile 'lcoal' (from flag --profile) is not defined"), "{err}");
    assert!(err.contains("local, other"), "{err}");

    let err = World::with_file("profile = \"gone\"\n[profiles.a]\n").error(&Overrides::default());
    assert!(err.contains("'gone'") && err.contains("defines: a"), "{err}");

    let err = World::new().env("DEEPDIVE_PROFILE", "work").error(&Overrides::default());
    assert!(err.contains("env DEEPDIVE_PROFILE") && err.contains("no config file"), "{err}");
}

#[test]
fn without_a_choice_the_default_or_only_profile_is_used() {
    let s = World::with_file("[profiles.solo]\nmodel = \"m\"\n").settings();
    assert_eq!(s.profile(), "solo");
    let s = World::with_file("[profiles.a]\n[profiles.default]\nmodel = \"d\"\n").settings();
    assert_eq!((s.profile(), s.model()), ("default", "d"));
    let err = World::with_file("[profiles.a]\n[profiles.b]\n").error(&Overrides::default());
    assert!(err.contains("a, b") && err.contains("--profile"), "{err}");
}

#[test]
fn both_key_sources_is_an_error() {
    let world = World::with_file("[profiles.x]\napi_key_env = \"K\"\napi_key_cmd = \"pass k\"\n");
    let err = world.error(&Overrides::default());
    assert!(err.contains(":3:") && err.contains("api_key_cmd in [profiles.x]"), "{err}");
    assert!(err.contains("api_key_env") && err.contains("only one"), "{err}");
}

// ---- the API key ----

#[test]
fn openai_api_key_is_used_only_by_profiles_without_their_own_source() {
    let world = World::with_file(
        r#"
[profiles.plain]
[profiles.router]
api_key_env = "ROUTER_KEY"
[profiles.local]
api_key_env = ""
[profiles.cmd]
api_key_cmd = "printf sk-from-command"
"#,
    )
    .env("OPENAI_API_KEY", "sk-openai-1")
    .env("ROUTER_KEY", "sk-router-2");
    let key_of = |profile: &str| {
        let flags = Overrides { profile: Some(profile.into()), ..Overrides::default() };
        let s = world.resolve(&flags).unwrap();
        s.api_key().unwrap().map(|k| k.expose().to_string())
    };
    assert_eq!(key_of("plain").as_deref(), Some("sk-openai-1"));
    assert_eq!(key_of("router").as_deref(), Some("sk-router-2"));
    assert_eq!(key_of("local"), None);
    assert_eq!(key_of("cmd").as_deref(), Some("sk-from-command"));
}

#[test]
fn key_entry_says_where_the_key_comes_from_never_the_key() {
    let world = World::new().env("OPENAI_API_KEY", "sk-openai-SECRET");
    let s = world.settings();
    let key = entry(&s, "api_key");
    assert_eq!(
        (key.value.as_str(), key.origin),
        ("<set via OPENAI_API_KEY>", Origin::Env("OPENAI_API_KEY".into()))
    );

    let world = World::with_file("[profiles.l]\napi_key_env = \"\"\n")
        .env("OPENAI_API_KEY", "sk-openai-SECRET");
    let s = world.settings();
    assert_eq!(entry(&s, "api_key").value, "<none>");
    assert_eq!(s.key_source(), &KeySource::None);
    let all = format!("{:?}", s.entries());
    assert!(!all.contains("SECRET"), "{all}");
}

#[test]
fn key_command_runs_only_when_the_key_is_asked_for() {
    let scratch = tempfile::tempdir().unwrap();
    let marker = scratch.path().join("ran");
    let command = format!("touch '{}'; echo sk-cmd", marker.display());
    let world = World::with_file(&format!("[profiles.c]\napi_key_cmd = \"{command}\"\n"));
    let s = world.settings();
    let _ = (s.entries(), format!("{s:?}"), s.key_source().to_string());
    assert!(!marker.exists(), "resolving or showing settings ran the key command");
    assert_eq!(entry(&s, "api_key").value, format!("<from command `{command}`>"));
    assert_eq!(s.api_key().unwrap().unwrap().expose(), "sk-cmd");
    assert!(marker.exists());
}

#[test]
fn failing_key_command_error_names_it_without_its_output() {
    let world = World::with_file("[profiles.c]\napi_key_cmd = \"echo sk-test-SECRET-9; exit 3\"\n");
    let s = world.settings();
    let err = s.api_key().unwrap_err().to_string();
    assert!(err.contains("`echo <redacted>; exit 3`"), "the inline key is masked: {err}");
    assert!(err.contains("exit status: 3"), "{err}");
    assert!(!err.contains("SECRET"), "neither the command's key nor its output: {err}");
}

#[test]
fn debug_of_settings_never_shows_a_key() {
    let world = World::with_file(
        r#"
[profiles.c]
api_key_cmd = "printf 'sk-command-%s%s' SEC RET"
headers = { Authorization = "Bearer sk-header-SECRET", "api-key" = "sk-azure-SECRET", "X-Title" = "t" }
[profiles.plain]
"#,
    )
    .env("OPENAI_API_KEY", "sk-env-SECRET");
    for profile in ["c", "plain"] {
        let flags = Overrides { profile: Some(profile.into()), ..Overrides::default() };
        let s = world.resolve(&flags).unwrap();
        assert!(s.api_key().unwrap().is_some());
        let debug = format!("{s:?} {:?}", s.entries());
        assert!(!debug.contains("SECRET"), "{debug}");
    }
}

// ---- validation ----

fn invalid_file(text: &str) -> String {
    World::with_file(text).error(&Overrides::default())
}

#[test]
fn temperature_outside_0_to_2_is_refused() {
    let err = invalid_file("[profiles.p]\ntemperature = 2.5\n");
    assert!(
        err.contains(":2: temperature in [profiles.p] must be between 0 and 2 (got 2.5)"),
        "{err}"
    );
    let err = World::new().error(&Overrides { temperature: Some(-0.1), ..Overrides::default() });
    assert!(
        err.starts_with("invalid flag --temperature: temperature must be between 0 and 2"),
        "{err}"
    );
}

#[test]
fn zero_max_tokens_and_zero_context_window_are_refused() {
    let err = invalid_file("[profiles.p]\nmax_tokens = 0\n");
    assert!(err.contains(":2: max_tokens in [profiles.p] must be at least 1"), "{err}");
    let err = invalid_file("[profiles.p]\n\ncontext_window = 0\n");
    assert!(err.contains(":3: context_window in [profiles.p] must be at least 1"), "{err}");
    let err = World::new().error(&Overrides { context_window: Some(0), ..Overrides::default() });
    assert!(err.starts_with("invalid flag --context-window"), "{err}");
}

#[test]
fn base_url_must_be_http_or_https() {
    let err = invalid_file("[profiles.p]\nbase_url = \"localhost:8080/v1\"\n");
    assert!(
        err.contains(":2: base_url in [profiles.p] must be an http:// or https:// URL"),
        "{err}"
    );
    assert!(err.contains("localhost:8080/v1"), "{err}");
    let err = World::new().env("OPENAI_BASE_URL", "ftp://x").error(&Overrides::default());
    assert!(err.starts_with("invalid environment variable OPENAI_BASE_URL: base_url"), "{err}");
    let flags = Overrides { base_url: Some("https://".into()), ..Overrides::default() };
    assert!(World::new().error(&flags).starts_with("invalid flag --base-url"));
}

#[test]
fn negative_prices_are_refused() {
    let err = invalid_file("[profiles.p.prices]\ninput_per_mtok = 1.0\noutput_per_mtok = -2.0\n");
    assert!(
        err.contains(":3: output_per_mtok in [profiles.p.prices] must be a price of 0 or more"),
        "{err}"
    );
}

#[test]
fn retry_and_timeout_values_are_checked() {
    let err = invalid_file("[retry]\nmax_attempts = 0\n");
    assert!(err.contains(":2: max_attempts in [retry] must be at least 1"), "{err}");
    let err = invalid_file("[retry]\ninitial_backoff_ms = 5000\nmax_backoff_ms = 100\n");
    assert!(err.contains(":2: initial_backoff_ms in [retry]"), "{err}");
    let err = invalid_file("[timeouts]\nidle_secs = 0\n");
    assert!(err.contains(":2: idle_secs in [timeouts] must be at least 1 second"), "{err}");
}

#[test]
fn empty_model_bad_header_and_empty_key_command_are_refused() {
    let err = invalid_file("[profiles.p]\nmodel = \"\"\n");
    assert!(err.contains(":2: model in [profiles.p] must not be empty"), "{err}");
    let err = invalid_file("[profiles.p.headers]\n\"X Bad\" = \"v\"\n");
    assert!(err.contains(":2: X Bad in [profiles.p.headers] is not a valid header name"), "{err}");
    let err = invalid_file("[profiles.p]\napi_key_cmd = \" \"\n");
    assert!(err.contains(":2: api_key_cmd in [profiles.p] is empty"), "{err}");
}

// ---- config.example.toml ----

const EXAMPLE: &str = include_str!("../../config.example.toml");

#[test]
fn the_example_config_parses_and_every_profile_resolves() {
    let world = World::with_file(EXAMPLE);
    let config: FileConfig = toml::from_str(EXAMPLE).unwrap();
    assert!(config.profiles.len() >= 5, "{:?}", config.profiles.keys());
    for name in config.profiles.keys() {
        let flags = Overrides { profile: Some(name.clone()), ..Overrides::default() };
        let s = world.resolve(&flags).unwrap_or_else(|e| panic!("profile {name}: {e}"));
        assert_eq!(s.profile(), name);
    }
    for (name, url) in [
        ("ollama", "http://localhost:11434/v1"),
        ("vllm", "http://localhost:8000/v1"),
        ("llamacpp", "http://localhost:8080/v1"),
    ] {
        let flags = Overrides { profile: Some(name.into()), ..Overrides::default() };
        assert_eq!(world.resolve(&flags).unwrap().base_url(), url, "{name}");
    }
    let flags = Overrides { profile: Some("ollama".into()), ..Overrides::default() };
    assert_eq!(world.resolve(&flags).unwrap().key_source(), &KeySource::None);
    let flags = Overrides { profile: Some("openrouter".into()), ..Overrides::default() };
    let router = world.resolve(&flags).unwrap();
    assert_eq!(router.key_source(), &KeySource::Env("OPENROUTER_API_KEY".into()));
    assert!(!router.headers().is_empty());
}

/// Every key name in a TOML value, recursively (not the names of profiles or headers,
/// which are the user's).
fn key_names(value: &toml::Value, names: &mut Vec<String>) {
    if let toml::Value::Table(table) = value {
        for (key, inner) in table {
            names.push(key.clone());
            match key.as_str() {
                "profiles" => {
                    for profile in inner.as_table().into_iter().flat_map(|t| t.values()) {
                        key_names(profile, names);
                    }
                }
                "headers" => {}
                _ => key_names(inner, names),
            }
        }
    }
}

/// Whether the example sets or documents `key` (`key =`, `# key =`, `[… key]`, `[….key]`).
fn documented(example: &str, key: &str) -> bool {
    example.lines().any(|line| {
        let line = line.trim_start_matches(['#', ' ']);
        let bare = line.strip_prefix(key).map(str::trim_start);
        bare.is_some_and(|rest| rest.starts_with('='))
            || line.starts_with(&format!("[{key}]"))
            || line.starts_with(&format!("[{key}."))
            || (line.starts_with('[') && line.contains(&format!(".{key}]")))
    })
}

#[test]
fn every_file_key_is_documented_in_the_example() {
    let profile = ProfileConfig {
        backend: Some(Backend::Local),
        base_url: Some(String::new()),
        model: Some(String::new()),
        api_key_env: Some(String::new()),
        api_key_cmd: Some(String::new()),
        context_window: Some(1),
        temperature: Some(1.0),
        max_tokens: Some(1),
        stream: Some(true),
        include_usage: Some(true),
        headers: [("X".to_string(), "y".to_string())].into(),
        prices: Some(Prices {
            input_per_mtok: 1.0,
            output_per_mtok: 1.0,
            cached_input_per_mtok: None,
        }),
        coverage: Some(CoverageMode::Model),
        judge_model: Some(String::new()),
        judge_profile: Some(String::new()),
    };
    let full = FileConfig {
        profile: Some(String::new()),
        sessions_dir: Some(PathBuf::new()),
        prompts_dir: Some(PathBuf::new()),
        stack: Some(String::new()),
        retry: RetryConfig {
            max_attempts: Some(1),
            initial_backoff_ms: Some(1),
            max_backoff_ms: Some(1),
            max_rate_limit_wait_secs: Some(1),
        },
        timeouts: TimeoutsConfig {
            connect_secs: Some(1),
            idle_secs: Some(1),
            request_secs: Some(1),
        },
        limits: LimitsConfig { max_answer_mb: Some(1) },
        profiles: [("p".to_string(), profile)].into(),
    };
    let mut names = Vec::new();
    key_names(&toml::Value::try_from(&full).unwrap(), &mut names);
    assert!(names.len() >= 24, "{names:?}");
    let missing: Vec<_> = names.iter().filter(|k| !documented(EXAMPLE, k)).collect();
    assert!(missing.is_empty(), "config.example.toml does not document: {missing:?}");
}

const JUDGED: &str = r#"
profile = "main"

[profiles.main]
base_url = "http://main.example/v1"
model = "answerer"
api_key_env = ""
coverage = "model"
judge_profile = "grader"

[profiles.grader]
base_url = "https://grader.example/v1"
model = "grader-model"
api_key_env = "GRADER_KEY"
coverage = "model"
judge_profile = "main"
"#;

#[test]
fn coverage_is_lexical_unless_a_profile_or_the_flag_asks_for_the_judge() {
    let plain = World::with_file(LOCAL).settings();
    assert_eq!(plain.coverage(), CoverageMode::Lexical);
    assert_eq!(plain.judge_model(), None);
    assert_eq!(entry(&plain, "coverage").value, "lexical");
    let flags = Overrides { coverage: Some(CoverageMode::Model), ..Overrides::default() };
    let flagged = World::with_file(LOCAL).resolve(&flags).unwrap();
    assert_eq!(flagged.judge_model(), Some(flagged.model()), "the conversation's model by default");
    assert!(flagged.judge_profile().is_none());
    assert_eq!(entry(&flagged, "coverage").origin, Origin::Flag("--coverage"));
}

#[test]
fn a_judge_profile_gives_the_judge_its_own_endpoint_untouched_by_the_conversations_overrides() {
    let world = World::with_file(JUDGED).env("OPENAI_BASE_URL", "http://env.example/v1");
    let flags = Overrides { model: Some("flag-model".into()), ..Overrides::default() };
    let s = world.resolve(&flags).unwrap();
    assert_eq!(s.base_url(), "http://env.example/v1");
    let judge = s.judge_profile().unwrap();
    assert_eq!(judge.base_url(), "https://grader.example/v1");
    assert_eq!(judge.model(), "grader-model");
    assert_eq!(judge.key_source().to_string(), KeySource::Env("GRADER_KEY".into()).to_string());
    assert_eq!(judge.coverage(), CoverageMode::Lexical, "a judge's own judge is never opened");
    assert_eq!(s.judge_model(), Some("grader-model"));
    let flags = Overrides { judge_model: Some("other".into()), ..Overrides::default() };
    assert_eq!(world.resolve(&flags).unwrap().judge_model(), Some("other"));
    assert_eq!(entry(&s, "judge_profile").value, "grader");
}

#[test]
fn judge_settings_that_cannot_work_are_errors_naming_the_key() {
    let unknown = JUDGED.replace("judge_profile = \"grader\"", "judge_profile = \"nobody\"");
    let err = World::with_file(&unknown).error(&Overrides::default());
    assert!(err.contains("judge_profile") && err.contains("names profile `nobody`"), "{err}");
    let lexical = Overrides { coverage: Some(CoverageMode::Lexical), ..Overrides::default() };
    assert!(World::with_file(&unknown).resolve(&lexical).is_ok(), "unused with lexical coverage");
    let local =
        "[profiles.local]\nbackend = \"local\"\ncoverage = \"model\"\njudge_model = \"gpt-4o\"\n";
    let err = World::with_file(local).error(&Overrides::default());
    assert!(err.contains("judge_model") && err.contains("local backend runs one model"), "{err}");
    let empty = "[profiles.p]\ncoverage = \"model\"\njudge_model = \"\"\n";
    assert!(World::with_file(empty).error(&Overrides::default()).contains("must not be empty"));
    let typo = "[profiles.p]\ncoverage = \"judge\"\n";
    assert!(World::with_file(typo).error(&Overrides::default()).contains("coverage"));
}
