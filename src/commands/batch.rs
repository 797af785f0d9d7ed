//! `deepdive batch`: every chosen topic as its own conversation, run concurrently into a run
//! folder (transcripts, manifest.json, index.md), resumable, with a summary table at the end.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::{Context, interrupt};
use crate::batch::{self, Manifest, Observer, Plan, TopicStatus, estimate};
use crate::cli::BatchArgs;
use crate::driver::Endpoint;
use crate::exit::{CommandResult, ExitCode, Failure};
use crate::prompts::{Library, Topic};
use crate::render::progress::{Bars, Lines, Silent};
use crate::render::{Printer, Verbosity, duration, plural, thousands};

pub fn run(ctx: &Context, args: &BatchArgs) -> CommandResult {
    let library = ctx.library()?;
    let (plan, dir) = match &args.resume {
        Some(dir) => resume_plan(ctx, dir)?,
        None => new_plan(ctx, &library, args)?,
    };
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
    if args.retry_failed && Manifest::load(&dir).ok().flatten().is_none() {
        return Err(Failure::usage(format!(
            "--retry-failed needs an earlier run: {} has no manifest.json; name it with --resume",
            dir.display()
        )));
    }
    let options = RunOptions {
        concurrency: args.concurrency as usize,
        retry_failed_only: args.retry_failed,
        max_cost,
    };
    run_plan(ctx, &library, plan, &dir, options)
}

/// How a run goes, beyond its plan.
pub struct RunOptions {
    pub concurrency: usize,
    pub retry_failed_only: bool,
    pub max_cost: Option<(f64, crate::settings::Prices)>,
}

/// Runs `plan` into the run folder `dir` (new or earlier), with progress and a summary.
pub fn run_plan(
    ctx: &Context,
    library: &Library,
    plan: Plan,
    dir: &Path,
    options: RunOptions,
) -> CommandResult {
    crate::tokens::TokenCounter::for_model(&plan.model).warm_up();
    let manifest = batch::prepare(library, plan.clone(), dir).map_err(batch_failure)?;
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
        retry_failed_only: options.retry_failed_only,
        max_cost: options.max_cost,
    };
    let observer: Box<dyn Observer> = match ctx.printer.verbosity() {
        Verbosity::Quiet => Box::new(Silent),
        Verbosity::Normal if std::io::stderr().is_terminal() => Box::new(Bars::new()),
        _ => Box::new(Lines { printer: ctx.printer }),
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
    print_summary(ctx.printer, &summary, dir)?;
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
    };
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => default_dir(s.sessions_dir(), &topics, args.all),
    };
    Ok((plan, dir))
}

/// The plan recorded in an earlier run folder, checked against the current settings.
fn resume_plan(ctx: &Context, dir: &Path) -> Result<(Plan, PathBuf), Failure> {
    let manifest = Manifest::load(dir).map_err(Failure::usage)?.ok_or_else(|| {
        Failure::usage(format!(
            "{} has no manifest.json: it is not a batch run folder (start one with --out)",
            dir.display()
        ))
    })?;
    let s = &ctx.settings;
    let mut plan = manifest.plan;
    let current = Plan {
        model: s.model().to_string(),
        endpoint: s.base_url_shown(),
        stack: s.stack().map(str::to_string).or_else(|| plan.stack.clone()),
        ..plan.clone()
    };
    if let Some(why) = plan.conflict_with(&current) {
        return Err(Failure::usage(format!(
            "{} was run with other settings: {why}; pass the same --model, --stack or --profile \
             to resume it",
            dir.display()
        )));
    }
    plan.profile = s.profile().to_string();
    plan.endpoint = s.base_url_shown();
    Ok((plan, dir.to_path_buf()))
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
    let mut out = format!(
        "plan: {}, each priming + topic prompt, {followups}\nmodel {} at {}\n\n",
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
    for topic in &topics {
        let est = estimate::topic(library, plan, topic, &request);
        let cost = prices.map(|p| format!("${:.4}", est.cost(&p))).unwrap_or_else(|| "–".into());
        out.push_str(&format!(
            "{:>3}  {:<24} {:>8} {:>14} {:>16} {:>10}\n",
            topic.number,
            topic.slug,
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

/// The table of topics (stdout), the totals, each failure's reason and how to resume.
fn print_summary(printer: Printer, summary: &batch::RunSummary, dir: &Path) -> std::io::Result<()> {
    let manifest = &summary.manifest;
    let slug_width = manifest.topics.iter().map(|r| r.slug.len()).max().unwrap_or(5).max(5);
    let mut out = format!(
        "{:>3}  {:<slug_width$}  {:<11} {:>9}  {:>8}  {:>7}\n",
        "#", "TOPIC", "STATUS", "TOKENS", "COVERAGE", "TIME"
    );
    let (mut covered, mut points, mut tokens) = (0, 0, 0);
    for r in &manifest.topics {
        let coverage = r.coverage.map_or("–".to_string(), |c| {
            covered += c.covered;
            points += c.total;
            format!("{}/{}", c.covered, c.total)
        });
        tokens = r.usage.total().saturating_add(tokens);
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
    out.push_str(&format!(
        "\n{}: {} · {} tokens{} · coverage {covered}/{points}{} · {}\n",
        plural(manifest.topics.len() as u64, "topic"),
        manifest.status_summary(),
        thousands(tokens),
        judge_tokens(manifest),
        coverage_methods(manifest),
        duration(summary.elapsed)
    ));
    for r in manifest.topics.iter().filter(|r| r.error.is_some()) {
        out.push_str(&format!(
            "{} {}: {}\n",
            r.slug,
            r.status.as_str(),
            r.error.as_deref().unwrap_or_default()
        ));
    }
    out.push_str(&format!("handbook: {}\n", dir.join(batch::handbook::HANDBOOK_FILE).display()));
    printer.out(&out)?;
    if summary.interrupted || manifest.topics.iter().any(|r| r.status != TopicStatus::Complete) {
        printer.status(format!("to continue: deepdive batch --resume {}", dir.display()));
    }
    Ok(())
}
