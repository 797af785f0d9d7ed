//! `deepdive batch`: every chosen topic as its own conversation, run concurrently into a run
//! folder (transcripts, manifest.json, index.md), resumable, with a summary table at the end.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::{Context, interrupt};
use crate::batch::{self, Manifest, Observer, Plan, Rerun, TopicStatus, estimate, folder};
use crate::cli::BatchArgs;
use crate::driver::Endpoint;
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::prompts::{Library, Topic};
use crate::render::progress::{Bars, Lines, Silent};
use crate::render::{Verbosity, duration, plural, thousands};
use crate::settings::Origin;
use crate::tokens::{CountTokens, TokenCounter};

pub fn run(ctx: &Context, args: &BatchArgs) -> CommandResult {
    let resumed;
    let ctx = match &args.resume {
        Some(dir) => {
            resumed = resume_context(ctx, dir)?;
            &resumed
        }
        None => ctx,
    };
    let library = ctx.library()?;
    let (mut plan, dir) = match &args.resume {
        Some(dir) => resume_plan(ctx, dir)?,
        None => new_plan(ctx, &library, args)?,
    };
    plan.fresh_priming |= args.fresh_priming;
    plan.check_followups(&library).map_err(Failure::usage)?;
    if args.dry_run {
        return dry_run(ctx, &library, &plan);
    }
    let max_cost = match (args.max_cost, ctx.settings.prices()) {
        (None, _) => None,
        (Some(max), Some(prices)) if max >= 0.0 => Some((max, prices)),
        (Some(_), Some(_)) => return Err(Failure::usage("--max-cost must not be negative")),
        (Some(_), None) => {
            return Err(Failure::usage(
                "--max-cost needs prices: set [profiles.NAME.prices] input_per_mtok and \
                 output_per_mtok in the config file",
            ));
        }
    };
    if (args.retry_failed || args.retry_truncated) && Manifest::load(&dir).ok().flatten().is_none()
    {
        let flag = if args.retry_failed { "--retry-failed" } else { "--retry-truncated" };
        return Err(Failure::usage(format!(
            "{flag} needs an earlier run: {} has no manifest.json; name it with --resume",
            dir.display()
        )));
    }
    let options = RunOptions {
        concurrency: args.concurrency as usize,
        rerun: Rerun { failed_only: args.retry_failed, truncated: args.retry_truncated },
        max_cost,
    };
    run_plan(ctx, &library, plan, &dir, options)
}

/// How a run goes, beyond its plan.
pub struct RunOptions {
    pub concurrency: usize,
    pub rerun: Rerun,
    pub max_cost: Option<(f64, crate::settings::Prices)>,
}

/// Runs `plan` into the run folder `dir` (new or earlier), with progress and a summary.
/// The folder is locked, cleaned of stale temporary files and its file names checked before
/// anything is sent.
pub fn run_plan(
    ctx: &Context,
    library: &Library,
    plan: Plan,
    dir: &Path,
    options: RunOptions,
) -> CommandResult {
    let _lock = folder::lock(dir).map_err(Failure::usage)?;
    let manifest = batch::prepare(library, plan.clone(), dir).map_err(batch_failure)?;
    folder::check_names(dir, &manifest).map_err(Failure::usage)?;
    let opened = ctx.open_backend()?;
    let opened_judge = ctx.open_judge()?;
    let judge = opened_judge.as_ref().map(|j| j.judge());
    let request = ctx.request_for(&opened);
    let concurrency = if opened.local && options.concurrency > 1 {
        // One generation already uses every core; more would only slow each answer down.
        ctx.printer.status("the local model answers one request at a time (--concurrency 1)");
        1
    } else {
        options.concurrency
    };
    let retry = ctx.retry_policy();
    let job = batch::Job {
        library,
        plan,
        dir: dir.to_path_buf(),
        endpoint: Endpoint {
            backend: opened.backend.as_ref(),
            limiter: None,
            retry: &retry,
            library,
            judge: judge.as_ref(),
            count_prompts: ctx.printer.verbosity() == Verbosity::Verbose,
        },
        request,
        concurrency,
        max_rate_limit_wait: ctx.settings.retry().max_rate_limit_wait,
        rerun: options.rerun,
        max_cost: options.max_cost,
    };
    let observer: Box<dyn Observer> = match ctx.printer.verbosity() {
        Verbosity::Quiet => Box::new(Silent),
        Verbosity::Normal if std::io::stderr().is_terminal() => Box::new(Bars::new(concurrency)),
        _ => Box::new(Lines::new(ctx.printer, concurrency)),
    };
    ctx.printer.status(format!("run folder: {}", dir.display()));
    // One thread: the topics are concurrent futures, not parallel work, and a multi-thread
    // runtime hands every streamed chunk across threads (measured 1.7–4.9x slower).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::work(format!("cannot start the async runtime: {e}")))?;
    let summary = runtime.block_on(async {
        let cancel = interrupt::on_ctrl_c();
        batch::execute(&job, manifest, observer.as_ref(), &cancel).await
    });
    drop(observer);
    let summary = summary.map_err(batch_failure)?;
    print_summary(ctx, &summary, dir)?;
    Ok(if summary.interrupted {
        ExitCode::Interrupted
    } else if summary.manifest.topics.iter().any(|r| r.status != TopicStatus::Complete) {
        ExitCode::WorkFailed
    } else {
        ExitCode::Success
    })
}

