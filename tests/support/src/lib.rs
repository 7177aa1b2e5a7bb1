//! Test support for reflex's suites: the one place that starts the servers the tests run
//! against, and finds the repository's sample files.
//!
//! - [`moto`]: moto's server (AWS APIs over HTTP), one per test binary, and an SDK
//!   configuration for it.
//! - [`aws`]: reflex's AWS session on moto (or any endpoint), with unique resource names.
//! - [`approval`]: a policy that asks for approvals with links on, and a notifier that
//!   keeps what on-call was told.
//! - [`asg`]: Auto Scaling groups with instances on moto, for node replacement.
//! - [`queue`]: an SQS queue subscribed to an SNS topic, to read back what was published.
//! - [`route53`]: a hosted zone with weighted canary/stable sets on moto, and a proxy that
//!   throttles (or refuses) the first Route 53 changes.
//! - [`kube`]: the fake API server seeded from a snapshot, and the kube client, the
//!   `KubeCluster` and the kubeconfig file for it; also a fake served from its own runtime
//!   for tests that block on a child process.
//! - [`kubectl`]: kubectl, the reference client, at the path `tests/kubectl.sh` found.
//! - [`ssm`]: the approval links' HMAC key as an SSM SecureString.
//!
//! The one design choice to know: every helper panics on failure (a panic in a test helper
//! is a failed test, with its message), so suites call them without error plumbing. This
//! crate is a dev-dependency only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test helper is a failed test

pub mod approval;
pub mod asg;
pub mod aws;
pub mod kube;
pub mod kubectl;
pub mod moto;
pub mod queue;
pub mod route53;
pub mod ssm;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The path of a file under `events/` (the sample payloads and cluster snapshots).
pub fn event_path(rel: &str) -> PathBuf {
    repo().join("events").join(rel)
}

/// The bytes of a file under `events/`.
pub fn event(rel: &str) -> Vec<u8> {
    let path = event_path(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A name unique within this test run (moto's state and temporary files are shared by
/// every test of a binary, and binaries may run at the same time).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A file in the system's temporary directory, unique to this process, holding `contents`.
pub fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reflex-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}
