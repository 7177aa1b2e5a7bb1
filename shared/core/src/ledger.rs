//! Durable state around the pipeline: the audit trail, exactly-once claims, per-target
//! leases, the budget counter and node-replacement slots, on-call notifications and the
//! CloudWatch alarm re-check.
//!
//! The pipeline only speaks to these traits. Adapters implement them: an in-memory
//! [`MemoryLedger`] here (a replay run), a JSON-lines audit log file (the CLI's
//! `--audit-log`), DynamoDB and SNS (the Lambda functions). The one design choice to know:
//! exactly-once is a *claim* made before anything is read or changed (a conditional write
//! on the alert-instance key), and concurrency per target is a *lease* with an expiry that
//! is held through the action and its cooldown (given back early only after a transient
//! failure), so a crashed invocation never blocks a target for longer than that. The limits
//! that span targets are exact the same way: a counter per budget window and a fixed set of
//! node-replacement slots, each taken with a conditional write just before acting and given
//! back when nothing was changed. Recent history (an index that may lag) only refuses early.

use std::future::{Future, ready};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::audit::AuditRecord;
use crate::duration::Span;
use crate::history::History;
use crate::vocab::op::Op;
use crate::vocab::target::TargetRef;

/// A failure of the state store or notifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The store could not be reached or throttled past its retries; retrying may work.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// The store refused the request for good (permissions, validation).
    #[error("state store refused the request: {0}")]
    Refused(String),
}

/// How far the holder's action has got: the intent log kept with its claim (the protocol
/// is in `intent.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The claim's attempt this was written under.
    pub attempt: u32,
    /// The holder cannot still be at work after this instant.
    pub alive_until: DateTime<Utc>,
    /// The record as far as it has got (action, reason, notes); `steps` holds the steps
    /// finished, then those being performed, then those not yet begun (`planned`).
    pub record: AuditRecord,
    /// How many steps of `record.steps` are finished.
    pub done: usize,
    /// How many steps after those are being performed: their intent is written, their
    /// results are not.
    pub in_flight: usize,
}

impl Progress {
    /// Whether any step was begun: the cluster may have been changed.
    pub fn begun(&self) -> bool {
        self.done + self.in_flight > 0
    }
}

/// What the claim of an alert instance holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimState {
    /// The record id of the invocation holding it.
    pub holder: String,
    /// 0 for the first invocation, one more for each taking over.
    pub attempt: u32,
    /// The holder cannot still be at work after this instant.
    pub alive_until: DateTime<Utc>,
    /// Whether the holder's terminal record is stored.
    pub settled: bool,
    /// How far its action got, once a step was about to begin.
    pub progress: Option<Progress>,
}

impl ClaimState {
    /// A fresh claim of `holder`'s, at attempt 0.
    pub fn new(holder: &str, alive_until: DateTime<Utc>) -> Self {
        ClaimState {
            holder: holder.to_owned(),
            attempt: 0,
            alive_until,
            settled: false,
            progress: None,
        }
    }

    /// A claim whose record is stored.
    pub fn settled(holder: &str) -> Self {
        ClaimState {
            settled: true,
            ..ClaimState::new(holder, DateTime::<Utc>::MIN_UTC)
        }
    }
}

/// The answer to a claim on an alert instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This invocation is the first: go ahead.
    First,
    /// Another record already handled (or is handling) this instance.
    Duplicate {
        /// That record's id.
        by: String,
    },
}

/// One window of the action budget: an interval of the policy's budget window length,
/// aligned to the Unix epoch (an hourly budget counts per clock hour), whose counter admits
/// at most `max` actions. Its [`BudgetWindow::key`] names the counter in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetWindow {
    /// Where the window starts.
    pub start: DateTime<Utc>,
    /// How long it lasts.
    pub length: Span,
    /// Most actions it admits.
    pub max: u32,
}