fn batch_failure(error: batch::BatchError) -> Failure {
    if error.is_usage() { Failure::usage(error) } else { Failure::work(error) }
}

/// The plan from the command line, and the run folder (`--out`, or a new one).
fn new_plan(
    ctx: &Context,
    library: &Library,
    args: &BatchArgs,
) -> Result<(Plan, PathBuf), Failure> {
    let topics: Vec<&Topic> = if args.all {
        library.topics().iter().collect()
    } else if args.topics.is_empty() {
        return Err(Failure::usage(
            "name the topics to run (numbers, slugs or prefixes), or --all; see 'deepdive topics'",
        ));
    } else {
        let mut topics = library.resolve_all(&args.topics)?;
        topics.sort_by_key(|t| t.number);
        topics
    };
    let s = &ctx.settings;
    let plan = Plan {
        topics: topics.iter().map(|t| t.slug.clone()).collect(),
        followups: args
            .followups
            .iter()
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect(),
        model: s.model().to_string(),
        endpoint: s.base_url_shown(),
        profile: s.profile().to_string(),
        stack: s.stack().map(str::to_string),
        replay: None,
        fresh_priming: args.fresh_priming,
        endpoint_pinned: pinned(s),
    };
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => default_dir(s.sessions_dir(), &topics, args.all),
    };
    Ok((plan, dir))
}

/// The settings for resuming the run in `dir`: its stored profile, model and endpoint,
/// unless a flag points elsewhere.
fn resume_context(ctx: &Context, dir: &Path) -> Result<Context, Failure> {
    let plan = stored_plan(dir)?;
    let given = &ctx.overrides;
    let mut overrides = given.clone();
    overrides.profile = given.profile.clone().or(Some(plan.profile.clone()));
    overrides.model = given.model.clone().or(Some(plan.model.clone()));
    // A stored endpoint had its credentials redacted: it cannot be sent to again as it is.
    let whole = !plan.endpoint.contains(crate::secret::REDACTED);
    if plan.endpoint_pinned && whole && given.profile.is_none() {
        overrides.base_url = given.base_url.clone().or(Some(plan.endpoint.clone()));
    }
    let env = |name: &str| std::env::var(name).ok();
    let settings = crate::settings::resolve(&overrides, &env)?;
    Ok(Context { settings, printer: ctx.printer, overrides: given.clone() })
}

fn stored_plan(dir: &Path) -> Result<Plan, Failure> {
    let manifest = Manifest::load(dir).map_err(Failure::usage)?.ok_or_else(|| {
        Failure::usage(format!(
            "{} has no manifest.json: it is not a batch run folder (start one with --out)",
            dir.display()
        ))
    })?;
    Ok(manifest.plan)
}

/// The plan recorded in an earlier run folder, checked against the current settings.
fn resume_plan(ctx: &Context, dir: &Path) -> Result<(Plan, PathBuf), Failure> {
    let s = &ctx.settings;
    let mut plan = stored_plan(dir)?;
    let current = Plan {
        model: s.model().to_string(),
        endpoint: s.base_url_shown(),
        stack: s.stack().map(str::to_string).or_else(|| plan.stack.clone()),
        ..plan.clone()
    };
    if let Some(why) = plan.conflict_with(&current) {
        return Err(Failure::usage(format!(
            "{} was run with other settings: {why}; pass the same --model or --stack to resume \
             it, or leave them out to use the run's own",
            dir.display()
        )));
    }
    plan.profile = s.profile().to_string();
    plan.endpoint = s.base_url_shown();
    plan.endpoint_pinned = pinned(s);
    Ok((plan, dir.to_path_buf()))
}

