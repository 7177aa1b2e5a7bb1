//! The pipeline, stage by stage: decode → classify → guard → resolve → execute → audit.
//!
//! Entry points (the CLI, the Lambda functions) hand [`Pipeline::process`] a payload and
//! their adapters and get back one audit record per alert, on every path. The stages are
//! written out in order in [`Pipeline::handle`]; each returns its own type, and every early
//! exit still produces the record.

use chrono::{DateTime, Utc};

use crate::alert::{Alert, Delivery, Fnv64};
use crate::audit::{ActionSummary, AuditRecord, Mode, Verdict};
use crate::cluster::{Actuator, ClusterError, ClusterView, Fleet};
use crate::decode;
use crate::execute;
use crate::guard;
use crate::history::History;
use crate::plan::{self, Inputs, Resolution};
use crate::policy::Policy;

/// The adapters a run may use. `cluster` is read while planning; `live` performs plans
/// (with `dryRun=All` in dry-run mode). Without `live`, plans are recorded only.
#[derive(Debug)]
pub struct Adapters<'a, C, A, F> {
    /// Cluster reads, if any cluster is known.
    pub cluster: Option<&'a C>,
    /// Cluster writes and the instance fleet, when acting on a live cluster.
    pub live: Option<(&'a A, &'a F)>,
}

/// Which clock a record is evaluated at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// This instant, for every alert (`--now`, or the wall clock in a Lambda).
    Fixed(DateTime<Utc>),
    /// Each alert at its own start time (replay's default); undecodable input at `fallback`.
    AlertTime {
        /// Time for records that have no alert.
        fallback: DateTime<Utc>,
    },
}

impl Clock {
    fn at(self, alert: Option<&Alert>) -> DateTime<Utc> {
        match (self, alert) {
            (Clock::Fixed(t), _) => t,
            (Clock::AlertTime { .. }, Some(a)) => a.starts_at,
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

/// One record, and the cluster error behind it when the failure may pass on a retry.
#[derive(Debug, Clone)]
pub struct Handled {
    /// The audit record.
    pub record: AuditRecord,
    /// A transient cluster error (API unreachable, timeout): the caller may retry the event.
    pub transient: Option<ClusterError>,
}

/// A configured pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Dry run or enforce.
    pub mode: Mode,
}

impl Pipeline<'_> {
    /// Processes one payload: one record per alert (or per undecodable item), in order.
    /// Each record is taken into `history` before the next alert is handled, so a run
    /// respects its own cooldowns and budget.
    pub async fn process<C: ClusterView, A: Actuator, F: Fleet>(
        &self,
        bytes: &[u8],
        adapters: &Adapters<'_, C, A, F>,
        history: &mut History,
        clock: Clock,
        ids: &mut Ids,
    ) -> Vec<Handled> {
        let mut handled = Vec::new();
        for item in decode::decode(bytes) {
            let result = match item {
                Ok(alert) => {
                    self.handle(
                        &alert,
                        adapters,
                        history,
                        clock.at(Some(&alert)),
                        ids.issue(),
                    )
                    .await
                }
                Err(rejection) => Handled {
                    record: self.rejected(
                        bytes,
                        rejection.reason,
                        rejection.delivery,
                        clock.at(None),
                        ids,
                    ),
                    transient: None,
                },
            };
            history.record(&result.record);
            handled.push(result);
        }
        handled
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
        let digest = format!("payload:{}", Fnv64::default().write(bytes).hex());
        AuditRecord::rejected(ids.issue(), now, self.mode, None, digest, reason, delivery)
    }

    /// The stages for one decoded alert.
    async fn handle<C: ClusterView, A: Actuator, F: Fleet>(
        &self,
        alert: &Alert,
        adapters: &Adapters<'_, C, A, F>,
        history: &History,
        now: DateTime<Utc>,
        id: String,
    ) -> Handled {
        let mut record = AuditRecord::for_alert(id, now, self.mode, alert);
        let mut transient = None;

        // Classify.
        let Some(rule) = self.policy.classify(alert) else {
            record.verdict = Verdict::NoMatch;
            record.reason = format!(
                "no policy rule matches {} alert {:?}",
                alert.source, alert.name
            );
            return Handled { record, transient };
        };
        record.class = Some(rule.class);
        record.rule = Some(rule.name.clone());

        // Guard: alert-level checks, before anything is read.
        if let Err(refusal) =
            guard::firing(alert).and_then(|()| guard::first_delivery(alert, history))
        {
            record.verdict = refusal.verdict;
            record.reason = refusal.reason;
            return Handled { record, transient };
        }

        // Resolve the target and its guardrails into a plan.
        let inputs = Inputs {
            rule,
            alert,
            policy: self.policy,
            history,
            now,
        };
        let plan = match plan::resolve(inputs, adapters.cluster).await {
            Resolution::Plan(plan) => plan,
            Resolution::Refused(refused) => {
                record.verdict = refused.verdict;
                record.reason = refused.reason;
                record.notes = refused.notes;
                record.action = refused
                    .action
                    .map(|(kind, target)| ActionSummary { kind, target });
                transient = refused.error.filter(ClusterError::is_transient);
                return Handled { record, transient };
            }
        };
        record.action = Some(ActionSummary {
            kind: plan.action,
            target: plan.target.clone(),
        });
        record.notes = plan.notes;

        // Execute (or record).
        let outcome = match (adapters.live, self.mode) {
            (Some((actuator, fleet)), mode) => execute::run(&plan.ops, mode, actuator, fleet).await,
            (None, Mode::DryRun) => execute::record_only(&plan.ops),
            (None, Mode::Enforce) => execute::Outcome {
                verdict: Verdict::Failed,
                steps: execute::record_only(&plan.ops).steps,
                error: Some(ClusterError::Unsupported(
                    "enforce mode needs a live cluster to act on".into(),
                )),
            },
        };
        record.verdict = outcome.verdict;
        record.steps = outcome.steps;
        record.reason = match &outcome.error {
            Some(e) => format!("{}; failed: {e}", plan.reason),
            None => plan.reason,
        };
        transient = outcome.error.filter(ClusterError::is_transient);
        Handled { record, transient }
    }
}
