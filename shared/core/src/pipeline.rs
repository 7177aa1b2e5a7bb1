//! The pipeline, stage by stage: decode → classify → guard → resolve → execute → audit.
//!
//! Entry points (the CLI, the Lambda functions) hand [`Pipeline::process`] a payload and
//! their adapters and get back one audit record per alert, on every path. The stages are
//! written out in order in [`Pipeline::handle`]; each returns its own type, and every early
//! exit still produces the record, which is then appended to the ledger (and, for actions,
//! sent to on-call) before the next alert is handled, so a run respects its own cooldowns
//! and budget. Between resolve and execute an enforce run takes the target's lease and the
//! limits that span targets (`limits.rs`); what it took is given back when the cluster was
//! not changed. A rule that says `approval: required` stops an enforce run after resolve:
//! the plan is recorded as `awaiting_approval` with what its approval needs, and
//! `approve.rs` later runs the same stages from resolve on, once the approval is claimed. The one rule about retries: only a failure before any change is transient
//! (claim withdrawn, Lambda retries); after a change the outcome is final.

use chrono::{DateTime, TimeDelta, Utc};

use crate::alert::{Alert, Delivery, Fnv64, Source};
use crate::approval;
use crate::audit::{ActionSummary, AuditRecord};
use crate::cluster::{Actuator, ClusterError, ClusterView, Fleet};
use crate::decode;
use crate::execute;
use crate::guard;
use crate::intent::{self, Intent};
use crate::ledger::{AlarmCheck, AlarmState, Claim, Ledger, LedgerError, Notifier, Progress};
use crate::limits::{self, Denied};
use crate::plan::{self, Inputs, Resolution};
use crate::policy::{self, Policy, Rule};
use crate::time_format::rfc3339;
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::{Mode, StepResult, Verdict};

/// The adapters a run uses.
///
/// `cluster` is read while planning; `live` performs plans (with `dryRun=All` in dry-run
/// mode; without it plans are recorded only). `ledger` holds the audit trail and the
/// exactly-once state; `notifier` tells on-call; `alarms` re-checks CloudWatch alarms. A
/// replay without AWS uses `()` for the last two.
#[derive(Debug)]
pub struct Adapters<'a, C, A, F, L, N = (), R = ()> {
    /// Cluster reads, if any cluster is known.
    pub cluster: Option<&'a C>,
    /// Cluster writes and the instance fleet, when acting on a live cluster.
    pub live: Option<(&'a A, &'a F)>,
    /// Audit trail, claims and leases.
    pub ledger: &'a L,
    /// On-call notifications.
    pub notifier: &'a N,
    /// CloudWatch alarm re-check.
    pub alarms: &'a R,
}

/// Which clock a record is evaluated at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// This instant, for every alert (`--now`, or the wall clock in a Lambda).
    Fixed(DateTime<Utc>),
    /// Each alert at its own start time (replay's default), or, for an alert that does not
    /// say when it started, when it was sent; `fallback` for anything else.
    AlertTime {
        /// Time for records that have no alert or no time of their own.
        fallback: DateTime<Utc>,
    },
}

impl Clock {
    /// The evaluation time for `alert` (or for input without one).
    pub fn at(self, alert: Option<&Alert>) -> DateTime<Utc> {
        match (self, alert) {
            (Clock::Fixed(t), _) => t,
            (Clock::AlertTime { fallback }, Some(a)) => {
                a.starts_at.or(a.delivery.sent_at).unwrap_or(fallback)
            }
            (Clock::AlertTime { fallback }, None) => fallback,
        }
    }
}

/// Hands out record ids: a per-run prefix (a Lambda request id, a replay run id) and a
/// sequence number.
#[derive(Debug, Clone)]
pub struct Ids {
    prefix: String,
    next: u64,
}

impl Ids {
    /// Ids `<prefix>-0001`, `<prefix>-0002`, ...
    pub fn new(prefix: impl Into<String>) -> Self {
        Ids {
            prefix: prefix.into(),
            next: 1,
        }
    }

    /// The next id.
    pub fn issue(&mut self) -> String {
        let id = format!("{}-{:04}", self.prefix, self.next);
        self.next += 1;
        id
    }
}

/// A digest of a payload's bytes: how a rejected input is known again.
fn payload_digest(bytes: &[u8]) -> String {
    Fnv64::default().write(bytes).hex()
}

