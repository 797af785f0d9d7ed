//! Coverage against crafted answers (`tests/fixtures/coverage/`, see its README) and
//! against the 20 built-in topics.

use super::*;
use crate::prompts::{Library, Topic};

const HEALTH_ALL_BUT_TWO: &str =
    include_str!("../../tests/fixtures/coverage/health-checks-all-but-two.md");
const GRACEFUL_SHUTDOWN: &str = include_str!("../../tests/fixtures/coverage/graceful-shutdown.md");
const DB_CONNECTIONS: &str = include_str!("../../tests/fixtures/coverage/db-connections.md");
const INCIDENT_RESPONSE: &str = include_str!("../../tests/fixtures/coverage/incident-response.md");

const PIZZA: &str = "## Neapolitan pizza at home\n\nKnead the dough for ten minutes, let it rise \
overnight in the fridge, and stretch it by hand. Top with San Marzano tomatoes, fresh mozzarella \
and basil. Bake on a stone preheated for an hour at the oven's highest setting.\n";

fn topic(slug: &str) -> Topic {
    Library::builtin().topic_by_slug(slug).unwrap().clone()
}

fn missing_points(report: &CoverageReport) -> Vec<&str> {
    report.missing().map(|p| p.point.as_str()).collect()
}

fn as_list(topic: &Topic) -> String {
    topic.cover.iter().map(|c| format!("- {c}\n")).collect()
}

#[test]
fn a_health_check_answer_missing_two_points_flags_exactly_those_two() {
    let report = check(&topic("health-checks").cover, HEALTH_ALL_BUT_TWO);
    assert_eq!(
        missing_points(&report),
        [
            "Avoiding cascading failures through health checks",
            "Monitoring health check success rates"
        ],
        "{}",
        report.explain()
    );
    assert_eq!(report.summary(), Coverage { covered: 8, total: 10 });
}

#[test]
fn readiness_checks_cover_readiness_probes_and_back() {
    let probes = ["Tuning readiness probes".to_string()];
    let tuned = "We tune the readiness checks of every pod to fail after two missed replies.";
    assert!(check(&probes, tuned).points[0].covered);
    let checks = ["Tuning readiness checks".to_string()];
    let tune = "Tune each readiness probe so one slow reply does not remove the pod.";
    assert!(check(&checks, tune).points[0].covered);
    let launch = "The team's readiness for the launch was reviewed on Friday afternoon.";
    assert!(!check(&probes, launch).points[0].covered);
}

#[test]
fn paraphrased_answers_cover_every_point_of_their_topic() {
    for (slug, answer) in [
        ("graceful-shutdown", GRACEFUL_SHUTDOWN),
        ("db-connections", DB_CONNECTIONS),
        ("incident-response", INCIDENT_RESPONSE),
    ] {
        let report = check(&topic(slug).cover, answer);
        assert_eq!(report.covered(), report.total(), "{slug}:\n{}", report.explain());
    }
}

#[test]
fn every_builtin_topic_is_covered_by_its_own_points_in_prose() {
    for topic in Library::builtin().topics() {
        let prose: String = topic
            .cover
            .iter()
            .map(|c| {
                format!(
                    "Next, a word on this.\n\n{c}: here is what we do about it, step by step, \
                     with the reasons behind each step and the commands to run.\n\n"
                )
            })
            .collect();
        let report = check(&topic.cover, &prose);
        assert_eq!(report.covered(), report.total(), "{}:\n{}", topic.slug, report.explain());
    }
}

#[test]
fn the_points_of_another_topic_cover_few_points() {
    // Measured maximum 4, between topics the guide itself makes overlap (load testing and
    // multi-replica testing, capacity planning and resource sizing, logging and observability).
    let library = Library::builtin();
    let mut total = 0;
    for a in library.topics() {
        for b in library.topics().iter().filter(|b| b.number != a.number) {
            let covered = check(&a.cover, &as_list(b)).covered();
            assert!(covered <= 4, "{} by {}: {covered}", a.slug, b.slug);
            total += covered;
        }
    }
    assert!(total <= 20 * 19 / 2, "on average under half a point per pair, got {total}");
}

#[test]
fn off_topic_answers_cover_at_most_two_points() {
    let health = topic("health-checks");
    assert_eq!(check(&health.cover, PIZZA).covered(), 0);
    for answer in [INCIDENT_RESPONSE, DB_CONNECTIONS, GRACEFUL_SHUTDOWN] {
        let report = check(&health.cover, answer);
        assert!(report.covered() <= 2, "{}", report.explain());
    }
    let report = check(&topic("graceful-shutdown").cover, HEALTH_ALL_BUT_TWO);
    assert!(report.covered() <= 2, "{}", report.explain());
}

