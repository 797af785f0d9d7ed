//! The handbook as data: one chapter per topic, built from transcripts (the source of truth),
//! with the run manifest saying which topics were planned and why one has no transcript.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

use super::{HandbookError, paths};
use crate::batch::{Manifest, TopicRecord, TopicStatus};
use crate::coverage::{self, Verdicts};
use crate::prompts::{Library, Topic};
use crate::session::{AnswerStatus, Exchange, TopicSection, Transcript, store};

/// Everything the handbook shows.
#[derive(Clone, Debug)]
pub struct Book {
    pub stack: Option<String>,
    pub model: String,
    /// When the newest answer was saved.
    pub date: SystemTime,
    pub source: Source,
    /// In guide order.
    pub chapters: Vec<Chapter>,
}

/// What the handbook was made from: it decides which commands fill in what is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A batch run folder.
    Run(PathBuf),
    /// One saved session.
    Session(PathBuf),
}

/// One topic.
#[derive(Clone, Debug)]
pub struct Chapter {
    pub number: u32,
    pub slug: String,
    pub title: String,
    /// The transcript, as a link relative to the handbook's folder (`None` when it does not
    /// exist).
    pub link: Option<String>,
    /// The transcript's path, for commands (`None` when it does not exist).
    pub transcript: Option<PathBuf>,
    /// The topic answer, then each follow-up, in the order asked. Empty for a stub.
    pub parts: Vec<Part>,
    /// Why the chapter has no guidance, when it has none.
    pub stub: Option<Stub>,
    /// True when the topic's conversation did not run to its end (a follow-up failed, was
    /// stopped or is still to be asked).
    pub unfinished: bool,
    /// The topic's "Cover:" points and whether the answers addressed them (empty when the
    /// library does not know the topic).
    pub points: Vec<PointMark>,
    /// Which method made the verdicts ("lexical", "model judge gpt-4o-mini"), and why they
    /// are not what was asked for, when that is so; `None` without verdicts.
    pub coverage_by: Option<CoverageBy>,
    /// The follow-up that asks for the missed points, when some were missed.
    pub gaps_question: Option<String>,
    /// The `checklist` follow-up for this topic, when the library has one.
    pub checklist_question: Option<String>,
}

/// Who judged a chapter's points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageBy {
    /// "lexical" or "model judge gpt-4o-mini".
    pub method: String,
    pub note: Option<String>,
}

/// A question (none for the topic prompt) and what came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// `None` for the answer to the topic prompt.
    pub question: Option<String>,
    pub answer: String,
    pub ending: Ending,
}

/// How an answer ended, as far as a reader cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Complete,
    /// Cut off at the token limit.
    Truncated,
    /// Stopped by the user.
    Interrupted,
    /// No whole answer arrived; the reason, when recorded.
    Failed(Option<String>),
}

/// Why a topic has no guidance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stub {
    pub failed: bool,
    pub why: String,
}

/// One "Cover:" point of a chapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointMark {
    pub point: String,
    pub mark: Mark,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Covered,
    Missed,
    /// Not addressed, in a chapter whose answers were cut off: the rest may have covered it.
    Truncated,
    /// No answer to check.
    NotRun,
}

impl Chapter {
    /// The chapter's anchor: what GitHub and most viewers make of its heading.
    pub fn anchor(&self) -> String {
        paths::anchor(&self.heading())
    }

    /// The chapter heading's text.
    pub fn heading(&self) -> String {
        format!("{}. {}", self.number, self.title)
    }

    pub fn is_truncated(&self) -> bool {
        self.parts.iter().any(|p| p.ending == Ending::Truncated)
    }

    pub fn covered(&self) -> usize {
        self.points.iter().filter(|p| p.mark == Mark::Covered).count()
    }

    pub fn missed(&self) -> impl Iterator<Item = &PointMark> {
        self.points.iter().filter(|p| matches!(p.mark, Mark::Missed | Mark::Truncated))
    }

    /// Short status for a table of contents: "complete", "truncated", "failed", …
    pub fn status(&self) -> &'static str {
        match &self.stub {
            Some(stub) if stub.failed => "failed",
            Some(_) => "not run",
            None if self.is_truncated() => "truncated",
            None if self.unfinished => "unfinished",
            None => "complete",
        }
    }
}

