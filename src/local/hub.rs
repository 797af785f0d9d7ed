//! Model names and the Hugging Face cache on disk.
//!
//! A model is `owner/repo:QUANT` (a GGUF file of a hub repo, picked by its quantisation) or a
//! path to a `.gguf` file. Hub models live in the cache layout the Python `huggingface_hub`
//! library uses, so files other tools downloaded are found and ours are found by them:
//!
//! ```text
//! <cache>/models--{owner}--{name}/blobs/<sha256>                 the file's bytes
//! <cache>/models--{owner}--{name}/snapshots/<commit>/<file>      -> ../../blobs/<sha256>
//! <cache>/models--{owner}--{name}/refs/main                      <commit>
//! ```
//!
//! The network side (pulling into this layout) is in `download.rs`.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The model the local backend runs when none is named.
pub const DEFAULT_MODEL: &str = "Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M";

/// A smaller, faster option (Q8_0: its Q4_K_M file has no fast CPU path in candle).
pub const SMALL_MODEL: &str = "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q8_0";

/// Everything that can go wrong naming, finding, pulling or removing a model.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(
        "`{0}` is not a model name: use owner/repo:QUANT (e.g. {DEFAULT_MODEL}) or a path to a .gguf file"
    )]
    BadName(String),
    #[error("model file {} does not exist: check the path", .0.display())]
    MissingFile(PathBuf),
    #[error("{repo} has no single .gguf file for `{quant}`; its .gguf files: {available}")]
    NoMatch { repo: String, quant: String, available: String },
    #[error(
        "`{quant}` matches several files in {repo}: {files}; name one as {repo}:<file name without .gguf>"
    )]
    Ambiguous { repo: String, quant: String, files: String },
    #[error(
        "{repo}:{quant} is split into several files ({files}); deepdive loads single-file GGUFs only: pick another quant"
    )]
    Split { repo: String, quant: String, files: String },
    #[error(
        "{model} is not in the model cache ({}) and {why}: pull it where there is network (`deepdive model pull {model}`), point at a GGUF file (`--model /path/file.gguf`), or use an endpoint (`--base-url URL` or OPENAI_BASE_URL)",
        .cache.display()
    )]
    NotCached { model: String, cache: PathBuf, why: String },
    #[error("{model} is not in the model cache ({}): `deepdive model list` shows what is", .cache.display())]
    NotInCache { model: String, cache: PathBuf },
    #[error("{} is a file, not a cached hub model: delete it yourself if you mean to", .0.display())]
    NotAHubModel(PathBuf),
    #[error(
        "the hub has no model repo {repo} (or it is private or gated): check the name at {url}"
    )]
    RepoNotFound { repo: String, url: String },
    #[error("{url} answered HTTP {status}: try again later, or check HF_ENDPOINT")]
    Status { url: String, status: u16 },
    #[error("cannot reach {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("the download of {file} broke off ({cause}): run the same command again to resume")]
    Interrupted { file: String, cause: String },
    #[error("unexpected answer from {url}: {what}")]
    Protocol { url: String, what: String },
    #[error(
        "{file} has sha256 {actual} but the hub says {expected}: the download was deleted; pull it again"
    )]
    Checksum { file: String, expected: String, actual: String },
    #[error("cannot use {}: {source} (check free space and permissions)", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("no home directory to keep models in: set HF_HOME or HF_HUB_CACHE")]
    NoCacheDir,
    #[error("HF_ENDPOINT `{0}` is not an http(s) URL: fix it or unset it")]
    BadEndpoint(String),
    #[error("cannot set up HTTPS for downloads: {0}")]
    Client(String),
}

impl HubError {
    /// True when the user named something wrong (exit 2) rather than the work failing (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            HubError::BadName(_)
                | HubError::MissingFile(_)
                | HubError::NoMatch { .. }
                | HubError::Ambiguous { .. }
                | HubError::Split { .. }
                | HubError::NotInCache { .. }
                | HubError::NotAHubModel(_)
                | HubError::RepoNotFound { .. }
                | HubError::BadEndpoint(_)
        )
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> HubError {
        HubError::Io { path: path.to_path_buf(), source }
    }
}

/// A model as the user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelRef {
    /// A GGUF file of a hub repo: `repo` is `owner/name`, `quant` is matched case-insensitively
    /// against the repo's `.gguf` file names (`Q4_K_M` picks `…-q4_k_m.gguf`).
    Hub { repo: String, quant: String },
    /// A `.gguf` file on disk.
    File(PathBuf),
}