#[test]
fn an_empty_answer_covers_nothing_and_quotes_nothing() {
    let cover = topic("secrets").cover;
    for answer in ["", "   \n\n", "**"] {
        let report = check(&cover, answer);
        assert_eq!(report.summary(), Coverage { covered: 0, total: 11 });
        assert!(report.points.iter().all(|p| p.evidence.is_none() && p.matched.is_empty()));
    }
    assert_eq!(check(&[], "anything").summary(), Coverage { covered: 0, total: 0 });
}

#[test]
fn scattered_words_do_not_cover_a_point() {
    let cover = ["Connection pool sizing".to_string()];
    let filler =
        "Unrelated filler words describing weather, gardens and music festivals. ".repeat(8);
    let scattered = format!(
        "A connection opens when the first request arrives.\n\n{filler}\n\n\
         Pools exist in every driver we ship.\n\n{filler}\n\nSizing matters more than people think."
    );
    assert!(!check(&cover, &scattered).points[0].covered);
    let together = format!(
        "{filler}\n\nSize the connection pool per pod from the server's limit.\n\n{filler}"
    );
    let report = check(&cover, &together);
    assert!(report.points[0].covered);
    let evidence = report.points[0].evidence.as_deref();
    assert_eq!(evidence, Some("Size the connection pool per pod from the server's limit."));
}

#[test]
fn a_heading_gives_context_to_the_lines_below_it() {
    let cover = ["Handling volume failures and data recovery".to_string()];
    let answer = "## Volume failures\n\n- Restore the data from the latest snapshot.\n- Recovery takes minutes.\n";
    assert!(check(&cover, answer).points[0].covered);
    let without = "- Restore the data from the latest snapshot.\n- Recovery takes minutes.\n";
    assert!(!check(&cover, without).points[0].covered);
}

#[test]
fn the_same_input_gives_the_same_report() {
    let cover = topic("health-checks").cover;
    for answer in [HEALTH_ALL_BUT_TWO, INCIDENT_RESPONSE, PIZZA] {
        let first = check(&cover, answer);
        assert_eq!(first, check(&cover, answer));
        assert_eq!(first.explain(), check(&cover, answer).explain());
    }
}

#[test]
fn explain_names_matched_and_missing_terms_with_evidence() {
    let report = check(&topic("health-checks").cover, HEALTH_ALL_BUT_TWO);
    let explained = report.explain();
    assert_eq!(explained.lines().count(), 10);
    let line =
        |prefix: &str| explained.lines().find(|l| l.starts_with(prefix)).unwrap().to_string();
    let covered = line("✓ Difference between liveness");
    assert!(covered.contains("matched: liveness, readiness, startup, probes (“"), "{covered}");
    let missed = line("✗ Monitoring health check success rates");
    assert!(missed.contains("missing: success, rates; found: monitoring"), "{missed}");
    let point = &report.points[0];
    assert!(point.evidence.as_ref().unwrap().chars().count() <= 80);
    assert!(report.points.iter().filter(|p| p.covered).all(|p| p.evidence.is_some()));
}

#[test]
fn long_evidence_is_cut_at_a_word() {
    let cover = ["Log retention and storage costs".to_string()];
    let answer = format!(
        "Log retention drives storage costs {}",
        "and many more words follow here ".repeat(10)
    );
    let evidence = check(&cover, &answer).points[0].evidence.clone().unwrap();
    assert!(evidence.starts_with("Log retention drives storage costs and"));
    assert!(evidence.ends_with(" many…") && evidence.chars().count() <= 80, "{evidence}");
}

#[test]
fn gap_questions_name_the_missing_points() {
    let health = topic("health-checks");
    let one = gap_question(&health, "Monitoring health check success rates");
    assert!(
        one.contains("health checks") && one.contains("Monitoring health check success rates"),
        "{one}"
    );

    let report = check(&health.cover, HEALTH_ALL_BUT_TWO);
    let both = gaps_question(&health, &missing_points(&report)).unwrap();
    assert!(both.ends_with(
        ":\n- Avoiding cascading failures through health checks\n- Monitoring health check success rates"
    ));
    assert!(both.contains("did not cover these points"));

    let probes = "Liveness versus readiness versus startup probes: a failed liveness probe \
                  restarts the container, a failed readiness probe takes it out of the Service.";
    let single = check(&health.cover[..1], probes);
    assert!(gaps_question(&health, &missing_points(&single)).is_none());
    let one_missing = check(&health.cover[..2], probes);
    assert_eq!(
        gaps_question(&health, &missing_points(&one_missing)),
        Some(gap_question(&health, &health.cover[1]))
    );
}

