//! On-call notifications: one SNS message per executed, failed or suppressed action, and
//! per action awaiting approval (with how to approve it: the command, and the signed link
//! when the record in hand carries one).
//!
//! The subject is what an e-mail or chat subscriber sees first, so it says the verdict, the
//! action and the target; SNS refuses subjects over 100 characters, with line breaks or
//! non-ASCII, so [`subject`] folds whitespace, replaces what is not printable ASCII and
//! shortens with an ellipsis. The body is plain text for people (what happened, why, the
//! target, the result with each step, the audit id to look the record up, the alert and its
//! labels, the evidence gathered about the target) followed by the record itself as JSON
//! for tools.
//!
//! Each message is published with `MessageStructure: json`: `default` is that text body
//! (e-mail, SQS and every protocol without its own key), `https` is an AWS Chatbot (Amazon
//! Q Developer) custom notification (`version` 1.0, `source` custom, `content` with title,
//! markdown description and next steps), since Chatbot reads its topics through an HTTPS
//! subscription and renders a custom notification only when the message is one. (Any
//! other HTTPS subscriber of the notifications topic receives that JSON too.) The whole
//! message is kept under [`MESSAGE_MAX`] (SNS takes 256 KiB): the evidence is cut to fit,
//! logs first, and says what was cut.

use std::fmt::Write as _;

use aws_sdk_sns::Client;
use reflex_core::AuditRecord;
use reflex_core::evidence::{Evidence, Style, render};
use reflex_core::ledger::{LedgerError, Notifier};
use serde_json::json;

use crate::config::Aws;
use crate::error::classify;

/// SNS's limit on a subject.
pub const SUBJECT_MAX: usize = 100;
/// The most a published message (both formats, JSON-encoded) may take: SNS's limit is
/// 256 KiB, and the margin covers the envelope.
pub const MESSAGE_MAX: usize = 200 * 1024;
/// The text body's share of [`MESSAGE_MAX`].
const BODY_MAX: usize = 140 * 1024;
/// The chat description's share: a chat message is read on a screen.
const CHAT_MAX: usize = 24 * 1024;

/// Publishes notifications to an SNS topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
    /// The audit table, named in the chat's next steps so they can be pasted as they are.
    audit_table: String,
}

impl SnsNotifier {
    /// The configured notifications topic.
    pub fn new(aws: &Aws) -> Self {
        SnsNotifier::with_client(
            Client::new(aws.sdk_config()),
            aws.config().notify_topic_arn.clone(),
            aws.config().audit_table.clone(),
        )
    }

    /// Topic `topic_arn` through `client`, for the records of `audit_table`.
    pub fn with_client(
        client: Client,
        topic_arn: impl Into<String>,
        audit_table: impl Into<String>,
    ) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
            audit_table: audit_table.into(),
        }
    }
}

impl SnsNotifier {
    /// Publishes the notification about `record`, with `evidence` about its target.
    pub async fn publish(
        &self,
        record: &AuditRecord,
        evidence: &Evidence,
    ) -> Result<(), LedgerError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject(record))
            .message_structure("json")
            .message(message(record, evidence, &self.audit_table))
            .send()
            .await
            .map_err(|e| LedgerError::from(classify("sns:Publish", e)))?;
        Ok(())
    }
}

impl Notifier for SnsNotifier {
    async fn notify(&self, record: &AuditRecord) -> Result<(), LedgerError> {
        self.publish(record, &Evidence::default()).await
    }
}

/// The published message: `{"default": text body, "https": Chatbot notification}`, at most
/// [`MESSAGE_MAX`] bytes. Should the budgets not suffice (text that JSON escaping swells),
/// the evidence gets less room until it does.
pub fn message(record: &AuditRecord, evidence: &Evidence, audit_table: &str) -> String {
    let mut share = 1;
    loop {
        let text = body_within(record, evidence, BODY_MAX / share);
        let chat = chatbot_within(record, evidence, audit_table, CHAT_MAX / share).to_string();
        let message = json!({ "default": text, "https": chat }).to_string();
        if message.len() <= MESSAGE_MAX || share > 64 {
            return message;
        }
        share *= 2;
    }
}