/// Whether the endpoint was named outside the profile (a flag or the environment).
pub(crate) fn pinned(settings: &crate::settings::Settings) -> bool {
    matches!(settings.base_url_origin(), Origin::Flag(_) | Origin::Env(_))
}

/// `<sessions>/runs/2026-11-27T0452Z-all` (or `-health-checks`, `-health-checks-and-2-more`).
fn default_dir(sessions: &Path, topics: &[&Topic], all: bool) -> PathBuf {
    let label = match (all, topics) {
        (true, _) => "all".to_string(),
        (false, [one]) => one.slug.clone(),
        (false, [first, rest @ ..]) => format!("{}-and-{}-more", first.slug, rest.len()),
        (false, []) => "none".to_string(),
    };
    new_run_dir(sessions, &label)
}

/// A run folder that does not exist yet: `<sessions>/runs/<time>-<label>[-N]`.
pub fn new_run_dir(sessions: &Path, label: &str) -> PathBuf {
    let stamp: String = humantime::format_rfc3339_seconds(crate::session::now())
        .to_string()
        .chars()
        .take(16)
        .filter(|&c| c != ':')
        .collect();
    let base = sessions.join(crate::saved::listing::RUNS_DIR).join(format!("{stamp}Z-{label}"));
    let mut dir = base.clone();
    let mut n = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    dir
}

fn dry_run(ctx: &Context, library: &Library, plan: &Plan) -> CommandResult {
    let request = ctx.request_settings();
    let prices = ctx.settings.prices();
    let followups = if plan.followups.is_empty() {
        "no follow-ups".to_string()
    } else {
        format!("follow-ups: {}", plan.followups.join(", "))
    };
    let shared = batch::priming::shared_question(plan, library).is_some();
    let opening = if shared {
        "one priming request shared by every topic, then each topic prompt"
    } else {
        "each topic with its own priming request and topic prompt"
    };
    let mut out = format!(
        "plan: {}, {opening}, {followups}\nmodel {} at {}\n\n",
        plural(plan.topics.len() as u64, "topic"),
        plan.model,
        plan.endpoint
    );
    out.push_str(&format!(
        "{:>3}  {:<24} {:>8} {:>14} {:>16} {:>10}\n",
        "#", "TOPIC", "REQUESTS", "PROMPT TOKENS", "OUTPUT (EST.)", "COST (EST.)"
    ));
    let (mut requests, mut prompt, mut output, mut approximate) = (0, 0, 0, false);
    let topics = plan.resolve_topics(library)?;
    // The local model's own tokenizer when it is on disk; tiktoken otherwise.
    let local = ctx.local_counter();
    let tiktoken = TokenCounter::for_model(&plan.model);
    let counter: &dyn CountTokens = match &local {
        Some(own) => own,
        None => &tiktoken,
    };
    let mut rows = Vec::new();
    for (i, topic) in topics.iter().enumerate() {
        let est = estimate::topic_counted(library, plan, topic, &request, counter);
        if shared && i == 0 {
            rows.push((0, est.priming_only()));
        }
        rows.push((topic.number, est.without_priming(shared)));
    }
    for (number, est) in rows {
        let cost = prices.map(|p| format!("${:.4}", est.cost(&p))).unwrap_or_else(|| "–".into());
        out.push_str(&format!(
            "{:>3}  {:<24} {:>8} {:>14} {:>16} {:>10}\n",
            number,
            est.slug,
            est.requests,
            thousands(est.prompt_tokens),
            thousands(est.completion_tokens),
            cost
        ));
        requests += est.requests;
        prompt += est.prompt_tokens;
        output += est.completion_tokens;
        approximate |= est.approximate;
    }
    let mut cost_so_far = prices.map(|p| p.cost(prompt, output));
    if let Some(judge) = judge_estimate(ctx, library, plan, &topics, &request) {
        let judge_prices = ctx.settings.judge_profile().map_or(prices, |s| s.prices());
        let cost = judge_prices.map(|p| judge.cost(&p));
        out.push_str(&format!(
            "     {:<24} {:>8} {:>14} {:>16} {:>10}\n",
            format!("judge {}", judge.slug),
            judge.requests,
            thousands(judge.prompt_tokens),
            thousands(judge.completion_tokens),
            cost.map_or_else(|| "–".into(), |c| format!("${c:.4}"))
        ));
        requests += judge.requests;
        prompt += judge.prompt_tokens;
        output += judge.completion_tokens;
        approximate |= judge.approximate;
        cost_so_far = cost_so_far.zip(cost).map(|(a, b)| a + b);
    }
    let cost = cost_so_far.map(|c| format!("${c:.4}")).unwrap_or_else(|| "–".into());
    out.push_str(&format!(
        "     {:<24} {:>8} {:>14} {:>16} {:>10}\n\n",
        "TOTAL",
        requests,
        thousands(prompt),
        thousands(output),
        cost
    ));
    out.push_str(&format!(
        "Prompt tokens are counted{}; answer lengths are assumed ({} for the priming answer, {} \
         per topic, {} per follow-up, capped by --max-tokens).\n",
        if approximate { " approximately (the model's tokenizer is unknown)" } else { "" },
        estimate::PRIMING_ANSWER_TOKENS,
        thousands(estimate::TOPIC_ANSWER_TOKENS),
        thousands(estimate::FOLLOWUP_ANSWER_TOKENS),
    ));
    if ctx.settings.judge_model().is_some() {
        out.push_str(&format!(
            "The coverage judge is asked once per answer (about {} output tokens per point).\n",
            estimate::JUDGE_TOKENS_PER_POINT
        ));
    }
    if prices.is_none() {
        out.push_str("No cost estimate: the profile has no prices.\n");
    }
    out.push_str("Nothing was sent.\n");
    ctx.printer.out(&out)?;
    Ok(ExitCode::Success)
}