#[test]
fn the_evaluation_set_parses_and_labels_every_point_of_its_topic() {
    use super::eval_set::{self, Kind, Split};
    use std::collections::{BTreeMap, BTreeSet};

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coverage-eval");
    let items = eval_set::load(&dir).unwrap();
    let library = Library::builtin();
    let mut kinds: BTreeMap<&str, BTreeSet<Kind>> = BTreeMap::new();
    let mut splits: BTreeMap<&str, Split> = BTreeMap::new();
    for item in &items {
        let topic = library.topic_by_slug(&item.topic).unwrap_or_else(|| panic!("{}", item.file));
        let labelled: BTreeSet<&str> = item.labels.keys().map(String::as_str).collect();
        let points: BTreeSet<&str> = topic.cover.iter().map(String::as_str).collect();
        assert_eq!(labelled, points, "{}: labels must name exactly the Cover: points", item.file);
        assert!(!item.made.trim().is_empty() && !item.answer.trim().is_empty(), "{}", item.file);
        kinds.entry(&item.topic).or_default().insert(item.kind);
        let split = *splits.entry(&item.topic).or_insert(item.split);
        assert_eq!(split, item.split, "{}: a topic is wholly tune or wholly held out", item.file);
        if item.kind == Kind::Partial && item.file.ends_with("-partial.md") {
            let left_out = item.labels.values().filter(|covered| !**covered).count();
            assert!((3..=4).contains(&left_out), "{}: {left_out} points left out", item.file);
        }
    }
    let full = [Kind::Complete, Kind::Partial, Kind::Thin];
    let topics = kinds.values().filter(|k| full.iter().all(|f| k.contains(f))).count();
    assert!(topics >= 8, "complete, partial and thin answers for {topics} topics");
    assert!(items.iter().filter(|i| i.kind == Kind::OffTopic).count() >= 2);
    assert!(items.iter().map(|i| i.labels.len()).sum::<usize>() >= 250);
    let held_out = splits.values().filter(|s| **s == Split::HeldOut).count();
    assert!(held_out * 4 >= splits.len(), "about a third of the topics held out: {held_out}");
}

const TRUNCATED_ANSWER: &str = "# Health checks\n\n\
Kubernetes restarts a container whose liveness probe keeps failing, and takes a pod whose \
readiness probe fails out of the Service endpoints without restarting it.\n\n\
### 3. Probe configuration parameters\n";

#[test]
fn a_heading_where_a_truncated_answer_stops_covers_nothing() {
    let health = topic("health-checks");
    let parameters = &health.cover[4];
    assert_eq!(parameters, "Probe configuration parameters (delay, timeout, period, threshold)");
    let report = check(&health.cover, TRUNCATED_ANSWER);
    assert!(!report.points[4].covered, "{}", report.explain());
    assert!(report.points[2].covered, "the paragraph above it still counts");

    let finished = format!(
        "{TRUNCATED_ANSWER}\nStart with a 2 s timeout and a period of 10 s; raise the failure \
         threshold to 3 so one slow garbage collection does not restart the pod.\n"
    );
    assert!(check(&health.cover, &finished).points[4].covered);
}

#[test]
fn a_heading_with_nothing_under_it_covers_nothing() {
    let cover = ["Connection pool sizing (per pod, total across all pods)".to_string()];
    let bare =
        "## Connection pool sizing\n\n## Retries\n\nRetry twice with jitter, then give up.\n";
    assert!(!check(&cover, bare).points[0].covered);
    let under = "## Connection pool sizing\n\nTen per pod, so twenty replicas stay under the \
                 server's limit of two hundred.\n";
    assert!(check(&cover, under).points[0].covered);
}

