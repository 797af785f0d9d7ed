//! The word lists behind coverage detection: stop-words, domain words too common to
//! prove a point on their own, and equivalent terms of the domain.

use std::sync::OnceLock;

use rustc_hash::{FxHashMap, FxHashSet};

use super::stem::stem;
use super::text::words;

/// English function words and the guide's own generic words ("how", "strategies",
/// "approaches" …), dropped before matching.
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "across", "after", "again", "against", "all", "also", "am", "among",
    "an", "and", "any", "are", "aren", "as", "at", "be", "because", "been", "before", "being",
    "below", "between", "both", "but", "by", "can", "cannot", "could", "couldn", "did", "didn",
    "do", "does", "doesn", "doing", "don", "down", "during", "each", "eg", "either", "else", "etc",
    "even", "ever", "every", "few", "for", "from", "further", "had", "has", "have", "having", "he",
    "her", "here", "hers", "him", "his", "how", "however", "ie", "if", "in", "into", "is", "isn",
    "it", "its", "itself", "just", "let", "may", "me", "might", "more", "most", "much", "must",
    "my", "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or", "other",
    "others", "our", "ours", "out", "over", "own", "per", "rather", "same", "shall", "she",
    "should", "shouldn", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
    "then", "there", "these", "they", "this", "those", "though", "three", "through", "thus", "to",
    "too", "two", "under", "until", "up", "upon", "us", "very", "via", "vs", "versus", "was", "we",
    "were", "what", "whatever", "when", "whenever", "where", "whether", "which", "while", "who",
    "whom", "whose", "why", "will", "with", "within", "without", "won", "would", "yet", "you",
    "your", "yours",
    // The guide's generic words.
    "approach", "approaches", "appropriate", "common", "commonly", "consider", "consideration",
    "considerations", "different", "difference", "differences", "effective", "effectively",
    "ensure", "get", "gets", "key", "like", "make", "makes", "making", "many", "need", "needed",
    "needs", "set", "sets", "setting", "settings", "specific", "strategies", "strategy",
    "understand", "understanding", "use", "used", "uses", "using", "various", "way", "ways", "well",
    "behavior", "behaviors", "behaviour", "behaviours", "case", "cases", "consequence",
    "consequences", "implication", "implications", "philosophy", "several",
];

/// Domain words that appear in almost any answer of the guide. They count as key terms,
/// but a passage made only of them does not cover a point that has more telling terms.
#[rustfmt::skip]
const GENERIC: &[&str] = &[
    "application", "build", "change", "cluster", "container", "data", "design", "document", "fail",
    "implement", "issue", "kubernetes", "manage", "monitor", "operation", "plan", "pod", "problem",
    "process", "production", "requirement", "service", "system", "team", "test", "time", "tool",
    "configuration",
];

/// Words that say nothing on their own: hedges and praise ("appropriately", "robust",
/// "best practices"). They do not make a block [say something](super::scan).
#[rustfmt::skip]
const FILLER: &[&str] = &[
    "additional", "adequate", "always", "appropriately", "area", "aspect", "based", "best",
    "careful", "carefully", "characteristic", "characteristics", "clear", "confidence",
    "confident", "consistent", "consistently", "crucial", "critical", "essential", "follow",
    "following", "good", "great", "help", "helps", "important", "improve", "mind", "often",
    "place", "practice", "practices", "proper", "properly", "recommendation", "recommendations",
    "regular", "regularly", "reliable", "right", "robust", "sensible", "significantly",
    "smoother", "solid", "sure", "thing", "things", "usually",
];

