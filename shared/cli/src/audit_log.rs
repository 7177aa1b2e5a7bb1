//! `--audit-log FILE`: the CLI's durable ledger, one JSON audit record per line, and the
//! operator's pauses and resumes as lines of their own (`{"control":"pause",...}`).
//!
//! Records already in the file are read at start, so cooldown, budget, in-flight and
//! exactly-once checks see what earlier runs did, and the last pause or resume says whether
//! reflex is paused; each new record is appended (and flushed) as soon as it is final. The exactly-once claims, leases, budget counter and
//! node-replacement slots live in memory: a CLI run is one process, and the file is the
//! history, not a lock (earlier runs' actions count through the history read at start).
//! The one exception is an approval, which two engineers may give at the same second from
//! two processes: its claim is a file created exclusively beside the log
//! (`FILE.approvals/ID`, holding the id of the record that used it), so exactly one wins.

use std::fs::{File, OpenOptions};
use std::future::{Future, ready};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use chrono::{DateTime, Utc};
use reflex_core::approval::CLAIM_PREFIX;
use reflex_core::audit::AuditRecord;
use reflex_core::history::History;
use reflex_core::ledger::{
    BudgetTake, BudgetWindow, Claim, Control, ControlEvent, Ledger, LedgerError, MemoryLedger,
    Pause, SlotTake,
};
use reflex_core::vocab::target::TargetRef;

/// The run's ledger, optionally backed by a JSON-lines file.
#[derive(Debug)]
pub struct AuditLog {
    memory: MemoryLedger,
    file: Option<Mutex<File>>,
    path: Option<PathBuf>,
}

impl AuditLog {
    /// A ledger for this run only.
    pub fn in_memory() -> Self {
        AuditLog {
            memory: MemoryLedger::new(),
            file: None,
            path: None,
        }
    }

    /// Reads the records already in `path` (if it exists) and appends new ones to it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut records = Vec::new();
        let mut controls = Vec::new();
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
                match serde_json::from_str::<AuditRecord>(&line) {
                    Ok(record) => records.push(record),
                    Err(e) => match serde_json::from_str::<ControlEvent>(&line) {
                        Ok(event) => controls.push(event),
                        Err(_) => {
                            return Err(e).with_context(|| {
                                format!(
                                    "audit log {} line {} is not an audit record",
                                    path.display(),
                                    n + 1
                                )
                            });
                        }
                    },
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot append to audit log {}", path.display()))?;
        let memory = MemoryLedger::with_records(records);
        for event in controls {
            memory.replay_control(event);
        }
        Ok(AuditLog {
            memory,
            file: Some(Mutex::new(file)),
            path: Some(path.to_owned()),
        })
    }

    /// The records and pauses read at start and made since.
    pub fn memory(&self) -> &MemoryLedger {
        &self.memory
    }

    fn write(&self, line: &str) -> Result<(), LedgerError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut file = file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // One write per line: processes appending to the same log never interleave a line.
        file.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| LedgerError::Unavailable(format!("audit log write failed: {e}")))
    }

    /// The file that holds the claim of `key` (an approval's), when the log is a file.
    fn claim_file(&self, key: &str) -> Option<PathBuf> {
        let id = key.strip_prefix(CLAIM_PREFIX)?;
        let path = self.path.as_ref()?;
        let name: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut dir = path.clone().into_os_string();
        dir.push(".approvals");
        Some(PathBuf::from(dir).join(name))
    }

    /// Claims an approval by creating its file exclusively: the first process wins, any
    /// other finds the file and the record id in it.
    fn claim_in_file(&self, file: &Path, record_id: &str) -> Result<Claim, LedgerError> {
        let unavailable = |e: std::io::Error| {
            LedgerError::Unavailable(format!("approval claim {}: {e}", file.display()))
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        match OpenOptions::new().write(true).create_new(true).open(file) {
            Ok(mut f) => {
                f.write_all(record_id.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(unavailable)?;
                Ok(Claim::First)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let by = std::fs::read_to_string(file).unwrap_or_default();
                let by = if by.trim().is_empty() {
                    "another process (at this moment)".to_owned()
                } else {
                    by.trim().to_owned()
                };
                Ok(Claim::Duplicate { by })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    fn write_control(&self, event: &ControlEvent) -> Result<(), LedgerError> {
        let line = serde_json::to_string(event)
            .map_err(|e| LedgerError::Refused(format!("control event not serializable: {e}")))?;
        self.write(&line)
    }
}

impl Ledger for AuditLog {
    fn paused(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Pause>, LedgerError>> + Send {
        self.memory.paused(now)
    }

    fn pause(&self, pause: &Pause) -> impl Future<Output = Result<(), LedgerError>> + Send {
        let event = ControlEvent {
            control: Control::Pause,
            time: pause.since,
            by: pause.by.clone(),
            pause: pause.clone(),
        };
        let written = self.write_control(&event);
        if written.is_ok() {
            self.memory.replay_control(event);
        }
        ready(written)
    }

    fn resume(
        &self,
        by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Pause>, LedgerError>> + Send {
        let ended = self.memory.pause_in_force(now);
        let result = match ended {
            Some(pause) => {
                let event = ControlEvent {
                    control: Control::Resume,
                    time: now,
                    by: by.to_owned(),
                    pause: pause.clone(),
                };
                self.write_control(&event).map(|()| {
                    self.memory.replay_control(event);
                    Some(pause)
                })
            }
            None => Ok(None),
        };
        ready(result)
    }

    fn first_under_pause(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        self.memory.first_under_pause(id)
    }

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
        alive_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, LedgerError>> + Send {
        let memory = self.memory.claim(instance, record_id, now, alive_until);
        let file = self.claim_file(instance);
        let record_id = record_id.to_owned();
        async move {
            match (memory.await?, file) {
                (Claim::First, Some(file)) => self.claim_in_file(&file, &record_id),
                (claim, _) => Ok(claim),
            }
        }
    }

    fn unclaim(
        &self,
        instance: &str,
        record_id: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        if let Some(file) = self.claim_file(instance)
            && std::fs::read_to_string(&file).is_ok_and(|by| by.trim() == record_id)
        {
            // Nothing was changed: the approval may be used again.
            let _ = std::fs::remove_file(&file);
        }
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
        let written = self.write(&record.to_json_line());
        let memory = self.memory.append(record);
        async move {
            written?;
            memory.await
        }
    }

    fn record(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<AuditRecord>, LedgerError>> + Send {
        self.memory.record(id)
    }

    fn store_flag(&self) -> Option<String> {
        self.path
            .as_ref()
            .map(|p| format!("--audit-log {}", p.display()))
    }
}
