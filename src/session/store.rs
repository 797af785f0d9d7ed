//! Transcript files on disk: atomic saves, loads whose errors name the file and line, and
//! readable new file names.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::codec::{self, Header};
use super::model::Transcript;
use super::time;
use crate::atomic_file;

/// Why a transcript file could not be saved or loaded. Messages start with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: cannot read the transcript: {source}; check the path and its permissions", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: cannot save the transcript: {source}; check that the directory is writable and the disk has space", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {message}", path.display())]
    Parse { path: PathBuf, line: usize, message: String },
}

/// Writes `t` to `path` atomically (see [`crate::atomic_file`]): `path` always holds either
/// the old or the new whole transcript. Creates the directory if needed.
pub fn save(path: &Path, t: &Transcript) -> Result<(), StoreError> {
    atomic_file::write(path, codec::render(t).as_bytes())
        .map_err(|source| StoreError::Write { path: path.to_path_buf(), source })
}

/// [`save`] on a blocking thread, so that a slow disk (each save waits for `fsync`) does not
/// hold up other conversations sharing the async runtime.
pub async fn save_async(path: &Path, t: &Transcript) -> Result<(), StoreError> {
    let (owned_path, text) = (path.to_path_buf(), codec::render(t));
    let write = move || atomic_file::write(&owned_path, text.as_bytes());
    match tokio::task::spawn_blocking(write).await {
        Ok(result) => result,
        Err(join) => Err(io::Error::other(join.to_string())),
    }
    .map_err(|source| StoreError::Write { path: path.to_path_buf(), source })
}

/// Reads a transcript; a format error names the file and the line.
pub fn load(path: &Path) -> Result<Transcript, StoreError> {
    let bytes =
        fs::read(path).map_err(|source| StoreError::Read { path: path.to_path_buf(), source })?;
    let text = utf8(path, &bytes)?;
    codec::parse(text).map_err(|e| parse_error(path, e))
}

/// The first read of [`load_header`]: front matters are a few hundred bytes.
const HEAD: u64 = 4096;

/// Reads a transcript's front matter only: the start of the file up to the `+++` line that
/// closes it (reading on when a front matter is longer than the first read). The body is
/// never read, so a damaged body goes unnoticed here; [`load`] reports it.
pub fn load_header(path: &Path) -> Result<Header, StoreError> {
    let read_error = |source| StoreError::Read { path: path.to_path_buf(), source };
    let mut file = fs::File::open(path).map_err(read_error)?;
    let mut head = Vec::new();
    let mut want = HEAD;
    let len = loop {
        let before = head.len();
        (&mut file).take(want).read_to_end(&mut head).map_err(read_error)?;
        if let Some(len) = codec::header_len(&head) {
            break len;
        }
        if ((head.len() - before) as u64) < want {
            break head.len(); // the end of the file: let the parser say what is missing
        }
        want *= 2;
    };
    let text = utf8(path, &head[..len])?;
    codec::parse_header(text).map_err(|e| parse_error(path, e))
}

/// `bytes` as text; an error names the first line that is not UTF-8.
fn utf8<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, StoreError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        StoreError::Parse {
            path: path.to_path_buf(),
            line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
            message: "this line is not UTF-8 text; save the file as UTF-8".to_string(),
        }
    })
}

fn parse_error(path: &Path, e: codec::ParseError) -> StoreError {
    StoreError::Parse { path: path.to_path_buf(), line: e.line, message: e.message }
}

/// A name for a new transcript in `dir` that no file has yet, like
/// `2026-11-27T0435Z-health-checks.md` (creation time in UTC, then the first topic, with
/// `-and-N-more` for further topics; the title when there are no topics). When the name is
/// taken, `-2`, `-3`, ... is appended.
pub fn new_path(dir: &Path, t: &Transcript) -> PathBuf {
    // "2026-11-27T04:35:12Z" -> "2026-11-27T0435Z"
    let stamp: String =
        time::format(t.meta.created).chars().take(16).filter(|&c| c != ':').collect();
    let mut what = match t.meta.topics.first() {
        Some(first) => slug(first),
        None => slug(&t.meta.title),
    };
    if what.is_empty() {
        what = "session".to_string();
    }
    if t.meta.topics.len() > 1 {
        what = format!("{what}-and-{}-more", t.meta.topics.len() - 1);
    }
    let base = format!("{stamp}Z-{what}");
    let mut n = 1;
    loop {
        let name = if n == 1 { format!("{base}.md") } else { format!("{base}-{n}.md") };
        let candidate = dir.join(name);
        // A path whose metadata cannot be read counts as free: saving there reports why.
        if fs::symlink_metadata(&candidate).is_err() {
            return candidate;
        }
        n += 1;
    }
}

