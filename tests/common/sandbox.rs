//! An isolated place to run the real `deepdive` binary: its own HOME, config, data and
//! Hugging Face cache directories and working directory, with every `OPENAI_*`, `DEEPDIVE_*`
//! and `HF_*` variable cleared and `NO_COLOR` set, so nothing on the developer's machine
//! leaks into a test.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

pub struct Sandbox {
    dir: TempDir,
}

#[allow(dead_code)] // each test binary uses a different part of the sandbox
impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "config", "data", "work"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("sandbox dirs");
        }
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The working directory the binary runs in.
    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Where the binary saves transcripts unless told otherwise.
    pub fn sessions_dir(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    /// The default config file path (`$XDG_CONFIG_HOME/deepdive/config.toml`).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config/deepdive/config.toml")
    }

    /// Writes the default config file.
    pub fn write_config(&self, toml: &str) {
        let path = self.config_path();
        std::fs::create_dir_all(path.parent().expect("config dir")).expect("config dir");
        std::fs::write(path, toml).expect("write config");
    }

    /// The binary, isolated.
    pub fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd())
    }

    /// The binary, isolated, as a plain `std::process::Command` (to spawn and signal it).
    pub fn std_cmd(&self) -> std::process::Command {
        self.isolated(&assert_cmd::cargo::cargo_bin("deepdive"))
    }

    /// `program` with the sandbox's environment and working directory.
    pub fn isolated(&self, program: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("OPENAI_")
                || name.starts_with("DEEPDIVE_")
                || name.starts_with("HF_")
            {
                cmd.env_remove(name.as_ref());
            }
        }
        cmd.current_dir(self.work_dir())
            .env("HOME", self.path().join("home"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env("DEEPDIVE_SESSIONS_DIR", self.sessions_dir())
            // The Hugging Face cache of the sandbox, never the developer's.
            .env("HF_HOME", self.path().join("hf"))
            .env("NO_COLOR", "1")
            .env_remove("EDITOR")
            .env_remove("VISUAL");
        cmd
    }

    /// The run folder tests pass to `batch --out`.
    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Every transcript (`*.md` but the index and the handbook) in `dir`, sorted by name.
    pub fn transcripts_in(&self, dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .filter(|p| !p.ends_with("index.md") && !p.ends_with("handbook.md"))
            .collect();
        files.sort();
        files
    }

    /// The one transcript saved in the sessions directory (panics unless there is exactly one).
    pub fn only_session(&self) -> deepdive::session::Transcript {
        let files = self.transcripts_in(&self.sessions_dir());
        assert_eq!(files.len(), 1, "{files:?}");
        deepdive::session::store::load(&files[0]).unwrap()
    }

    /// The standard output of `deepdive ARGS --model MODEL`, which must succeed.
    pub fn stdout_with_model(&self, args: &[&str], model: &Path) -> Vec<u8> {
        let out = self.cmd().args(args).arg("--model").arg(model).assert().success();
        out.get_output().stdout.clone()
    }

    /// `deepdive chat ARGS` with `script` on its standard input, run to its end.
    pub fn chat(&self, args: &[&str], script: &str) -> assert_cmd::assert::Assert {
        self.cmd().arg("chat").args(args).write_stdin(script).assert()
    }

    /// Every transcript of the run folder.
    pub fn transcripts(&self) -> Vec<PathBuf> {
        self.transcripts_in(&self.run_dir())
    }

    /// Every file under the sandbox, with its contents, for secret scans.
    pub fn all_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), &mut out);
        out
    }
}
