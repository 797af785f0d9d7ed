//! `deepdive compare A B`: two transcripts, or two batch run folders, compared topic by
//! topic. The markdown comparison is written to a file (`--out`, by default
//! `<sessions dir>/compare/<A>-vs-<B>.md`, replaced if it exists; out of the way of the
//! transcripts `deepdive sessions` lists) and printed, rendered on a terminal.

use std::path::Path;

use super::Context;
use crate::atomic_file;
use crate::cli::CompareArgs;
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::render::markdown::{MarkdownStream, stdout_width, style_for_stdout};
use crate::saved::compare::{self, Source};
use crate::saved::locate::locate;

/// The folder of the sessions directory that comparisons go to by default.
const COMPARE_DIR: &str = "compare";

pub fn run(ctx: &Context, args: &CompareArgs) -> CommandResult {
    let sessions = ctx.settings.sessions_dir();
    let path_a = locate(sessions, &args.a).map_err(Failure::usage)?;
    let path_b = locate(sessions, &args.b).map_err(Failure::usage)?;
    let a = Source::open(&path_a).map_err(Failure::usage)?;
    let b = Source::open(&path_b).map_err(Failure::usage)?;
    let library = ctx.library()?;
    let comparison = compare::compare(&a, &b, &library).map_err(Failure::usage)?;
    let text = compare::markdown(&comparison);
    let path = match &args.out {
        Some(out) => out.clone(),
        None => sessions.join(COMPARE_DIR).join(file_name(&path_a, &path_b)),
    };
    atomic_file::write(&path, text.as_bytes()).map_err(|e| {
        Failure::work(format!(
            "{}: cannot write the comparison: {e}; choose another place with --out",
            path.display()
        ))
    })?;
    let mut stdout = std::io::stdout().lock();
    let mut stream = MarkdownStream::new(style_for_stdout(), stdout_width().unwrap_or(0));
    stream.push(&text, &mut stdout)?;
    stream.finish(&mut stdout)?;
    ctx.printer.status(format!("wrote {}", path.display()));
    Ok(ExitCode::Success)
}

/// `<a>-vs-<b>.md`, from the transcripts' file stems or the run folders' names.
fn file_name(a: &Path, b: &Path) -> String {
    let name = |p: &Path, fallback: &str| {
        let stem = if p.is_dir() { p.file_name() } else { p.file_stem() };
        let stem: String = stem
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(
                |c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' },
            )
            .collect();
        if stem.trim_matches(['-', '.']).is_empty() { fallback.to_string() } else { stem }
    };
    format!("{}-vs-{}.md", name(a, "a"), name(b, "b"))
}
