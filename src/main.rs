use deepdive::commands;
use deepdive::render::{Printer, Verbosity};

fn main() -> std::process::ExitCode {
    let cli = deepdive::cli::parse();
    match commands::run(cli) {
        Ok(code) => code.into(),
        Err(failure) if failure.is_broken_pipe() => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            Printer::new(Verbosity::Normal).error(&failure.message);
            failure.code.into()
        }
    }
}
