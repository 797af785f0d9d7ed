//! Extra HTTP headers of a profile; the ones that may carry credentials are never shown.

use std::fmt;

pub use crate::secret::is_secret_header as is_secret;

/// Headers sent with every request, in the file's (sorted) order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new(pairs: Vec<(String, String)>) -> Headers {
        Headers(pairs)
    }

    pub fn as_slice(&self) -> &[(String, String)] {
        &self.0
    }

    /// Each header with its value, or `<redacted>` for a secret one: what may be shown.
    pub fn shown(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, value)| {
            let value = if is_secret(name) { "<redacted>" } else { value.as_str() };
            (name.as_str(), value)
        })
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.shown()).finish()
    }
}

/// Why a header cannot be sent as written, if it cannot.
pub fn problem(name: &str, value: &str) -> Option<&'static str> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        Some("is not a valid header name; use letters, digits and dashes")
    } else if value.chars().any(|c| c.is_control() && c != '\t') {
        Some("has a control character (such as a newline) in its value; remove it")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_headers_are_redacted_in_debug() {
        let headers = Headers::new(vec![
            ("Authorization".into(), "Bearer sk-hidden-1".into()),
            ("api-key".into(), "sk-hidden-2".into()),
            ("X-Title".into(), "deepdive".into()),
        ]);
        let debug = format!("{headers:?}");
        assert!(!debug.contains("hidden"), "{debug}");
        assert!(debug.contains("deepdive"), "{debug}");
        assert_eq!(headers.as_slice()[0].1, "Bearer sk-hidden-1");
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        assert!(problem("X-Title", "deepdive").is_none());
        assert!(problem("", "x").is_some());
        assert!(problem("X Title", "x").is_some());
        assert!(problem("X-Title", "a\r\nInjected: 1").is_some());
    }
}
