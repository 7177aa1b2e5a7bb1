//! Crash points, for the tests that kill `remediate` at every step of an action: a ledger
//! that passes every call through to the real one and stops the invocation at one chosen
//! point of the intent log ([`Point`]). The binary installs it only when built with the
//! `crash-points` feature and `REFLEX_CRASH_AT` is set (see `main.rs`); a deployed build
//! has no such code path.

use std::future::Future;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use reflex_core::AuditRecord;
use reflex_core::history::History;
use reflex_core::ledger::{
    BudgetTake, BudgetWindow, Claim, ClaimState, Ledger, LedgerError, Pause, Progress, SlotTake,
};
use reflex_core::vocab::target::TargetRef;

/// Where the invocation stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// Right after the alert instance was claimed.
    Claimed,
    /// After the intent of step `op` was written, before it is sent.
    Intent(String),
    /// After step `op` was sent and answered, before its result is written.
    Sent(String),
    /// After the result of step `op` was written.
    Recorded(String),
    /// Before the terminal record is stored.
    Settle,
}

impl std::str::FromStr for Point {
    type Err = String;

    /// `claimed`, `intent:OP`, `sent:OP`, `recorded:OP` or `settle` (OP a step name such
    /// as `cordon`, `evict`, `terminate_instance`, `rollback`).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "claimed" => Ok(Point::Claimed),
            None if s == "settle" => Ok(Point::Settle),
            Some(("intent", op)) => Ok(Point::Intent(op.to_owned())),
            Some(("sent", op)) => Ok(Point::Sent(op.to_owned())),
            Some(("recorded", op)) => Ok(Point::Recorded(op.to_owned())),
            _ => Err(format!(
                "crash point {s:?}: expected claimed, intent:OP, sent:OP, recorded:OP or settle"
            )),
        }
    }
}

/// How the invocation stops at the point.
#[derive(Debug, Clone)]
pub enum Stop {
    /// SIGKILL of this process, once: `marker` is created first, and a process that finds
    /// it does not stop (the redelivery, in the restarted process, runs through).
    Kill {
        /// The file that says the crash happened.
        marker: PathBuf,
    },
    /// The invocation never goes on (a test drops it, as a kill would end it).
    Hang,
}

/// A ledger that stops the invocation at `point`.
#[derive(Debug)]
pub struct CrashAt<'a, L> {
    inner: &'a L,
    point: Option<Point>,
    stop: Stop,
}

impl<'a, L: Ledger> CrashAt<'a, L> {
    /// `inner`, stopping at `point` as `stop` says.
    pub fn new(inner: &'a L, point: Point, stop: Stop) -> Self {
        CrashAt {
            inner,
            point: Some(point),
            stop,
        }
    }

    /// `inner`, stopping where `REFLEX_CRASH_AT` says (nowhere when unset) by a SIGKILL,
    /// once per `REFLEX_CRASH_MARKER` file.
    pub fn from_env(inner: &'a L) -> Result<Self, String> {
        let point = match std::env::var("REFLEX_CRASH_AT") {
            Ok(point) => Some(point.parse()?),
            Err(_) => None,
        };
        let marker = std::env::var_os("REFLEX_CRASH_MARKER")
            .map(PathBuf::from)
            .ok_or("REFLEX_CRASH_AT needs REFLEX_CRASH_MARKER (a file path)")
            .or_else(|e| {
                if point.is_some() {
                    Err(e.to_owned())
                } else {
                    Ok(PathBuf::new())
                }
            })?;
        Ok(CrashAt {
            inner,
            point,
            stop: Stop::Kill { marker },
        })
    }

    fn at(&self, point: &Point) -> bool {
        self.point.as_ref() == Some(point)
    }