/// Why retrying the same event later may give a better result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Transient {
    /// The cluster API was unreachable or timed out.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The state store, notifier or alarm API was unreachable.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Another invocation holds the alert instance and may still be at work: nothing is
    /// stored, and a later delivery finds it settled, or takes it over.
    #[error("deferred: {0}")]
    InProgress(String),
}

/// One record, and what went wrong that a retry may fix.
#[derive(Debug, Clone)]
pub struct Handled {
    /// The audit record.
    pub record: AuditRecord,
    /// A transient failure (API unreachable, store throttled, record not stored): the caller
    /// may retry the event.
    pub transient: Option<Transient>,
    /// The first alert suppressed by a pause: on-call is told of the pause with it (once
    /// per pause; the others are only recorded).
    pub first_under_pause: bool,
    /// The claim (alert instance and attempt) this record settles when it is stored.
    pub settles: Option<(String, u32)>,
}

impl Handled {
    /// A record with nothing to retry.
    pub fn of(record: AuditRecord) -> Self {
        Handled {
            record,
            transient: None,
            first_under_pause: false,
            settles: None,
        }
    }
}

/// `record` with its verdict and reason.
pub(crate) fn ended_with(
    mut record: AuditRecord,
    verdict: Verdict,
    reason: String,
    transient: Option<Transient>,
) -> Handled {
    record.verdict = verdict;
    record.reason = reason;
    Handled {
        transient,
        ..Handled::of(record)
    }
}

/// A redelivery left to a later try: nothing stored, the event retried.
fn deferred(record: &AuditRecord, verdict: Verdict, reason: String) -> Redelivery {
    let transient = Some(Transient::InProgress(reason.clone()));
    Redelivery::Handled(Box::new(ended_with(
        record.clone(),
        verdict,
        reason,
        transient,
    )))
}

/// What a redelivery of a claimed alert instance comes to.
enum Redelivery {
    /// A duplicate of the holder's stored record.
    Duplicate,
    /// Its record, final (deferred, or finished from the holder's progress).
    Handled(Box<Handled>),
    /// The claim was taken over as `attempt`, with nothing changed yet: act anew.
    TakenOver {
        /// The claim's new attempt.
        attempt: u32,
    },
}

/// The claim an invocation holds while it acts: an alert instance's, or an approval's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held<'a> {
    pub(crate) instance: &'a str,
    pub(crate) attempt: u32,
    pub(crate) alive_until: DateTime<Utc>,
}

/// A configured pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Dry run or enforce.
    pub mode: Mode,
}

/// Which deliveries an entry point acts on, asked of each decoded alert before any stage:
/// `Err` holds the reason, naming the source seen, and the alert gets a `rejected` record
/// (stored and counted like any rejected input). A replay admits everything (`()`); the
/// deployed function admits only its own topic and account.
pub trait Admission: std::fmt::Debug {
    /// `Ok` when `alert`, as delivered, may be acted on.
    fn admit(&self, alert: &Alert) -> Result<(), String>;

    /// `Ok` when a message delivered by SNS topic `topic_arn` (an approval message) may be
    /// acted on. Default: any.
    fn admit_topic(&self, topic_arn: Option<&str>) -> Result<(), String> {
        let _ = topic_arn;
        Ok(())
    }
}

impl Admission for () {
    fn admit(&self, _: &Alert) -> Result<(), String> {
        Ok(())
    }
}

