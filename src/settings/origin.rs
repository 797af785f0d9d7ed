//! Where a resolved setting came from, so `deepdive config show` and error messages can say.

use std::fmt;
use std::path::{Path, PathBuf};

/// The layer a setting was taken from. Precedence: flag > environment > file > default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, by its spelling (`--model`).
    Flag(&'static str),
    /// An environment variable, by name.
    Env(String),
    /// The config file at this path.
    File(PathBuf),
    /// Built into deepdive.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::File(path) => write!(f, "file {}", display_path(path)),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A resolved value and the layer it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Sourced<T> {
    pub fn new(value: T, origin: Origin) -> Self {
        Sourced { value, origin }
    }

    pub fn default(value: T) -> Self {
        Sourced { value, origin: Origin::Default }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced { value: f(self.value), origin: self.origin }
    }
}

/// A path for people: the home directory shown as `~`.
pub fn display_path(path: &Path) -> String {
    if let Some(home) = dirs::home_dir() {
        if let Ok(rest) = path.strip_prefix(&home) {
            return Path::new("~").join(rest).display().to_string();
        }
    }
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_read_like_the_place_to_look() {
        assert_eq!(Origin::Flag("--model").to_string(), "flag --model");
        assert_eq!(Origin::Env("DEEPDIVE_MODEL".into()).to_string(), "env DEEPDIVE_MODEL");
        assert_eq!(
            Origin::File("/etc/deepdive.toml".into()).to_string(),
            "file /etc/deepdive.toml"
        );
        assert_eq!(Origin::Default.to_string(), "default");
    }

    #[test]
    fn home_is_abbreviated() {
        if let Some(home) = dirs::home_dir() {
            let shown = display_path(&home.join(".config/deepdive/config.toml"));
            assert_eq!(shown, "~/.config/deepdive/config.toml");
        }
    }
}
