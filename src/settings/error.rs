//! Configuration errors: one line each, naming the key and where it was set, and what to do.

use std::fmt;

use super::origin::{Origin, display_path};
use std::path::PathBuf;

/// Where a bad value was set: a flag, an environment variable, or a file and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub origin: Origin,
    /// 1-based line in the config file, when known.
    pub line: Option<usize>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Flag(flag) => write!(f, "invalid flag {flag}"),
            Origin::Env(name) => write!(f, "invalid environment variable {name}"),
            Origin::File(path) => {
                write!(f, "config error in {}", display_path(path))?;
                match self.line {
                    Some(line) => write!(f, ":{line}"),
                    None => Ok(()),
                }
            }
            Origin::Default => f.write_str("invalid built-in default"),
        }
    }
}

/// Everything that can be wrong with flags, environment or the config file.
///
/// No variant ever holds an API key or the output of a key command.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {} (named by {origin}) does not exist; create it (see config.example.toml) or name an existing file",
        display_path(path)
    )]
    MissingFile { path: PathBuf, origin: Origin },

    #[error("cannot read config file {}: {source}", display_path(path))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{place}: unknown key '{key}' in {table} (known: {known}); fix the spelling or remove it"
    )]
    UnknownKey { place: Place, key: String, table: String, known: String },

    /// TOML syntax, a wrong type, a missing required key.
    #[error("{place}: {message}")]
    Syntax { place: Place, message: String },

    /// A value that parsed but is not allowed; `problem` says what is allowed.
    #[error("{place}: {key} {problem}")]
    Invalid { place: Place, key: String, problem: String },

    #[error("profile '{name}' (from {origin}) is not defined; {defined}")]
    UnknownProfile { name: String, origin: Origin, defined: String },

    #[error(
        "{place}: several profiles are defined ({defined}) and none is chosen; set `profile = \"NAME\"` at the top of the file, DEEPDIVE_PROFILE or --profile"
    )]
    NoProfileChosen { place: Place, defined: String },

    #[error(
        "the API key variable {var} (named by api_key_env) is not set; export it, or set api_key_env = \"\" for an endpoint that needs no key"
    )]
    KeyVarUnset { var: String },

    #[error("cannot run the API key command `{command}` with sh -c: {source}")]
    KeyCommandSpawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    #[error("the API key command `{command}` failed ({status}); run it in a shell to see why")]
    KeyCommandFailed { command: String, status: String },

    #[error("the API key command `{command}` {problem}; it must print the key on standard output")]
    KeyCommandOutput { command: String, problem: &'static str },
}
