//! Two saved sessions (or two batch runs, topics matched by slug) side by side: per topic,
//! which "Cover:" points each side's answers addressed; per exchange, the questions, the
//! answer lengths and a line diff of the answers.
//!
//! Exchanges before the first topic prompt (the priming prompt and its acknowledgement) are
//! compared only when neither side has a topic prompt at all.

mod diff;
mod exchanges;
mod report;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use exchanges::{Answer, Exchange};
pub use report::markdown;

use super::SavedError;
use super::listing::Standing;
use super::run::RunFolder;
use crate::coverage::{self, Verdicts};
use crate::prompts::Library;
use crate::session::{Coverage, Transcript, store};

/// What was named on the command line, read.
#[derive(Clone, Debug)]
pub enum Source {
    Transcript(PathBuf, Box<Transcript>),
    Run(Box<RunFolder>),
}

impl Source {
    /// A folder is read as a run folder, anything else as a transcript.
    pub fn open(path: &Path) -> Result<Source, SavedError> {
        if path.is_dir() {
            Ok(Source::Run(Box::new(RunFolder::open(path)?)))
        } else if path.exists() {
            Ok(Source::Transcript(path.to_path_buf(), Box::new(store::load(path)?)))
        } else {
            Err(SavedError::Missing { path: path.to_path_buf(), looked: Vec::new() })
        }
    }

    fn info(&self) -> SideInfo {
        match self {
            Source::Transcript(path, t) => SideInfo {
                path: path.clone(),
                model: t.meta.model.clone(),
                created: t.meta.created,
                status: Standing::Session(t.meta.status),
            },
            Source::Run(run) => SideInfo {
                path: run.dir.clone(),
                model: run.manifest.plan.model.clone(),
                created: run.manifest.created,
                status: Standing::Run(run.status()),
            },
        }
    }
}

/// One side, described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideInfo {
    pub path: PathBuf,
    pub model: String,
    pub created: SystemTime,
    pub status: Standing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub a: SideInfo,
    pub b: SideInfo,
    pub topics: Vec<TopicComparison>,
}

/// One topic on both sides. A side is `Err(why)` when it has nothing to compare for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicComparison {
    /// `None` for the exchanges before any topic prompt.
    pub slug: Option<String>,
    pub number: Option<u32>,
    pub title: String,
    /// The topic's "Cover:" points (empty when the topic is not in the library).
    pub cover: Vec<String>,
    pub a: Result<Vec<bool>, String>,
    pub b: Result<Vec<bool>, String>,
    /// The method that made each side's verdicts ("lexical", "model judge gpt-4o-mini").
    pub by_a: Option<String>,
    pub by_b: Option<String>,
    pub exchanges: Vec<ExchangeComparison>,
}

impl TopicComparison {
    /// Points covered by the side `a` (or `b`) and not by the other.
    pub fn only(&self, side_a: bool) -> Vec<&str> {
        let (this, other) = if side_a { (&self.a, &self.b) } else { (&self.b, &self.a) };
        only(&self.cover, this.as_deref().ok(), other.as_deref().ok())
    }

    pub fn coverage(&self, side_a: bool) -> Option<Coverage> {
        let side = if side_a { &self.a } else { &self.b };
        side.as_ref().ok().map(|points| summary(points))
    }

    /// Which method made side `a`'s (or `b`'s) verdicts.
    pub fn by(&self, side_a: bool) -> Option<&str> {
        if side_a { self.by_a.as_deref() } else { self.by_b.as_deref() }
    }
}

/// One exchange on each side (or on one side only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeComparison {
    pub a: Option<Exchange>,
    pub b: Option<Exchange>,
    /// Per cover point, whether each side's answer addressed it on its own, by the lexical
    /// method (stored verdicts are per topic; empty without cover points).
    pub covered_a: Vec<bool>,
    pub covered_b: Vec<bool>,
}

impl ExchangeComparison {
    pub fn same_question(&self) -> bool {
        matches!((&self.a, &self.b), (Some(a), Some(b)) if a.question == b.question)
    }
}

impl Comparison {
    /// Covered points and all points, summed over topics, for side `a` (or `b`).
    pub fn totals(&self, side_a: bool) -> Coverage {
        let mut total = Coverage { covered: 0, total: 0 };
        for topic in self.topics.iter().filter(|t| !t.cover.is_empty()) {
            total.total += count(topic.cover.len());
            total.covered += topic.coverage(side_a).map_or(0, |c| c.covered);
        }
        total
    }

    /// The methods that made side `a`'s (or `b`'s) verdicts, each once.
    pub fn methods(&self, side_a: bool) -> Vec<&str> {
        let mut methods: Vec<&str> = Vec::new();
        for by in self.topics.iter().filter_map(|t| t.by(side_a)) {
            if !methods.contains(&by) {
                methods.push(by);
            }
        }
        methods
    }
}

/// A side's exchanges for one topic, and the verdicts in force on its points.
type Side = Result<(Vec<Exchange>, Option<Verdicts>), String>;

/// Compares two transcripts or two run folders.
pub fn compare(a: &Source, b: &Source, library: &Library) -> Result<Comparison, SavedError> {
    let topics = match (a, b) {
        (Source::Transcript(_, ta), Source::Transcript(_, tb)) => transcripts(ta, tb, library),
        (Source::Run(ra), Source::Run(rb)) => runs(ra, rb, library),
        _ => {
            let (a, b) = (a.info().path, b.info().path);
            return Err(SavedError::Mixed { a, b });
        }
    };
    Ok(Comparison { a: a.info(), b: b.info(), topics })
}

