//! On-call notifications: one SNS message per executed, failed or suppressed action.
//!
//! The subject is what an e-mail or chat subscriber sees first, so it says the verdict, the
//! action and the target; SNS refuses subjects over 100 characters, with line breaks or
//! non-ASCII, so [`subject`] folds whitespace, replaces what is not printable ASCII and
//! shortens with an ellipsis. The body is plain text for people (what happened, why, the
//! target, the result with each step, the audit id to look the record up, the alert and its
//! labels) followed by the record itself as JSON for tools.

use std::fmt::Write as _;

use aws_sdk_sns::Client;
use reflex_core::AuditRecord;
use reflex_core::ledger::{LedgerError, Notifier};

use crate::config::Aws;
use crate::error::classify;

/// SNS's limit on a subject.
pub const SUBJECT_MAX: usize = 100;
/// Kept well under SNS's 256 KiB message limit, leaving room for the envelope.
const BODY_MAX: usize = 200 * 1024;

/// Publishes notifications to an SNS topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    /// The configured notifications topic.
    pub fn new(aws: &Aws) -> Self {
        SnsNotifier::with_client(
            Client::new(aws.sdk_config()),
            aws.config().notify_topic_arn.clone(),
        )
    }

    /// Topic `topic_arn` through `client`.
    pub fn with_client(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Notifier for SnsNotifier {
    async fn notify(&self, record: &AuditRecord) -> Result<(), LedgerError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject(record))
            .message(body(record))
            .send()
            .await
            .map_err(|e| LedgerError::from(classify("sns:Publish", e)))?;
        Ok(())
    }
}

/// The subject line: `reflex <verdict>: <action> <target>`, at most [`SUBJECT_MAX`]
/// printable ASCII characters on one line.
pub fn subject(record: &AuditRecord) -> String {
    let what = match &record.action {
        Some(a) => format!("{} {}", a.kind, a.target),
        None => format!(
            "alert {}",
            record.alert.name.as_deref().unwrap_or("(undecodable)")
        ),
    };
    let raw = format!("reflex {} ({}): {what}", record.verdict, record.mode);
    let mut clean = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = match c {
            c if c.is_whitespace() => ' ',
            c if c.is_ascii_graphic() => c,
            _ => '?',
        };
        if !(c == ' ' && clean.ends_with(' ')) {
            clean.push(c);
        }
    }
    let clean = clean.trim().to_owned();
    if clean.len() <= SUBJECT_MAX {
        return clean;
    }
    // ASCII only from here on: byte and char positions agree.
    let mut cut = clean[..SUBJECT_MAX - 3].trim_end().to_owned();
    cut.push_str("...");
    cut
}

/// The message body.
pub fn body(record: &AuditRecord) -> String {
    let mut b = String::new();
    let target = record
        .action
        .as_ref()
        .map_or_else(|| "none".to_owned(), |a| a.target.to_string());
    let action = record
        .action
        .as_ref()
        .map_or_else(|| "none".to_owned(), |a| a.kind.to_string());
    let alert = record
        .alert
        .name
        .as_deref()
        .unwrap_or("(undecodable input)");
    // Writing to a String cannot fail.
    let _ = writeln!(
        b,
        "reflex {} {action} on {target} (mode {}).",
        record.verdict, record.mode
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "What happened: {}", record.reason);
    let _ = writeln!(
        b,
        "Why: {} alert {alert} ({}) matched rule {} (class {}).",
        record.source,
        record.alert.status.as_deref().unwrap_or("unknown status"),
        record.rule.as_deref().unwrap_or("none"),
        record
            .class
            .map_or_else(|| "none".to_owned(), |c| c.to_string()),
    );
    let _ = writeln!(b, "Target: {target}");
    let _ = writeln!(b, "Action: {action}");
    let _ = writeln!(
        b,
        "Result: {} after {} step(s)",
        record.verdict,
        record.steps.len()
    );
    for step in &record.steps {
        let result = serde_json::to_value(step.result)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = write!(b, "  - {} [{result}] {}", step.op, step.call);
        if !step.detail.is_empty() {
            let _ = write!(b, ": {}", step.detail);
        }
        let _ = writeln!(b);
    }
    for note in &record.notes {
        let _ = writeln!(b, "Note: {note}");
    }
    let _ = writeln!(b, "Audit id: {}", record.id);
    let _ = writeln!(b, "Time: {}", record.time);
    let _ = writeln!(b, "Alert: {alert}");
    let labels: Vec<String> = record
        .alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(b, "Labels: {}", labels.join(", "));
    let _ = writeln!(b);
    let _ = writeln!(b, "Audit record (JSON):");
    let json = record.to_json_line();
    if b.len() + json.len() <= BODY_MAX {
        b.push_str(&json);
    } else {
        b.push_str("(too large for a notification; look it up by its audit id)");
    }
    b
}