impl Book {
    /// The methods that judged the chapters' points, each once, in chapter order.
    pub fn coverage_methods(&self) -> Vec<&str> {
        let mut methods: Vec<&str> = Vec::new();
        for by in self.chapters.iter().filter_map(|c| c.coverage_by.as_ref()) {
            if !methods.contains(&by.method.as_str()) {
                methods.push(&by.method);
            }
        }
        methods
    }

    /// The handbook of a run folder: the manifest's topics in guide order, each from its
    /// transcript. The manifest's status explains topics without a transcript; a transcript
    /// that does not parse is an error naming its file and line.
    pub fn from_run(
        dir: &Path,
        out: &Path,
        manifest: &Manifest,
        library: &Library,
    ) -> Result<Book, HandbookError> {
        // Topics are independent, and checking coverage is most of the work: one per core.
        let read: Vec<(Chapter, Option<SystemTime>)> = manifest
            .topics
            .par_iter()
            .map(|record| run_chapter(dir, out, record, manifest, library))
            .collect::<Result<_, _>>()?;
        let date =
            read.iter().filter_map(|(_, updated)| *updated).fold(manifest.created, SystemTime::max);
        let chapters = read.into_iter().map(|(chapter, _)| chapter).collect();
        Ok(Book {
            stack: manifest.plan.stack.clone(),
            model: manifest.plan.model.clone(),
            date,
            source: Source::Run(dir.to_path_buf()),
            chapters,
        })
    }

    /// The handbook of one saved session: a chapter per topic it holds, in guide order (a
    /// topic asked twice gets one chapter with both of its sections).
    pub fn from_session(
        file: &Path,
        out: &Path,
        transcript: &Transcript,
        library: &Library,
    ) -> Book {
        let sections = transcript.topic_sections();
        let mut slugs: Vec<&str> = sections.iter().filter_map(|s| s.topic).collect();
        for slug in &transcript.meta.topics {
            slugs.push(slug);
        }
        let number = |slug: &str| library.topic_by_slug(slug).map_or(u32::MAX, |t| t.number);
        slugs.sort_by_key(|slug| number(slug));
        slugs.dedup();
        let mut chapters = Vec::new();
        for (i, slug) in slugs.into_iter().enumerate() {
            let topic = library.topic_by_slug(slug);
            let own: Vec<TopicSection<'_>> =
                sections.iter().filter(|s| s.topic == Some(slug)).cloned().collect();
            let heading = Heading {
                number: topic.map_or(u32::try_from(i + 1).unwrap_or(u32::MAX), |t| t.number),
                slug,
                title: topic.map_or(slug, |t| t.title.as_str()),
            };
            let verdicts = topic.and_then(|topic| verdicts(topic, transcript));
            let stack = transcript.meta.stack.as_deref();
            let mut chapter = chapter(heading, verdicts.as_ref(), topic, &own, library, stack);
            chapter.link = Some(paths::link(out, file));
            chapter.transcript = Some(file.to_path_buf());
            if chapter.parts.is_empty() {
                chapter.stub = Some(Stub {
                    failed: false,
                    why: "the session has this topic but never asked its prompt".into(),
                });
            }
            chapters.push(chapter);
        }
        Book {
            stack: transcript.meta.stack.clone(),
            model: transcript.meta.model.clone(),
            date: transcript.meta.updated,
            source: Source::Session(file.to_path_buf()),
            chapters,
        }
    }
}

/// One topic of a run folder, and when its transcript was last saved.
fn run_chapter(
    dir: &Path,
    out: &Path,
    record: &TopicRecord,
    manifest: &Manifest,
    library: &Library,
) -> Result<(Chapter, Option<SystemTime>), HandbookError> {
    let path = dir.join(&record.file);
    let transcript = match path.exists() {
        true => Some(store::load(&path)?),
        false => None,
    };
    let topic = library.topic_by_slug(&record.slug);
    let sections: Vec<TopicSection<'_>> =
        transcript.as_ref().and_then(|t| t.section_of(&record.slug)).into_iter().collect();
    let mut chapter = chapter(
        Heading { number: record.number, slug: &record.slug, title: &record.title },
        topic.zip(transcript.as_ref()).and_then(|(topic, t)| verdicts(topic, t)).as_ref(),
        topic,
        &sections,
        library,
        manifest.plan.stack.as_deref(),
    );
    if transcript.is_some() {
        chapter.link = Some(paths::link(out, &path));
        chapter.transcript = Some(path);
    }
    chapter.unfinished |= record.status != TopicStatus::Complete;
    if chapter.parts.is_empty() {
        chapter.stub = Some(stub_for(record));
    }
    Ok((chapter, transcript.map(|t| t.meta.updated)))
}

