//! `deepdive handbook DIR|FILE`: rebuilds a run folder's handbook from its transcripts (so a
//! topic continued with `chat --resume` shows its new follow-ups), or makes the same
//! document from one saved session.

use std::path::Path;

use super::Context;
use crate::batch::{self, Manifest};
use crate::cli::HandbookArgs;
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::handbook::{self, Book, Files, HandbookError};
use crate::saved::locate::locate;

pub fn run(ctx: &Context, args: &HandbookArgs) -> CommandResult {
    let library = ctx.library()?;
    let source = &locate(ctx.settings.sessions_dir(), &args.source).map_err(Failure::usage)?;
    let (book, written) = if source.is_dir() {
        let manifest = run_manifest(source)?;
        match &args.out {
            // The run folder's own handbook includes its index.md.
            None => batch::handbook::write(source, &manifest, &library).map_err(failure)?,
            Some(out) => {
                let book = Book::from_run(source, out, &manifest, &library).map_err(failure)?;
                let written = Files::render(&book).write(out).map_err(failure)?;
                (book, written)
            }
        }
    } else {
        let out = args.out.clone().unwrap_or_else(|| handbook::session_out_dir(source));
        let book = handbook::for_session(source, &out, &library).map_err(failure)?;
        let written = Files::render(&book).write(&out).map_err(failure)?;
        (book, written)
    };
    let mut out = String::new();
    for path in &written {
        out.push_str(&format!("{}\n", path.display()));
    }
    ctx.printer.out(&out)?;
    ctx.printer.status(summary(&book));
    Ok(ExitCode::Success)
}

/// The run folder's manifest, brought in line with its transcripts (not saved: rebuilding
/// the handbook changes nothing else in the folder).
fn run_manifest(dir: &Path) -> Result<Manifest, Failure> {
    let mut manifest = Manifest::load(dir).map_err(Failure::usage)?.ok_or_else(|| {
        Failure::usage(format!(
            "{} has no manifest.json, so it is not a batch run folder; for one saved session, \
             name its .md file",
            dir.display()
        ))
    })?;
    manifest.reconcile(dir).map_err(Failure::usage)?;
    Ok(manifest)
}

fn failure(error: HandbookError) -> Failure {
    if error.is_input() { Failure::usage(error) } else { Failure::work(error) }
}

/// "handbook: 20 chapters (17 complete, 2 truncated, 1 failed)".
fn summary(book: &Book) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for chapter in &book.chapters {
        match counts.iter_mut().find(|(status, _)| *status == chapter.status()) {
            Some((_, n)) => *n += 1,
            None => counts.push((chapter.status(), 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(status, n)| format!("{n} {status}")).collect();
    let s = if book.chapters.len() == 1 { "" } else { "s" };
    format!("handbook: {} chapter{s} ({})", book.chapters.len(), parts.join(", "))
}
