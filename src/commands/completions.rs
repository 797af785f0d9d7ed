//! `deepdive completions SHELL`: shell completions generated from the clap definition.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::{CommandResult, ExitCode};
use crate::render::Printer;

pub fn run(args: &CompletionsArgs, printer: &Printer) -> CommandResult {
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "deepdive", &mut buffer);
    printer.out(&String::from_utf8_lossy(&buffer))?;
    Ok(ExitCode::Success)
}