impl BudgetWindow {
    /// The window of `length` that `now` falls in.
    pub fn containing(now: DateTime<Utc>, length: Span, max: u32) -> Self {
        let secs = i64::try_from(length.as_secs().max(1)).unwrap_or(i64::MAX);
        let start = now.timestamp().div_euclid(secs).saturating_mul(secs);
        BudgetWindow {
            start: DateTime::from_timestamp(start, 0).unwrap_or(now),
            length,
            max,
        }
    }

    /// Where the window ends (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.start + self.length.to_chrono()
    }

    /// The counter's name: `<start>/<length>`, so that a policy change of the window length
    /// starts a new counter instead of reinterpreting an old one.
    pub fn key(&self) -> String {
        format!("{}/{}", crate::audit::rfc3339(self.start), self.length)
    }

    /// `the hour from 09:00:00.000Z`, `the 30m window from ...`: the window in a reason.
    pub fn describe(&self) -> String {
        let what = match self.length.as_secs() {
            3600 => "hour".to_owned(),
            86400 => "day".to_owned(),
            _ => format!("{} window", self.length),
        };
        format!("the {what} from {}", crate::audit::rfc3339(self.start))
    }
}

/// The answer to taking one action of a budget window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetTake {
    /// Counted: `used` actions of the window are taken now, this one included.
    Taken {
        /// Actions counted in the window, this one included.
        used: u32,
    },
    /// The window is full: `used` actions were already counted.
    Exhausted {
        /// Actions counted in the window.
        used: u32,
    },
}

/// A held node-replacement slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotHolder {
    /// The slot number, `0..max_in_flight`.
    pub slot: u32,
    /// The node being replaced.
    pub node: String,
    /// The record that holds the slot.
    pub holder: String,
    /// When the slot frees itself.
    pub until: DateTime<Utc>,
}

/// The answer to taking a node-replacement slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotTake {
    /// This slot is now held.
    Taken {
        /// The slot number, to give back.
        slot: u32,
    },
    /// Every slot is held, by these.
    Busy {
        /// The holders, one per slot.
        held: Vec<SlotHolder>,
    },
}

/// A pause of every action: the kill switch that keeps the record. While one is in force
/// every alert is recorded as `suppressed` and nothing is changed; `until` ends it by
/// itself, `reflex resume` sooner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// Names this pause (on-call is told once per pause).
    pub id: String,
    /// Who paused: an AWS caller ARN, or the local user.
    pub by: String,
    /// Why, in the words of whoever paused.
    pub reason: String,
    /// When the pause began.
    #[serde(with = "crate::time_format")]
    pub since: DateTime<Utc>,
    /// When it ends by itself; `None` until resumed.
    #[serde(with = "crate::time_format::option", default)]
    pub until: Option<DateTime<Utc>>,
}

impl Pause {
    /// A pause by `by` for `reason`, from `since`, for `length` if given. Its id is derived
    /// from who, when and why, so the same pause is the same id in every store.
    pub fn new(by: &str, reason: &str, since: DateTime<Utc>, length: Option<Span>) -> Self {
        let mut h = crate::alert::Fnv64::default();
        h.write(by.as_bytes())
            .write(reason.as_bytes())
            .write(&since.timestamp_millis().to_le_bytes());
        Pause {
            id: format!("pause-{}", &h.hex()[..12]),
            by: by.to_owned(),
            reason: reason.to_owned(),
            since,
            until: length.map(|l| since + l.to_chrono()),
        }
    }

    /// Whether the pause holds at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| now < until)
    }

    /// `paused by alice at ...: "reason", until ...`: the reason of every record made while
    /// paused (it starts with `paused`, a contract).
    pub fn describe(&self) -> String {
        let until = match self.until {
            Some(t) => format!("until {}", crate::audit::rfc3339(t)),
            None => "until `reflex resume`".to_owned(),
        };
        format!(
            "paused by {} at {}: {:?}, {until}; nothing is changed while paused",
            self.by,
            crate::audit::rfc3339(self.since),
            self.reason
        )
    }
}