/// Lowercase ASCII letters and digits joined by single dashes, at most 60 characters.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::message::{Role, Usage};
    use crate::session::model::{Meta, SessionStatus, Turn, TurnInfo};

    fn transcript(topics: &[&str], text: &str) -> Transcript {
        let created = UNIX_EPOCH + Duration::from_secs(1_795_754_100); // 2026-11-27T04:35:00Z
        Transcript {
            meta: Meta {
                title: "Health checks".into(),
                topics: topics.iter().map(|s| s.to_string()).collect(),
                stack: None,
                model: "gpt-4o".into(),
                endpoint: "https://api.openai.com/v1".into(),
                profile: None,
                created,
                updated: created,
                status: SessionStatus::Complete,
                usage: Usage::default(),
                replay_of: None,
                coverage: Vec::new(),
            },
            turns: vec![Turn { role: Role::User, text: text.into(), info: TurnInfo::default() }],
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn save_replaces_the_whole_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/s.md");
        save(&path, &transcript(&[], &"long text\n".repeat(1000))).unwrap();
        let short = transcript(&[], "short");
        save(&path, &short).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), codec::render(&short));
        assert_eq!(load(&path).unwrap(), short);
        assert_eq!(entries(path.parent().unwrap()), vec!["s.md"]);
    }

    #[cfg(unix)]
    #[test]
    fn save_keeps_the_permissions_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.md");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, &transcript(&[], "new")).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
    }

    #[test]
    fn save_into_an_unwritable_place_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "").unwrap();
        let path = blocker.join("s.md");
        let err = save(&path, &transcript(&[], "x")).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: cannot save", path.display())), "{err}");
        assert_eq!(entries(dir.path()), vec!["file"]);
    }

    #[test]
    fn load_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.md");
        let mut text = codec::render(&transcript(&[], "hi"));
        text = text.replace("role=user", "role=robot");
        fs::write(&path, &text).unwrap();
        let line = text.lines().position(|l| l.contains("role=robot")).unwrap() + 1;
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:{line}: unknown role `robot`", path.display())),
            "{err}"
        );
    }

    #[test]
    fn load_reports_invalid_utf8_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.md");
        fs::write(&path, b"+++\nok\n\xff\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:3: ", path.display())), "{err}");
    }

    #[test]
    fn load_of_a_missing_file_names_it() {
        let path = Path::new("/nonexistent/deepdive/x.md");
        let err = load(path).unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent/deepdive/x.md: cannot read"), "{err}");
    }

    #[test]
    fn new_path_is_readable_and_never_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = transcript(&["health-checks"], "x");
        let first = new_path(dir.path(), &t);
        assert_eq!(first.file_name().unwrap(), "2026-11-27T0435Z-health-checks.md");
        save(&first, &t).unwrap();
        let second = new_path(dir.path(), &t);
        assert_eq!(second.file_name().unwrap(), "2026-11-27T0435Z-health-checks-2.md");
        save(&second, &t).unwrap();
        assert_eq!(
            new_path(dir.path(), &t).file_name().unwrap(),
            "2026-11-27T0435Z-health-checks-3.md"
        );
    }

    #[test]
    fn new_path_names_several_topics_and_falls_back_to_the_title() {
        let dir = tempfile::tempdir().unwrap();
        let many = transcript(&["health-checks", "logging", "secrets"], "x");
        assert_eq!(
            new_path(dir.path(), &many).file_name().unwrap(),
            "2026-11-27T0435Z-health-checks-and-2-more.md"
        );
        let mut untitled = transcript(&[], "x");
        assert_eq!(
            new_path(dir.path(), &untitled).file_name().unwrap(),
            "2026-11-27T0435Z-health-checks.md"
        );
        untitled.meta.title = "¿¿??".into();
        assert_eq!(
            new_path(dir.path(), &untitled).file_name().unwrap(),
            "2026-11-27T0435Z-session.md"
        );
    }
}