/// ` (judge 2,100)`: the model judge's share of the tokens, when it had one.
fn judge_tokens(manifest: &Manifest) -> String {
    let judge = manifest
        .topics
        .iter()
        .filter_map(|r| r.judge_usage)
        .fold(0, |sum: u64, u| sum.saturating_add(u.total()));
    if judge == 0 { String::new() } else { format!(" (judge {})", thousands(judge)) }
}

/// ` (lexical)`, ` (model judge gpt-4o-mini)`: the methods that made the coverage verdicts.
fn coverage_methods(manifest: &Manifest) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for by in manifest.topics.iter().filter_map(|r| r.coverage_by.as_deref()) {
        if !methods.contains(&by) {
            methods.push(by);
        }
    }
    if methods.is_empty() { String::new() } else { format!(" ({})", methods.join(", ")) }
}

/// With `coverage = "model"`: the judge's requests over all topics, as one estimate named
/// after the judge's model.
fn judge_estimate(
    ctx: &Context,
    library: &Library,
    plan: &Plan,
    topics: &[&Topic],
    request: &crate::driver::RequestSettings,
) -> Option<estimate::TopicEstimate> {
    let model = ctx.settings.judge_model()?;
    let all = topics.iter().map(|t| estimate::judge(library, plan, t, request, model));
    all.reduce(|a, b| estimate::TopicEstimate {
        requests: a.requests + b.requests,
        prompt_tokens: a.prompt_tokens + b.prompt_tokens,
        completion_tokens: a.completion_tokens + b.completion_tokens,
        approximate: a.approximate || b.approximate,
        ..a
    })
    .map(|total| estimate::TopicEstimate { slug: model.to_string(), ..total })
}

/// The table of topics (stdout), the totals, each cause of failure once and how to go on.
fn print_summary(ctx: &Context, summary: &batch::RunSummary, dir: &Path) -> std::io::Result<()> {
    let manifest = &summary.manifest;
    let slug_width = manifest.topics.iter().map(|r| r.slug.len()).max().unwrap_or(5).max(5);
    let mut out = format!(
        "{:>3}  {:<slug_width$}  {:<11} {:>9}  {:>8}  {:>7}\n",
        "#", "TOPIC", "STATUS", "TOKENS", "COVERAGE", "TIME"
    );
    let (mut covered, mut points) = (0, 0);
    for r in manifest.priming.iter().chain(&manifest.topics) {
        let coverage = r.coverage.map_or("–".to_string(), |c| {
            covered += c.covered;
            points += c.total;
            format!("{}/{}", c.covered, c.total)
        });
        out.push_str(&format!(
            "{:>3}  {:<slug_width$}  {:<11} {:>9}  {:>8}  {:>7}\n",
            r.number,
            r.slug,
            r.status.as_str(),
            thousands(r.usage.total()),
            coverage,
            duration(std::time::Duration::from_millis(r.elapsed_ms))
        ));
    }
    let usage = manifest.usage();
    let cached = if usage.cached_tokens > 0 {
        format!(" ({} prompt tokens cached)", thousands(usage.cached_tokens))
    } else {
        String::new()
    };
    out.push_str(&format!(
        "\n{}: {} · {} tokens{}{cached} · coverage {covered}/{points}{} · {}\n",
        plural(manifest.topics.len() as u64, "topic"),
        manifest.status_summary(),
        thousands(usage.total()),
        judge_tokens(manifest),
        coverage_methods(manifest),
        duration(summary.elapsed)
    ));
    for line in causes(manifest) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&crate::saved::summary::handbook_line(dir));
    ctx.printer.out(&out)?;
    let unfinished = |r: &&batch::TopicRecord| {
        !matches!(r.status, TopicStatus::Complete | TopicStatus::Truncated)
    };
    let resume = resume_command(ctx, dir);
    if summary.interrupted || manifest.topics.iter().any(|r| unfinished(&r)) {
        ctx.printer.status(format!("to continue: {resume}"));
    }
    if manifest.topics.iter().any(|r| r.status == TopicStatus::Truncated) {
        ctx.printer.status(format!(
            "to ask the cut-off answers again, with room for longer ones: {resume} \
             --retry-truncated --max-tokens {}",
            ctx.settings.max_tokens().map_or(4096, |n| n.saturating_mul(2))
        ));
    }
    Ok(())
}