/// Equivalent wordings: each left side (a word or phrase, in any inflection) is read as
/// its right side, both in cover points and in answers.
const EQUIVALENTS: &[(&str, &str)] = &[
    ("health check", "probe"),
    ("health probe", "probe"),
    ("check", "probe"),
    ("healthcheck", "probe"),
    ("healthz", "probe"),
    ("livez", "liveness probe"),
    ("readyz", "readiness probe"),
    ("autoscaling", "auto scaling"),
    ("observe", "monitor"),
    ("observability", "monitor"),
    ("watch", "monitor"),
    ("pick", "choose"),
    ("select", "choose"),
    ("blameless", "blame"),
    ("constraint", "constrain"),
    ("ratio", "rate"),
    ("max", "maximum"),
    ("min", "minimum"),
    ("hit", "reach"),
    ("practise", "practice"),
    ("drill", "practice"),
    ("tier 2", "operations team"),
    ("sigterm", "sigterm shutdown"),
    ("find", "identify"),
    // Answers name the tool rather than the kind: the kind is read along with the name.
    ("pagerduty", "pagerduty notification"),
    ("opsgenie", "opsgenie notification"),
    ("slack", "slack notification"),
    ("email", "email notification"),
    ("sms", "sms notification"),
    ("k6", "k6 tool"),
    ("locust", "locust tool"),
    ("jmeter", "jmeter tool"),
    ("gatling", "gatling tool"),
    ("vegeta", "vegeta tool"),
    ("artillery", "artillery tool"),
    ("handbook", "handbook documentation"),
    ("spot", "identify"),
    ("db", "database"),
    ("k8s", "kubernetes"),
    ("mutual tls", "mtls"),
    ("recovery point objective", "rpo"),
    ("recovery time objective", "rto"),
    ("horizontal pod autoscaler", "hpa"),
    ("horizontal pod autoscaling", "hpa"),
    ("horizontal autoscaling", "hpa"),
    ("vertical pod autoscaler", "vpa"),
    ("vertical pod autoscaling", "vpa"),
    ("persistent volume claim", "pv"),
    ("persistent volume", "pv"),
    ("pvc", "pv"),
    ("stateful set", "statefulset"),
    ("quality of service", "qos"),
    ("role based access control", "rbac"),
    ("service level objective", "slo"),
    ("pod disruption budget", "pdb"),
    ("config", "configuration"),
    ("env var", "environment variable"),
    ("env", "environment"),
    ("prod", "production"),
    ("post mortem", "postmortem"),
    ("retrospective", "postmortem"),
    ("on call", "oncall"),
    ("shut down", "shutdown"),
    ("pre stop", "prestop"),
    ("in flight", "inflight"),
    ("start up", "startup"),
    ("lb", "load balancer"),
    ("roll back", "rollback"),
    ("sign off", "signoff"),
    ("back up", "backup"),
    ("run book", "runbook"),
    ("playbook", "runbook"),
    ("app", "application"),
    ("instance", "replica"),
    ("failure", "fail"),
    ("outage", "incident"),
    ("retain", "retention"),
    ("expand", "expansion"),
    ("growth", "grow"),
    ("forecast", "project"),
    ("classify", "categorize"),
    ("category", "categorize"),
    ("classification", "categorize"),
    ("leak", "compromise"),
    ("git", "version control"),
    ("gitops", "version control"),
    ("cve", "vulnerability"),
    ("overprovisioning", "provisioning"),
    ("underprovisioning", "provisioning"),
    ("oomkilled", "oom killed"),
    ("secure", "security"),
    ("automatic", "automate"),
    ("automatically", "automate"),
    ("kind", "type"),
    ("behaviour", "behavior"),
];

/// An equivalence: the stems of its left side and of its right side.
type Equivalent = (Vec<String>, Vec<String>);

/// The lists above, normalised once. Every word of an answer is looked up in them: their
/// hashing is the fast one, which is safe here because their keys are these fixed lists.
pub(super) struct Lexicon {
    stop: FxHashSet<&'static str>,
    generic: FxHashSet<String>,
    filler: FxHashSet<String>,
    /// First stem of a left side → (left side stems, right side stems), longest first.
    equivalents: FxHashMap<String, Vec<Equivalent>>,
}

impl Lexicon {
    pub(super) fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(Lexicon::build)
    }

    fn build() -> Lexicon {
        let stop: FxHashSet<&'static str> = STOP_WORDS.iter().copied().collect();
        let is_stop = |w: &str| stop.contains(w);
        let mut equivalents: FxHashMap<String, Vec<Equivalent>> = FxHashMap::default();
        for (from, to) in EQUIVALENTS {
            let from: Vec<String> = words(from, &is_stop).into_iter().map(|w| w.stem).collect();
            let to: Vec<String> =
                words(to, &is_stop).into_iter().filter(|w| !w.stop).map(|w| w.stem).collect();
            if let Some(first) = from.first() {
                equivalents.entry(first.clone()).or_default().push((from, to));
            }
        }
        for candidates in equivalents.values_mut() {
            candidates.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        }
        let generic = GENERIC.iter().map(|w| stem(*w)).collect();
        let filler = FILLER.iter().map(|w| stem(*w)).collect();
        Lexicon { stop, generic, filler, equivalents }
    }

    pub(super) fn is_stop(&self, word: &str) -> bool {
        self.stop.contains(word)
    }

    /// Whether a (canonical) stem is too common in the domain to prove a point alone.
    pub(super) fn is_generic(&self, stem: &str) -> bool {
        self.generic.contains(stem)
    }

    /// Whether a stem is a [filler](FILLER) word.
    pub(super) fn is_filler(&self, stem: &str) -> bool {
        self.filler.contains(stem)
    }

    /// Equivalences whose left side starts with `stem`, longest first.
    pub(super) fn equivalents(&self, stem: &str) -> &[Equivalent] {
        self.equivalents.get(stem).map_or(&[], Vec::as_slice)
    }
}
