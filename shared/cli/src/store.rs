//! The store an operator command reads or changes (`--audit-log FILE` or `--table NAME`):
//! the same records and pause the pipeline writes, read the same way for both, so that
//! `audit`, `status`, `pause` and `resume` say the same things whichever store is used.
//!
//! The file holds records and pauses only; its leases and limits lived in the runs that
//! wrote it, so for a file they are worked out from the records (what a lease would hold).
//! The table holds them as items, read by key.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use reflex_aws::{Aws, AwsConfig, DynamoLedger, caller};
use reflex_core::audit::AuditRecord;
use reflex_core::history::History;
use reflex_core::ledger::{BudgetWindow, ControlEvent, Ledger, LedgerError, Pause};
use reflex_core::policy::Guardrails;
use reflex_core::vocab::target::TargetRef;
use serde::Serialize;

use crate::args::StoreArgs;
use crate::audit_log::AuditLog;

/// An open store.
#[derive(Debug)]
pub enum Store {
    /// A JSON-lines audit log.
    File {
        /// The log, read at open.
        log: Box<AuditLog>,
        /// Its path, for messages.
        path: PathBuf,
    },
    /// The DynamoDB audit table.
    Table {
        /// The table.
        ledger: Box<DynamoLedger>,
        /// The session (for who the caller is).
        aws: Box<Aws>,
    },
}

/// A lease held on a target (or a node-replacement slot), for `reflex status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    /// `Deployment production/vote`, or `node slot 0 (Node ip-...)`.
    pub what: String,
    /// The record holding it.
    pub holder: String,
    /// When it frees itself.
    pub until: String,
}

impl Store {
    /// Opens the store `args` names. An audit log that does not exist is an error unless
    /// `create` (a first pause may start a log).
    pub fn open(
        args: &StoreArgs,
        runtime: &tokio::runtime::Runtime,
        create: bool,
    ) -> anyhow::Result<Store> {
        match (&args.audit_log, &args.table) {
            (Some(path), _) => {
                if !create && !path.exists() {
                    anyhow::bail!("audit log {} does not exist", path.display());
                }
                Ok(Store::File {
                    log: Box::new(AuditLog::open(path)?),
                    path: path.clone(),
                })
            }
            (None, Some(table)) => {
                let config = AwsConfig::for_cli(|v| std::env::var(v).ok(), Some(table), false)
                    .context("cannot use the DynamoDB table")?;
                let aws = runtime
                    .block_on(Aws::connect(config))
                    .context("cannot use the DynamoDB table")?;
                Ok(Store::Table {
                    ledger: Box::new(DynamoLedger::new(&aws)),
                    aws: Box::new(aws),
                })
            }
            (None, None) => anyhow::bail!("give a store: --audit-log FILE or --table NAME"),
        }
    }

