//! An isolated place to run the release binary in a benchmark: its own HOME, XDG directories,
//! sessions directory and a config file whose one profile (`bench`) points at a server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

pub struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    /// `config_sections` go before the profile (e.g. a `[retry]` table).
    pub fn new(url: &str, config_sections: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "config/deepdive", "data", "work", "sessions", "runs"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let config = format!(
            "{config_sections}\n[profiles.bench]\nbase_url = \"{url}\"\nmodel = \"bench-model\"\n\
             api_key_env = \"\"\n"
        );
        std::fs::write(dir.path().join("config/deepdive/config.toml"), config).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.path().join("sessions")
    }

    /// `program` (the binary, a wrapper or curl) with the sandbox's environment and none of
    /// the caller's `OPENAI_*`/`DEEPDIVE_*` settings; stdout discarded, stderr piped.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("OPENAI_") || name.starts_with("DEEPDIVE_") {
                cmd.env_remove(name.as_ref());
            }
        }
        let path = self.path();
        cmd.current_dir(path.join("work"))
            .env("HOME", path.join("home"))
            .env("XDG_CONFIG_HOME", path.join("config"))
            .env("XDG_DATA_HOME", path.join("data"))
            .env("DEEPDIVE_SESSIONS_DIR", self.sessions_dir())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }
}
