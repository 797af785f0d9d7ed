//! `deepdive config show|path`: the resolved settings and where each came from (never a
//! key, a secret header value or credentials in a URL), and a warning when the key and the
//! base URL come from different places.

use super::Context;
use crate::cli::ConfigCommand;
use crate::exit::{CommandResult, ExitCode, Failure};

pub fn run(ctx: &Context, command: &ConfigCommand) -> CommandResult {
    let text = match command {
        ConfigCommand::Show => {
            if let Some(notice) = ctx.settings.key_destination_notice() {
                ctx.printer.warn(notice);
            }
            let entries = ctx.settings.entries();
            let key_width = entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
            let value_width = entries.iter().map(|e| e.value.len()).max().unwrap_or(0).min(60);
            entries
                .iter()
                .map(|e| {
                    format!("{:<key_width$}  {:<value_width$}  ({})\n", e.key, e.value, e.origin)
                })
                .collect::<String>()
        }
        ConfigCommand::Path => match ctx.settings.config_path() {
            Some(path) => format!("{}\n", path.display()),
            None => {
                return Err(Failure::usage(
                    "no config directory is known on this system: name a file with --config or DEEPDIVE_CONFIG",
                ));
            }
        },
    };
    ctx.printer.out(&text)?;
    Ok(ExitCode::Success)
}