/// What an operator did to reflex itself: pause or resume. Stored beside the audit records
/// (not among them: those are one per alert) and shown by `reflex status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlEvent {
    /// `pause` or `resume`.
    pub control: Control,
    /// When.
    #[serde(with = "crate::time_format")]
    pub time: DateTime<Utc>,
    /// Who.
    pub by: String,
    /// The pause begun or ended.
    pub pause: Pause,
}

/// The operator commands that are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// `reflex pause`.
    Pause,
    /// `reflex resume`.
    Resume,
}

impl Control {
    /// `pause` / `resume`.
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Pause => "pause",
            Control::Resume => "resume",
        }
    }
}

/// The audit trail and the exactly-once state.
pub trait Ledger: Sync {
    /// The pause in force at `now`, if any: read for every alert, so it must be one cheap
    /// read (or a cache of at most a few seconds).
    fn paused(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Pause>, LedgerError>> + Send;
    /// Puts `pause` in force (replacing any other) and records it.
    fn pause(&self, pause: &Pause) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// Ends the pause in force, recording who ended it; the pause ended, if there was one.
    fn resume(
        &self,
        by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Pause>, LedgerError>> + Send;
    /// `true` exactly once per pause: the first alert suppressed by pause `id` tells
    /// on-call, the others are only recorded.
    fn first_under_pause(&self, id: &str)
    -> impl Future<Output = Result<bool, LedgerError>> + Send;
    /// Records at or after `since` (for cooldown, budget and in-flight checks).
    fn history(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<History, LedgerError>> + Send;
    /// Claims `instance` for `record_id`, whose invocation cannot still be at work after
    /// `alive_until`; a second claim of the same instance is a duplicate.
    fn claim(
        &self,
        instance: &str,
        record_id: &str,
        now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, LedgerError>> + Send;
    /// What the claim of `instance` holds (its holder, attempt, progress, whether its record
    /// is stored); `None` when unclaimed, or when this ledger keeps no progress (then a
    /// claim is taken as settled).
    fn claim_state(
        &self,
        _instance: &str,
    ) -> impl Future<Output = Result<Option<ClaimState>, LedgerError>> + Send {
        ready(Ok(None))
    }
    /// Writes how far the holder's action has got (an intent before each step that changes
    /// the cluster, its result after), only while `progress.attempt` still holds the claim
    /// of `instance`: `false` when another invocation has taken it over since.
    fn record_progress(
        &self,
        _instance: &str,
        _progress: &Progress,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        ready(Ok(true))
    }
    /// Takes the claim of `instance` over from attempt `seen`, whose invocation ended
    /// without storing its record (its `alive_until` is past): the claim's attempt becomes
    /// `seen + 1`, alive until `alive_until`. `false` when it was settled or taken over
    /// meanwhile, or its holder may still be at work.
    fn take_over(
        &self,
        _instance: &str,
        _seen: u32,
        _now: DateTime<Utc>,
        _alive_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        ready(Ok(false))
    }
    /// Stores the terminal record of the claim's holder and marks the claim settled, in one
    /// write, only while `attempt` still holds it: `false` (nothing stored) when another
    /// invocation took the claim over.
    fn settle(
        &self,
        _instance: &str,
        _attempt: u32,
        record: &AuditRecord,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        let stored = self.append(record);
        async move { stored.await.map(|()| true) }
    }
    /// Withdraws `record_id`'s claim, so that a redelivery may try again after a transient
    /// failure. A claim held by another record is left alone.
    fn unclaim(
        &self,
        instance: &str,
        record_id: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// Takes the lease on `target` for `holder` until `until`; `false` when another holder
    /// has an unexpired lease.
    fn lease(
        &self,
        target: &TargetRef,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send;
    /// Gives the lease back (only if `holder` still has it).
    fn release(
        &self,
        target: &TargetRef,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// Counts one action for `holder` in `window`, unless the window is full: a
    /// conditional update on the window's counter. Taking again for the same holder counts
    /// once.
    fn take_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> impl Future<Output = Result<BudgetTake, LedgerError>> + Send;
    /// Gives `holder`'s action of `window` back (nothing was changed); a no-op when it holds
    /// none.
    fn give_back_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// Takes one of `slots` node-replacement slots for replacing `node`, held by `holder`
    /// until `until`; [`SlotTake::Busy`] when every slot has another unexpired holder.
    fn take_node_slot(
        &self,
        node: &str,
        holder: &str,
        slots: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<SlotTake, LedgerError>> + Send;
    /// Gives slot `slot` back (only if `holder` still has it).
    fn release_node_slot(
        &self,
        slot: u32,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// Stores a finished record.
    fn append(&self, record: &AuditRecord) -> impl Future<Output = Result<(), LedgerError>> + Send;
    /// The stored record `id`, if any: what an approval looks up.
    fn record(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<AuditRecord>, LedgerError>> + Send;
    /// How an operator names this store on the command line (`--table NAME`, `--audit-log
    /// FILE`), for the approve command an `awaiting_approval` record carries; `None` for a
    /// store that lives only in memory.
    fn store_flag(&self) -> Option<String> {
        None
    }
}

/// Tells on-call what reflex did (executed, failed or suppressed actions) and what awaits
/// approval.
pub trait Notifier: Sync {
    /// Sends a notification about `record`.
    fn notify(&self, record: &AuditRecord) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Called once the plan `ops` for `record`'s action is made and just before it is
    /// performed: a notifier that shows evidence reads the target here, while it still
    /// exists as it failed (a restart deletes the pod, a drain moves the node's pods). It
    /// must not fail and should be quick: the action waits for it. The default does nothing.
    fn before_action(&self, record: &AuditRecord, ops: &[Op]) -> impl Future<Output = ()> + Send {
        let _ = (record, ops);
        ready(())
    }
}

/// What CloudWatch says about the alarm a message names, asked before acting on it.
///
/// Only [`AlarmState::Confirmed`] and [`AlarmState::NotChecked`] let the pipeline go on. An
/// alarm no longer in ALARM is a late or repeated delivery (`ignored`); an alarm that does
/// not exist, or watches other dimensions than the message says, means the message is not
/// what CloudWatch sent (forged, or about an alarm since deleted or changed): `rejected`,
/// so that the event waits in the dead-letter queue where someone looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmState {
    /// Not asked: not a CloudWatch alarm, or no re-check available (a replay).
    NotChecked,
    /// The alarm exists, is in ALARM, and watches what the message says.
    Confirmed,
    /// The alarm exists but is in another state (`OK`, `INSUFFICIENT_DATA`).
    NotInAlarm {
        /// The state CloudWatch reports.
        state: String,
    },
    /// No alarm of that name in this account and region.
    Missing,
    /// The alarm watches other dimensions (or another metric) than the message says.
    Differs {
        /// `name=value, ...` as CloudWatch has them.
        alarm: String,
        /// `name=value, ...` as the message has them.
        message: String,
    },
}

/// Asks the alarm's source about a CloudWatch alarm before acting (see [`AlarmState`]).
pub trait AlarmCheck: Sync {
    /// The alarm's state, and whether it watches what `alert` says.
    fn recheck(
        &self,
        alert: &Alert,
    ) -> impl Future<Output = Result<AlarmState, LedgerError>> + Send;
}

/// No notifications, no alarm re-check: what a replay without AWS uses.
impl Notifier for () {
    fn notify(
        &self,
        _record: &AuditRecord,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        ready(Ok(()))
    }
}

impl AlarmCheck for () {
    fn recheck(
        &self,
        _alert: &Alert,
    ) -> impl Future<Output = Result<AlarmState, LedgerError>> + Send {
        ready(Ok(AlarmState::NotChecked))
    }
}

#[derive(Debug, Default)]
struct Memory {
    records: Vec<AuditRecord>,
    claims: std::collections::HashMap<String, ClaimState>,
    leases: std::collections::HashMap<TargetRef, (String, DateTime<Utc>)>,
    budgets: std::collections::HashMap<String, std::collections::BTreeSet<String>>,
    slots: std::collections::BTreeMap<u32, SlotHolder>,
    pause: Option<Pause>,
    told: std::collections::BTreeSet<String>,
    controls: Vec<ControlEvent>,
}

/// A ledger in memory: one replay run, or tests. Optionally seeded with earlier records
/// (an audit log read at start).
#[derive(Debug, Default)]
pub struct MemoryLedger {
    inner: Mutex<Memory>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        MemoryLedger::default()
    }

    /// A ledger that already holds `records` (claims included).
    pub fn with_records(records: Vec<AuditRecord>) -> Self {
        let ledger = MemoryLedger::new();
        {
            let mut m = ledger.lock();
            for record in records {
                if let Some(instance) = &record.instance
                    && record.verdict != crate::vocab::verdict::Verdict::Failed
                    && record.verdict != crate::vocab::verdict::Verdict::Rejected
                {
                    m.claims
                        .entry(instance.clone())
                        .or_insert_with(|| ClaimState::settled(&record.id));
                }
                m.records.push(record);
            }
        }
        ledger
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every record appended so far, in order.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.lock().records.clone()
    }

    /// Takes in an operator's earlier pause or resume (an audit log read at start): the
    /// latest decides whether a pause is in force.
    pub fn replay_control(&self, event: ControlEvent) {
        let mut m = self.lock();
        m.pause = match event.control {
            Control::Pause => Some(event.pause.clone()),
            Control::Resume => None,
        };
        m.controls.push(event);
    }

    /// The pause in force at `now`, if any.
    pub fn pause_in_force(&self, now: DateTime<Utc>) -> Option<Pause> {
        self.lock().pause.clone().filter(|p| p.in_force(now))
    }

    /// Every pause and resume, oldest first.
    pub fn controls(&self) -> Vec<ControlEvent> {
        self.lock().controls.clone()
    }
}

impl Ledger for MemoryLedger {
    fn paused(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Pause>, LedgerError>> + Send {
        ready(Ok(self.pause_in_force(now)))
    }

    fn pause(&self, pause: &Pause) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.replay_control(ControlEvent {
            control: Control::Pause,
            time: pause.since,
            by: pause.by.clone(),
            pause: pause.clone(),
        });
        ready(Ok(()))
    }

    fn resume(
        &self,
        by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Pause>, LedgerError>> + Send {
        let ended = self.pause_in_force(now);
        if let Some(pause) = &ended {
            self.replay_control(ControlEvent {
                control: Control::Resume,
                time: now,
                by: by.to_owned(),
                pause: pause.clone(),
            });
        }
        ready(Ok(ended))
    }

    fn first_under_pause(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        ready(Ok(self.lock().told.insert(id.to_owned())))
    }

    fn history(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<History, LedgerError>> + Send {
        let m = self.lock();
        let since = crate::audit::rfc3339(since);
        // RFC 3339 UTC strings in one format order like the instants they name.
        ready(Ok(History::from_records(
            m.records.iter().filter(|r| r.time >= since),
        )))
    }

    fn claim(
        &self,
        instance: &str,
        record_id: &str,
        _now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, LedgerError>> + Send {
        let mut m = self.lock();
        let claim = match m.claims.get(instance) {
            Some(held) => Claim::Duplicate {
                by: held.holder.clone(),
            },
            None => {
                let held = ClaimState::new(record_id, alive_until);
                m.claims.insert(instance.to_owned(), held);
                Claim::First
            }
        };
        ready(Ok(claim))
    }

    fn claim_state(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Option<ClaimState>, LedgerError>> + Send {
        ready(Ok(self.lock().claims.get(instance).cloned()))
    }

    fn record_progress(
        &self,
        instance: &str,
        progress: &Progress,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        let mut m = self.lock();
        let held = m.claims.get_mut(instance).filter(|held| {
            held.holder == progress.record.id && held.attempt == progress.attempt && !held.settled
        });
        let written = held.is_some();
        if let Some(held) = held {
            held.alive_until = progress.alive_until;
            held.progress = Some(progress.clone());
        }
        ready(Ok(written))
    }

    fn take_over(
        &self,
        instance: &str,
        seen: u32,
        now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        let mut m = self.lock();
        let held = m
            .claims
            .get_mut(instance)
            .filter(|held| held.attempt == seen && !held.settled && held.alive_until <= now);
        let taken = held.is_some();
        if let Some(held) = held {
            held.attempt = seen + 1;
            held.alive_until = alive_until;
        }
        ready(Ok(taken))
    }

    fn settle(
        &self,
        instance: &str,
        attempt: u32,
        record: &AuditRecord,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        let mut m = self.lock();
        let held = m
            .claims
            .get_mut(instance)
            .filter(|held| held.holder == record.id && held.attempt == attempt && !held.settled);
        let settled = held.is_some();
        if let Some(held) = held {
            held.settled = true;
            held.progress = None;
            m.records.push(record.clone());
        }
        ready(Ok(settled))
    }

    fn unclaim(
        &self,
        instance: &str,
        record_id: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        let mut m = self.lock();
        if m.claims
            .get(instance)
            .is_some_and(|held| held.holder == record_id)
        {
            m.claims.remove(instance);
        }
        ready(Ok(()))
    }

    fn lease(
        &self,
        target: &TargetRef,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send {
        let mut m = self.lock();
        let free = match m.leases.get(target) {
            Some((other, expires)) => other == holder || *expires <= now,
            None => true,
        };
        if free {
            m.leases.insert(target.clone(), (holder.to_owned(), until));
        }
        ready(Ok(free))
    }

    fn release(
        &self,
        target: &TargetRef,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        let mut m = self.lock();
        if m.leases.get(target).is_some_and(|(h, _)| h == holder) {
            m.leases.remove(target);
        }
        ready(Ok(()))
    }

    fn take_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> impl Future<Output = Result<BudgetTake, LedgerError>> + Send {
        let mut m = self.lock();
        let holders = m.budgets.entry(window.key()).or_default();
        let used = u32::try_from(holders.len()).unwrap_or(u32::MAX);
        let take = if holders.contains(holder) {
            BudgetTake::Taken { used }
        } else if used >= window.max {
            BudgetTake::Exhausted { used }
        } else {
            holders.insert(holder.to_owned());
            BudgetTake::Taken { used: used + 1 }
        };
        ready(Ok(take))
    }

    fn give_back_budget(
        &self,
        window: &BudgetWindow,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        if let Some(holders) = self.lock().budgets.get_mut(&window.key()) {
            holders.remove(holder);
        }
        ready(Ok(()))
    }

    fn take_node_slot(
        &self,
        node: &str,
        holder: &str,
        slots: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<SlotTake, LedgerError>> + Send {
        let mut m = self.lock();
        let free = (0..slots).find(|slot| {
            m.slots
                .get(slot)
                .is_none_or(|h| h.holder == holder || h.until <= now)
        });
        let take = match free {
            Some(slot) => {
                let held = SlotHolder {
                    slot,
                    node: node.to_owned(),
                    holder: holder.to_owned(),
                    until,
                };
                m.slots.insert(slot, held);
                SlotTake::Taken { slot }
            }
            None => SlotTake::Busy {
                held: (0..slots)
                    .filter_map(|s| m.slots.get(&s).cloned())
                    .collect(),
            },
        };
        ready(Ok(take))
    }

    fn release_node_slot(
        &self,
        slot: u32,
        holder: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        let mut m = self.lock();
        if m.slots.get(&slot).is_some_and(|h| h.holder == holder) {
            m.slots.remove(&slot);
        }
        ready(Ok(()))
    }

    fn append(&self, record: &AuditRecord) -> impl Future<Output = Result<(), LedgerError>> + Send {
        self.lock().records.push(record.clone());
        ready(Ok(()))
    }

    fn record(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<AuditRecord>, LedgerError>> + Send {
        ready(Ok(self.lock().records.iter().find(|r| r.id == id).cloned()))
    }
}
