//! `deepdive show FILE|DIR`: a saved transcript in the terminal, each turn under a heading
//! line as chat shows it, answers rendered as markdown (the text unchanged when piped); or a
//! batch run folder's summary. Control characters in either are always shown visibly (see
//! `render::sanitize`): a transcript or a manifest cannot drive the terminal.

use std::io::Write;

use super::Context;
use crate::cli::ShowArgs;
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::message::Role;
use crate::render::markdown::{MarkdownStream, Style, stdout_width, style_for_stdout};
use crate::render::sanitize::visible;
use crate::saved::run::RunFolder;
use crate::saved::{describe, locate, summary};
use crate::session::store;

/// Width of heading rules when the terminal's width is unknown.
const RULE_WIDTH: usize = 80;

pub fn run(ctx: &Context, args: &ShowArgs) -> CommandResult {
    let path = locate::locate(ctx.settings.sessions_dir(), &args.path).map_err(Failure::usage)?;
    if path.is_dir() {
        let run = RunFolder::open(&path).map_err(Failure::usage)?;
        ctx.printer.out(&visible(&summary::run_summary(&run)))?;
        return Ok(ExitCode::Success);
    }
    let transcript = store::load(&path).map_err(Failure::usage)?;
    let library = ctx.library()?;
    let style = style_for_stdout();
    let width = stdout_width().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    let meta = &transcript.meta;
    let title = visible(&meta.title);
    match style {
        Style::Color => writeln!(out, "\x1b[1m{title}\x1b[0m")?,
        Style::Plain => writeln!(out, "{title}")?,
    }
    writeln!(out, "{}", visible(&describe::session_line(meta)))?;
    let mut stream = MarkdownStream::new(style, width);
    for turn in &transcript.turns {
        let heading = format!("── {}", visible(&describe::turn_heading(turn, meta, &library)));
        match style {
            Style::Color => {
                let rule_width = if width == 0 { RULE_WIDTH } else { width.min(RULE_WIDTH) };
                let used = heading.chars().count() + 1;
                let rule = "─".repeat(rule_width.saturating_sub(used));
                let color = if turn.role == Role::User { "1;32" } else { "1;34" };
                writeln!(out, "\n\x1b[{color}m{heading}\x1b[0m \x1b[2m{rule}\x1b[0m")?;
            }
            Style::Plain => writeln!(out, "\n{heading}")?,
        }
        stream.push(&turn.text, &mut out)?;
        stream.finish(&mut out)?;
        if style == Style::Plain && !turn.text.ends_with('\n') {
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::Success)
}
