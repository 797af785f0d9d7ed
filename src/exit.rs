//! How a command ends: the exit code, and the one-line error that goes with a failure.

use std::fmt;

/// Exit codes of SPEC.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    /// The work failed: the endpoint kept failing, some batch topics failed.
    WorkFailed = 1,
    /// Bad usage, bad config or a bad input file.
    Usage = 2,
    /// Stopped by the user (Ctrl-C).
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// A failure that ends a command: what to tell the user (one line, with what to do) and the code.
#[derive(Debug)]
pub struct Failure {
    pub code: ExitCode,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl fmt::Display) -> Failure {
        Failure { code: ExitCode::Usage, message: message.to_string() }
    }

    pub fn work(message: impl fmt::Display) -> Failure {
        Failure { code: ExitCode::WorkFailed, message: message.to_string() }
    }

    /// Nothing to report: stdout was closed by the reader (`deepdive topics | head -1`).
    pub fn is_broken_pipe(&self) -> bool {
        self.code == ExitCode::Success
    }
}

impl From<crate::settings::ConfigError> for Failure {
    fn from(error: crate::settings::ConfigError) -> Failure {
        Failure::usage(error)
    }
}

impl From<crate::prompts::PromptError> for Failure {
    fn from(error: crate::prompts::PromptError) -> Failure {
        Failure::usage(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            Failure { code: ExitCode::Success, message: String::new() }
        } else {
            Failure::work(format!("cannot write output: {error}"))
        }
    }
}

pub type CommandResult = Result<ExitCode, Failure>;
