//! `deepdive completions SHELL`: shell completions generated from the clap definition, with
//! the built-in topic slugs and follow-up names as the values of TOPIC and `--followups`.

use crate::cli::{self, CompletionsArgs};
use crate::driver::GAPS;
use crate::exit::{CommandResult, ExitCode};
use crate::prompts::Library;
use crate::render::Printer;

pub fn run(args: &CompletionsArgs, printer: &Printer) -> CommandResult {
    let library = Library::builtin();
    let topics: Vec<(&str, &str)> =
        library.topics().iter().map(|t| (t.slug.as_str(), t.title.as_str())).collect();
    let mut followups: Vec<&str> = library.followups().iter().map(|f| f.name.as_str()).collect();
    followups.push(GAPS);
    let mut command = cli::for_completions(&topics, &followups);
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut command, "deepdive", &mut buffer);
    printer.out(&String::from_utf8_lossy(&buffer))?;
    Ok(ExitCode::Success)
}