impl FromStr for ModelRef {
    type Err = HubError;

    /// Anything ending in `.gguf` or naming an existing file is a path; otherwise
    /// `owner/repo:QUANT` (an `hf.co/` or `huggingface.co/` prefix is accepted).
    fn from_str(s: &str) -> Result<ModelRef, HubError> {
        let text = s.trim();
        if text.to_ascii_lowercase().ends_with(".gguf") || Path::new(text).is_file() {
            return Ok(ModelRef::File(PathBuf::from(text)));
        }
        let bad = || HubError::BadName(s.to_string());
        let name = ["https://", "http://"].iter().fold(text, |t, p| t.strip_prefix(p).unwrap_or(t));
        let name =
            ["hf.co/", "huggingface.co/"].iter().fold(name, |t, p| t.strip_prefix(p).unwrap_or(t));
        let (repo, quant) = name.rsplit_once(':').ok_or_else(bad)?;
        let (owner, repo_name) = repo.split_once('/').ok_or_else(bad)?;
        let part_ok = |p: &str| {
            !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        };
        if !part_ok(owner) || !part_ok(repo_name) || !part_ok(quant) {
            return Err(bad());
        }
        Ok(ModelRef::Hub { repo: repo.to_string(), quant: quant.to_string() })
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelRef::Hub { repo, quant } => write!(f, "{repo}:{quant}"),
            ModelRef::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A file name's stem without `.gguf` and without a split suffix (`-00001-of-00002`), and
/// whether it had one.
fn stem_of(file: &str) -> (&str, bool) {
    let base = file.rsplit('/').next().unwrap_or(file);
    let stem = match base.len().checked_sub(5) {
        Some(i) if base.is_char_boundary(i) && base[i..].eq_ignore_ascii_case(".gguf") => {
            &base[..i]
        }
        _ => base,
    };
    // `-00001-of-00003` is 15 characters.
    let split = stem.len() >= 15 && {
        let tail = &stem.as_bytes()[stem.len() - 15..];
        tail[0] == b'-'
            && tail[1..6].iter().all(u8::is_ascii_digit)
            && &tail[6..10] == b"-of-"
            && tail[10..].iter().all(u8::is_ascii_digit)
    };
    if split { (&stem[..stem.len() - 15], true) } else { (stem, false) }
}

/// True when `file` (a `.gguf` path in a repo) is the quantisation `quant`: its stem is `quant`
/// or ends in `-quant`, `.quant` or `_quant`, case-insensitively; or `quant` is the whole stem
/// or file name.
fn matches_quant(file: &str, quant: &str) -> bool {
    let (stem, _) = stem_of(file);
    let (stem, quant) = (stem.to_ascii_lowercase(), quant.to_ascii_lowercase());
    let base = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
    if stem == quant || base == quant {
        return true;
    }
    stem.strip_suffix(&quant).is_some_and(|rest| rest.ends_with(['-', '.', '_']))
}

/// The quantisation a GGUF file name carries (`Q4_K_M` for `qwen2.5-1.5b-instruct-q4_k_m.gguf`):
/// the last `-`/`.`-separated part of its stem that looks like one.
pub fn quant_of(file: &str) -> Option<String> {
    let (stem, _) = stem_of(file);
    stem.rsplit(['-', '.'])
        .find(|part| {
            let p = part.to_ascii_lowercase();
            let level = p.strip_prefix("iq").or_else(|| p.strip_prefix('q'));
            let quantised = level.is_some_and(|l| l.starts_with(|c: char| c.is_ascii_digit()));
            quantised || ["f16", "f32", "bf16"].contains(&p.as_str())
        })
        .map(str::to_ascii_uppercase)
}

/// Picks the one `.gguf` file of `files` (paths in the repo) that `quant` names. Several
/// single-file matches are ambiguous; only split files matching is refused; no match lists the
/// repo's `.gguf` files.
pub fn select_file(repo: &str, quant: &str, files: &[String]) -> Result<String, HubError> {
    let gguf: Vec<&String> =
        files.iter().filter(|f| f.to_ascii_lowercase().ends_with(".gguf")).collect();
    let (split, single): (Vec<&String>, Vec<&String>) =
        gguf.iter().copied().filter(|f| matches_quant(f, quant)).partition(|f| stem_of(f).1);
    let join = |list: &[&String]| list.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    match (single.as_slice(), split.is_empty()) {
        ([one], _) => Ok(one.to_string()),
        ([], false) => Err(HubError::Split {
            repo: repo.to_string(),
            quant: quant.to_string(),
            files: join(&split),
        }),
        ([], true) => Err(HubError::NoMatch {
            repo: repo.to_string(),
            quant: quant.to_string(),
            available: if gguf.is_empty() { "none".to_string() } else { join(&gguf) },
        }),
        (several, _) => Err(HubError::Ambiguous {
            repo: repo.to_string(),
            quant: quant.to_string(),
            files: join(several),
        }),
    }
}

/// One GGUF file in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedModel {
    /// `owner/name`.
    pub repo: String,
    /// The file's path in the repo.
    pub file: String,
    /// The quantisation its name carries, upper case.
    pub quant: Option<String>,
    pub size: u64,
    /// The snapshot path (what the engine loads).
    pub path: PathBuf,
}

impl CachedModel {
    /// The name that finds this file again: `owner/repo:QUANT`, or `owner/repo:<stem>` when the
    /// name carries no quantisation.
    pub fn name(&self) -> String {
        let tag = self.quant.clone().unwrap_or_else(|| stem_of(&self.file).0.to_string());
        format!("{}:{tag}", self.repo)
    }
}

/// The Hugging Face hub cache directory.
#[derive(Clone, Debug)]
pub struct HubCache {
    root: PathBuf,
}

impl HubCache {
    pub fn new(root: PathBuf) -> HubCache {
        HubCache { root }
    }