struct Heading<'a> {
    number: u32,
    slug: &'a str,
    title: &'a str,
}

/// A chapter from the topic's sections of a conversation and the verdicts in force on its
/// points.
fn chapter(
    heading: Heading<'_>,
    verdicts: Option<&Verdicts>,
    topic: Option<&Topic>,
    sections: &[TopicSection<'_>],
    library: &Library,
    stack: Option<&str>,
) -> Chapter {
    let exchanges: Vec<&Exchange<'_>> = sections.iter().flat_map(|s| &s.exchanges).collect();
    let mut parts: Vec<Part> = exchanges.iter().map(|e| part(e)).collect();
    // A topic prompt without a usable answer leaves nothing to read.
    let answered = exchanges.first().is_some_and(|e| e.is_seen());
    if !answered {
        parts.clear();
    }
    let unfinished = parts.iter().any(|p| matches!(p.ending, Ending::Failed(_)));
    let verdicts = verdicts.filter(|_| answered);
    let (points, gaps_question) = match topic {
        Some(topic) => {
            let truncated = parts.iter().any(|p| p.ending == Ending::Truncated);
            let gaps = verdicts.and_then(|v| coverage::gaps_question(topic, &v.missing()));
            (marks(topic, verdicts, truncated), gaps)
        }
        None => (Vec::new(), None),
    };
    let coverage_by = verdicts
        .filter(|_| topic.is_some())
        .map(|v| CoverageBy { method: v.method.label(), note: v.note.clone() });
    let technology = stack.and_then(|s| s.split(',').map(str::trim).find(|t| !t.is_empty()));
    let checklist_question = topic
        .zip(library.followup("checklist"))
        .map(|(topic, template)| template.instantiate(topic, technology));
    Chapter {
        number: heading.number,
        slug: heading.slug.to_string(),
        title: heading.title.to_string(),
        link: None,
        transcript: None,
        parts,
        stub: None,
        unfinished,
        points,
        coverage_by,
        gaps_question,
        checklist_question,
    }
}

/// Which "Cover:" points the answers addressed, by the verdicts in force (the transcript's
/// stored entry when it is fresh): the one place the handbook asks.
fn verdicts(topic: &Topic, transcript: &Transcript) -> Option<Verdicts> {
    coverage::of_topic(topic, transcript, coverage::Reasons::Recorded)
}

fn marks(topic: &Topic, report: Option<&Verdicts>, truncated: bool) -> Vec<PointMark> {
    let Some(report) = report else {
        let not_run = |p: &String| PointMark { point: p.clone(), mark: Mark::NotRun };
        return topic.cover.iter().map(not_run).collect();
    };
    report
        .points
        .iter()
        .map(|p| PointMark {
            point: p.point.clone(),
            mark: match (p.covered, truncated) {
                (true, _) => Mark::Covered,
                (false, true) => Mark::Truncated,
                (false, false) => Mark::Missed,
            },
        })
        .collect()
}

fn part(exchange: &Exchange<'_>) -> Part {
    let question = exchange.topic().is_none().then(|| exchange.question_text().to_string());
    let truncated =
        exchange.is_truncated() || exchange.finish_reason().is_some_and(|f| f.is_truncated());
    let ending = match exchange.status() {
        _ if exchange.answer.is_none() => Ending::Failed(None),
        Some(AnswerStatus::Failed) => {
            Ending::Failed(exchange.answer_info().and_then(|i| i.error.clone()))
        }
        Some(AnswerStatus::Interrupted) => Ending::Interrupted,
        _ if truncated => Ending::Truncated,
        _ => Ending::Complete,
    };
    Part { question, answer: exchange.answer_text().unwrap_or_default().to_string(), ending }
}

fn stub_for(record: &TopicRecord) -> Stub {
    let error = record.error.as_deref();
    match record.status {
        TopicStatus::Failed => Stub {
            failed: true,
            why: format!("this topic failed: {}", error.unwrap_or("no reason was recorded")),
        },
        TopicStatus::Skipped => Stub {
            failed: false,
            why: format!("this topic was skipped: {}", error.unwrap_or("no reason was recorded")),
        },
        TopicStatus::Interrupted => {
            Stub { failed: false, why: "this topic was interrupted before its answer".into() }
        }
        TopicStatus::Pending | TopicStatus::Complete | TopicStatus::Truncated => {
            Stub { failed: false, why: "this topic has not been run yet".into() }
        }
    }
}
