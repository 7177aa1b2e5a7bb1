//! The notifier the function uses: SNS, with the evidence about each action's target.
//!
//! [`EvidenceNotifier`] reads the evidence ([`reflex_core::evidence::gather`]) just before
//! the action, while the target is still as it failed (a restart deletes the pod and its
//! previous logs with it, a drain moves the node's pods), and publishes it with the
//! notification; a notification without an action performed (a suppressed one) reads it
//! then. Gathering is bounded by [`GATHER_TIMEOUT`] and never fails: past the limit the
//! notification says the evidence is unavailable, and the action goes ahead.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use reflex_aws::SnsNotifier;
use reflex_core::AuditRecord;
use reflex_core::evidence::{Evidence, EvidenceSource, gather};
use reflex_core::ledger::{LedgerError, Notifier};
use reflex_core::vocab::op::Op;
use reflex_core::vocab::target::TargetRef;

/// The longest evidence gathering may hold an action back.
pub const GATHER_TIMEOUT: Duration = Duration::from_secs(5);

/// SNS notifications with the evidence read from `source`.
#[derive(Debug)]
pub struct EvidenceNotifier<'a, S> {
    source: &'a S,
    sns: &'a SnsNotifier,
    /// Evidence read before an action, by target, until its notification goes out.
    pending: Mutex<Option<(TargetRef, Evidence)>>,
}

impl<'a, S: EvidenceSource> EvidenceNotifier<'a, S> {
    /// Notifications through `sns`, with evidence read from `source`.
    pub fn new(source: &'a S, sns: &'a SnsNotifier) -> Self {
        EvidenceNotifier {
            source,
            sns,
            pending: Mutex::new(None),
        }
    }

    /// The evidence about `record`'s target, under [`GATHER_TIMEOUT`].
    async fn read(&self, record: &AuditRecord, ops: &[Op]) -> Evidence {
        let Some(action) = &record.action else {
            return Evidence::default();
        };
        let labels = &record.alert.labels;
        let alert_pod = match (labels.get("namespace"), labels.get("pod")) {
            (Some(ns), Some(pod)) => Some((ns.as_str(), pod.as_str())),
            _ => None,
        };
        let gathering = gather(self.source, &action.target, ops, alert_pod);
        match tokio::time::timeout(GATHER_TIMEOUT, gathering).await {
            Ok(evidence) => evidence,
            Err(_) => Evidence::unavailable(format!(
                "evidence unavailable: not read within {}s",
                GATHER_TIMEOUT.as_secs()
            )),
        }
    }

    fn take_pending(&self, target: Option<&TargetRef>) -> Option<Evidence> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match (pending.take(), target) {
            (Some((t, evidence)), Some(target)) if &t == target => Some(evidence),
            _ => None,
        }
    }
}

impl<S: EvidenceSource> Notifier for EvidenceNotifier<'_, S> {
    async fn notify(&self, record: &AuditRecord) -> Result<(), LedgerError> {
        let target = record.action.as_ref().map(|a| &a.target);
        let evidence = match self.take_pending(target) {
            Some(evidence) => evidence,
            None => self.read(record, &[]).await,
        };
        self.sns.publish(record, &evidence).await
    }

    async fn before_action(&self, record: &AuditRecord, ops: &[Op]) {
        let Some(action) = &record.action else { return };
        let evidence = self.read(record, ops).await;
        *self.pending.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((action.target.clone(), evidence));
    }
}
