//! The `remediate` Lambda function: configuration checked and the clients built once at
//! cold start, then every event handed to [`reflex_remediate::handle`] with the live
//! adapters (kube-rs for the cluster, Auto Scaling, DynamoDB, SNS, CloudWatch).

use std::sync::{Arc, Once};
use std::time::SystemTime;

use lambda_runtime::{LambdaEvent, service_fn};
use reflex_aws::{AsgFleet, Aws, CloudWatchAlarms, DynamoLedger, Route53Traffic, SnsNotifier};
use reflex_core::approval::ApprovalLinks;
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_remediate::{
    ClusterSource, Config, Deps, EvidenceNotifier, acting_time, handle, warn_if_actions_outlast,
};
use serde_json::value::RawValue;

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
    let source = ClusterSource::choose(config.kubeconfig.as_deref(), &aws)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "kubeconfig refused"))?;
    let fleet = AsgFleet::new(&aws);
    let ledger = DynamoLedger::new(&aws);
    // Test builds only: stop at the crash point `REFLEX_CRASH_AT` names.
    #[cfg(feature = "crash-points")]
    let ledger = reflex_remediate::crash::CrashAt::from_env(&ledger)
        .inspect_err(|e| tracing::error!(error = %e, "bad crash point"))?;
    let notifier = SnsNotifier::new(&aws);
    let alarms = CloudWatchAlarms::new(&aws);
    let traffic = Route53Traffic::new(&aws);
    // With links on, a key that cannot be read (or is too short) fails the cold start.
    let links: Option<Arc<dyn ApprovalLinks>> = match &config.links {
        None => None,
        Some(links) => {
            Some(Arc::new(links.load(aws.sdk_config()).await.inspect_err(
                |e| tracing::error!(error = %e, "approval links refused"),
            )?))
        }
    };
    tracing::info!(
        mode = config.mode.as_str(),
        policy = ?config.policy_source,
        approval_links = links.is_some(),
        cluster = %config.aws.cluster_name,
        "remediate ready"
    );

    let warn_once = Once::new();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| {
        let (config, source, fleet, ledger, notifier, alarms, traffic) = (
            &config, &source, &fleet, &ledger, &notifier, &alarms, &traffic,
        );
        let warn_once = &warn_once;
        let links = &links;
        async move {
            warn_once.call_once(|| {
                warn_if_actions_outlast(&config.policy.guardrails.timeouts, event.context.deadline)
            });
            let cluster = source
                .cluster()
                .await
                .inspect_err(|e| tracing::error!(error = %e))?
                .with_time_limit(acting_time(event.context.deadline, SystemTime::now()));
            let notifier = EvidenceNotifier::new(&cluster, notifier);
            let deps = Deps {
                pipeline: Pipeline {
                    policy: &config.policy,
                    mode: config.mode,
                },
                adapters: Adapters {
                    cluster: Some(&cluster),
                    live: Some((&cluster, fleet)),
                    ledger,
                    notifier: &notifier,
                    alarms,
                    traffic,
                },
                admission: &config.origins,
                now: None,
                emf_metrics: true,
                links: links.clone(),
            };
            handle(event, &deps)
                .await
                .inspect_err(|e| tracing::error!(error = %e, retryable = e.retryable()))
        }
    }))
    .await
}
