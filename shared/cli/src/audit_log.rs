//! `--audit-log FILE`: the CLI's durable ledger, one JSON audit record per line.
//!
//! Records already in the file are read at start, so cooldown, budget, in-flight and
//! exactly-once checks see what earlier runs did; each new record is appended (and flushed)
//! as soon as it is final. The exactly-once claims, leases, budget counter and
//! node-replacement slots live in memory: a CLI run is one process, and the file is the
//! history, not a lock (earlier runs' actions count through the history read at start).

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use chrono::{DateTime, Utc};
use reflex_core::audit::AuditRecord;
use reflex_core::history::History;
use reflex_core::ledger::{
    BudgetTake, BudgetWindow, Claim, Ledger, LedgerError, MemoryLedger, SlotTake,
};
use reflex_core::vocab::target::TargetRef;

/// The run's ledger, optionally backed by a JSON-lines file.
#[derive(Debug)]
pub struct AuditLog {
    memory: MemoryLedger,
    file: Option<Mutex<File>>,
}

impl AuditLog {
    /// A ledger for this run only.
    pub fn in_memory() -> Self {
        AuditLog {
            memory: MemoryLedger::new(),
            file: None,
        }
    }

    /// Reads the records already in `path` (if it exists) and appends new ones to it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut records = Vec::new();
        if path.exists() {
            let reader = BufReader::new(
                File::open(path)
                    .with_context(|| format!("cannot read audit log {}", path.display()))?,
            );
            for (n, line) in reader.lines().enumerate() {
                let line =
                    line.with_context(|| format!("cannot read audit log {}", path.display()))?;
                if line.trim().is_empty() {
                    continue;
                }
                let record: AuditRecord = serde_json::from_str(&line).with_context(|| {
                    format!(
                        "audit log {} line {} is not an audit record",
                        path.display(),
                        n + 1
                    )
                })?;
                records.push(record);
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot append to audit log {}", path.display()))?;
        Ok(AuditLog {
            memory: MemoryLedger::with_records(records),
            file: Some(Mutex::new(file)),
        })
    }

    fn write(&self, record: &AuditRecord) -> Result<(), LedgerError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut file = file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        writeln!(file, "{}", record.to_json_line())
            .and_then(|()| file.flush())
            .map_err(|e| LedgerError::Unavailable(format!("audit log write failed: {e}")))
    }
}

impl Ledger for AuditLog {
    fn history(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<History, LedgerError>> + Send {
        self.memory.history(since)
    }

    fn claim(
        &self,
        instance: &str,
        record_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, LedgerError>> + Send {
        self.memory.claim(instance, record_id, now)
    }

    fn unclaim(
        &self,
        instance: &str,
        record_id: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.memory.unclaim(instance, record_id)
    }

    fn lease(
        &self,
        target: &TargetRef,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        self.memory.lease(target, holder, now, until)
    }

    fn release(
        &self,
        target: &TargetRef,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.memory.release(target, holder)
    }

    fn take_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> impl Future<Output = Result<BudgetTake, LedgerError>> + Send {
        self.memory.take_budget(window, holder)
    }

    fn give_back_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.memory.give_back_budget(window, holder)
    }

    fn take_node_slot(
        &self,
        node: &str,
        holder: &str,
        slots: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<SlotTake, LedgerError>> + Send {
        self.memory.take_node_slot(node, holder, slots, now, until)
    }

    fn release_node_slot(
        &self,
        slot: u32,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.memory.release_node_slot(slot, holder)
    }

    fn append(&self, record: &AuditRecord) -> impl Future<Output = Result<(), LedgerError>> + Send {
        let written = self.write(record);
        let memory = self.memory.append(record);
        async move {
            written?;
            memory.await
        }
    }
}
