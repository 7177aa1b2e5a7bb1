//! remediate: the Lambda function that runs every alert event through reflex's pipeline.
//!
//! Start at [`handle`]: the event's bytes go to [`Pipeline::process`] unchanged (the
//! decoder tells an SNS event, a CloudWatch alarm action and an EventBridge alarm event
//! apart by itself), each audit record is logged as one JSON line, and the records decide
//! the invocation's result. `main.rs` only builds the adapters once and calls [`handle`];
//! what it chooses at cold start lives here: the cluster client's source
//! ([`ClusterSource`], `cluster_source.rs`) and the warning when the policy's longest
//! action outlasts the invocation ([`actions_outlast`], `deadline.rs`); and the notifier that
//! sends each notification with the evidence about its target ([`EvidenceNotifier`],
//! `evidence.rs`). An SNS event whose message is an approval (`{"reflex_approval": ...}`,
//! published by the approval page) is performed as `reflex approve` performs one, after its
//! signature and expiry are checked (`approval.rs`).
//!
//! The one design choice to know is that result ([`HandlerError`]): every decoded alert that
//! got a verdict, whatever the verdict, is a success, because its record is stored and
//! on-call told; a *transient* failure (cluster or AWS API unreachable, record not stored)
//! before anything was changed is an error so that Lambda retries the event, and the
//! pipeline has already withdrawn the claim so the retry may act (a failure after a change
//! is final: `failed`, a success here, never retried); a *rejected* input is an error after
//! its record is stored, so that the event ends in the dead-letter queue where someone
//! looks at it. Nothing is lost silently. Retries of a rejected event add no action and no
//! record: the first attempt's record is claimed by the payload's digest, so the event
//! leaves one record and reaches the dead-letter queue once, after Lambda's last retry.

pub mod approval;
pub mod cluster_source;
pub mod config;
pub mod crash;
pub mod deadline;
pub mod evidence;
pub mod origin;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use reflex_core::alert::Delivery;
use reflex_core::approval::ApprovalLinks;
use reflex_core::audit::AuditRecord;
use reflex_core::cluster::{Actuator, ClusterView, Fleet};
use reflex_core::ledger::{AlarmCheck, Ledger, Notifier};
use reflex_core::pipeline::{Adapters, Admission, Clock, Handled, Ids, Pipeline};
use reflex_core::vocab::verdict::Verdict;
use serde::Serialize;
use serde_json::value::RawValue;

pub use cluster_source::ClusterSource;
pub use config::{Config, ConfigError, PolicySource};
pub use deadline::{Outlast, acting_time, actions_outlast, warn_if_actions_outlast};
pub use evidence::{EvidenceNotifier, GATHER_TIMEOUT};
pub use origin::Origins;

/// What one invocation needs: the configured pipeline and the adapters it runs with.
#[derive(Debug)]
pub struct Deps<'a, C, A, F, L, N = (), R = ()> {
    /// Policy and mode.
    pub pipeline: Pipeline<'a>,
    /// Cluster, fleet, ledger, notifier, alarm re-check.
    pub adapters: Adapters<'a, C, A, F, L, N, R>,
    /// The deliveries acted on: the deployed function's [`Origins`]; `&()` admits every
    /// delivery (a local run).
    pub admission: &'a (dyn Admission + Sync),
    /// The evaluation time; `None` is the wall clock at the start of the invocation.
    pub now: Option<DateTime<Utc>>,
    /// Also write each record's Embedded Metric Format line to stdout (CloudWatch metrics).
    pub emf_metrics: bool,
    /// Signs approval links and checks the approval messages their page publishes; `None`
    /// when no key is configured (an approval message is then refused).
    pub links: Option<Arc<dyn ApprovalLinks>>,
}

/// A successful invocation: what happened to each alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// One entry per audit record, in payload order.
    pub records: Vec<RecordSummary>,
    /// How many records got each verdict.
    pub verdicts: BTreeMap<&'static str, usize>,
}

/// One record, briefly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordSummary {
    /// Record id.
    pub id: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Alert name, when the input decoded.
    pub alert: Option<String>,
    /// `kind target`, when an action was decided.
    pub action: Option<String>,
}

/// Why an invocation failed; [`HandlerError::retryable`] tells Lambda's two outcomes apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Retrying the same event may succeed (an API was unreachable, a record not stored).
    #[error("transient failure, the event will be retried: {}", .failures.join("; "))]
    Transient {
        /// `record id: what failed`, per affected record.
        failures: Vec<String>,
    },
    /// The input (or part of it) could not be decoded; its records are stored, and the
    /// event goes to the dead-letter queue.
    #[error("input rejected, see the dead-letter queue: {}", .rejections.join("; "))]
    Rejected {
        /// `record id: reason`, per rejected item.
        rejections: Vec<String>,
    },
    /// The cluster client could not be built (EKS or kubeconfig); nothing was processed.
    #[error("cluster unavailable, the event will be retried: {0}")]
    ClusterUnavailable(String),
}

