//! Shared fixture and client set-up.

use std::time::Duration;

use reflex_fake_kube::FakeKube;

/// Two nodes; `production/vote` (2 replicas, ReplicaSet revisions 1 and 2) with its pods and
/// a PDB allowing one disruption; a bare pod; a `monitoring/node-exporter` DaemonSet pod per
/// node; the claim `monitoring/metrics-data`, bound to the local PersistentVolume
/// `local-pv-2b6e1f0c` on the second node.
pub const SNAPSHOT: &[u8] = include_bytes!("../data/cluster.json");

pub const NODE_1: &str = "ip-10-0-1-10.eu-west-1.compute.internal";
pub const NODE_2: &str = "ip-10-0-2-20.eu-west-1.compute.internal";
pub const VOTE_POD_1: &str = "vote-7d9f8b6c5d-x2k9p";
pub const VOTE_POD_2: &str = "vote-7d9f8b6c5d-q7w4z";
pub const EXPORTER_POD_1: &str = "node-exporter-8xk2v";

pub async fn start() -> FakeKube {
    reflex_test_support::kube::start(SNAPSHOT).await
}

/// Clients for the fake, with kube's default retry layer switched off: kube 5 installs a
/// `RetryLayer` by default (`Config::default_retry`, true in every constructor) that
/// retries 429, 503 and 504 answers up to 15 times with exponential backoff from 5 ms up to
/// 1000 s, honouring `Retry-After`. An eviction refused by a PodDisruptionBudget is a 429,
/// so with the default the client would sit in that loop instead of returning.
/// `client_for` is the same for a server known only by its URL (one in another process);
/// `build` takes a config as given.
pub use reflex_test_support::kube::{build, client, client_for};

/// Polls `check` every 20 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The HTTP status of a kube API error.
pub fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
