//! Whole-file writes that never leave a partial file: a temporary file in the same directory
//! is written, flushed to disk and renamed over the target, so the target always holds either
//! the old or the new whole content, whatever happens to the process.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Every temporary file this module makes is named `.<target name>.<random>` + this, so that
/// one left behind by a killed process is recognisably deepdive's own (see [`is_temp_name`]).
const TEMP_SUFFIX: &str = ".deepdive-tmp";

/// True for the name of a temporary file [`write`] makes (`.index.md.Ab12Cd.deepdive-tmp`),
/// and for no name a user or another program would choose by accident.
pub fn is_temp_name(name: &str) -> bool {
    name.len() > 1 + TEMP_SUFFIX.len() && name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// Removes the temporary files of [`write`] left in `dir` by a process killed during a save
/// (its whole target file is still there: the rename never happened). Call it only while
/// no other process writes into `dir`. Returns how many were removed; nothing else in `dir`
/// is touched.
pub fn remove_stale_temps(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let is_ours = entry.file_name().to_str().is_some_and(is_temp_name);
        if is_ours && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Writes `bytes` to `path` atomically and durably: the file is on disk, and so is its new
/// name, before this returns, so a power loss keeps either the old or the new whole file.
/// Creates the directory if needed; keeps an existing file's permissions, and gives a new one
/// the umask's.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, Durability::Synced)
}

/// Writes `bytes` to `path` atomically; the content is on disk before the rename, but the
/// new name is not waited for. A power loss right after keeps a whole file, the old or the
/// new one: for a file whose latest changes are recovered from files saved with [`write`]
/// (a run's manifest, whose records `Manifest::reconcile` brings in line with the
/// transcripts). One `fsync` instead of two.
pub fn write_recoverable(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, Durability::Content)
}

/// Writes `bytes` to `path` atomically, without waiting for the disk: for a file deepdive
/// derives from others and rebuilds with one command (a run's handbook and index). A killed
/// process still leaves the old or the new whole file; only a power loss right after may
/// leave it empty or old, and `deepdive handbook DIR` writes it again. It spares a batch run
/// eight `fsync`s, each 2-10 ms on a busy disk (docs/benchmarks.md, section 10).
pub fn write_rebuildable(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, Durability::Rebuildable)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// The content, then the name.
    Synced,
    /// The content only.
    Content,
    Rebuildable,
}

fn replace(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    // A new file gets the mode any program's new file gets (0666 less the umask), not the
    // temporary file's private 0600: a run's handbook and transcripts are for a team.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    if let Ok(old) = fs::metadata(path) {
        tmp.as_file().set_permissions(old.permissions())?;
    }
    tmp.write_all(bytes)?;
    if durability != Durability::Rebuildable {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    if durability == Durability::Synced {
        sync_dir(dir);
    }
    Ok(())
}

/// Makes the rename itself durable. Best effort: some file systems refuse to sync a
/// directory, and the file is already complete on disk either way.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary_file() {
        for write in [write, write_recoverable, write_rebuildable] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("sub/file.json");
            write(&path, b"first, longer content").unwrap();
            write(&path, b"second").unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"second");
            let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().flatten().collect();
            assert_eq!(names.len(), 1);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_gets_the_mode_the_umask_gives_not_the_temporary_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::File::create(&plain).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        for (n, write) in [write, write_recoverable, write_rebuildable].into_iter().enumerate() {
            let path = dir.path().join(format!("new-{n}"));
            write(&path, b"x").unwrap();
            assert_eq!(mode(&path), mode(&plain), "{n}");
        }
    }

    #[test]
    fn only_its_own_temporary_names_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let left = tempfile::Builder::new()
            .prefix(".manifest.json.")
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir.path())
            .unwrap();
        let left = left.keep().unwrap().1;
        let others = [".notes.tmp", "draft.deepdive-tmp", "15-health-checks.md", ".x.md.abc.tmp"];
        for name in others {
            fs::write(dir.path().join(name), "keep").unwrap();
        }
        fs::create_dir(dir.path().join(".sub.deepdive-tmp")).unwrap();
        assert!(is_temp_name(&left.file_name().unwrap().to_string_lossy()));
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert!(!left.exists());
        for name in others {
            assert!(dir.path().join(name).exists(), "{name} was touched");
        }
        assert!(dir.path().join(".sub.deepdive-tmp").is_dir());
    }
}