impl HandlerError {
    /// Whether a retry of the same event may succeed.
    pub fn retryable(&self) -> bool {
        !matches!(self, HandlerError::Rejected { .. })
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match e {
            HandlerError::Transient { .. } => "Reflex.Transient",
            HandlerError::Rejected { .. } => "Reflex.Rejected",
            HandlerError::ClusterUnavailable(_) => "Reflex.ClusterUnavailable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Handles one Lambda event (the payload kept as the exact bytes that arrived).
pub async fn handle<C, A, F, L, N, R>(
    event: LambdaEvent<Box<RawValue>>,
    deps: &Deps<'_, C, A, F, L, N, R>,
) -> Result<Summary, HandlerError>
where
    C: ClusterView,
    A: Actuator,
    F: Fleet,
    L: Ledger,
    N: Notifier,
    R: AlarmCheck,
{
    handle_bytes(
        event.payload.get().as_bytes(),
        &event.context.request_id,
        deps,
    )
    .await
}

/// Handles one payload; record ids are `<request_id>-<start ms>-0001`, ...: Lambda retries
/// an event under the same request id, and each attempt's records must stay distinct.
pub async fn handle_bytes<C, A, F, L, N, R>(
    payload: &[u8],
    request_id: &str,
    deps: &Deps<'_, C, A, F, L, N, R>,
) -> Result<Summary, HandlerError>
where
    C: ClusterView,
    A: Actuator,
    F: Fleet,
    L: Ledger,
    N: Notifier,
    R: AlarmCheck,
{
    let started = Instant::now();
    let now = deps.now.unwrap_or_else(Utc::now);
    let mut ids = Ids::new(format!("{request_id}-{}", now.timestamp_millis()));
    let links = deps.links.as_deref();
    let policy = deps.pipeline.policy;
    let notifier = approval::Linking::new(deps.adapters.notifier, links, policy.approval.links);
    let adapters = Adapters {
        cluster: deps.adapters.cluster,
        live: deps.adapters.live,
        ledger: deps.adapters.ledger,
        notifier: &notifier,
        alarms: deps.adapters.alarms,
    };
    let handled = match approval::messages(payload) {
        // An approval published by the approval page: performed as `reflex approve` does.
        Some(messages) => {
            let mut handled = Vec::with_capacity(messages.len());
            for message in messages {
                let admitted = deps
                    .admission
                    .admit_topic(message.topic_arn.as_deref())
                    .and(message.approval);
                let one = match admitted {
                    Ok(link) => {
                        let id = ids.issue();
                        deps.pipeline
                            .approve_link(&link, links, now, &adapters, id)
                            .await
                    }
                    Err(reason) => {
                        let record = deps.pipeline.rejected(
                            payload,
                            reason,
                            Delivery::default(),
                            now,
                            &mut ids,
                        );
                        let mut one = Handled::of(record);
                        deps.pipeline.finish(&mut one, &adapters).await;
                        one
                    }
                };
                handled.push(one);
            }
            handled
        }
        None => {
            deps.pipeline
                .process_admitted(
                    payload,
                    deps.admission,
                    &adapters,
                    Clock::Fixed(now),
                    &mut ids,
                )
                .await
        }
    };

    let mut failures = Vec::new();
    let mut rejections = Vec::new();
    let mut summary = Summary {
        records: Vec::with_capacity(handled.len()),
        verdicts: BTreeMap::new(),
    };
    for Handled {
        record, transient, ..
    } in &handled
    {
        log_record(record, transient.as_ref());
        if deps.emf_metrics {
            reflex_aws::metrics::emit(record, Some(started.elapsed()));
        }
        if let Some(e) = transient {
            failures.push(format!("{}: {e}", record.id));
        }
        if record.verdict == Verdict::Rejected {
            rejections.push(format!("{}: {}", record.id, record.reason));
        }
        *summary.verdicts.entry(record.verdict.as_str()).or_default() += 1;
        summary.records.push(RecordSummary {
            id: record.id.clone(),
            verdict: record.verdict,
            alert: record.alert.name.clone(),
            action: record
                .action
                .as_ref()
                .map(|a| format!("{} {}", a.kind.as_str(), a.target)),
        });
    }
    // A retry helps a transient failure; it cannot help a rejection, which waits in the
    // dead-letter queue once the retries are spent.
    if !failures.is_empty() {
        return Err(HandlerError::Transient { failures });
    }
    if !rejections.is_empty() {
        return Err(HandlerError::Rejected { rejections });
    }
    Ok(summary)
}

/// One JSON log line per audit record: the fields people filter on, and the whole record.
/// Records carry alert labels and API calls, never credentials.
fn log_record(record: &AuditRecord, transient: Option<&reflex_core::pipeline::Transient>) {
    let action = record.action.as_ref();
    let transient = transient.map(ToString::to_string);
    tracing::info!(
        target: "reflex::audit",
        id = %record.id,
        verdict = record.verdict.as_str(),
        mode = record.mode.as_str(),
        source = %record.source,
        alert = record.alert.name.as_deref(),
        fingerprint = record.alert.fingerprint.as_deref(),
        class = record.class.map(|c| c.as_str()),
        rule = record.rule.as_deref(),
        action = action.map(|a| a.kind.as_str()),
        target = action.map(|a| a.target.to_string()),
        reason = %record.reason,
        transient,
        record = %record.to_json_line(),
        "audit record"
    );
}
