//! `--kubeconfig FILE [--context NAME]`: replay against a live cluster.
//!
//! Reads go to the API server; plans are sent with server-side `dryRun=All` unless
//! `--execute`. Instance termination needs the AWS adapter, which the CLI does not wire in
//! yet: [`NoFleet`] says what a node replacement would terminate in a dry run and refuses
//! it when executing, after the node was cordoned and drained (the safe state).

use std::path::Path;

use anyhow::Context;
use reflex_core::cluster::{ClusterError, Fleet, Submit};
use reflex_kube::KubeCluster;

/// Builds the live cluster from a kubeconfig, before any event is read, so that a bad
/// kubeconfig or unknown context is a usage error (exit 2), not a record.
pub fn connect(
    runtime: &tokio::runtime::Runtime,
    kubeconfig: &Path,
    context: Option<&str>,
) -> anyhow::Result<KubeCluster> {
    runtime
        .block_on(KubeCluster::from_kubeconfig(kubeconfig, context))
        .with_context(|| match context {
            Some(c) => format!("cannot use context {c:?} of {}", kubeconfig.display()),
            None => format!("cannot use kubeconfig {}", kubeconfig.display()),
        })
}

/// The fleet of a live replay without the AWS adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFleet;

impl Fleet for NoFleet {
    async fn terminate(&self, instance_id: &str, submit: Submit) -> Result<String, ClusterError> {
        match submit {
            Submit::DryRun => Ok(format!(
                "would terminate instance {instance_id} in its Auto Scaling group (not sent: the CLI has no AWS adapter)"
            )),
            Submit::Apply => Err(ClusterError::Unsupported(format!(
                "instance termination needs the AWS adapter, which the CLI does not include: instance {instance_id} was not terminated (its node stays cordoned and drained)"
            ))),
        }
    }
}
