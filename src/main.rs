use clap::Parser;

use deepdive::cli::Cli;
use deepdive::commands;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code.into(),
        Err(failure) if failure.is_broken_pipe() => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            // The message may quote a server or a file: no control characters reach the terminal.
            eprintln!("error: {}", deepdive::render::sanitize::visible(&failure.message));
            failure.code.into()
        }
    }
}
