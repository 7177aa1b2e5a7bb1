//! The `remediate` Lambda function: configuration checked and AWS clients built once at
//! cold start, then every event handed to [`reflex_remediate::handle`] with the live
//! adapters (kube-rs for the cluster, Auto Scaling, DynamoDB, SNS, CloudWatch).

use std::path::Path;
use std::sync::Once;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use reflex_aws::{AsgFleet, Aws, CloudWatchAlarms, DynamoLedger, EksAuth, SnsNotifier};
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_core::policy::Policy;
use reflex_kube::KubeCluster;
use reflex_remediate::{Config, Deps, HandlerError, handle};
use serde_json::value::RawValue;

/// Where each invocation gets its cluster client from.
enum ClusterSource {
    /// EKS authentication; one cached client that re-signs its token per request before
    /// it expires (and once after a 401), so a long action keeps its credentials.
    Eks(EksAuth),
    /// A kubeconfig file (`REFLEX_KUBECONFIG`), read once.
    Kubeconfig(kube::Client),
}

impl ClusterSource {
    /// A cluster adapter for one invocation (its per-plan memo starts empty).
    async fn cluster(&self) -> Result<KubeCluster, HandlerError> {
        match self {
            ClusterSource::Eks(auth) => auth
                .client()
                .await
                .map(KubeCluster::new)
                .map_err(|e| HandlerError::ClusterUnavailable(e.to_string())),
            ClusterSource::Kubeconfig(client) => Ok(KubeCluster::new(client.clone())),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_current_span(false)
        .init();

    reflex_kube::install_crypto_provider();
    // Everything that can be wrong with the deployment fails here, before the first event.
    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let aws = Aws::connect(config.aws.clone())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "AWS session refused"))?;
    let source = match &config.kubeconfig {
        Some(path) => ClusterSource::Kubeconfig(kubeconfig_client(path).await?),
        None => ClusterSource::Eks(EksAuth::new(&aws)),
    };
    let fleet = AsgFleet::new(&aws);
    let ledger = DynamoLedger::new(&aws);
    let notifier = SnsNotifier::new(&aws);
    let alarms = CloudWatchAlarms::new(&aws);
    tracing::info!(
        mode = config.mode.as_str(),
        policy = ?config.policy_source,
        cluster = %config.aws.cluster_name,
        "remediate ready"
    );

    let warn_once = Once::new();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| {
        let (config, source, fleet, ledger, notifier, alarms) =
            (&config, &source, &fleet, &ledger, &notifier, &alarms);
        let warn_once = &warn_once;
        async move {
            warn_once.call_once(|| warn_if_actions_outlast(&config.policy, event.context.deadline));
            let cluster = source
                .cluster()
                .await
                .inspect_err(|e| tracing::error!(error = %e))?;
            let deps = Deps {
                pipeline: Pipeline {
                    policy: &config.policy,
                    mode: config.mode,
                },
                adapters: Adapters {
                    cluster: Some(&cluster),
                    live: Some((&cluster, fleet)),
                    ledger,
                    notifier,
                    alarms,
                },
                now: None,
                emf_metrics: true,
            };
            handle(event, &deps)
                .await
                .inspect_err(|e| tracing::error!(error = %e, retryable = e.retryable()))
        }
    }))
    .await
}

async fn kubeconfig_client(path: &Path) -> Result<kube::Client, reflex_kube::KubeError> {
    let cluster = KubeCluster::from_kubeconfig(path, None).await.inspect_err(
        |e| tracing::error!(error = %e, path = %path.display(), "kubeconfig refused"),
    )?;
    Ok(cluster.client().clone())
}

/// A drain plus its verification may take longer than the invocation may run; Lambda would
/// then cut an action off half-way. Said once, at the first invocation.
fn warn_if_actions_outlast(policy: &Policy, deadline_ms: u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let remaining = Duration::from_millis(deadline_ms).saturating_sub(now);
    if remaining.is_zero() {
        return; // no deadline given (a local runtime emulator)
    }
    let t = &policy.guardrails.timeouts;
    let longest = (t.drain.to_chrono() + t.verify.to_chrono())
        .to_std()
        .unwrap_or_default();
    if longest > remaining {
        tracing::warn!(
            longest_action_s = longest.as_secs(),
            invocation_s = remaining.as_secs(),
            "the policy's drain and verify timeouts exceed the function timeout: lower them or raise the timeout"
        );
    }
}
