//! `--kubeconfig FILE [--context NAME]`: replay against a live cluster.
//!
//! Reads go to the API server; plans are sent with server-side `dryRun=All` unless
//! `--execute`. Instances are terminated through the same Auto Scaling adapter the
//! `remediate` function uses, when the environment names the cluster ([`LiveFleet`]), and
//! Route 53 weights are read through the function's Route 53 adapter when the policy shifts
//! traffic and the environment names a region ([`LiveTraffic`]; any cluster source, none
//! included).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use reflex_aws::{AsgFleet, Aws, AwsConfig, Route53Traffic};
use reflex_core::cluster::{ClusterError, Fleet, Submit};
use reflex_core::policy::Policy;
use reflex_core::traffic::Traffic;
use reflex_core::vocab::record::{Upsert, WeightedSet};
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

/// Route 53 for a replay whose policy shifts traffic (`shift_traffic` rules): the
/// function's own [`Route53Traffic`] when the environment names a region (with credentials,
/// and `AWS_ENDPOINT_URL` where set), so a dry run reads the weights and shows the exact
/// change batch; else none, and the plan says what it did not read.
#[derive(Debug)]
pub enum LiveTraffic {
    /// Weighted record sets read (and, with `--execute`, changed) through Route 53.
    Route53(Route53Traffic),
    /// No Route 53 in this run.
    None,
}

impl LiveTraffic {
    /// Route 53 when `policy` has a `shift_traffic` rule and `var` names a region.
    pub fn from_env(
        runtime: &tokio::runtime::Runtime,
        var: impl Fn(&str) -> Option<String>,
        policy: &Policy,
    ) -> anyhow::Result<LiveTraffic> {
        let shifts = policy.rules.iter().any(|r| r.traffic.is_some());
        let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .any(|v| var(v).is_some_and(|v| !v.trim().is_empty()));
        if !shifts || !region {
            return Ok(LiveTraffic::None);
        }
        let why = "cannot read Route 53 for the policy's shift_traffic rules (unset AWS_REGION to plan without reading it)";
        let config = AwsConfig::for_cli(var, None, false).context(why)?;
        let aws = runtime.block_on(Aws::connect(config)).context(why)?;
        Ok(LiveTraffic::Route53(Route53Traffic::new(&aws)))
    }
}

impl Traffic for LiveTraffic {
    async fn weighted_sets(
        &self,
        zone: &str,
        name: &str,
    ) -> Result<Vec<WeightedSet>, ClusterError> {
        match self {
            LiveTraffic::Route53(r) => r.weighted_sets(zone, name).await,
            LiveTraffic::None => ().weighted_sets(zone, name).await,
        }
    }

    async fn change(
        &self,
        zone: &str,
        upserts: &[Upsert],
        comment: &str,
        submit: Submit,
    ) -> Result<String, ClusterError> {
        match self {
            LiveTraffic::Route53(r) => r.change(zone, upserts, comment, submit).await,
            LiveTraffic::None => ().change(zone, upserts, comment, submit).await,
        }
    }

    async fn wait_in_sync(
        &self,
        change_id: &str,
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        match self {
            LiveTraffic::Route53(r) => r.wait_in_sync(change_id, timeout).await,
            LiveTraffic::None => ().wait_in_sync(change_id, timeout).await,
        }
    }
}
