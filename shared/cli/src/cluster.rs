//! Which cluster a replay reads and acts on: none, a snapshot file, or a live cluster
//! through a kubeconfig.

use reflex_kube::KubeCluster;
use reflex_snapshot::Snapshot;

/// The cluster a replay reads and acts on.
#[derive(Debug)]
pub enum Cluster {
    /// None: plans come from the alert alone.
    Unknown,
    /// A snapshot file; with --execute, plans are simulated on an in-memory copy.
    Snapshot(Snapshot),
    /// A live cluster through a kubeconfig; dry runs are sent with `dryRun=All`.
    Live(KubeCluster),
}
