//! The coverage evaluation set (`tests/fixtures/coverage-eval/`, see its README): answers
//! with a careful reader's verdict on each Cover: point. Read by the `coverage_eval`
//! benchmark and checked by a unit test; standalone (std, serde and toml only) so the
//! benchmark can include this file as it is.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// One labelled answer.
#[derive(Debug)]
pub struct Item {
    /// File name within the set's directory.
    pub file: String,
    pub topic: String,
    pub kind: Kind,
    pub split: Split,
    /// How the answer was made, and which points were left out on purpose.
    pub made: String,
    /// Point text → covered (true) or missing (false).
    pub labels: BTreeMap<String, bool>,
    pub answer: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Complete,
    Partial,
    Thin,
    OffTopic,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    Tune,
    HeldOut,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Label {
    Covered,
    Missing,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    topic: String,
    kind: Kind,
    split: Split,
    made: String,
    labels: BTreeMap<String, Label>,
}

/// Reads every `*.md` file of `dir` except its README, in file-name order.
pub fn load(dir: &Path) -> Result<Vec<Item>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<String> = Vec::new();
    for entry in entries {
        let name = entry.map_err(|e| format!("{}: {e}", dir.display()))?.file_name();
        let name = name.to_string_lossy().into_owned();
        if name.ends_with(".md") && name != "README.md" {
            files.push(name);
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text =
                std::fs::read_to_string(dir.join(&file)).map_err(|e| format!("{file}: {e}"))?;
            parse(&file, &text).map_err(|e| format!("{file}: {e}"))
        })
        .collect()
}

/// One file: `+++`, a TOML header, `+++`, then the answer.
pub fn parse(file: &str, text: &str) -> Result<Item, String> {
    let rest = text.strip_prefix("+++\n").ok_or("does not start with a `+++` line")?;
    let end = rest.find("\n+++\n").ok_or("no closing `+++` line after the header")?;
    let header: Header = toml::from_str(&rest[..end]).map_err(|e| e.to_string())?;
    let labels = header.labels.into_iter().map(|(p, l)| (p, l == Label::Covered)).collect();
    Ok(Item {
        file: file.to_string(),
        topic: header.topic,
        kind: header.kind,
        split: header.split,
        made: header.made,
        labels,
        answer: rest[end + "\n+++\n".len()..].to_string(),
    })
}
