//! `deepdive compare A B`: two transcripts, or two batch run folders, compared topic by
//! topic. The markdown comparison is written to a file (`--out`, by default
//! `compare-<A>-vs-<B>.md` in the current directory, replaced if it exists) and printed,
//! rendered on a terminal.

use std::path::{Path, PathBuf};

use super::Context;
use crate::atomic_file;
use crate::cli::CompareArgs;
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::render::markdown::{MarkdownStream, stdout_width, style_for_stdout};
use crate::saved::compare::{self, Source};

pub fn run(ctx: &Context, args: &CompareArgs) -> CommandResult {
    let a = Source::open(&args.a).map_err(Failure::usage)?;
    let b = Source::open(&args.b).map_err(Failure::usage)?;
    let library = ctx.library()?;
    let comparison = compare::compare(&a, &b, &library).map_err(Failure::usage)?;
    let text = compare::markdown(&comparison);
    let path = args.out.clone().unwrap_or_else(|| default_path(&args.a, &args.b));
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

/// `compare-<a>-vs-<b>.md`, from the transcripts' file stems or the run folders' names.
fn default_path(a: &Path, b: &Path) -> PathBuf {
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
    PathBuf::from(format!("compare-{}-vs-{}.md", name(a, "a"), name(b, "b")))
}
