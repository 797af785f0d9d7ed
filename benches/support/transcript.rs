//! A realistic transcript of a given size: the guide's priming and topic prompts, each
//! followed by a long markdown answer with headings, lists, tables and code fences.

use std::time::{Duration, UNIX_EPOCH};

use deepdive::message::{Role, Usage};
use deepdive::prompts::{Library, Topic};
use deepdive::session::{AnswerStatus, Meta, SessionStatus, Transcript, Turn, TurnInfo, TurnKind};

/// A transcript whose turns hold at least `bytes` bytes of text, cycling through the topics.
pub fn transcript(bytes: usize) -> Transcript {
    let library = Library::builtin();
    let created = UNIX_EPOCH + Duration::from_secs(1_795_754_100);
    let mut turns = vec![user(library.priming(), Some(TurnKind::Priming))];
    let mut slugs = Vec::new();
    let mut size = turns[0].text.len();
    for (n, topic) in library.topics().iter().cycle().enumerate() {
        if size >= bytes {
            break;
        }
        let answer = answer(topic, n);
        size += topic.prompt.len() + answer.len();
        slugs.push(topic.slug.clone());
        turns.push(user(&topic.prompt, Some(TurnKind::Topic(topic.slug.clone()))));
        turns.push(Turn {
            role: Role::Assistant,
            text: answer,
            info: TurnInfo {
                status: Some(AnswerStatus::Complete),
                finish_reason: Some(deepdive::message::FinishReason::Stop),
                usage: Some(Usage {
                    prompt_tokens: 1200 + n as u64,
                    completion_tokens: 2100,
                    cached_tokens: 0,
                }),
                model: Some("gpt-4o-2024-08-06".into()),
                ..TurnInfo::default()
            },
        });
    }
    Transcript {
        meta: Meta {
            title: "Production readiness deep-dive".into(),
            topics: slugs,
            stack: Some("PostgreSQL, Spring Boot, EKS, Istio".into()),
            model: "gpt-4o".into(),
            endpoint: "https://api.openai.com/v1".into(),
            profile: Some("openai".into()),
            created,
            updated: created + Duration::from_secs(3600),
            status: SessionStatus::Complete,
            usage: Usage { prompt_tokens: 250_000, completion_tokens: 210_000, cached_tokens: 0 },
            replay_of: None,
            coverage: Vec::new(),
        },
        turns,
    }
}

fn user(text: &str, kind: Option<TurnKind>) -> Turn {
    Turn { role: Role::User, text: text.into(), info: TurnInfo { kind, ..TurnInfo::default() } }
}

/// About 9 KB of markdown in the shape models answer the guide's topics with.
pub fn answer(topic: &Topic, n: usize) -> String {
    let mut out = format!(
        "# {}\n\nBelow is a practical guide for **{}** (answer {n}).\n\n",
        topic.title, topic.slug
    );
    for (i, point) in topic.cover.iter().cycle().take(6).enumerate() {
        let number = i + 1;
        out.push_str(&format!(
            "## {number}. {point}\n\n\
             In production this matters because a single replica hides failures that only show \
             up under load, during rolling updates or when a node is drained. Treat `{point}` as \
             a contract between the service and the platform, and test it before go-live.\n\n\
             - Define the behaviour explicitly in the Helm chart (`values-prod.yaml`).\n\
             - Alert on symptoms, not causes:\n  - error rate above 1% for 5 minutes\n  \
             - p99 latency above the SLO\n\
             - Document the runbook entry for Tier 2 operations.\n\n\
             | setting | dev | prod | why |\n| --- | --- | --- | --- |\n\
             | replicas | 1 | 3 | survive a node loss |\n\
             | timeoutSeconds | 5 | 2 | fail fast |\n\
             | periodSeconds | 10 | 5 | react within the SLO |\n\n\
             ```yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders-{i}\n\
             spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: app\n\
             \x20         image: registry.example.com/orders:1.4.{n}\n          readinessProbe:\n\
             \x20           httpGet: {{ path: /ready, port: 8080 }}\n            periodSeconds: 5\n\
             ```\n\n\
             ```bash\nkubectl rollout status deploy/orders-{i} --timeout=120s\n\
             kubectl get events --field-selector involvedObject.name=orders-{i}\n```\n\n\
             > **Tip:** keep the probe handler free of downstream calls; a slow database must \
             not restart healthy pods.\n\n"
        ));
    }
    out.push_str(
        "## Checklist\n\n- [ ] every service has readiness and liveness probes\n\
         - [ ] PodDisruptionBudgets allow at most one pod down\n\
         - [ ] resource requests match measured usage\n\
         - [ ] dashboards and alerts link to runbooks\n\n\
         ~~~text\nCommon mistakes:\n1. liveness probes that call the database\n\
         2. no preStop hook, so in-flight requests are cut\n~~~\n\n\
         <!-- generated checklist ends here -->\n",
    );
    out
}

/// About `bytes` bytes of the markdown models answer the guide's topics with.
pub fn long_answer(library: &Library, bytes: usize) -> String {
    let mut text = String::new();
    for (n, topic) in library.topics().iter().cycle().enumerate() {
        if text.len() >= bytes {
            break;
        }
        text.push_str(&answer(topic, n));
    }
    text
}