/// One line per distinct error: `graceful-shutdown failed: …`, or
/// `3 topics failed (a, b, c): …` when several share it.
fn causes(manifest: &Manifest) -> Vec<String> {
    let mut groups: Vec<(TopicStatus, &str, Vec<&str>)> = Vec::new();
    for r in manifest.priming.iter().chain(&manifest.topics) {
        let Some(error) = r.error.as_deref() else { continue };
        match groups.iter_mut().find(|(s, e, _)| *s == r.status && *e == error) {
            Some((_, _, slugs)) => slugs.push(&r.slug),
            None => groups.push((r.status, error, vec![&r.slug])),
        }
    }
    groups
        .into_iter()
        .map(|(status, error, slugs)| match slugs.as_slice() {
            [one] => format!("{one} {}: {error}", status.as_str()),
            many => {
                let shown: Vec<&str> = many.iter().take(5).copied().collect();
                let more = if many.len() > 5 {
                    format!(" and {} more", many.len() - 5)
                } else {
                    String::new()
                };
                format!(
                    "{} {} ({}{more}): {error}",
                    plural(many.len() as u64, "topic"),
                    status.as_str(),
                    shown.join(", ")
                )
            }
        })
        .collect()
}

/// The command that continues the run in `dir`, as it works pasted into a fresh shell: the
/// program as the shell finds it, the options this run needed that a new shell would not
/// have (config file, prompts directory, an endpoint named on the command line) and the
/// folder's absolute path, each quoted for the shell.
fn resume_command(ctx: &Context, dir: &Path) -> String {
    let mut words = vec![program()];
    let given = &ctx.overrides;
    let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let config = given.config_path.clone().or_else(|| env_path("DEEPDIVE_CONFIG"));
    if let Some(config) = config {
        words.extend(["--config".into(), absolute(&config)]);
    }
    let prompts = given.prompts_dir.clone().or_else(|| env_path("DEEPDIVE_PROMPTS_DIR"));
    if let Some(prompts) = prompts {
        words.extend(["--prompts".into(), absolute(&prompts)]);
    }
    // A base URL's credentials are never printed: the hint shows them as `<redacted>`, and
    // the user puts them back (the only case where the hint is not ready to paste).
    let base_url = given.base_url.as_deref().map(crate::secret::redact_url);
    for (flag, value) in [
        ("--profile", given.profile.clone()),
        ("--base-url", base_url),
        ("--model", given.model.clone()),
    ] {
        if let Some(value) = value {
            words.extend([flag.to_string(), value]);
        }
    }
    words.extend(["batch".into(), "--resume".into(), absolute(dir)]);
    words.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ")
}

/// `deepdive` when the shell would find this very program by that name, else its path.
fn program() -> String {
    let exe = std::env::current_exe().and_then(std::fs::canonicalize);
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let found = std::fs::canonicalize(dir.join("deepdive"));
            matches!((&exe, found), (Ok(exe), Ok(found)) if *exe == found)
        })
    });
    match exe {
        Ok(exe) if !on_path => exe.display().to_string(),
        _ => "deepdive".to_string(),
    }
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

/// `word` as one shell word: as it is when it is plain, else in single quotes.
fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("/tmp/run-1"), "/tmp/run-1");
        assert_eq!(shell_quote("/tmp/my run"), "'/tmp/my run'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        assert_eq!(shell_quote(""), "''");
    }
}