impl Pipeline<'_> {
    /// Processes one payload: one record per alert (or per undecodable item), in order.
    pub async fn process<C, A, F, L, N, R>(
        &self,
        bytes: &[u8],
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        clock: Clock,
        ids: &mut Ids,
    ) -> Vec<Handled>
    where
        C: ClusterView,
        A: Actuator,
        F: Fleet,
        L: Ledger,
        N: Notifier,
        R: AlarmCheck,
    {
        self.process_admitted(bytes, &(), adapters, clock, ids)
            .await
    }

    /// [`Pipeline::process`], acting only on the alerts `admission` admits.
    pub async fn process_admitted<C, A, F, L, N, R>(
        &self,
        bytes: &[u8],
        admission: &(impl Admission + ?Sized),
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        clock: Clock,
        ids: &mut Ids,
    ) -> Vec<Handled>
    where
        C: ClusterView,
        A: Actuator,
        F: Fleet,
        L: Ledger,
        N: Notifier,
        R: AlarmCheck,
    {
        let mut handled = Vec::new();
        for (index, item) in decode::decode(bytes).into_iter().enumerate() {
            let mut result = match item {
                Ok(alert) => match admission.admit(&alert) {
                    Ok(()) => {
                        self.handle(&alert, adapters, clock.at(Some(&alert)), ids.issue())
                            .await
                    }
                    Err(reason) => {
                        let mut record = AuditRecord::for_alert(
                            ids.issue(),
                            clock.at(Some(&alert)),
                            self.mode,
                            &alert,
                        );
                        record.verdict = Verdict::Rejected;
                        record.reason = reason;
                        Handled::of(record)
                    }
                },
                Err(rejection) => Handled::of(self.rejected(
                    bytes,
                    rejection.reason,
                    rejection.delivery,
                    clock.at(None),
                    ids,
                )),
            };
            if result.record.verdict == Verdict::Rejected
                && self
                    .rejected_before(
                        &mut result.record,
                        bytes,
                        index,
                        clock.at(None),
                        adapters.ledger,
                    )
                    .await
            {
                handled.push(result);
                continue;
            }
            self.finish(&mut result, adapters).await;
            handled.push(result);
        }
        handled
    }

    /// Whether the same input was already rejected and recorded: a rejected event comes
    /// back unchanged (Lambda retries an error twice before the dead-letter queue takes it,
    /// SNS may deliver it again), and must leave one record, not one per attempt. The
    /// claim is the payload's digest and the item's place in it. When the store cannot be
    /// asked, the record is stored anyway: a second record is better than a lost one.
    async fn rejected_before<L: Ledger>(
        &self,
        record: &mut AuditRecord,
        bytes: &[u8],
        index: usize,
        now: DateTime<Utc>,
        ledger: &L,
    ) -> bool {
        let key = format!("rejected:{}:{index}", payload_digest(bytes));
        match ledger.claim(&key, &record.id, now, now).await {
            Ok(Claim::Duplicate { by }) => {
                record.notes.push(format!(
                    "the same input was already rejected and recorded as {by}: not stored again"
                ));
                true
            }
            Ok(Claim::First) | Err(_) => false,
        }
    }

    /// Stores a record, then tells on-call about actions (done, failed, refused, or what a
    /// shadow rule would have done) and about a pause, once. The holder's record settles
    /// its claim in the same write. A store failure makes the whole event retryable, since
    /// a record that was not stored is a record lost; on-call is then told by the delivery
    /// that stores it, so once. A deferred redelivery stores and tells nothing.
    pub async fn finish<C, A, F, L, N, R>(
        &self,
        handled: &mut Handled,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
    ) where
        L: Ledger,
        N: Notifier,
    {
        if matches!(handled.transient, Some(Transient::InProgress(_))) {
            return;
        }
        let stored = match &handled.settles {
            Some((instance, attempt)) => adapters
                .ledger
                .settle(instance, *attempt, &handled.record)
                .await
                .inspect(|&settled| {
                    if !settled {
                        handled.record.notes.push(
                            "not stored: another invocation took the claim of this alert instance over and records it".to_owned(),
                        );
                    }
                }),
            None => adapters.ledger.append(&handled.record).await.map(|()| true),
        };
        match stored {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                handled.transient.get_or_insert(Transient::Ledger(e));
                return;
            }
        }
        let record = &handled.record;
        let tell = matches!(
            record.verdict,
            Verdict::Executed | Verdict::Failed | Verdict::AwaitingApproval
        ) || (record.verdict == Verdict::Suppressed && record.action.is_some())
            || (record.verdict == Verdict::Planned && record.shadow)
            || handled.first_under_pause;
        if tell && let Err(e) = adapters.notifier.notify(record).await {
            // The record is stored already: the note reaches the caller's output and log.
            handled
                .record
                .notes
                .push(format!("on-call notification failed: {e}"));
        }
    }

    /// The `rejected` record for input that could not be used at all (undecodable bytes, or
    /// a file or message that could not be read). Its fingerprint is a digest of the bytes.
    pub fn rejected(
        &self,
        bytes: &[u8],
        reason: String,
        delivery: Delivery,
        now: DateTime<Utc>,
        ids: &mut Ids,
    ) -> AuditRecord {
        let digest = format!("payload:{}", payload_digest(bytes));
        AuditRecord::rejected(ids.issue(), now, self.mode, None, digest, reason, delivery)
    }

    /// Puts `rule` in `record` and gives the effective mode: the more cautious of the
    /// rule's and the pipeline's (a shadow rule holds reflex back to a dry run).
    pub(crate) fn under_rule(&self, record: &mut AuditRecord, rule: &Rule) -> Mode {
        let mode = rule.mode.map_or(self.mode, |m| m.cautious(self.mode));
        record.class = Some(rule.class);
        record.rule = Some(rule.name.clone());
        record.mode = mode;
        if mode != self.mode {
            record.shadow = true;
            record.notes.push(format!(
                "rule {} is a shadow rule (mode: dry-run): planned and reported, not performed",
                rule.name
            ));
        }
        mode
    }

    /// The stages for one decoded alert.
    async fn handle<C, A, F, L, N, R>(
        &self,
        alert: &Alert,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        now: DateTime<Utc>,
        id: String,
    ) -> Handled
    where
        C: ClusterView,
        A: Actuator,
        F: Fleet,
        L: Ledger,
        N: Notifier,
        R: AlarmCheck,
    {
        let mut record = AuditRecord::for_alert(id, now, self.mode, alert);
        let done = ended_with;

        // Classify; the rule may hold reflex back to a dry run (a shadow rule).
        let rule = self.policy.classify(alert);
        let mode = match rule {
            Some(rule) => self.under_rule(&mut record, rule),
            None => self.mode,
        };

        // The operator's kill switch, before anything is read or changed.
        match adapters.ledger.paused(now).await {
            Ok(None) => {}
            Ok(Some(pause)) => {
                let first = match adapters.ledger.first_under_pause(&pause.id).await {
                    Ok(first) => first,
                    Err(e) => {
                        record.notes.push(format!(
                            "could not tell whether on-call was told of this pause ({e}); not telling again"
                        ));
                        false
                    }
                };
                // Decided before the alert instance is claimed: after the pause, a
                // redelivery of it is acted on like a first delivery.
                record.instance = None;
                let mut handled = done(record, Verdict::Suppressed, pause.describe(), None);
                handled.first_under_pause = first;
                return handled;
            }
            Err(e) => {
                let reason = format!("could not read whether reflex is paused: {e}");
                return done(record, Verdict::Failed, reason, Some(e.into()));
            }
        }

        // CloudWatch holds this state change's own actions back (a composite alarm's
        // actions suppressor): whatever the rules say, nothing is done. Nothing is claimed
        // either: when a wait period runs out, CloudWatch reports the state again with its
        // actions free and performs them, and that delivery must not meet a claim.
        if let Err(refusal) = guard::actions_not_suppressed(alert) {
            record.instance = None;
            return done(record, refusal.verdict, refusal.reason, None);
        }

        let Some(rule) = rule else {
            let reason = format!(
                "no policy rule matches {} alert {:?}",
                alert.source, alert.name
            );
            return done(record, Verdict::NoMatch, reason, None);
        };

        // Guard: the alert itself, its age, then its source (is the alarm still in ALARM?).
        if let Err(refusal) = guard::firing(alert) {
            return done(record, refusal.verdict, refusal.reason, None);
        }
        if let Err(refusal) = guard::fresh(alert, now, &self.policy.guardrails) {
            // Not claimed: a fresh delivery of the same instance may still be acted on.
            record.instance = None;
            return done(record, refusal.verdict, refusal.reason, None);
        }
        if alert.source == Source::Cloudwatch {
            match adapters.alarms.recheck(alert).await {
                Ok(AlarmState::Confirmed | AlarmState::NotChecked) => {}
                Ok(AlarmState::NotInAlarm { state }) => {
                    let reason = format!(
                        "re-checked: the alarm is {state}, no longer in ALARM; nothing to remediate"
                    );
                    return done(record, Verdict::Ignored, reason, None);
                }
                Ok(AlarmState::Missing) => {
                    let reason = format!(
                        "re-checked: CloudWatch has no alarm named {:?} in this account and region; a message CloudWatch does not confirm is not acted on",
                        alert.name
                    );
                    return done(record, Verdict::Rejected, reason, None);
                }
                Ok(AlarmState::Differs { alarm, message }) => {
                    let reason = format!(
                        "re-checked: alarm {:?} watches {alarm}, but the message says {message}; a message CloudWatch does not confirm is not acted on",
                        alert.name
                    );
                    return done(record, Verdict::Rejected, reason, None);
                }
                Err(e) => {
                    let reason = format!("could not re-check the alarm state: {e}");
                    return done(record, Verdict::Failed, reason, Some(e.into()));
                }
            }
        }

        // Exactly once: claim the alert instance before reading or changing anything.
        let instance = alert.instance_key();
        let deadline = adapters
            .live
            .and_then(|(actuator, _)| actuator.time_left())
            .and_then(|left| TimeDelta::from_std(left).ok())
            .map(|left| now + left);
        let alive_until = intent::alive_until(now, &self.policy.guardrails, deadline);
        let claim = match adapters
            .ledger
            .claim(&instance, &record.id, now, alive_until)
            .await
        {
            Ok(claim) => claim,
            Err(e) => {
                return done(
                    record,
                    Verdict::Failed,
                    format!("could not claim the alert instance: {e}"),
                    Some(e.into()),
                );
            }
        };
        let mut attempt = 0;
        if let Claim::Duplicate { by } = &claim {
            match self
                .redelivered(
                    &mut record,
                    &instance,
                    by,
                    adapters.ledger,
                    now,
                    alive_until,
                )
                .await
            {
                Redelivery::Handled(handled) => return *handled,
                Redelivery::TakenOver { attempt: taken } => attempt = taken,
                Redelivery::Duplicate => {
                    if let Err(refusal) = guard::first_delivery(&claim) {
                        return done(record, refusal.verdict, refusal.reason, None);
                    }
                }
            }
        }
        let held = Held {
            instance: &instance,
            attempt,
            alive_until,
        };
        let mut handled = self
            .claimed(record, alert, rule, mode, adapters, now, held, None)
            .await;
        // Unless it was given back for a retry, the claim is settled by this record.
        if handled.transient.is_none() {
            handled.settles = Some((instance, attempt));
        }
        handled
    }

    /// A redelivery of an alert instance whose claim `by` holds: a duplicate once the
    /// holder's record is stored; deferred (nothing stored, the event retried) while the
    /// holder may still be at work; taken over once it cannot be (see `intent.rs`), either
    /// to act anew under the holder's record id, when no step had begun, or to finish its
    /// record from its progress.
    async fn redelivered<L: Ledger>(
        &self,
        record: &mut AuditRecord,
        instance: &str,
        by: &str,
        ledger: &L,
        now: DateTime<Utc>,
        alive_until: DateTime<Utc>,
    ) -> Redelivery {
        let state = match ledger.claim_state(instance).await {
            Ok(Some(state)) if !state.settled && state.holder == by => state,
            Ok(_) => return Redelivery::Duplicate,
            Err(e) => {
                let reason =
                    format!("could not read the claim of this alert instance (held by {by}): {e}");
                return deferred(record, Verdict::Failed, reason);
            }
        };
        if state.alive_until > now {
            let reason = format!(
                "record {by} holds this alert instance and may still be at work (until {}); not recorded, retried later",
                rfc3339(state.alive_until)
            );
            return deferred(record, Verdict::Suppressed, reason);
        }
        match ledger
            .take_over(instance, state.attempt, now, alive_until)
            .await
        {
            Ok(true) => {}
            // Settled or taken over meanwhile: whoever holds it now records it.
            Ok(false) => return Redelivery::Duplicate,
            Err(e) => {
                let reason = format!("could not take over the claim of record {by}: {e}");
                return Redelivery::Handled(Box::new(ended_with(
                    record.clone(),
                    Verdict::Failed,
                    reason,
                    Some(e.into()),
                )));
            }
        }
        let attempt = state.attempt + 1;
        match state.progress.filter(Progress::begun) {
            Some(progress) => {
                let mut handled = Handled::of(intent::ended(progress, attempt));
                handled.settles = Some((instance.to_owned(), attempt));
                Redelivery::Handled(Box::new(handled))
            }
            None => {
                record.notes.push(format!(
                    "the invocation that claimed this alert instance as record {by} ended before changing anything; acting anew as attempt {attempt}, under its record id"
                ));
                by.clone_into(&mut record.id);
                Redelivery::TakenOver { attempt }
            }
        }
    }

    /// The stages after the alert instance (or an approval) is claimed: resolve, the
    /// approval gate, lease, limits, execute. `approved` holds the objects of the plan an
    /// approval approved: the new plan must name the same ones.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn claimed<C, A, F, L, N, R>(
        &self,
        mut record: AuditRecord,
        alert: &Alert,
        rule: &Rule,
        mode: Mode,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        now: DateTime<Utc>,
        claim: Held<'_>,
        approved: Option<&[String]>,
    ) -> Handled
    where
        C: ClusterView,
        A: Actuator,
        F: Fleet,
        L: Ledger,
        N: Notifier,
        R: AlarmCheck,
    {
        let done = ended_with;
        let instance = claim.instance;
        // Resolve the target and its guardrails into a plan.
        let g = &self.policy.guardrails;
        let window = self.policy.history_window();
        let history = match adapters.ledger.history(now - window.to_chrono()).await {
            Ok(history) => history,
            Err(e) => {
                self.unclaim(adapters, instance, &record.id).await;
                return done(
                    record,
                    Verdict::Failed,
                    format!("could not read recent actions: {e}"),
                    Some(e.into()),
                );
            }
        };
        let inputs = Inputs {
            rule,
            alert,
            policy: self.policy,
            history: &history,
            now,
        };
        let plan = match plan::resolve(inputs, adapters.cluster).await {
            Resolution::Plan(plan) => plan,
            Resolution::Refused(refused) => {
                record.notes.extend(refused.notes);
                record.action = refused
                    .action
                    .map(|(kind, target)| ActionSummary { kind, target });
                let transient = refused
                    .error
                    .filter(ClusterError::is_transient)
                    .map(Transient::from);
                if transient.is_some() {
                    self.unclaim(adapters, instance, &record.id).await;
                }
                return done(record, refused.verdict, refused.reason, transient);
            }
        };
        record.action = Some(ActionSummary {
            kind: plan.action,
            target: plan.target.clone(),
        });
        record.notes.extend(plan.notes.iter().cloned());
        record.workload.clone_from(&plan.workload);

        // A human in the loop: an approved plan must still name the objects approved; a
        // rule that asks for approval records its plan and waits (only what would change
        // the cluster, and only when enforcing: a dry run changes nothing).
        let objects = approval::objects(plan.action, &plan.target, &plan.ops);
        match approved {
            Some(approved) => {
                if let Some(difference) = approval::difference(approved, &objects) {
                    let reason = format!(
                        "the cluster changed since the plan was approved, so nothing was done: {difference}"
                    );
                    return done(record, Verdict::Suppressed, reason, None);
                }
            }
            None if rule.approval == Some(policy::Approval::Required)
                && mode == Mode::Enforce
                && plan.ops.iter().any(crate::vocab::op::Op::is_mutation) =>
            {
                let expires = now + self.policy.approval.ttl.to_chrono();
                let command =
                    approval::command(&record.id, adapters.ledger.store_flag().as_deref());
                record.steps = execute::record_only(&plan.ops).steps;
                let reason = format!(
                    "{}; awaiting approval until {} (rule {} says approval: required): {command}",
                    plan.reason,
                    rfc3339(expires),
                    rule.name
                );
                record.approval = Some(approval::Pending {
                    alert: alert.clone(),
                    expires,
                    command,
                    objects,
                    link: None,
                });
                return done(record, Verdict::AwaitingApproval, reason, None);
            }
            None => {}
        }

        // One action per target at a time, and per cooldown: the lease is held through the
        // action and the cooldown that follows it. It is a conditional write on the target's
        // own key, so it stays exact where reading recent history (an eventually consistent
        // index) could miss an action taken a moment ago.
        // A shadow rule changes nothing, so it holds no lease that could keep a real action
        // off the target.
        let until = now + limits::action_time(g).max(g.cooldown.to_chrono());
        let lease = if record.shadow {
            Ok(true)
        } else {
            adapters
                .ledger
                .lease(&plan.target, &record.id, now, until)
                .await
        };
        match lease {
            Ok(true) => {}
            Ok(false) => {
                let reason = format!(
                    "another invocation is acting, or just acted, on {} (its lease is held)",
                    plan.target
                );
                return done(record, Verdict::Suppressed, reason, None);
            }
            Err(e) => {
                self.unclaim(adapters, instance, &record.id).await;
                return done(
                    record,
                    Verdict::Failed,
                    format!("could not lease {}: {e}", plan.target),
                    Some(e.into()),
                );
            }
        }

        // The limits across targets, exact under concurrency: a node-replacement slot and
        // one action of the budget window, taken with conditional writes (enforce mode).
        let held = match limits::take(adapters.ledger, &plan, g, mode, &record.id, now).await {
            Ok(held) => held,
            Err(denied) => {
                // Nothing was done: the target is free for the next alert about it.
                self.release(adapters, &mut record, &plan.target).await;
                return match denied {
                    Denied::Refused(refusal) => done(record, refusal.verdict, refusal.reason, None),
                    Denied::Store { what, error } => {
                        self.unclaim(adapters, instance, &record.id).await;
                        let reason = format!("could not take {what}: {error}");
                        done(record, Verdict::Failed, reason, Some(error.into()))
                    }
                };
            }
        };

        // Execute (or record); a notifier that shows evidence reads it first, while the
        // target still exists as it failed (only for a record on-call will be told of).
        if adapters.live.is_some() && (mode == Mode::Enforce || record.shadow) {
            adapters.notifier.before_action(&record, &plan.ops).await;
        }
        let outcome = match (adapters.live, mode) {
            (Some((actuator, fleet)), mode) => {
                let mut draft = record.clone();
                draft.reason.clone_from(&plan.reason);
                let journal = Intent {
                    ledger: adapters.ledger,
                    instance,
                    attempt: claim.attempt,
                    alive_until: claim.alive_until,
                    draft: &draft,
                };
                execute::run(&plan.ops, mode, actuator, fleet, &journal).await
            }
            (None, Mode::DryRun) => execute::record_only(&plan.ops),
            (None, Mode::Enforce) => execute::Outcome {
                verdict: Verdict::Failed,
                steps: execute::record_only(&plan.ops).steps,
                error: Some(ClusterError::Unsupported(
                    "enforce mode needs a live cluster to act on".into(),
                )),
                notes: Vec::new(),
            },
        };
        record.steps = outcome.steps;
        // What the run found that the plan had not already noted (the drain's second look
        // repeats the plan's notes for the pods it already knew).
        for note in outcome.notes {
            if !record.notes.contains(&note) {
                record.notes.push(note);
            }
        }
        let changed = record.changed_cluster();
        if !changed {
            let notes = held.give_back(adapters.ledger).await;
            record.notes.extend(notes);
        }
        let Some(error) = outcome.error else {
            return done(record, outcome.verdict, plan.reason, None);
        };
        if changed {
            // Once the cluster was changed the outcome is final: a retry would act again on
            // a target already acted on and page again. The claim, the lease and the limits
            // stay taken; the steps say what was done.
            let done_steps: Vec<&str> = record
                .steps
                .iter()
                .filter(|s| s.result == StepResult::Ok)
                .map(|s| s.op.as_str())
                .collect();
            let reason = format!(
                "{}; failed after changing the cluster ({} done): {error}; final, not retried",
                plan.reason,
                done_steps.join(", ")
            );
            return done(record, Verdict::Failed, reason, None);
        }
        let reason = format!("{}; failed: {error}", plan.reason);
        let transient = Some(error)
            .filter(ClusterError::is_transient)
            .map(Transient::from);
        if transient.is_some() {
            // Nothing was changed: a retry may act, and need not wait a cooldown for this.
            self.unclaim(adapters, instance, &record.id).await;
            self.release(adapters, &mut record, &plan.target).await;
        }
        done(record, outcome.verdict, reason, transient)
    }

    /// Gives the target's lease back early (nothing was changed); a failure is noted, and
    /// the lease then expires by itself.
    async fn release<C, A, F, L: Ledger, N, R>(
        &self,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        record: &mut AuditRecord,
        target: &TargetRef,
    ) {
        if let Err(e) = adapters.ledger.release(target, &record.id).await {
            record.notes.push(format!(
                "lease on {target} not released (it expires by itself): {e}"
            ));
        }
    }

    /// After a transient failure, gives the claim back so that a retry can act.
    async fn unclaim<C, A, F, L: Ledger, N, R>(
        &self,
        adapters: &Adapters<'_, C, A, F, L, N, R>,
        instance: &str,
        id: &str,
    ) {
        // If even this fails the claim stays: the safe side (no second action).
        let _ = adapters.ledger.unclaim(instance, id).await;
    }
}
