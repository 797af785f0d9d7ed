//! The conversation driver in this process against a real local server: what is on disk
//! after each answer's save.

#![allow(clippy::unwrap_used)] // helpers of tests: a panic is a failed test

use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::common::server::{Reply, Script, TestServer};
use deepdive::client::{ChatClient, Endpoint as Http, RetryPolicy};
use deepdive::driver::{
    self, Conversation, Endpoint, Event, RequestSettings, RunEnd, Session, priming_turn, topic_turn,
};
use deepdive::prompts::Library;
use deepdive::session::{Meta, SessionStatus, Transcript, store};

/// Runs a replay of the priming prompt and topic 15 to its end and returns the status the
/// transcript on disk had when each answer was reported saved.
fn statuses_on_disk_after_each_answer(dir: &Path) -> (RunEnd, Vec<SessionStatus>) {
    let server = TestServer::start(Script::from_fn(|_, _| Reply::stream("Probes, drains.")));
    let library = Library::builtin();
    let topic = library.topic_by_slug("health-checks").unwrap();
    let client = ChatClient::new(Http::new(server.url()), RetryPolicy::default()).unwrap();
    let retry = RetryPolicy::default();
    let endpoint = Endpoint {
        backend: &client,
        limiter: None,
        retry: &retry,
        library: &library,
        judge: None,
        count_prompts: false,
    };
    let path = dir.join("t.md");
    let transcript = Transcript {
        meta: Meta {
            topics: vec![topic.slug.clone()],
            ..Meta::started("t".into(), "m".into(), server.url())
        },
        turns: Vec::new(),
    };
    let mut session = Session {
        conversation: Conversation::new(transcript),
        request: RequestSettings {
            model: "m".into(),
            temperature: None,
            max_tokens: None,
            context_window: None,
        },
        path: path.clone(),
    };
    let mut agenda =
        driver::Replay { questions: vec![priming_turn(&library, None), topic_turn(topic)] };
    let mut seen = Vec::new();
    let mut events = |event: Event<'_>| {
        if let Event::Answered { .. } = event {
            seen.push(store::load_header(&path).unwrap().meta.status);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let end = runtime.block_on(async {
        let end = driver::run(
            &mut session,
            &mut agenda,
            &endpoint,
            &mut events,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        session.finish().await.unwrap();
        end
    });
    (end, seen)
}

#[test]
fn the_last_answers_save_already_marks_an_unattended_conversation_complete() {
    let dir = tempfile::tempdir().unwrap();
    let (end, statuses) = statuses_on_disk_after_each_answer(dir.path());
    assert!(matches!(end, RunEnd::Complete), "{end:?}");
    // The priming answer leaves the topic to ask; the topic's answer leaves nothing, so its
    // save is the last one and says so (no second save of the whole file to change it).
    assert_eq!(statuses, [SessionStatus::InProgress, SessionStatus::Complete]);
    let saved = store::load(&dir.path().join("t.md")).unwrap();
    assert_eq!(saved.meta.status, SessionStatus::Complete);
    assert_eq!(saved.exchanges().count(), 2);
}
