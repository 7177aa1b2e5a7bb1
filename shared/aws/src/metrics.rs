//! reflex's own CloudWatch metrics, as Embedded Metric Format (EMF) log lines.
//!
//! The decision to know: EMF, not PutMetricData. In Lambda, a JSON line on stdout carrying
//! an `_aws` block becomes a metric when CloudWatch Logs ingests it: no API call, no added
//! latency, no network failure that could delay or fail an invocation that already acted,
//! no IAM permission beyond writing logs, and the line doubles as a readable log entry.
//! PutMetricData would be one more network call per alert, one more thing to retry, and
//! would lose the metric whenever CloudWatch is unreachable (exactly when things are bad).
//!
//! Metrics, in namespace [`NAMESPACE`]: `Alerts` (count, dimensions `Action` and `Verdict`,
//! and `Verdict` alone) and `ActionLatency` (milliseconds, for records with an action that
//! reached execution). `Action` is the action kind, or `none` when no action was decided.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reflex_core::AuditRecord;
use serde_json::{Value, json};

/// The CloudWatch namespace of reflex's metrics.
pub const NAMESPACE: &str = "Reflex";

/// The EMF line for one record. `latency` is how long handling the alert took; it is
/// reported for records whose action was performed or attempted.
pub fn emf_line(record: &AuditRecord, latency: Option<Duration>, at: DateTime<Utc>) -> String {
    let action = record.action.as_ref().map_or("none", |a| a.kind.as_str());
    let mut metrics = vec![json!({"Name": "Alerts", "Unit": "Count"})];
    let mut line = json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Action", "Verdict"], ["Verdict"]],
                "Metrics": Value::Null,
            }],
        },
        "Action": action,
        "Verdict": record.verdict.as_str(),
        "Alerts": 1,
        "RecordId": record.id,
    });
    let acted = record.action.is_some() && !record.steps.is_empty();
    if let (Some(latency), true) = (latency, acted) {
        metrics.push(json!({"Name": "ActionLatency", "Unit": "Milliseconds"}));
        line["ActionLatency"] = json!(latency.as_secs_f64() * 1000.0);
    }
    line["_aws"]["CloudWatchMetrics"][0]["Metrics"] = Value::Array(metrics);
    line.to_string()
}

/// Writes the record's EMF line to stdout, where the Lambda runtime hands it to CloudWatch
/// Logs. A failed write loses a metric, never the alert.
pub fn emit(record: &AuditRecord, latency: Option<Duration>) {
    let line = emf_line(record, latency, Utc::now());
    let mut out = std::io::stdout().lock();
    // Ignored on purpose: stdout gone means the runtime is going away; the audit record is
    // stored elsewhere.
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use reflex_core::audit::ActionSummary;
    use reflex_core::vocab::action::ActionKind;
    use reflex_core::vocab::target::{TargetKind, TargetRef};
    use reflex_core::vocab::verdict::{StepRecord, StepResult};
    use reflex_core::{Mode, Verdict};

    use super::*;

    fn record(verdict: Verdict, acted: bool) -> AuditRecord {
        let mut r = AuditRecord::rejected(
            "r-1".into(),
            DateTime::UNIX_EPOCH,
            Mode::Enforce,
            None,
            "d".into(),
            "x".into(),
            reflex_core::alert::Delivery::default(),
        );
        r.verdict = verdict;
        if acted {
            r.action = Some(ActionSummary {
                kind: ActionKind::RestartPod,
                target: TargetRef::namespaced(TargetKind::Pod, "production", "vote-1"),
            });
            r.steps.push(StepRecord {
                op: "delete_pod".into(),
                call: "DELETE /api/v1/namespaces/production/pods/vote-1".into(),
                result: StepResult::Ok,
                detail: String::new(),
            });
        }
        r
    }

    #[test]
    fn executed_action_reports_count_and_latency() {
        let line = emf_line(
            &record(Verdict::Executed, true),
            Some(Duration::from_millis(250)),
            DateTime::UNIX_EPOCH,
        );
        let v: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["Action"], "restart_pod");
        assert_eq!(v["Verdict"], "executed");
        assert_eq!(v["Alerts"], 1);
        assert_eq!(v["ActionLatency"], 250.0);
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "Reflex");
        assert_eq!(declared["Metrics"].as_array().map(Vec::len), Some(2));
        // Every dimension named in the declaration is a key of the line.
        for set in declared["Dimensions"].as_array().expect("dims") {
            for dim in set.as_array().expect("set") {
                assert!(v.get(dim.as_str().expect("name")).is_some());
            }
        }
    }

    #[test]
    fn record_without_action_reports_no_latency() {
        let line = emf_line(
            &record(Verdict::NoMatch, false),
            Some(Duration::from_millis(5)),
            DateTime::UNIX_EPOCH,
        );
        let v: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["Action"], "none");
        assert!(v.get("ActionLatency").is_none());
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }
}
