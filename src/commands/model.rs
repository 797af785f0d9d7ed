//! `deepdive model pull|list|rm`: the GGUF models of the local backend, in the Hugging Face
//! cache. Reads only the `HF_*` environment (and HOME / XDG_CACHE_HOME for the default cache).

use serde::Serialize;

use crate::cli::{ModelCommand, ModelListArgs, ModelRmArgs};
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::local::download::{HubEndpoint, pull};
use crate::local::hub::{CachedModel, DEFAULT_MODEL, HubCache, HubError, ModelRef};
use crate::render::{Printer, download};

/// `configured`: the local profile's model, pulled by `model pull` without a name.
pub fn run(command: &ModelCommand, printer: Printer, configured: Option<&str>) -> CommandResult {
    let env = |name: &str| std::env::var(name).ok();
    let cache = HubCache::from_env(&env).map_err(failure)?;
    match command {
        ModelCommand::Pull(args) => {
            let name = args.name.as_deref().or(configured).unwrap_or(DEFAULT_MODEL);
            pull_model(name, &cache, &HubEndpoint::from_env(&env), printer)
        }
        ModelCommand::List(args) => list(args, &cache, printer),
        ModelCommand::Rm(args) => remove(args, &cache, printer),
    }
}

/// A hub error as the command's failure: naming something wrong is a usage error.
pub(crate) fn failure(error: HubError) -> Failure {
    if error.is_usage() { Failure::usage(error) } else { Failure::work(error) }
}

fn pull_model(name: &str, cache: &HubCache, hub: &HubEndpoint, printer: Printer) -> CommandResult {
    let model: ModelRef = name.parse().map_err(failure)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::work(format!("cannot start the async runtime: {e}")))?;
    let progress = download::reporter(printer);
    let path = runtime.block_on(async {
        tokio::select! {
            result = pull(&model, cache, hub, progress.as_ref()) => result.map_err(failure),
            // Dropping the pull leaves only the `.incomplete` file, which the next pull resumes.
            _ = tokio::signal::ctrl_c() => Err(Failure {
                code: ExitCode::Interrupted,
                message: format!("interrupted: `deepdive model pull {model}` resumes the download"),
            }),
        }
    });
    drop(progress);
    let path = path?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    printer.status(format!("{model} is ready ({})", indicatif::DecimalBytes(size)));
    printer.out(&format!("{}\n", path.display()))?;
    Ok(ExitCode::Success)
}

#[derive(Serialize)]
struct Row<'a> {
    name: String,
    repo: &'a str,
    file: &'a str,
    quant: Option<&'a str>,
    size: u64,
    path: String,
}

impl<'a> From<&'a CachedModel> for Row<'a> {
    fn from(m: &'a CachedModel) -> Row<'a> {
        Row {
            name: m.name(),
            repo: &m.repo,
            file: &m.file,
            quant: m.quant.as_deref(),
            size: m.size,
            path: m.path.display().to_string(),
        }
    }
}

fn list(args: &ModelListArgs, cache: &HubCache, printer: Printer) -> CommandResult {
    let models = cache.list();
    if args.json {
        let rows: Vec<Row> = models.iter().map(Row::from).collect();
        // Serialising plain strings and numbers cannot fail.
        printer.out(&(serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"))?;
    } else if models.is_empty() {
        printer.status(format!(
            "no GGUF models in {}: `deepdive model pull` downloads one",
            cache.root().display()
        ));
    } else {
        printer.out(&table(&models))?;
    }
    Ok(ExitCode::Success)
}

fn table(models: &[CachedModel]) -> String {
    let rows: Vec<[String; 3]> = models
        .iter()
        .map(|m| [m.name(), m.file.clone(), indicatif::DecimalBytes(m.size).to_string()])
        .collect();
    let width = |i: usize, header: &str| {
        rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(header.len())
    };
    let (name, file) = (width(0, "NAME"), width(1, "FILE"));
    let mut out = format!("{:<name$}  {:<file$}  SIZE\n", "NAME", "FILE");
    for [n, f, s] in &rows {
        out.push_str(&format!("{n:<name$}  {f:<file$}  {s}\n"));
    }
    out
}

fn remove(args: &ModelRmArgs, cache: &HubCache, printer: Printer) -> CommandResult {
    let model: ModelRef = args.name.parse().map_err(failure)?;
    let freed = cache.remove(&model).map_err(failure)?;
    printer.status(format!("removed {model} ({} freed)", indicatif::DecimalBytes(freed)));
    Ok(ExitCode::Success)
}
