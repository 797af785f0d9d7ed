//! The API key: a value that can be sent but never shown.

/// An API key. It has no `Display`, its `Debug` is redacted, and the only way to the
/// bytes is [`ApiKey::expose`], called by the client when it builds the request header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; surrounding whitespace (a trailing newline from a key command) is dropped.
    /// Returns `None` for an empty key.
    pub fn new(raw: impl Into<String>) -> Option<ApiKey> {
        let raw = raw.into();
        let trimmed = raw.trim();
        if trimmed.is_empty() { None } else { Some(ApiKey(trimmed.to_string())) }
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where the key came from, so that an authentication error can say what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// No key is configured (fine for local servers).
    None,
    /// An environment variable, by name.
    Env(String),
    /// A command whose standard output is the key.
    Command(String),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::None => f.write_str("no API key configured"),
            KeySource::Env(name) => write!(f, "environment variable {name}"),
            KeySource::Command(cmd) => write!(f, "the output of key command `{cmd}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("sk-very-secret-123\n").unwrap();
        assert_eq!(key.expose(), "sk-very-secret-123");
        assert!(!format!("{key:?}").contains("secret"));
        assert!(!format!("{:?}", Some(key)).contains("secret"));
    }

    #[test]
    fn empty_key_is_no_key() {
        assert!(ApiKey::new("  \n").is_none());
    }
}