#[test]
fn period_seconds_is_not_a_grace_period() {
    let shutdown = topic("graceful-shutdown");
    let grace = 6;
    assert_eq!(shutdown.cover[grace], "Grace period configuration (how long is enough?)");
    let probe = "## Readiness during shutdown\n\nConfigure the readiness probe so the pod leaves \
                 the endpoints quickly once SIGTERM arrives:\n\n```yaml\nreadinessProbe:\n  \
                 httpGet: { path: /ready, port: 8080 }\n  periodSeconds: 5\n  \
                 failureThreshold: 1\n```\n";
    let report = check(&shutdown.cover, probe);
    assert!(!report.points[grace].covered, "{}", report.explain());

    let sized = "## How long to wait\n\nMeasure the slowest request and add the preStop sleep:\n\n\
                 ```yaml\nspec:\n  terminationGracePeriodSeconds: 45\n```\n";
    let report = check(&shutdown.cover, sized);
    assert!(report.points[grace].covered, "{}", report.explain());
}

#[test]
fn a_list_that_only_names_points_covers_none_of_them() {
    let shutdown = topic("graceful-shutdown");
    let names = "Recommendations:\n\n1. Implement shutdown handlers in your applications.\n\
                 2. Configure an adequate grace period.\n3. Test and monitor your shutdown \
                 behavior.\n";
    assert_eq!(check(&shutdown.cover, names).covered(), 0);
    let contents = "This guide walks through:\n- Shutdown handlers\n- Grace period configuration\n\
                    - Testing graceful shutdown\n";
    assert_eq!(check(&shutdown.cover, contents).covered(), 0);
}

#[test]
fn a_passage_about_another_point_does_not_cover_this_one() {
    let incident = topic("incident-response");
    let meetings = 6;
    assert_eq!(incident.cover[meetings], "Conducting post-mortem meetings effectively");
    let actions = "## Action items\n\nEvery post-mortem produces action items with an owner and \
                   a due date. Put them in the backlog, tag them, and review open items in the \
                   weekly operations meeting until they are done.\n";
    let report = check(&incident.cover, actions);
    let point = &report.points[meetings];
    assert!(!point.covered && point.about.as_deref() == Some(incident.cover[8].as_str()));
    assert!(report.explain().contains("but about “Tracking action items from post-mortems”"));
}

#[test]
fn each_answer_of_a_topic_is_read_apart() {
    let health = topic("health-checks");
    let follow_up = "In staging, block the database port and confirm that readiness fails \
                     while liveness keeps passing, so the pod is never restarted for it.";
    // Joined, the follow-up would read as the body of the truncated answer's last heading.
    let joined = check(&health.cover, &format!("{TRUNCATED_ANSWER}\n\n{follow_up}"));
    assert!(joined.points[4].covered);
    let apart = check_answers(&health.cover, &[TRUNCATED_ANSWER, follow_up]);
    assert!(!apart.points[4].covered, "{}", apart.explain());
    assert!(apart.points[2].covered);
}

#[test]
fn each_topic_of_a_conversation_is_judged_on_its_own_answers() {
    let library = Library::builtin();
    // A shutdown answer that also says what the health answer left out.
    let shutdown = "## Watching rollouts\n\nGraph the success rate of readiness probes per \
                    deployment during each rollout and alert when it stays under 95 % for five \
                    minutes.\n\n## Dependencies\n\nKeep the database out of every probe, so one \
                    slow dependency cannot cascade into failures across all replicas at once.\n";
    let (health_answers, shutdown_answers) = ([HEALTH_ALL_BUT_TWO], [shutdown]);
    let sections: [(&str, &[&str]); 3] = [
        ("health-checks", &health_answers),
        ("no-such-topic", &shutdown_answers),
        ("graceful-shutdown", &shutdown_answers),
    ];
    let reports = check_topics(&library, sections);
    let slugs: Vec<&str> = reports.iter().map(|r| r.topic.slug.as_str()).collect();
    assert_eq!(slugs, ["health-checks", "graceful-shutdown"]);
    let health_cover = topic("health-checks").cover;
    assert_eq!(reports[0].report, check(&health_cover, HEALTH_ALL_BUT_TWO));
    assert_eq!(reports[0].report.summary(), Coverage { covered: 8, total: 10 });
    let both = check_answers(&health_cover, &[HEALTH_ALL_BUT_TWO, shutdown]);
    assert_eq!(both.summary(), Coverage { covered: 10, total: 10 }, "{}", both.explain());

    let incident = [INCIDENT_RESPONSE];
    let twice: [(&str, &[&str]); 3] = [
        ("health-checks", &health_answers),
        ("incident-response", &incident),
        ("health-checks", &shutdown_answers),
    ];
    let reports = check_topics(&library, twice);
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].report, both, "a topic asked twice is judged on both its sections");
}
