//! The audit record: exactly one per alert, on every path (ARCHITECTURE section 6).
//!
//! The key names and verdict names are a contract relied on by users' queries and tooling;
//! the serde attributes below are that contract, and `tests` pin it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, Labels, Source};
use crate::approval::Pending;
use crate::vocab::action::{ActionKind, FailureClass};
use crate::vocab::op::Op;
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::{Mode, StepRecord, StepResult, Verdict};

/// `alert` in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSummary {
    /// Alert or alarm name; null when the input could not be decoded.
    pub name: Option<String>,
    /// `firing`, `resolved`, `insufficient_data`; null when undecodable.
    pub status: Option<String>,
    /// Alert-instance fingerprint; for undecodable input a digest of the bytes.
    pub fingerprint: Option<String>,
    /// Labels.
    pub labels: Labels,
    /// When the alert started; absent when the alert does not say.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub starts_at: Option<String>,
}

/// `action` in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSummary {
    /// Action kind.
    pub kind: ActionKind,
    /// The object acted on.
    pub target: TargetRef,
}

/// One audit record (contract keys first; extra keys after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unique record id.
    pub id: String,
    /// When the record was made (RFC 3339, UTC).
    pub time: String,
    /// `cloudwatch`, `alertmanager`, `grafana`, or `unknown` for undecodable input.
    pub source: String,
    /// The alert.
    pub alert: AlertSummary,
    /// Failure class, when a rule matched.
    pub class: Option<FailureClass>,
    /// Matching rule name.
    pub rule: Option<String>,
    /// The action and its target, when one was decided.
    pub action: Option<ActionSummary>,
    /// `dry-run` or `enforce`.
    pub mode: Mode,
    /// What happened.
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub reason: String,
    /// API calls planned or made.
    pub steps: Vec<StepRecord>,
    /// The alert-instance key used for exactly-once (source, fingerprint, start).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instance: Option<String>,
    /// Input shape and delivery ids.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub delivery: Option<crate::alert::Delivery>,
    /// Guardrail facts worth keeping (what was not checked without a cluster, PDB notes).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
    /// A shadow rule's record: its rule says `mode: dry-run` while reflex enforces, so the
    /// plan was only recorded (and sent with `dryRun=All`). It does not count against the
    /// cooldown or budget of the actions reflex really takes.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub shadow: bool,
    /// The workload the action was for (a pod's controller), when the rule has an
    /// escalation ladder: how the rule's next alert on the same workload finds this action.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub workload: Option<TargetRef>,
    /// An `awaiting_approval` record's approval: the alert to plan again, the expiry, the
    /// command that approves it and the objects its plan names.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub approval: Option<Pending>,
    /// The `awaiting_approval` record this record is the approval of (every approval's
    /// outcome, refused ones included).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub approves: Option<String>,
    /// Who approved: an AWS caller ARN, a kubeconfig user, or what the approval link's page
    /// saw.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub approver: Option<String>,
}

pub use crate::time_format::rfc3339;

impl AlertSummary {
    /// The summary of a decoded alert.
    pub fn of(alert: &Alert) -> Self {
        AlertSummary {
            name: Some(alert.name.clone()),
            status: Some(alert.status.as_str().to_owned()),
            fingerprint: Some(alert.fingerprint.clone()),
            labels: alert.labels.clone(),
            starts_at: alert.starts_at.map(rfc3339),
        }
    }
}

impl AuditRecord {
    /// The skeleton of a record for `alert`; the pipeline fills in the decision.
    pub fn for_alert(id: String, time: DateTime<Utc>, mode: Mode, alert: &Alert) -> Self {
        AuditRecord {
            id,
            time: rfc3339(time),
            source: alert.source.as_str().to_owned(),
            alert: AlertSummary::of(alert),
            class: None,
            rule: None,
            action: None,
            mode,
            verdict: Verdict::NoMatch,
            reason: String::new(),
            steps: Vec::new(),
            instance: Some(alert.instance_key()),
            delivery: Some(alert.delivery.clone()),
            notes: alert.notes.clone(),
            shadow: false,
            workload: None,
            approval: None,
            approves: None,
            approver: None,
        }
    }

    /// A `rejected` record for input that could not be decoded.
    pub fn rejected(
        id: String,
        time: DateTime<Utc>,
        mode: Mode,
        source: Option<Source>,
        digest: String,
        reason: String,
        delivery: crate::alert::Delivery,
    ) -> Self {
        AuditRecord {
            id,
            time: rfc3339(time),
            source: source.map_or("unknown", Source::as_str).to_owned(),
            alert: AlertSummary {
                name: None,
                status: None,
                fingerprint: Some(digest),
                labels: Labels::new(),
                starts_at: None,
            },
            class: None,
            rule: None,
            action: None,
            mode,
            verdict: Verdict::Rejected,
            reason,
            steps: Vec::new(),
            instance: None,
            delivery: Some(delivery),
            notes: Vec::new(),
            shadow: false,
            workload: None,
            approval: None,
            approves: None,
            approver: None,
        }
    }

    /// Whether this record changed the cluster: a mutating step (delete, patch, cordon,
    /// eviction, termination) was sent for real and succeeded. A record that changed
    /// something is final (never retried) and keeps what it took of the limits.
    pub fn changed_cluster(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.result == StepResult::Ok && Op::is_mutation_name(&s.op))
    }

    /// The record as one JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serializing these plain structs cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_carries_every_contract_key() {
        let record = AuditRecord::rejected(
            "r1".into(),
            DateTime::UNIX_EPOCH,
            Mode::DryRun,
            None,
            "abc".into(),
            "not JSON".into(),
            crate::alert::Delivery::default(),
        );
        let value: serde_json::Value = serde_json::from_str(&record.to_json_line()).expect("json");
        for key in [
            "id", "time", "source", "alert", "class", "rule", "action", "mode", "verdict",
            "reason", "steps",
        ] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        for key in ["name", "status", "fingerprint", "labels"] {
            assert!(value["alert"].get(key).is_some(), "missing alert.{key}");
        }
        assert_eq!(value["verdict"], "rejected");
        assert_eq!(value["mode"], "dry-run");
        assert_eq!(value["time"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn verdicts_use_contract_names() {
        let names: Vec<String> = [
            Verdict::Executed,
            Verdict::Planned,
            Verdict::Suppressed,
            Verdict::NoMatch,
            Verdict::Ignored,
            Verdict::Rejected,
            Verdict::Failed,
            Verdict::AwaitingApproval,
        ]
        .iter()
        .map(|v| {
            serde_json::to_value(v)
                .expect("json")
                .as_str()
                .expect("str")
                .to_owned()
        })
        .collect();
        assert_eq!(
            names,
            [
                "executed",
                "planned",
                "suppressed",
                "no_match",
                "ignored",
                "rejected",
                "failed",
                "awaiting_approval"
            ]
        );
    }
}
