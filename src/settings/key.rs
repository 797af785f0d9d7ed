//! Where the API key comes from, and getting it only when a request is about to be sent.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::defaults::OPENAI_API_KEY;
use super::error::ConfigError;
use crate::secret::{ApiKey, KeySource, mask_command};

/// The key source chosen for a profile, and what is needed to produce the key.
///
/// An environment key is read when settings are resolved (it is held as an [`ApiKey`],
/// whose `Debug` is redacted); a key command runs on the first [`KeyResolver::api_key`] call.
#[derive(Clone, Debug)]
pub struct KeyResolver {
    source: KeySource,
    /// The profile named this source itself, so a missing key is an error rather than "no key".
    explicit: bool,
    from_env: Option<ApiKey>,
    from_command: OnceLock<ApiKey>,
}

impl KeyResolver {
    /// A profile that names its key source uses exactly that; `api_key_env = ""` means no key;
    /// a profile that names none uses `OPENAI_API_KEY`, as the OpenAI SDKs do.
    /// The caller has already rejected a profile that sets both.
    pub fn new(
        api_key_env: Option<&str>,
        api_key_cmd: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> KeyResolver {
        let (source, explicit) = match (api_key_env, api_key_cmd) {
            (Some(""), _) => (KeySource::None, true),
            (Some(var), _) => (KeySource::Env(var.to_string()), true),
            (None, Some(command)) => (KeySource::Command(command.to_string()), true),
            (None, None) => (KeySource::Env(OPENAI_API_KEY.to_string()), false),
        };
        let from_env = match &source {
            KeySource::Env(var) => env(var).and_then(ApiKey::new),
            _ => None,
        };
        KeyResolver { source, explicit, from_env, from_command: OnceLock::new() }
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// Whether a key will be sent: a key command counts (it has not run yet), an
    /// environment variable only when it is set.
    pub fn is_configured(&self) -> bool {
        match &self.source {
            KeySource::None => false,
            KeySource::Env(_) => self.from_env.is_some(),
            KeySource::Command(_) => true,
        }
    }

    /// The key source as `config show` prints it: never the key itself.
    pub fn describe(&self) -> String {
        match &self.source {
            KeySource::None => "<none>".to_string(),
            KeySource::Env(var) if self.from_env.is_some() => format!("<set via {var}>"),
            KeySource::Env(var) => format!("<{var} not set>"),
            KeySource::Command(command) => format!("<from command `{}`>", mask_command(command)),
        }
    }

    /// The key, running the key command the first time it is needed.
    ///
    /// `Ok(None)`: no key is configured, or `OPENAI_API_KEY` is unset for a profile that named
    /// no source (the server's 401 will then say so). A variable the profile named itself
    /// that is unset, or a failing command, is an error.
    pub fn api_key(&self) -> Result<Option<ApiKey>, ConfigError> {
        match &self.source {
            KeySource::None => Ok(None),
            KeySource::Env(var) => match (&self.from_env, self.explicit) {
                (Some(key), _) => Ok(Some(key.clone())),
                (None, false) => Ok(None),
                (None, true) => Err(ConfigError::KeyVarUnset { var: var.clone() }),
            },
            KeySource::Command(command) => {
                if let Some(key) = self.from_command.get() {
                    return Ok(Some(key.clone()));
                }
                let key = run_key_command(command)?;
                Ok(Some(self.from_command.get_or_init(|| key).clone()))
            }
        }
    }
}

/// Runs `sh -c command` and takes its standard output as the key.
///
/// Standard input is closed (it may be the user's scripted input); standard error is the
/// terminal's, so a password manager can ask for a passphrase. Errors never include what
/// the command printed (it may be the key), and show the command with any key written into
/// it masked.
fn run_key_command(command: &str) -> Result<ApiKey, ConfigError> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| ConfigError::KeyCommandSpawn {
            command: mask_command(command),
            source,
        })?;
    if !output.status.success() {
        return Err(ConfigError::KeyCommandFailed {
            command: mask_command(command),
            status: output.status.to_string(),
        });
    }
    let text = String::from_utf8(output.stdout).map_err(|_| ConfigError::KeyCommandOutput {
        command: mask_command(command),
        problem: "printed something that is not UTF-8",
    })?;
    ApiKey::new(text).ok_or_else(|| ConfigError::KeyCommandOutput {
        command: mask_command(command),
        problem: "printed nothing",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn no_source_named_uses_openai_api_key() {
        let key = KeyResolver::new(None, None, &env_of(&[("OPENAI_API_KEY", "sk-openai")]));
        assert_eq!(key.source(), &KeySource::Env("OPENAI_API_KEY".into()));
        assert_eq!(key.api_key().unwrap().unwrap().expose(), "sk-openai");
        assert_eq!(key.describe(), "<set via OPENAI_API_KEY>");
    }

    #[test]
    fn no_source_and_no_openai_key_is_no_key() {
        let key = KeyResolver::new(None, None, &env_of(&[]));
        assert!(key.api_key().unwrap().is_none());
        assert_eq!(key.describe(), "<OPENAI_API_KEY not set>");
    }

    #[test]
    fn named_variable_is_used_and_openai_key_is_not() {
        let env = env_of(&[("OPENAI_API_KEY", "sk-openai"), ("ROUTER_KEY", "sk-router")]);
        let key = KeyResolver::new(Some("ROUTER_KEY"), None, &env);
        assert_eq!(key.api_key().unwrap().unwrap().expose(), "sk-router");
    }

    #[test]
    fn named_variable_unset_is_an_error_not_the_openai_key() {
        let env = env_of(&[("OPENAI_API_KEY", "sk-openai")]);
        let key = KeyResolver::new(Some("ROUTER_KEY"), None, &env);
        let err = key.api_key().unwrap_err().to_string();
        assert!(err.contains("ROUTER_KEY") && err.contains("not set"), "{err}");
    }

    #[test]
    fn empty_variable_name_sends_no_key() {
        let key = KeyResolver::new(Some(""), None, &env_of(&[("OPENAI_API_KEY", "sk-openai")]));
        assert_eq!(key.source(), &KeySource::None);
        assert!(key.api_key().unwrap().is_none());
        assert_eq!(key.describe(), "<none>");
    }

    #[test]
    fn key_command_output_is_the_key() {
        let key = KeyResolver::new(None, Some("printf 'sk-%s\\n' from-cmd"), &env_of(&[]));
        assert_eq!(key.api_key().unwrap().unwrap().expose(), "sk-from-cmd");
        assert!(!format!("{key:?}").contains("sk-from-cmd"));
    }

    #[test]
    fn failing_key_command_names_command_and_status_not_output() {
        let command = "echo sk-test-SECRET-9; exit 3";
        let key = KeyResolver::new(None, Some(command), &env_of(&[]));
        let err = key.api_key().unwrap_err().to_string();
        assert!(err.contains("`echo <redacted>; exit 3`"), "the inline key is masked: {err}");
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(!err.contains("SECRET"), "{err}");
        let printing = KeyResolver::new(None, Some("printf x%s 1; exit 4"), &env_of(&[]));
        let err = printing.api_key().unwrap_err().to_string();
        assert!(err.contains("`printf x%s 1; exit 4`") && !err.contains("x1"), "{err}");
    }

    #[test]
    fn config_show_masks_a_key_written_into_the_command() {
        let key = KeyResolver::new(None, Some("echo sk-proj-0123456789abcdef"), &env_of(&[]));
        assert_eq!(key.describe(), "<from command `echo <redacted>`>");
        let key = KeyResolver::new(None, Some("pass show openai/api-key"), &env_of(&[]));
        assert_eq!(key.describe(), "<from command `pass show openai/api-key`>");
    }

    #[test]
    fn silent_key_command_is_an_error() {
        let key = KeyResolver::new(None, Some("true"), &env_of(&[]));
        let err = key.api_key().unwrap_err().to_string();
        assert!(err.contains("`true` printed nothing"), "{err}");
    }
}