    /// `audit log FILE` / `table NAME`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Store::File { path, .. } => format!("audit log {}", path.display()),
            Store::Table { aws, .. } => format!("table {}", aws.config().audit_table),
        }
    }

    /// Records at or after `since`, newest first, optionally of one target, at most `limit`.
    pub async fn newest(
        &self,
        since: DateTime<Utc>,
        target: Option<&TargetRef>,
        limit: Option<usize>,
    ) -> Result<Vec<AuditRecord>, LedgerError> {
        match self {
            Store::File { log, .. } => {
                let since = reflex_core::audit::rfc3339(since);
                let mut records: Vec<AuditRecord> = log
                    .memory()
                    .records()
                    .into_iter()
                    .filter(|r| r.time >= since)
                    .filter(|r| {
                        target.is_none_or(|t| r.action.as_ref().is_some_and(|a| a.target.is(t)))
                    })
                    .collect();
                // Newest first; records of one time keep the order they were written in, reversed.
                records.reverse();
                records.sort_by(|a, b| b.time.cmp(&a.time));
                records.truncate(limit.unwrap_or(usize::MAX));
                Ok(records)
            }
            Store::Table { ledger, .. } => ledger.records_newest(since, target, limit).await,
        }
    }

    /// The record `id`, if the store has it.
    pub async fn record(&self, id: &str) -> Result<Option<AuditRecord>, LedgerError> {
        match self {
            Store::File { log, .. } => Ok(log.memory().records().into_iter().find(|r| r.id == id)),
            Store::Table { ledger, .. } => ledger.record(id).await,
        }
    }

    /// Who is running this command: the AWS caller (table), or the local user (file).
    pub async fn who(&self) -> Result<String, LedgerError> {
        match self {
            Store::File { .. } => Ok(local_user()),
            Store::Table { aws, .. } => caller::caller_arn(aws).await,
        }
    }

    /// The pause in force at `now`.
    pub async fn paused(&self, now: DateTime<Utc>) -> Result<Option<Pause>, LedgerError> {
        match self {
            Store::File { log, .. } => log.paused(now).await,
            Store::Table { ledger, .. } => ledger.paused(now).await,
        }
    }

    /// Puts `pause` in force and records it.
    pub async fn pause(&self, pause: &Pause) -> Result<(), LedgerError> {
        match self {
            Store::File { log, .. } => log.pause(pause).await,
            Store::Table { ledger, .. } => ledger.pause(pause).await,
        }
    }

    /// Ends the pause in force.
    pub async fn resume(&self, by: &str, now: DateTime<Utc>) -> Result<Option<Pause>, LedgerError> {
        match self {
            Store::File { log, .. } => log.resume(by, now).await,
            Store::Table { ledger, .. } => ledger.resume(by, now).await,
        }
    }

    /// The last `limit` pauses and resumes, newest first.
    pub async fn controls(&self, limit: usize) -> Result<Vec<ControlEvent>, LedgerError> {
        match self {
            Store::File { log, .. } => {
                let mut events = log.memory().controls();
                events.reverse();
                events.truncate(limit);
                Ok(events)
            }
            Store::Table { ledger, .. } => ledger.controls(limit).await,
        }
    }

    /// Actions counted in `window`: the table's counter, or the file's records in it.
    pub async fn budget_used(&self, window: &BudgetWindow) -> Result<u32, LedgerError> {
        match self {
            Store::File { log, .. } => {
                let records = log.memory().records();
                let used = History::from_records(&records).budgeted_since(window.start);
                Ok(u32::try_from(used).unwrap_or(u32::MAX))
            }
            Store::Table { ledger, .. } => ledger.budget_taken(window).await,
        }
    }

    /// The leases and node-replacement slots held at `now`, found from the actions in
    /// `recent` (a lease is only ever taken for a recorded action).
    pub async fn held(
        &self,
        recent: &[AuditRecord],
        g: &Guardrails,
        now: DateTime<Utc>,
    ) -> Result<Vec<Held>, LedgerError> {
        let span = reflex_core::limits::action_time(g).max(g.cooldown.to_chrono());
        let mut targets: Vec<(&TargetRef, &AuditRecord)> = Vec::new();
        for record in recent {
            if let Some(action) = &record.action
                && !record.shadow
                && record.verdict.counts_as_action()
                && !targets.iter().any(|(t, _)| **t == action.target)
            {
                targets.push((&action.target, record));
            }
        }
        let mut held = Vec::new();
        match self {
            Store::File { .. } => {
                for (target, record) in targets {
                    let until = record_time(record) + span;
                    if until > now {
                        held.push(Held {
                            what: target.to_string(),
                            holder: record.id.clone(),
                            until: reflex_core::audit::rfc3339(until),
                        });
                    }
                }
            }
            Store::Table { ledger, .. } => {
                for (target, _) in targets {
                    if let Some((holder, until)) = ledger.lease_holder(target, now).await? {
                        held.push(Held {
                            what: target.to_string(),
                            holder,
                            until: reflex_core::audit::rfc3339(until),
                        });
                    }
                }
                for slot in ledger.slots_held(g.nodes.max_in_flight, now).await? {
                    held.push(Held {
                        what: format!("node slot {} (Node {})", slot.slot, slot.node),
                        holder: slot.holder,
                        until: reflex_core::audit::rfc3339(slot.until),
                    });
                }
            }
        }
        Ok(held)
    }
}

/// When a record was made.
pub fn record_time(record: &AuditRecord) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&record.time)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The longest span back that status needs to look at.
pub fn lookback(g: &Guardrails) -> TimeDelta {
    [
        g.budget.window.to_chrono(),
        g.cooldown.to_chrono(),
        g.nodes.in_flight_window.to_chrono(),
        reflex_core::limits::action_time(g),
        TimeDelta::hours(24),
    ]
    .into_iter()
    .max()
    .unwrap_or(TimeDelta::hours(24))
}

/// `local user NAME` from the environment, for a file store.
fn local_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.trim().is_empty()))
        .map_or_else(
            || "an unnamed local user".to_owned(),
            |n| format!("local user {n}"),
        )
}
