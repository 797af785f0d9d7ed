//! Built-in defaults, the context windows of well-known models, and the platform directories.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The profile used when the config file defines none.
pub const PROFILE: &str = "default";
pub const BASE_URL: &str = "https://api.openai.com/v1";
pub const MODEL: &str = "gpt-4o-mini";
/// The built-in profile used when no endpoint is configured at all: a model in the process.
pub const LOCAL_PROFILE: &str = "local";
/// The local model run by default: a good answer quality for its size on a CPU.
pub const LOCAL_MODEL: &str = "Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M";
/// What `base_url` shows for the local backend (nothing is sent over HTTP).
pub const LOCAL_BASE_URL: &str = "local";
/// The key variable used by profiles that name no key source (as the OpenAI SDKs do).
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";

pub const MAX_ATTEMPTS: u32 = 5;
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long one batch request may wait on rate limits in all before it fails.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(600);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Long, because reasoning models can think for minutes before their first token.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// A whole request: long enough for a 30,000-token answer at 20 tokens per second.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The largest answer accepted, in MiB: 8 MiB is about two million tokens, far beyond any
/// model's output limit, so only a server stuck in a loop reaches it.
pub const MAX_ANSWER_MB: u64 = 8;
pub const STREAM: bool = true;
pub const INCLUDE_USAGE: bool = true;

/// The context window of a well-known model, in tokens; `None` for models not in the table.
///
/// Matching ignores case and a router prefix (`openai/gpt-4o` is `gpt-4o`). A profile's own
/// `context_window` always wins over this table.
pub fn context_window(model: &str) -> Option<u32> {
    let name = model.rsplit('/').next().unwrap_or(model).to_ascii_lowercase();
    let prefixes: &[(&str, u32)] = &[
        ("gpt-4o", 128_000),
        ("gpt-4.1", 1_047_576),
        ("gpt-5", 400_000),
        ("gpt-4-turbo", 128_000),
        ("gpt-3.5-turbo", 16_385),
        ("o1-mini", 128_000),
        ("o1-preview", 128_000),
        ("o1", 200_000),
        ("o3", 200_000),
        ("o4-mini", 200_000),
    ];
    prefixes.iter().find(|(prefix, _)| name.starts_with(prefix)).map(|&(_, window)| window)
}

/// The directories deepdive looks in, taken from the platform (or from a test).
#[derive(Clone, Debug, Default)]
pub struct Dirs {
    /// Where `deepdive/config.toml` lives by default (`~/.config` on Linux).
    pub config: Option<PathBuf>,
    /// Where sessions go by default (`~/.local/share` on Linux).
    pub data: Option<PathBuf>,
    /// The home directory, for `~/` in paths.
    pub home: Option<PathBuf>,
    /// `./sessions`, when the current directory has one.
    pub local_sessions: Option<PathBuf>,
}

impl Dirs {
    /// The real directories of this user and this working directory.
    pub fn system() -> Dirs {
        let local = Path::new("sessions");
        Dirs {
            config: dirs::config_dir(),
            data: dirs::data_dir(),
            home: dirs::home_dir(),
            local_sessions: local.is_dir().then(|| local.to_path_buf()),
        }
    }

    /// `deepdive/config.toml` in the config directory.
    pub fn default_config_file(&self) -> Option<PathBuf> {
        self.config.as_ref().map(|dir| dir.join("deepdive").join("config.toml"))
    }

    /// `./sessions` if it exists, else `deepdive/sessions` in the data directory.
    pub fn default_sessions_dir(&self) -> PathBuf {
        match (&self.local_sessions, &self.data) {
            (Some(local), _) => local.clone(),
            (None, Some(data)) => data.join("deepdive").join("sessions"),
            (None, None) => PathBuf::from("sessions"),
        }
    }

    /// Expands a leading `~/` (or a lone `~`) to the home directory.
    pub fn expand_home(&self, path: &Path) -> PathBuf {
        match (&self.home, path.strip_prefix("~")) {
            (Some(home), Ok(rest)) => home.join(rest),
            _ => path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_models_have_a_window() {
        assert_eq!(context_window("gpt-4o-mini"), Some(128_000));
        assert_eq!(context_window("GPT-4o"), Some(128_000));
        assert_eq!(context_window("openai/gpt-4o"), Some(128_000));
        assert_eq!(context_window("gpt-4.1-nano"), Some(1_047_576));
        assert_eq!(context_window("gpt-5-mini"), Some(400_000));
        assert_eq!(context_window("gpt-4-turbo-2024-04-09"), Some(128_000));
        assert_eq!(context_window("gpt-3.5-turbo"), Some(16_385));
        assert_eq!(context_window("o1-mini"), Some(128_000));
        assert_eq!(context_window("o3-mini"), Some(200_000));
        assert_eq!(context_window("o4-mini"), Some(200_000));
    }

    #[test]
    fn unknown_models_have_none() {
        assert_eq!(context_window("llama3.1:8b"), None);
        assert_eq!(context_window("qwen2.5-coder"), None);
        assert_eq!(context_window("gpt-4"), None);
    }

    #[test]
    fn sessions_dir_prefers_a_local_sessions_folder() {
        let mut dirs = Dirs { data: Some("/data".into()), ..Dirs::default() };
        assert_eq!(dirs.default_sessions_dir(), PathBuf::from("/data/deepdive/sessions"));
        dirs.local_sessions = Some("sessions".into());
        assert_eq!(dirs.default_sessions_dir(), PathBuf::from("sessions"));
    }

    #[test]
    fn tilde_is_the_home_directory() {
        let dirs = Dirs { home: Some("/home/me".into()), ..Dirs::default() };
        assert_eq!(dirs.expand_home(Path::new("~/notes")), PathBuf::from("/home/me/notes"));
        assert_eq!(dirs.expand_home(Path::new("~")), PathBuf::from("/home/me"));
        assert_eq!(dirs.expand_home(Path::new("/abs/~")), PathBuf::from("/abs/~"));
        assert_eq!(dirs.expand_home(Path::new("~other/x")), PathBuf::from("~other/x"));
    }
}