fn transcripts(a: &Transcript, b: &Transcript, library: &Library) -> Vec<TopicComparison> {
    let (ga, gb) = (exchanges::groups(a), exchanges::groups(b));
    let any_topic = ga.iter().chain(&gb).any(|g| g.slug.is_some());
    let mut slugs: Vec<Option<String>> = Vec::new();
    for group in ga.iter().chain(&gb) {
        if (group.slug.is_some() || !any_topic) && !slugs.contains(&group.slug) {
            slugs.push(group.slug.clone());
        }
    }
    let find = |t: &Transcript, groups: &[exchanges::Group], slug: &Option<String>| -> Side {
        let exchanges = groups
            .iter()
            .find(|g| &g.slug == slug)
            .map(|g| g.exchanges.clone())
            .ok_or_else(|| "no prompt for this topic in this session".to_string())?;
        let known = slug.as_deref().and_then(|s| library.topic_by_slug(s));
        Ok((
            exchanges,
            known.and_then(|topic| coverage::of_topic(topic, t, coverage::Reasons::Recorded)),
        ))
    };
    slugs
        .iter()
        .map(|slug| topic(slug.clone(), library, find(a, &ga, slug), find(b, &gb, slug)))
        .collect()
}

fn runs(a: &RunFolder, b: &RunFolder, library: &Library) -> Vec<TopicComparison> {
    let mut slugs: Vec<&str> = Vec::new();
    for record in a.manifest.topics.iter().chain(&b.manifest.topics) {
        if !slugs.contains(&record.slug.as_str()) {
            slugs.push(&record.slug);
        }
    }
    // Guide order; topics the library does not know keep their order, after the others.
    slugs.sort_by_key(|slug| library.topic_by_slug(slug).map_or(u32::MAX, |t| t.number));
    let side = |run: &RunFolder, slug: &str| -> Side {
        let record = run.manifest.record(slug).ok_or("not in this run")?;
        let transcript = match run.transcript(record) {
            None => return Err(format!("no transcript ({})", record.status.as_str())),
            Some(loaded) => loaded.map_err(|e| e.to_string())?,
        };
        let exchanges = exchanges::groups(&transcript)
            .into_iter()
            .find(|g| g.slug.as_deref() == Some(slug))
            .map(|g| g.exchanges)
            .ok_or_else(|| "the transcript has no prompt for this topic".to_string())?;
        let verdicts = library
            .topic_by_slug(slug)
            .and_then(|topic| coverage::of_topic(topic, &transcript, coverage::Reasons::Recorded));
        Ok((exchanges, verdicts))
    };
    slugs
        .iter()
        .map(|slug| topic(Some(slug.to_string()), library, side(a, slug), side(b, slug)))
        .collect()
}

fn topic(slug: Option<String>, library: &Library, a: Side, b: Side) -> TopicComparison {
    let known = slug.as_deref().and_then(|s| library.topic_by_slug(s));
    let cover = known.map(|t| t.cover.clone()).unwrap_or_default();
    let title = match (known, &slug) {
        (Some(t), _) => t.title.clone(),
        (None, Some(slug)) => slug.clone(),
        (None, None) => "Before the first topic".to_string(),
    };
    let check = |answer: &str| {
        if cover.is_empty() {
            Vec::new()
        } else {
            coverage::check(&cover, answer).points.iter().map(|p| p.covered).collect()
        }
    };
    let topic_points = |side: &Side| {
        side.as_ref().map_err(Clone::clone).map(|(_, verdicts)| match verdicts {
            Some(v) if !cover.is_empty() => v.points.iter().map(|p| p.covered).collect(),
            _ if cover.is_empty() => Vec::new(),
            _ => vec![false; cover.len()],
        })
    };
    let by = |side: &Side| {
        let verdicts = side.as_ref().ok().and_then(|(_, v)| v.as_ref());
        verdicts.filter(|_| !cover.is_empty()).map(|v| v.method.label())
    };
    let empty = Vec::new();
    let (xa, xb) = (exchanges(&a).unwrap_or(&empty), exchanges(&b).unwrap_or(&empty));
    let exchanges = exchanges::pair(xa, xb)
        .into_iter()
        .map(|(ea, eb)| {
            let points = |e: Option<&Exchange>| {
                e.and_then(|e| e.answer.as_ref()).map(|a| check(&a.text)).unwrap_or_default()
            };
            ExchangeComparison {
                covered_a: points(ea),
                covered_b: points(eb),
                a: ea.cloned(),
                b: eb.cloned(),
            }
        })
        .collect();
    TopicComparison {
        number: known.map(|t| t.number),
        title,
        a: topic_points(&a),
        b: topic_points(&b),
        by_a: by(&a),
        by_b: by(&b),
        slug,
        cover,
        exchanges,
    }
}

fn exchanges(side: &Side) -> Option<&Vec<Exchange>> {
    side.as_ref().ok().map(|(xs, _)| xs)
}

/// Points that `this` covers and `other` does not (all of `this`'s when `other` is absent).
fn only<'c>(cover: &'c [String], this: Option<&[bool]>, other: Option<&[bool]>) -> Vec<&'c str> {
    let Some(this) = this else { return Vec::new() };
    cover
        .iter()
        .enumerate()
        .filter(|&(i, _)| {
            this.get(i) == Some(&true) && other.is_none_or(|o| o.get(i) != Some(&true))
        })
        .map(|(_, p)| p.as_str())
        .collect()
}

fn summary(points: &[bool]) -> Coverage {
    Coverage { covered: count(points.iter().filter(|&&c| c).count()), total: count(points.len()) }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