#[cfg(test)]
mod tests {
    use reflex_core::audit::ActionSummary;
    use reflex_core::vocab::action::ActionKind;
    use reflex_core::vocab::target::{TargetKind, TargetRef};
    use reflex_core::vocab::verdict::{StepRecord, StepResult};
    use reflex_core::{Mode, Verdict};

    use super::*;

    fn record(name: &str, target: &str) -> AuditRecord {
        let mut r = AuditRecord::rejected(
            "run-7-0001".into(),
            chrono::DateTime::UNIX_EPOCH,
            Mode::Enforce,
            None,
            "d".into(),
            "x".into(),
            reflex_core::alert::Delivery::default(),
        );
        r.alert.name = Some(name.into());
        r.alert
            .labels
            .insert("namespace".into(), "production".into());
        r.verdict = Verdict::Executed;
        r.reason = "pod vote-1 is crash-looping; restarted".into();
        r.action = Some(ActionSummary {
            kind: ActionKind::RestartPod,
            target: TargetRef::namespaced(TargetKind::Pod, "production", target),
        });
        r.steps.push(StepRecord {
            op: "delete_pod".into(),
            call: "DELETE /api/v1/namespaces/production/pods/vote-1".into(),
            result: StepResult::Ok,
            detail: "deleted".into(),
        });
        r
    }

    #[test]
    fn subject_names_verdict_action_and_target() {
        let s = subject(&record("KubePodCrashLooping", "vote-1"));
        assert_eq!(
            s,
            "reflex executed (enforce): restart_pod Pod production/vote-1"
        );
    }

    #[test]
    fn subject_of_long_names_fits_sns_limit() {
        let long = "a-very-long-pod-name-".repeat(12);
        let s = subject(&record("KubePodCrashLooping", &long));
        assert!(s.len() <= SUBJECT_MAX, "{} chars", s.len());
        assert!(s.ends_with("..."));
        assert!(s.starts_with("reflex executed"));
    }

    #[test]
    fn subject_is_one_line_of_printable_ascii() {
        let mut r = record("Pod\ncrash\tlooping — ünïcode 🚨", "vote-1");
        r.action = None;
        let s = subject(&r);
        assert!(s.len() <= SUBJECT_MAX);
        assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{s}");
        assert!(!s.contains("  "), "{s}");
        let long_unicode = "🚨".repeat(200);
        r.alert.name = Some(long_unicode);
        let s = subject(&r);
        assert!(s.len() <= SUBJECT_MAX && s.is_ascii(), "{s}");
    }

    #[test]
    fn body_says_what_why_target_result_and_audit_id() {
        let b = body(&record("KubePodCrashLooping", "vote-1"));
        for needle in [
            "What happened: pod vote-1 is crash-looping; restarted",
            "Target: Pod production/vote-1",
            "Result: executed after 1 step(s)",
            "delete_pod [ok] DELETE /api/v1/namespaces/production/pods/vote-1: deleted",
            "Audit id: run-7-0001",
            "Alert: KubePodCrashLooping",
            "Labels: namespace=production",
            "\"id\":\"run-7-0001\"",
        ] {
            assert!(b.contains(needle), "missing {needle:?} in:\n{b}");
        }
    }
}