/// The AWS Chatbot custom notification about `record`, a record of `audit_table`.
pub fn chatbot(record: &AuditRecord, evidence: &Evidence, audit_table: &str) -> serde_json::Value {
    chatbot_within(record, evidence, audit_table, CHAT_MAX)
}

fn chatbot_within(
    record: &AuditRecord,
    evidence: &Evidence,
    audit_table: &str,
    budget: usize,
) -> serde_json::Value {
    let target = record.action.as_ref().map(|a| a.target.to_string());
    let mut d = String::new();
    let _ = writeln!(d, "*What happened:* {}", record.reason);
    let _ = writeln!(
        d,
        "*Why:* {} alert `{}` matched rule `{}`",
        record.source,
        record
            .alert
            .name
            .as_deref()
            .unwrap_or("(undecodable input)"),
        record.rule.as_deref().unwrap_or("none"),
    );
    if let Some(t) = &target {
        let _ = writeln!(d, "*Target:* `{t}`");
    }
    for step in &record.steps {
        let _ = writeln!(d, "- `{}` {}", step.op, step.detail);
    }
    for line in how_to_approve(record) {
        let _ = writeln!(d, "*{line}*");
    }
    for note in &record.notes {
        let _ = writeln!(d, "_Note:_ {note}");
    }
    let _ = writeln!(d, "*Audit id:* `{}`", record.id);
    let room = budget.saturating_sub(d.len());
    d.push_str(&render(evidence, Style::Markdown, room));
    let mut next: Vec<String> = record
        .approval
        .iter()
        .map(|p| format!("Approve it: `{}`", p.command))
        .collect();
    next.push(format!(
        "Look the record up: `reflex audit show {} --table {audit_table}`",
        record.id
    ));
    if let Some(action) = &record.action {
        let t = &action.target;
        let ns = t
            .namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        let kind = t.kind.as_str().to_ascii_lowercase();
        next.push(format!(
            "Inspect it: `kubectl describe {kind} {}{ns}`",
            t.name
        ));
        next.push(format!(
            "Its events: `kubectl get events{ns} --field-selector involvedObject.name={}`",
            t.name
        ));
    }
    json!({
        "version": "1.0",
        "source": "custom",
        "id": record.id,
        "content": {
            "textType": "client-markdown",
            "title": subject(record),
            "description": d,
            "nextSteps": next,
            "keywords": [record.verdict.as_str(), record.mode.as_str()],
        },
        "metadata": {
            "summary": subject(record),
            "eventType": record.verdict.as_str(),
            "relatedResources": target.into_iter().collect::<Vec<_>>(),
        },
    })
}