    async fn stop_if(&self, here: bool) {
        if !here {
            return;
        }
        match &self.stop {
            Stop::Kill { marker } => {
                if marker.exists() {
                    return;
                }
                // Written before the kill: nothing after it runs.
                if let Err(e) = std::fs::write(marker, format!("{:?}\n", self.point)) {
                    tracing::error!(error = %e, "crash marker not written; not crashing");
                    return;
                }
                tracing::warn!(point = ?self.point, "crash point reached: SIGKILL");
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &std::process::id().to_string()])
                    .status();
                std::future::pending::<()>().await;
            }
            Stop::Hang => std::future::pending::<()>().await,
        }
    }

    /// The step a progress write is about: the one about to be sent (an intent) or the
    /// last one answered (a result).
    fn step_of(progress: &Progress) -> Option<&str> {
        let index = if progress.in_flight > 0 {
            progress.done
        } else {
            progress.done.checked_sub(1)?
        };
        progress.record.steps.get(index).map(|s| s.op.as_str())
    }
}

impl<L: Ledger> Ledger for CrashAt<'_, L> {
    fn paused(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Pause>, LedgerError>> + Send {
        self.inner.paused(now)
    }

    fn pause(&self, pause: &Pause) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.inner.pause(pause)
    }

    fn resume(
        &self,
        by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Pause>, LedgerError>> + Send {
        self.inner.resume(by, now)
    }

    fn first_under_pause(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        self.inner.first_under_pause(id)
    }

    fn history(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<History, LedgerError>> + Send {
        self.inner.history(since)
    }

    async fn claim(
        &self,
        instance: &str,
        record_id: &str,
        now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let claim = self
            .inner
            .claim(instance, record_id, now, alive_until)
            .await?;
        self.stop_if(claim == Claim::First && self.at(&Point::Claimed))
            .await;
        Ok(claim)
    }

    fn unclaim(
        &self,
        instance: &str,
        record_id: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.inner.unclaim(instance, record_id)
    }

    fn claim_state(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Option<ClaimState>, LedgerError>> + Send {
        self.inner.claim_state(instance)
    }

    async fn record_progress(
        &self,
        instance: &str,
        progress: &Progress,
    ) -> Result<bool, LedgerError> {
        let step = Self::step_of(progress).unwrap_or_default();
        let intent = progress.in_flight > 0;
        self.stop_if(!intent && self.at(&Point::Sent(step.to_owned())))
            .await;
        let written = self.inner.record_progress(instance, progress).await?;
        let here = if intent {
            self.at(&Point::Intent(step.to_owned()))
        } else {
            self.at(&Point::Recorded(step.to_owned()))
        };
        self.stop_if(here).await;
        Ok(written)
    }

    fn take_over(
        &self,
        instance: &str,
        seen: u32,
        now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        self.inner.take_over(instance, seen, now, alive_until)
    }

    async fn settle(
        &self,
        instance: &str,
        attempt: u32,
        record: &AuditRecord,
    ) -> Result<bool, LedgerError> {
        self.stop_if(self.at(&Point::Settle)).await;
        self.inner.settle(instance, attempt, record).await
    }

    fn lease(
        &self,
        target: &TargetRef,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        self.inner.lease(target, holder, now, until)
    }

    fn release(
        &self,
        target: &TargetRef,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.inner.release(target, holder)
    }

    fn take_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> impl Future<Output = Result<BudgetTake, LedgerError>> + Send {
        self.inner.take_budget(window, holder)
    }

    fn give_back_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.inner.give_back_budget(window, holder)
    }

    fn take_node_slot(
        &self,
        node: &str,
        holder: &str,
        slots: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<SlotTake, LedgerError>> + Send {
        self.inner.take_node_slot(node, holder, slots, now, until)
    }

    fn release_node_slot(
        &self,
        slot: u32,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.inner.release_node_slot(slot, holder)
    }

    fn append(&self, record: &AuditRecord) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.inner.append(record)
    }

    fn record(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<AuditRecord>, LedgerError>> + Send {
        self.inner.record(id)
    }

    fn store_flag(&self) -> Option<String> {
        self.inner.store_flag()
    }
}
