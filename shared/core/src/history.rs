//! What reflex did recently: the memory behind cooldown, budget and node in-flight limits.
//!
//! History is built from audit records, whatever stores them (an audit log file, a DynamoDB
//! table, or just the records of the current replay run), so there is one source of truth:
//! a record is written, and from then on it counts.

use chrono::{DateTime, Utc};

use crate::audit::AuditRecord;
use crate::vocab::action::ActionKind;
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::Verdict;

/// One past action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorAction {
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// What it was.
    pub kind: ActionKind,
    /// What it was aimed at.
    pub target: TargetRef,
    /// The record that holds it.
    pub record_id: String,
    /// The rule that decided it.
    pub rule: Option<String>,
    /// The workload it was for, when its rule has an escalation ladder.
    pub workload: Option<TargetRef>,
}

/// Recent actions.
#[derive(Debug, Clone, Default)]
pub struct History {
    actions: Vec<PriorAction>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        History::default()
    }

    /// Builds a history from stored records (oldest first or in any order).
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Self {
        let mut history = History::new();
        for record in records {
            history.record(record);
        }
        history
    }

    /// Takes a new record into account. A dry-run `planned` action counts as if it had been
    /// executed, so a replay shows what a live run would do; a `failed` one counts only when
    /// it changed the cluster before it failed (one that changed nothing is retried, and
    /// its retry must not wait out a cooldown for it).
    /// A shadow rule's plan does not count: it holds back none of reflex's real actions.
    pub fn record(&mut self, record: &AuditRecord) {
        if record.shadow {
            return;
        }
        let counts = match record.verdict {
            Verdict::Failed => record.changed_cluster(),
            verdict => verdict.counts_as_action(),
        };
        if let (Some(action), true) = (&record.action, counts) {
            let at = DateTime::parse_from_rfc3339(&record.time)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(DateTime::UNIX_EPOCH);
            self.actions.push(PriorAction {
                at,
                kind: action.kind,
                target: action.target.clone(),
                record_id: record.id.clone(),
                rule: record.rule.clone(),
                workload: record.workload.clone(),
            });
        }
    }

    /// The actions rule `rule` took for `workload` at or after `since`, oldest first: the
    /// steps of its escalation ladder already climbed.
    pub fn by_rule_for(
        &self,
        rule: &str,
        workload: &TargetRef,
        since: DateTime<Utc>,
    ) -> Vec<&PriorAction> {
        let mut found: Vec<&PriorAction> = self
            .actions
            .iter()
            .filter(|a| a.at >= since && a.rule.as_deref() == Some(rule))
            .filter(|a| a.workload.as_ref().unwrap_or(&a.target) == workload)
            .collect();
        found.sort_by_key(|a| a.at);
        found
    }

    /// The latest action on `target` at or after `since`.
    pub fn last_action_on(&self, target: &TargetRef, since: DateTime<Utc>) -> Option<&PriorAction> {
        self.actions
            .iter()
            .filter(|a| a.at >= since && a.target == *target)
            .max_by_key(|a| a.at)
    }

    /// Actions counted by the budget (every action that can change the cluster) at or
    /// after `since`.
    pub fn budgeted_since(&self, since: DateTime<Utc>) -> usize {
        self.actions
            .iter()
            .filter(|a| a.at >= since && a.kind != ActionKind::Notify)
            .count()
    }

    /// Node replacements at or after `since`.
    pub fn replacements_since(&self, since: DateTime<Utc>) -> Vec<&PriorAction> {
        self.actions
            .iter()
            .filter(|a| a.at >= since && a.kind == ActionKind::ReplaceNode)
            .collect()
    }
}