/// How an `awaiting_approval` record is approved: the exact command, and the signed link
/// when the record carries one (links are put in the notification, never stored).
fn how_to_approve(record: &AuditRecord) -> Vec<String> {
    let Some(pending) = &record.approval else {
        return Vec::new();
    };
    let mut lines = vec![format!(
        "To approve (before {}): {}",
        reflex_core::audit::rfc3339(pending.expires),
        pending.command
    )];
    if let Some(link) = &pending.link {
        lines.push(format!(
            "Or approve on the page of this signed, single-use link: {link}"
        ));
    }
    lines
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

/// The text body, with `evidence` about the target.
pub fn body(record: &AuditRecord, evidence: &Evidence) -> String {
    body_within(record, evidence, BODY_MAX)
}

fn body_within(record: &AuditRecord, evidence: &Evidence, budget: usize) -> String {
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
    for line in how_to_approve(record) {
        let _ = writeln!(b, "{line}");
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
    let json = record.to_json_line();
    let tail = "\nAudit record (JSON):\n".len() + json.len().min(1024);
    let room = budget.saturating_sub(b.len() + tail);
    let shown = render(evidence, Style::Text, room);
    if !shown.is_empty() {
        let _ = write!(b, "\nEvidence:{shown}");
    }
    let _ = writeln!(b);
    let _ = writeln!(b, "Audit record (JSON):");
    if b.len() + json.len() <= budget {
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
    fn an_awaiting_approval_notification_says_the_approve_command_and_link_which_is_not_in_the_record_json()
     {
        let mut r = record("KubePodCrashLooping", "vote-1");
        r.verdict = Verdict::AwaitingApproval;
        r.approval = Some(reflex_core::approval::Pending {
            alert: reflex_core::Alert {
                source: reflex_core::Source::Alertmanager,
                name: "KubePodCrashLooping".into(),
                status: reflex_core::AlertStatus::Firing,
                fingerprint: "f".into(),
                starts_at: None,
                labels: Default::default(),
                annotations: Default::default(),
                delivery: Default::default(),
                actions_suppressed: None,
                notes: Vec::new(),
            },
            expires: chrono::DateTime::UNIX_EPOCH,
            command: "reflex approve run-7-0001 --table reflex-audit".into(),
            objects: vec!["restart_pod Pod production/vote-1".into()],
            link: Some("https://intake.example/approvals/run-7-0001?expires=0&sig=ab".into()),
        });
        let b = body(&r, &Evidence::default());
        assert!(
            b.contains("To approve (before 1970-01-01T00:00:00.000Z): reflex approve run-7-0001 --table reflex-audit"),
            "{b}"
        );
        assert!(
            b.contains(
                "single-use link: https://intake.example/approvals/run-7-0001?expires=0&sig=ab"
            ),
            "{b}"
        );
        let json = &b[b.find("Audit record (JSON):").expect("json")..];
        assert!(!json.contains("sig=ab"), "{json}");
        let chat = chatbot(&r, &Evidence::default(), "reflex-audit");
        assert_eq!(
            chat["content"]["nextSteps"][0],
            "Approve it: `reflex approve run-7-0001 --table reflex-audit`"
        );
    }

    #[test]
    fn body_says_what_why_target_result_and_audit_id() {
        let b = body(
            &record("KubePodCrashLooping", "vote-1"),
            &Evidence::default(),
        );
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

    fn huge_evidence() -> Evidence {
        use reflex_core::evidence::{ContainerEvidence, PodEvidence};
        Evidence {
            pods: vec![PodEvidence {
                pod: "production/vote-1".into(),
                phase: Some("Running".into()),
                containers: (0..4)
                    .map(|i| ContainerEvidence {
                        name: format!("c{i}"),
                        restart_count: 3,
                        logs: Some(
                            (0..50)
                                .map(|n| format!("\"{n}\" {}", "\\".repeat(500)))
                                .collect(),
                        ),
                        ..ContainerEvidence::default()
                    })
                    .collect(),
            }],
            ..Evidence::default()
        }
    }

    #[test]
    fn message_has_a_text_default_and_a_chatbot_custom_notification() {
        let r = record("KubePodCrashLooping", "vote-1");
        let m: serde_json::Value =
            serde_json::from_str(&message(&r, &huge_evidence(), "reflex-audit")).unwrap();
        let text = m["default"].as_str().unwrap();
        assert!(text.contains("Evidence:"), "{text}");
        assert!(text.contains("Pod production/vote-1 (Running)"));
        let chat: serde_json::Value = serde_json::from_str(m["https"].as_str().unwrap()).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(chat["content"]["textType"], "client-markdown");
        assert_eq!(
            chat["content"]["title"],
            "reflex executed (enforce): restart_pod Pod production/vote-1"
        );
        let description = chat["content"]["description"].as_str().unwrap();
        assert!(
            description.contains("*Audit id:* `run-7-0001`"),
            "{description}"
        );
        assert!(description.len() <= CHAT_MAX);
        assert_eq!(
            chat["content"]["nextSteps"][0],
            "Look the record up: `reflex audit show run-7-0001 --table reflex-audit`"
        );
        assert!(chat["content"]["nextSteps"].as_array().unwrap().len() >= 2);
    }

    #[test]
    fn a_message_with_huge_logs_stays_under_the_cap_and_says_what_was_cut() {
        let r = record("KubePodCrashLooping", "vote-1");
        let m = message(&r, &huge_evidence(), "reflex-audit");
        assert!(m.len() <= MESSAGE_MAX, "{} bytes", m.len());
        assert!(m.contains("cut to fit the notification"));
    }
}
