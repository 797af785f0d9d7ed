//! The exact commands that fill in what a handbook is missing, for the source it was made
//! from (a run folder or one session). Only commands and flags that exist are named.

use std::path::Path;

use super::book::{Book, Chapter, Source};

/// The command that rebuilds this handbook from its transcripts.
pub fn rebuild(book: &Book) -> String {
    match &book.source {
        Source::Run(dir) => format!("deepdive handbook {}", quote(dir)),
        Source::Session(file) => format!("deepdive handbook {}", quote(file)),
    }
}

/// What to run for a topic without guidance (or whose conversation stopped early).
pub fn topic(book: &Book, chapter: &Chapter, failed: bool) -> String {
    match (&book.source, failed) {
        (Source::Run(dir), true) => format!(
            "`deepdive batch --resume {} --retry-failed` sends it again (`--resume` alone also \
             runs the topics never run); the handbook is rewritten when the run ends",
            quote(dir)
        ),
        (Source::Run(dir), false) => format!(
            "`deepdive batch --resume {}` runs it; the handbook is rewritten when the run ends",
            quote(dir)
        ),
        (Source::Session(file), true) => format!(
            "`deepdive chat --resume {}`, then `/retry`; then `{}`",
            quote(file),
            rebuild(book)
        ),
        (Source::Session(file), false) => format!(
            "`deepdive chat --resume {}`, then `/add {}`; then `{}`",
            quote(file),
            chapter.slug,
            rebuild(book)
        ),
    }
}

/// How to send `message` in the chapter's conversation and see the answer in the handbook.
pub fn ask(book: &Book, chapter: &Chapter, message: &str) -> String {
    match &chapter.transcript {
        Some(file) => format!(
            "`deepdive chat --resume {}`, send {message}, then `{}`",
            quote(file),
            rebuild(book)
        ),
        None => topic(book, chapter, false),
    }
}

/// Quotes a path for a POSIX shell when it needs it.
pub fn quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c));
    if plain && !text.is_empty() { text } else { format!("'{}'", text.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::quote;
    use std::path::Path;

    #[test]
    fn paths_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(quote(Path::new("/runs/2026-11-27T0452Z-all")), "/runs/2026-11-27T0452Z-all");
        assert_eq!(quote(Path::new("my runs/it's")), r"'my runs/it'\''s'");
    }
}
