//! The run folder before anything is sent: it must be writable and hold only valid file
//! names, and one batch at a time uses it. An OS advisory lock on `.deepdive.lock` says who
//! (the file holds the holder's pid; the lock, not the file, is the truth, so a lock left by
//! a process killed with `kill -9` is free again at once). Temporary files a killed save left
//! behind are removed once the lock is held.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::manifest::Manifest;
use super::priming::PRIMING_FILE;
use crate::atomic_file;

/// The lock file in the run folder.
pub const LOCK_FILE: &str = ".deepdive.lock";

/// Longest file name most file systems accept, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// Why the run folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(
        "{}: cannot write into the run folder ({source}); check its permissions, or choose \
         another folder with --out",
        dir.display()
    )]
    NotWritable { dir: PathBuf, source: std::io::Error },
    #[error(
        "{}: another deepdive batch is using this run folder ({holder}); wait for it to finish \
         or stop it, or choose another folder with --out",
        dir.display()
    )]
    Busy { dir: PathBuf, holder: String },
    #[error("{}: the planned file name `{name}` is not valid here ({why})", dir.display())]
    BadName { dir: PathBuf, name: String, why: &'static str },
}

/// Held while a batch uses the run folder; dropping it (or the process ending in any way)
/// releases the lock.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

/// Creates the run folder if needed and locks it for this process, then removes stale
/// temporary files. Fails at once, naming the holder, when another process holds the lock.
pub fn lock(dir: &Path) -> Result<FolderLock, FolderError> {
    let not_writable = |source| FolderError::NotWritable { dir: dir.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(not_writable)?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let holder = match pid.trim() {
                "" => "its process id is not written yet".to_string(),
                pid => format!("process {pid}"),
            };
            return Err(FolderError::Busy { dir: dir.to_path_buf(), holder });
        }
        Err(fs4::TryLockError::Error(source)) => return Err(not_writable(source)),
    }
    let write_pid = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        file.flush()
    };
    write_pid(&mut file).map_err(not_writable)?;
    atomic_file::remove_stale_temps(dir).map_err(not_writable)?;
    Ok(FolderLock { _file: file })
}

/// Checks every file name the run will write before anything is sent: each must be a plain
/// name of at most 255 bytes, and no two topics may share one.
pub fn check_names(dir: &Path, manifest: &Manifest) -> Result<(), FolderError> {
    let bad =
        |name: &str, why| FolderError::BadName { dir: dir.to_path_buf(), name: name.into(), why };
    let mut seen = std::collections::HashSet::new();
    let fixed = [PRIMING_FILE, super::manifest::MANIFEST_FILE, super::handbook::INDEX_FILE];
    for name in manifest.topics.iter().map(|r| r.file.as_str()).chain(fixed) {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
            return Err(bad(name, "it must be a plain file name"));
        }
        // Room for the temporary name a save writes first: `.NAME.XXXXXX.deepdive-tmp`.
        if name.len() + 21 > MAX_NAME_BYTES {
            return Err(bad(name, "it is too long for the file system"));
        }
        if !seen.insert(name) {
            return Err(bad(name, "two files of the run would have this name"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_folder_names_the_holder_and_a_dropped_one_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path()).unwrap();
        let err = lock(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&format!("process {}", std::process::id())), "{err}");
        drop(held);
        lock(dir.path()).unwrap();
    }

    #[test]
    fn locking_removes_stale_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".manifest.json.Ab12Cd.deepdive-tmp");
        std::fs::write(&stale, "half").unwrap();
        let _lock = lock(dir.path()).unwrap();
        assert!(!stale.exists());
    }
}
