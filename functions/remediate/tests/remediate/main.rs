//! The remediate handler with real reflex adapters: a cluster snapshot and an in-memory
//! ledger (what `reflex replay` uses), and the live kube adapter pointed at a port nobody
//! listens on for the transient case. Events come from the project's events/ catalog.
//!
//! - `outcomes`: handled → Ok (any verdict, every input shape); a duplicate delivery acts
//!   once; rejected → Err after the record is stored; cluster unreachable → retryable Err
//!   and the redelivery acts.
//! - `lambda`: the payload reaches the pipeline byte for byte; error types Lambda records.
//! - `origins`: only the alerts topic and the account's own alarm events are acted on; a
//!   foreign topic, a raw Alertmanager body, another account's alarm: rejected.
//! - `recheck`: the CloudWatch re-check against moto: confirmed → acted on; missing or
//!   other dimensions → rejected; back in OK → ignored.
//! - `cluster_source`: a kubeconfig when configured, EKS otherwise; which failures fail the
//!   cold start and which are retried.
//! - `after_a_change`: a verify timeout after the pod was deleted is final (fake API
//!   server): `failed`, not retried, the claim kept.
//! - `limits`: the budget counter and the node-replacement slot, held by an invocation still
//!   acting, refuse the next action with the figures.
//! - `crash`: a kill at each step of each action (a crash point of the intent log), then
//!   the same event: deferred while the first may be at work, then taken over; no step
//!   twice, one record, on-call told once (memory ledger and DynamoDB on moto).
//! - `approval`: an `awaiting_approval` record, its notification with the signed link, and
//!   the approval message performed once (two at once on the table: one action); tampered,
//!   expired, used or unsigned: rejected.
//! - `pause`: a pause in the table (moto) suppresses every concurrent invocation's alert
//!   and tells on-call once; resume lets the next act; a stale SNS delivery does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod after_a_change;
mod approval;
mod cluster_source;
mod crash;
mod escalation;
mod lambda;
mod limits;
mod notify;
mod origins;
mod outcomes;
mod pause;
mod recheck;

use chrono::{DateTime, Utc};
use lambda_runtime::{Context, LambdaEvent};
use reflex_core::ledger::MemoryLedger;
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::Mode;
use reflex_remediate::Deps;
use reflex_snapshot::Snapshot;
use serde_json::value::RawValue;

pub use reflex_test_support::event;

/// Counts the notifications sent, by record verdict.
#[derive(Debug, Default)]
pub struct Pager {
    /// How many were sent.
    pub sent: std::sync::atomic::AtomicUsize,
    /// Their records' reasons, in order.
    pub reasons: std::sync::Mutex<Vec<String>>,
}

impl reflex_core::ledger::Notifier for Pager {
    async fn notify(
        &self,
        record: &reflex_core::audit::AuditRecord,
    ) -> Result<(), reflex_core::ledger::LedgerError> {
        self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.reasons.lock().unwrap().push(record.reason.clone());
        Ok(())
    }
}

/// The live kube adapter on `fake`, with test timings.
pub fn kube_on(fake: &reflex_fake_kube::FakeKube) -> reflex_kube::KubeCluster {
    kube_waiting(fake, std::time::Duration::from_secs(2))
}

/// [`kube_on`], waiting up to `request_timeout` for each answer.
pub fn kube_waiting(
    fake: &reflex_fake_kube::FakeKube,
    request_timeout: std::time::Duration,
) -> reflex_kube::KubeCluster {
    use std::time::Duration;
    reflex_kube::install_crypto_provider();
    reflex_kube::KubeCluster::from_config(kube::Config::new(fake.url().parse().unwrap()))
        .unwrap()
        .with_settings(reflex_kube::Settings {
            request_timeout,
            poll_interval: Duration::from_millis(25),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(50),
            transient_retries: 1,
            ..reflex_kube::Settings::default()
        })
}

/// The voting app's production cluster, as a snapshot.
pub fn voting_app() -> Snapshot {
    Snapshot::from_json(&reflex_test_support::kube::voting_app()).unwrap()
}

/// A minute after the catalog's alerts start.
pub fn now() -> DateTime<Utc> {
    "2026-11-20T09:31:00Z".parse().unwrap()
}

/// Dependencies at the catalog's [`now`]: `mode`, reading `cluster`, acting through `live`,
/// admitting every delivery (as a local run does; `origins` tests the deployed check).
pub fn deps<'a, C, A, F>(
    policy: &'a Policy,
    mode: Mode,
    cluster: &'a C,
    live: Option<(&'a A, &'a F)>,
    ledger: &'a MemoryLedger,
) -> Deps<'a, C, A, F, MemoryLedger> {
    Deps {
        pipeline: Pipeline { policy, mode },
        adapters: Adapters {
            cluster: Some(cluster),
            live,
            ledger,
            notifier: &(),
            alarms: &(),
        },
        admission: &(),
        now: Some(now()),
        emf_metrics: false,
        links: None,
    }
}

/// Dry-run dependencies over `cluster` and `ledger`, planning only (no live actuator).
pub fn dry_run<'a>(
    policy: &'a Policy,
    cluster: &'a Snapshot,
    ledger: &'a MemoryLedger,
) -> Deps<'a, Snapshot, Snapshot, Snapshot, MemoryLedger> {
    deps(policy, Mode::DryRun, cluster, None, ledger)
}

/// A Lambda event as the runtime builds it: `bytes` as the payload, `request_id` in the
/// context.
pub fn lambda_event(bytes: &[u8], request_id: &str) -> LambdaEvent<Box<RawValue>> {
    let mut context = Context::default();
    context.request_id = request_id.into();
    let payload = RawValue::from_string(String::from_utf8(bytes.to_vec()).unwrap()).unwrap();
    LambdaEvent::new(payload, context)
}
