//! The `text` format: one block per alert saying what came in, what reflex decided, and why.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::args::ReplayArgs;
use crate::cluster::Cluster;
use reflex_core::audit::AuditRecord;
use reflex_core::vocab::verdict::{Mode, StepResult};

/// The line before the blocks: what this run is.
pub fn header(args: &ReplayArgs, mode: Mode, cluster: &Cluster) -> String {
    let policy = args.policy.as_ref().map_or_else(
        || "default policy".to_owned(),
        |p| format!("policy {}", p.display()),
    );
    let view = match (cluster, &args.cluster, &args.kubeconfig) {
        (Cluster::Snapshot(s), Some(path), _) => {
            let sum = s.summary();
            format!(
                "snapshot {} ({} nodes, {} Ready; {} pods; {} workloads)",
                path.display(),
                sum.nodes.0,
                sum.nodes.1,
                sum.pods,
                sum.workloads
            )
        }
        (Cluster::Live(_), _, Some(path)) => match &args.context {
            Some(context) => format!(
                "live cluster (kubeconfig {}, context {context})",
                path.display()
            ),
            None => format!("live cluster (kubeconfig {})", path.display()),
        },
        _ => "no cluster view (targets, owners and annotations are not checked)".to_owned(),
    };
    let how = match (mode, cluster) {
        (Mode::DryRun, Cluster::Live(_)) => {
            "dry-run: every call is sent with dryRun=All, nothing is changed"
        }
        (Mode::DryRun, _) => "dry-run: plans are recorded, nothing is changed",
        (Mode::Enforce, Cluster::Live(_)) => "execute: plans are applied to the live cluster",
        (Mode::Enforce, _) => {
            "execute: plans are applied to an in-memory copy of the snapshot (simulation)"
        }
    };
    format!("reflex replay: {policy}; {view}; {how}\n")
}

/// One record of a replay as a block of text, headed by the event file it came from.
pub fn block(record: &AuditRecord, n: usize, file: &Path) -> String {
    format!("#{n} {} [{}]\n{}", file.display(), record.id, body(record))
}

/// One stored record whole (`reflex audit show`): when, where from, and the block.
pub fn record(record: &AuditRecord) -> String {
    let mode = if record.shadow {
        format!("{} (shadow rule)", record.mode)
    } else {
        record.mode.to_string()
    };
    format!(
        "record {}\n  time     {} ({mode})\n{}",
        record.id,
        record.time,
        body(record)
    )
}

/// What came in, the decision, why, the steps and notes.
fn body(record: &AuditRecord) -> String {
    let mut s = String::new();
    let a = &record.alert;
    let labels = a
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    // Writing to a String cannot fail.
    match (&a.name, &a.status) {
        (Some(name), Some(status)) => {
            let _ = writeln!(
                s,
                "  alert    {name} ({}, {status}) since {}",
                record.source,
                a.starts_at.as_deref().unwrap_or("?")
            );
            if !labels.is_empty() {
                let _ = writeln!(s, "  labels   {labels}");
            }
        }
        _ => {
            let _ = writeln!(s, "  input    could not be decoded");
        }
    }
    if let (Some(rule), Some(class)) = (&record.rule, &record.class) {
        let _ = writeln!(s, "  rule     {rule} -> {class}");
    }
    let decision = match &record.action {
        Some(action) => format!(
            "{} {} {}",
            record.verdict.as_str().to_uppercase(),
            action.kind,
            action.target
        ),
        None => record.verdict.as_str().to_uppercase(),
    };
    let _ = writeln!(s, "  decision {decision}");
    let _ = writeln!(s, "  why      {}", record.reason);
    if let Some(pending) = &record.approval {
        let _ = writeln!(
            s,
            "  approve  {} (before {})",
            pending.command,
            reflex_core::audit::rfc3339(pending.expires)
        );
    }
    if let Some(approves) = &record.approves {
        let by = record.approver.as_deref().unwrap_or("?");
        let _ = writeln!(s, "  approves {approves} (approver: {by})");
    }
    for (i, step) in record.steps.iter().enumerate() {
        let result = match step.result {
            StepResult::Planned => "planned",
            StepResult::DryRun => "dry-run ok",
            StepResult::Ok => "ok",
            StepResult::Failed => "FAILED",
            StepResult::Skipped => "skipped",
        };
        let label = if i == 0 { "steps" } else { "" };
        let _ = writeln!(s, "  {label:<8} {}. {} [{result}]", i + 1, step.call);
        if !step.detail.is_empty() {
            let _ = writeln!(s, "  {:<8}    {}", "", step.detail);
        }
    }
    for (i, note) in record.notes.iter().enumerate() {
        let label = if i == 0 { "notes" } else { "" };
        let _ = writeln!(s, "  {label:<8} {note}");
    }
    s.push('\n');
    s
}

/// The closing line: how many alerts, by verdict.
pub fn summary(
    count: usize,
    verdicts: &BTreeMap<&'static str, usize>,
    mode: Mode,
    cluster: &Cluster,
) -> String {
    let by_verdict = verdicts
        .iter()
        .map(|(v, n)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let tail = match (mode, cluster) {
        (Mode::DryRun, _) => "dry run: nothing was changed".to_owned(),
        (Mode::Enforce, Cluster::Live(_)) => "applied to the live cluster".to_owned(),
        (Mode::Enforce, Cluster::Snapshot(s)) => {
            let terminated = s.terminated();
            if terminated.is_empty() {
                "simulated on the snapshot: nothing left this process".to_owned()
            } else {
                format!(
                    "simulated on the snapshot (instances terminated in simulation: {}); nothing left this process",
                    terminated.join(", ")
                )
            }
        }
        (Mode::Enforce, Cluster::Unknown) => String::new(),
    };
    format!("{count} alert(s): {by_verdict}. {tail}")
}