    /// The cache `huggingface_hub` uses: `HF_HUB_CACHE` (or the older `HUGGINGFACE_HUB_CACHE`),
    /// else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
    /// `~/.cache/huggingface/hub`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<HubCache, HubError> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let home = || var("HOME").map(PathBuf::from).or_else(dirs::home_dir);
        let expand = |value: String| match value.strip_prefix("~/") {
            Some(rest) => home().map(|h| h.join(rest)).ok_or(HubError::NoCacheDir),
            None => Ok(PathBuf::from(value)),
        };
        let root = if let Some(dir) = var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")) {
            expand(dir)?
        } else if let Some(dir) = var("HF_HOME") {
            expand(dir)?.join("hub")
        } else if let Some(dir) = var("XDG_CACHE_HOME") {
            expand(dir)?.join("huggingface/hub")
        } else {
            home().ok_or(HubError::NoCacheDir)?.join(".cache/huggingface/hub")
        };
        Ok(HubCache { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `models--{owner}--{name}`.
    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        self.root.join(format!("models--{}", repo.replace('/', "--")))
    }

    pub(crate) fn blobs_dir(&self, repo: &str) -> PathBuf {
        self.repo_dir(repo).join("blobs")
    }

    pub(crate) fn snapshot_path(&self, repo: &str, commit: &str, file: &str) -> PathBuf {
        self.repo_dir(repo).join("snapshots").join(commit).join(file)
    }

    /// Where a file already in the cache is: the first snapshot holding the file `model` names,
    /// the one `refs/main` points at first. A path is returned as it is if the file exists.
    pub fn find(&self, model: &ModelRef) -> Option<PathBuf> {
        match model {
            ModelRef::File(path) => path.is_file().then(|| path.clone()),
            ModelRef::Hub { repo, quant } => self.snapshots(repo).into_iter().find_map(|snap| {
                let file = select_file(repo, quant, &gguf_files(&snap)).ok()?;
                let path = snap.join(file);
                path.is_file().then_some(path)
            }),
        }
    }

    /// Every GGUF file of every cached model repo, once per repo and file (the `refs/main`
    /// snapshot's copy first), sorted by repo and file.
    pub fn list(&self) -> Vec<CachedModel> {
        let Ok(entries) = fs::read_dir(&self.root) else { return Vec::new() };
        let mut models = Vec::new();
        for entry in entries.flatten() {
            let folder = entry.file_name().to_string_lossy().into_owned();
            let Some(repo) = folder.strip_prefix("models--").map(|r| r.replacen("--", "/", 1))
            else {
                continue;
            };
            let mut seen = HashSet::new();
            for snap in self.snapshots(&repo) {
                for file in gguf_files(&snap) {
                    let path = snap.join(&file);
                    let Ok(meta) = fs::metadata(&path) else { continue };
                    if meta.is_file() && seen.insert(file.clone()) {
                        let quant = quant_of(&file);
                        models.push(CachedModel {
                            repo: repo.clone(),
                            file,
                            quant,
                            size: meta.len(),
                            path,
                        });
                    }
                }
            }
        }
        models.sort_by(|a, b| (&a.repo, &a.file).cmp(&(&b.repo, &b.file)));
        models
    }

    /// Removes the file `model` names from every snapshot, and each blob no snapshot still
    /// points at; the whole repo folder goes once no snapshot holds a file. Returns the bytes
    /// freed.
    pub fn remove(&self, model: &ModelRef) -> Result<u64, HubError> {
        let (repo, quant) = match model {
            ModelRef::File(path) => return Err(HubError::NotAHubModel(path.clone())),
            ModelRef::Hub { repo, quant } => (repo, quant),
        };
        let not_cached =
            || HubError::NotInCache { model: model.to_string(), cache: self.root.clone() };
        let mut entries = Vec::new();
        for snap in self.snapshots(repo) {
            match select_file(repo, quant, &gguf_files(&snap)) {
                Ok(file) => entries.push(snap.join(file)),
                Err(HubError::NoMatch { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        if entries.is_empty() {
            return Err(not_cached());
        }
        let mut freed = 0;
        let mut blobs = Vec::new();
        for entry in &entries {
            let meta = fs::symlink_metadata(entry).map_err(|e| HubError::io(entry, e))?;
            match fs::read_link(entry) {
                Ok(target) => blobs.push(resolve_link(entry, &target)),
                Err(_) => freed += meta.len(),
            }
            fs::remove_file(entry).map_err(|e| HubError::io(entry, e))?;
        }
        let still_used: HashSet<PathBuf> = self.linked_blobs(repo);
        blobs.sort();
        blobs.dedup();
        for blob in blobs.iter().filter(|b| !still_used.contains(*b)) {
            if let Ok(meta) = fs::metadata(blob) {
                freed += meta.len();
                fs::remove_file(blob).map_err(|e| HubError::io(blob, e))?;
            }
        }
        let holds_files = self.snapshots(repo).iter().any(|s| !all_files(s).is_empty());
        if !holds_files {
            let dir = self.repo_dir(repo);
            let blobs = self.blobs_dir(repo);
            freed += all_files(&blobs)
                .iter()
                .filter_map(|f| fs::symlink_metadata(blobs.join(f)).ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum::<u64>();
            fs::remove_dir_all(&dir).map_err(|e| HubError::io(&dir, e))?;
        }
        Ok(freed)
    }

    /// Points `snapshots/<commit>/<file>` at `blobs/<sha256>` with a relative symlink, replacing
    /// whatever was there in one rename.
    pub(crate) fn link_snapshot(
        &self,
        repo: &str,
        commit: &str,
        file: &str,
        sha256: &str,
    ) -> Result<PathBuf, HubError> {
        let path = self.snapshot_path(repo, commit, file);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| HubError::io(&dir, e))?;
        let tmp = dir.join(format!(".{sha256}.{:08x}.tmp", fastrand::u32(..)));
        let depth = file.split('/').count();
        let target = format!("{}blobs/{sha256}", "../".repeat(depth + 1));
        place_link(&target, &self.blobs_dir(repo).join(sha256), &tmp)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = fs::remove_file(&tmp);
                HubError::io(&path, e)
            })?;
        Ok(path)
    }

    /// Records `commit` as what `refs/main` points at.
    pub(crate) fn write_ref(&self, repo: &str, commit: &str) -> Result<(), HubError> {
        let path = self.repo_dir(repo).join("refs/main");
        crate::atomic_file::write(&path, commit.as_bytes()).map_err(|e| HubError::io(&path, e))
    }

    /// The repo's snapshot folders: the one `refs/main` names first, then the newest.
    fn snapshots(&self, repo: &str) -> Vec<PathBuf> {
        let dir = self.repo_dir(repo);
        let main = fs::read_to_string(dir.join("refs/main")).unwrap_or_default();
        let Ok(entries) = fs::read_dir(dir.join("snapshots")) else { return Vec::new() };
        let mut snaps: Vec<(bool, std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| {
                let modified =
                    e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
                (e.file_name().to_string_lossy() != main.trim(), modified, e.path())
            })
            .collect();
        snaps.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        snaps.into_iter().map(|(_, _, path)| path).collect()
    }

    /// Every blob some snapshot of the repo links to.
    fn linked_blobs(&self, repo: &str) -> HashSet<PathBuf> {
        self.snapshots(repo)
            .iter()
            .flat_map(|snap| {
                all_files(snap).into_iter().filter_map(move |file| {
                    let entry = snap.join(file);
                    fs::read_link(&entry).ok().map(|target| resolve_link(&entry, &target))
                })
            })
            .collect()
    }
}

#[cfg(unix)]
fn place_link(target: &str, _blob: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

/// Without unix symlinks the snapshot holds a copy, as `huggingface_hub` does where it cannot
/// link.
#[cfg(not(unix))]
fn place_link(_target: &str, blob: &Path, at: &Path) -> io::Result<()> {
    fs::copy(blob, at).map(|_| ())
}

/// The path a snapshot symlink points at, without `..` parts.
fn resolve_link(entry: &Path, target: &Path) -> PathBuf {
    let joined = entry.parent().map(|p| p.join(target)).unwrap_or_else(|| target.to_path_buf());
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every file (or symlink) under `dir`, as `/`-separated paths relative to it.
fn all_files(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            match entry.file_type() {
                Ok(t) if t.is_dir() => walk(&entry.path(), &rel, out),
                Ok(_) => out.push(rel),
                Err(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

/// The `.gguf` files of a snapshot, as paths in the repo.
fn gguf_files(snapshot: &Path) -> Vec<String> {
    all_files(snapshot).into_iter().filter(|f| f.to_ascii_lowercase().ends_with(".gguf")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(repo: &str, quant: &str) -> ModelRef {
        ModelRef::Hub { repo: repo.into(), quant: quant.into() }
    }

    #[test]
    fn names_parse_into_hub_models_or_files() {
        assert_eq!(
            DEFAULT_MODEL.parse::<ModelRef>().unwrap(),
            hub("Qwen/Qwen2.5-1.5B-Instruct-GGUF", "Q4_K_M")
        );
        assert_eq!(
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:q8_0".parse::<ModelRef>().unwrap(),
            hub("bartowski/Llama-3.2-1B-Instruct-GGUF", "q8_0")
        );
        assert_eq!(
            "./models/x.GGUF".parse::<ModelRef>().unwrap(),
            ModelRef::File("./models/x.GGUF".into())
        );
        for bad in ["Qwen/Qwen2.5", "qwen:Q4_K_M", "a/b/c:Q4", "a/b:", "/x:Q4", "a b/c:Q4"] {
            assert!(matches!(bad.parse::<ModelRef>(), Err(HubError::BadName(_))), "{bad}");
        }
    }

    #[test]
    fn an_existing_file_is_a_path_whatever_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weights:v1");
        fs::write(&path, b"x").unwrap();
        let text = path.to_string_lossy().into_owned();
        assert_eq!(text.parse::<ModelRef>().unwrap(), ModelRef::File(path));
    }

    #[test]
    fn display_round_trips() {
        for name in [DEFAULT_MODEL, SMALL_MODEL, "/tmp/m.gguf"] {
            assert_eq!(name.parse::<ModelRef>().unwrap().to_string(), name);
        }
    }

    fn files(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quant_picks_the_one_file_case_insensitively() {
        let repo = files(&[
            "README.md",
            "qwen2.5-1.5b-instruct-q4_k_m.gguf",
            "qwen2.5-1.5b-instruct-q4_k_s.gguf",
            "qwen2.5-1.5b-instruct-iq4_k_m.gguf",
            "qwen2.5-1.5b-instruct-q8_0.gguf",
        ]);
        assert_eq!(select_file("r", "Q4_K_M", &repo).unwrap(), "qwen2.5-1.5b-instruct-q4_k_m.gguf");
        assert_eq!(select_file("r", "q8_0", &repo).unwrap(), "qwen2.5-1.5b-instruct-q8_0.gguf");
        let dotted = files(&["Model.Q5_K_M.gguf", "sub/model_F16.gguf"]);
        assert_eq!(select_file("r", "q5_k_m", &dotted).unwrap(), "Model.Q5_K_M.gguf");
        assert_eq!(select_file("r", "f16", &dotted).unwrap(), "sub/model_F16.gguf");
    }

    #[test]
    fn no_match_lists_the_files_and_ambiguity_is_refused() {
        let repo = files(&["a-q4_k_m.gguf", "b-q4_k_m.gguf", "c-q8_0.gguf"]);
        match select_file("r", "Q2_K", &repo) {
            Err(HubError::NoMatch { available, .. }) => {
                assert_eq!(available, "a-q4_k_m.gguf, b-q4_k_m.gguf, c-q8_0.gguf")
            }
            other => panic!("{other:?}"),
        }
        match select_file("r", "Q4_K_M", &repo) {
            Err(HubError::Ambiguous { files, .. }) => {
                assert_eq!(files, "a-q4_k_m.gguf, b-q4_k_m.gguf")
            }
            other => panic!("{other:?}"),
        }
        // The whole stem names one file exactly.
        assert_eq!(select_file("r", "B-Q4_K_M", &repo).unwrap(), "b-q4_k_m.gguf");
    }

    #[test]
    fn split_files_are_refused_unless_a_single_file_matches() {
        let split = files(&["m-q4_k_m-00001-of-00002.gguf", "m-q4_k_m-00002-of-00002.gguf"]);
        assert!(matches!(select_file("r", "Q4_K_M", &split), Err(HubError::Split { .. })));
        let mixed = [split, files(&["m-q4_k_m.gguf"])].concat();
        assert_eq!(select_file("r", "Q4_K_M", &mixed).unwrap(), "m-q4_k_m.gguf");
    }

    #[test]
    fn quant_is_read_from_file_names() {
        assert_eq!(quant_of("qwen2.5-1.5b-instruct-q4_k_m.gguf").as_deref(), Some("Q4_K_M"));
        assert_eq!(quant_of("Model.IQ4_XS.gguf").as_deref(), Some("IQ4_XS"));
        assert_eq!(quant_of("m-bf16-00001-of-00002.gguf").as_deref(), Some("BF16"));
        assert_eq!(quant_of("tiny-model.gguf"), None);
        assert_eq!(quant_of("qwen-q.gguf"), None);
    }

    #[test]
    fn cached_names_find_the_file_again() {
        let model = |file: &str| CachedModel {
            repo: "o/r".into(),
            file: file.into(),
            quant: quant_of(file),
            size: 0,
            path: PathBuf::new(),
        };
        assert_eq!(model("r-q8_0.gguf").name(), "o/r:Q8_0");
        assert_eq!(model("dir/tiny.gguf").name(), "o/r:tiny");
        let name: ModelRef = model("dir/tiny.gguf").name().parse().unwrap();
        let ModelRef::Hub { quant, .. } = name else { panic!() };
        assert!(matches_quant("dir/tiny.gguf", &quant));
    }

    #[test]
    fn cache_dir_follows_the_huggingface_hub_precedence() {
        let root = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> =
                vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let env =
                move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            HubCache::from_env(&env).unwrap().root().to_path_buf()
        };
        let all = [
            ("HF_HUB_CACHE", "/c"),
            ("HF_HOME", "/h"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(root(&all), Path::new("/c"));
        assert_eq!(root(&all[1..]), Path::new("/h/hub"));
        assert_eq!(root(&all[2..]), Path::new("/x/huggingface/hub"));
        assert_eq!(root(&all[3..]), Path::new("/home/u/.cache/huggingface/hub"));
        assert_eq!(root(&[("HF_HOME", "~/hf"), ("HOME", "/home/u")]), Path::new("/home/u/hf/hub"));
        assert_eq!(
            root(&[("HF_HUB_CACHE", ""), ("HOME", "/u")]),
            Path::new("/u/.cache/huggingface/hub")
        );
    }

    #[test]
    fn repo_folders_use_the_python_naming() {
        let cache = HubCache::new("/c".into());
        assert_eq!(cache.repo_dir("Qwen/Qwen2.5-0.5B"), Path::new("/c/models--Qwen--Qwen2.5-0.5B"));
        assert_eq!(
            cache.snapshot_path("o/r", "abc", "d/f.gguf"),
            Path::new("/c/models--o--r/snapshots/abc/d/f.gguf")
        );
    }

    #[test]
    fn links_are_relative_and_resolve_to_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HubCache::new(dir.path().to_path_buf());
        fs::create_dir_all(cache.blobs_dir("o/r")).unwrap();
        fs::write(cache.blobs_dir("o/r").join("s"), b"bytes").unwrap();
        let top = cache.link_snapshot("o/r", "c1", "f.gguf", "s").unwrap();
        let deep = cache.link_snapshot("o/r", "c1", "q/f.gguf", "s").unwrap();
        assert_eq!(fs::read(&top).unwrap(), b"bytes");
        assert_eq!(fs::read(&deep).unwrap(), b"bytes");
        #[cfg(unix)]
        {
            assert_eq!(fs::read_link(&top).unwrap(), Path::new("../../blobs/s"));
            assert_eq!(fs::read_link(&deep).unwrap(), Path::new("../../../blobs/s"));
            assert_eq!(
                resolve_link(&deep, &fs::read_link(&deep).unwrap()),
                cache.blobs_dir("o/r").join("s")
            );
        }
    }
}
