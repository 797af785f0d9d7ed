//! Where the chat's input lines come from: a line editor on a terminal (completion,
//! multi-line entry, history kept across runs), or plain lines from a pipe, read as typed
//! inputs so a session can be scripted (`printf '2\n/quit\n' | deepdive chat 15`).
//!
//! Multi-line entry, both ways: end a line with `\` to continue on the next one, or open a
//! ``` code fence and the entry goes on until the fence is closed.

use std::borrow::Cow;
use std::path::PathBuf;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper, Highlighter, Hinter};
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};

use super::commands;

/// One read.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// A whole entry (continuation lines joined).
    Line(String),
    /// Ctrl-C at the prompt: the line was cleared.
    Cleared,
    /// Ctrl-D, or the end of piped input.
    Eof,
}

pub enum Source {
    Terminal { editor: Box<Editor<ChatHelper, DefaultHistory>>, history: Option<PathBuf> },
    Piped(Lines<BufReader<Stdin>>),
}

impl Source {
    /// A line editor when stdin is a terminal, plain lines otherwise. `topics` are offered
    /// as completions after `/add`; `history` is where past inputs are kept.
    pub fn new(interactive: bool, topics: Vec<String>, history: Option<PathBuf>) -> Source {
        if !interactive {
            return Source::Piped(BufReader::new(tokio::io::stdin()).lines());
        }
        match Editor::new() {
            Ok(mut editor) => {
                editor.set_helper(Some(ChatHelper { topics }));
                if let Some(path) = &history {
                    // No history yet (first run) is fine.
                    let _ = editor.load_history(path);
                }
                Source::Terminal { editor: Box::new(editor), history }
            }
            Err(_) => Source::Piped(BufReader::new(tokio::io::stdin()).lines()),
        }
    }

    /// True for the line editor.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Source::Terminal { .. })
    }

    /// Reads one entry. On a terminal the prompt is shown; piped input has no prompt.
    pub async fn read(&mut self, prompt: &str) -> std::io::Result<Read> {
        match self {
            Source::Terminal { editor, history } => match editor.readline(prompt) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                        if let Some(path) = history.as_deref() {
                            if let Some(dir) = path.parent() {
                                let _ = std::fs::create_dir_all(dir);
                            }
                            // Losing history is not worth interrupting the session for.
                            let _ = editor.append_history(path);
                        }
                    }
                    Ok(Read::Line(join_continuations(&line)))
                }
                Err(ReadlineError::Interrupted) => Ok(Read::Cleared),
                Err(ReadlineError::Eof) => Ok(Read::Eof),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            },
            Source::Piped(lines) => {
                let mut entry = String::new();
                while let Some(line) = next_line(lines).await? {
                    if !entry.is_empty() {
                        entry.push('\n');
                    }
                    entry.push_str(&line);
                    if !is_incomplete(&entry) {
                        return Ok(Read::Line(join_continuations(&entry)));
                    }
                }
                // An unfinished entry at the end of the input is still an entry.
                Ok(if entry.is_empty() {
                    Read::Eof
                } else {
                    Read::Line(join_continuations(&entry))
                })
            }
        }
    }
}

/// The next piped line. A read cut short by a signal (Ctrl-C: the session's listener sees it
/// and decides) is tried again rather than taken for broken input.
async fn next_line(lines: &mut Lines<BufReader<Stdin>>) -> std::io::Result<Option<String>> {
    loop {
        match lines.next_line().await {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// True while an entry goes on: a trailing `\`, or an open ``` fence.
fn is_incomplete(entry: &str) -> bool {
    let fences = entry.lines().filter(|l| l.trim_start().starts_with("```")).count();
    entry.ends_with('\\') || fences % 2 == 1
}

/// Removes the `\` that ended each continued line, keeping the line breaks.
fn join_continuations(entry: &str) -> String {
    entry.replace("\\\n", "\n").trim_end_matches('\\').to_string()
}

/// Completion of commands and `/add` topics, and multi-line entry, for the line editor.
#[derive(Helper, Highlighter, Hinter)]
pub struct ChatHelper {
    topics: Vec<String>,
}

impl Completer for ChatHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let line = &line[..pos];
        if let Some(prefix) = line.strip_prefix("/add ") {
            let found = self.topics.iter().filter(|t| t.starts_with(prefix.trim_start())).cloned();
            return Ok((line.len() - prefix.trim_start().len(), found.collect()));
        }
        Ok((0, commands::complete(line)))
    }
}

impl Validator for ChatHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_incomplete(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

/// The input history file, in the user's data directory.
pub fn history_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("deepdive").join("history.txt"))
}

/// Shown on the first prompt of an interactive session.
pub fn multiline_help() -> Cow<'static, str> {
    Cow::Borrowed(
        "Type a number to send a suggested follow-up, a question of your own, or /help. \
         End a line with \\ (or open a ``` block) to write several lines; /edit opens $EDITOR.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_and_fences_keep_an_entry_open() {
        assert!(is_incomplete("first line \\"));
        assert!(is_incomplete("look:\n```yaml\nkey: value"));
        assert!(!is_incomplete("look:\n```yaml\nkey: value\n```"));
        assert!(!is_incomplete("plain question?"));
        assert_eq!(join_continuations("one \\\ntwo \\\nthree"), "one \ntwo \nthree");
    }
}
