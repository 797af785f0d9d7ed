//! Finding the transcript or run folder a user named. A path works as given (absolute, or
//! relative to the current directory), else relative to the sessions directory, else to its
//! `runs/` folder; so every path `deepdive sessions` prints (relative to the sessions
//! directory) is accepted by `show`, `compare`, `replay` and `chat --resume`.

use std::path::{Path, PathBuf};

use super::SavedError;
use super::listing::RUNS_DIR;

/// The existing file or folder `name` stands for; [`SavedError::Missing`] lists where it
/// looked.
pub fn locate(sessions_dir: &Path, name: &Path) -> Result<PathBuf, SavedError> {
    let mut looked: Vec<PathBuf> = Vec::new();
    for candidate in
        [name.to_path_buf(), sessions_dir.join(name), sessions_dir.join(RUNS_DIR).join(name)]
    {
        if candidate.exists() {
            return Ok(candidate);
        }
        if !looked.contains(&candidate) {
            looked.push(candidate);
        }
    }
    Err(SavedError::Missing { path: name.to_path_buf(), looked })
}

/// Like [`locate`], for a single transcript: a folder is [`SavedError::NotATranscript`].
pub fn locate_transcript(sessions_dir: &Path, name: &Path) -> Result<PathBuf, SavedError> {
    let path = locate(sessions_dir, name)?;
    match path.is_dir() {
        true => Err(SavedError::NotATranscript { path }),
        false => Ok(path),
    }
}

/// How `sessions` shows `path`: relative to the sessions directory when it is inside it (the
/// shortest form [`locate`] takes back), else as it is.
pub fn short_path<'p>(sessions_dir: &Path, path: &'p Path) -> &'p Path {
    path.strip_prefix(sessions_dir).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_name_is_found_as_given_then_in_the_sessions_dir_then_in_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = dir.path().join("sessions");
        let run = sessions.join("runs/run-a");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(sessions.join("s.md"), "").unwrap();
        std::fs::write(run.join("15-health-checks.md"), "").unwrap();
        let given = dir.path().join("elsewhere.md");
        std::fs::write(&given, "").unwrap();

        assert_eq!(locate(&sessions, &given).unwrap(), given);
        assert_eq!(locate(&sessions, Path::new("s.md")).unwrap(), sessions.join("s.md"));
        assert_eq!(locate(&sessions, Path::new("runs/run-a")).unwrap(), run);
        assert_eq!(locate(&sessions, Path::new("run-a")).unwrap(), run);
        let file = Path::new("run-a/15-health-checks.md");
        assert_eq!(locate_transcript(&sessions, file).unwrap(), run.join("15-health-checks.md"));
    }

    #[test]
    fn what_sessions_prints_is_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = dir.path().join("sessions");
        let run = sessions.join("runs/run-a");
        std::fs::create_dir_all(&run).unwrap();
        assert_eq!(short_path(&sessions, &run), Path::new("runs/run-a"));
        assert_eq!(locate(&sessions, short_path(&sessions, &run)).unwrap(), run);
        let outside = dir.path().join("other");
        assert_eq!(short_path(&sessions, &outside), outside);
    }

    #[test]
    fn a_missing_name_lists_each_place_once() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = dir.path().join("sessions");
        let err = locate(&sessions, Path::new("gone.md")).unwrap_err().to_string();
        let runs = sessions.join("runs/gone.md");
        assert!(err.starts_with("gone.md: no such file or folder (looked for gone.md, "), "{err}");
        assert!(err.contains(&format!(
            "{} and {}",
            sessions.join("gone.md").display(),
            runs.display()
        )));
        assert!(err.ends_with("('deepdive sessions' lists what is saved)"), "{err}");
        let absolute = dir.path().join("gone.md");
        let err = locate(&sessions, &absolute).unwrap_err().to_string();
        let expected = format!("{}: no such file or folder; name a transcript", absolute.display());
        assert!(err.starts_with(&expected), "{err}");
    }

    #[test]
    fn a_folder_is_not_a_transcript() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate_transcript(dir.path(), dir.path()).unwrap_err().to_string();
        assert!(err.contains("is a folder, not a transcript"), "{err}");
    }
}
