//! `--kubeconfig FILE [--context NAME]`: replay against a live cluster.
//!
//! Reads go to the API server; plans are sent with server-side `dryRun=All` unless
//! `--execute`. Instances are terminated through the same Auto Scaling adapter the
//! `remediate` function uses, when the environment names the cluster ([`LiveFleet`]).

use std::path::Path;

use anyhow::Context;
use reflex_aws::{AsgFleet, Aws, AwsConfig};
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

/// The fleet of a live replay: the function's own [`AsgFleet`] when the environment names
/// the cluster (`REFLEX_CLUSTER_NAME`, with the AWS region and credentials), else none.
#[derive(Debug)]
pub enum LiveFleet {
    /// Instances are terminated in (dry run: checked against) the cluster's Auto Scaling
    /// groups, exactly as the `remediate` function does.
    Asg(AsgFleet),
    /// No AWS settings: a dry run says which instance would go; `--execute` refuses the
    /// termination, which the executor asks before the cordon, so the node is left alone.
    None {
        /// Whether the replay executes.
        executing: bool,
    },
}

impl LiveFleet {
    /// The fleet the environment read through `var` allows: AWS when it names the cluster.
    pub fn from_env(
        runtime: &tokio::runtime::Runtime,
        var: impl Fn(&str) -> Option<String>,
        executing: bool,
    ) -> anyhow::Result<LiveFleet> {
        if var(CLUSTER_VAR).is_none_or(|v| v.is_empty()) {
            return Ok(LiveFleet::None { executing });
        }
        let config = AwsConfig::for_cli(var, None, true)
            .context("cannot terminate instances through Auto Scaling")?;
        let aws = runtime
            .block_on(Aws::connect(config))
            .context("cannot terminate instances through Auto Scaling")?;
        Ok(LiveFleet::Asg(AsgFleet::new(&aws)))
    }
}

/// Names the cluster whose Auto Scaling groups may lose an instance.
const CLUSTER_VAR: &str = "REFLEX_CLUSTER_NAME";

impl Fleet for LiveFleet {
    async fn terminate(&self, instance_id: &str, submit: Submit) -> Result<String, ClusterError> {
        match (self, submit) {
            (LiveFleet::Asg(fleet), _) => fleet.terminate(instance_id, submit).await,
            (LiveFleet::None { executing: false }, Submit::DryRun) => Ok(format!(
                "would terminate instance {instance_id} in its Auto Scaling group (not checked: set {CLUSTER_VAR} and AWS_REGION to ask Auto Scaling)"
            )),
            (LiveFleet::None { .. }, _) => Err(ClusterError::Unsupported(format!(
                "terminating instance {instance_id} needs AWS settings: set {CLUSTER_VAR} (and AWS_REGION, with credentials allowed to terminate in the cluster's Auto Scaling groups)"
            ))),
        }
    }
}
