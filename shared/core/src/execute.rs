//! Execution: a plan's steps, sent to the adapters in order.
//!
//! A plan is a list of [`Op`]s, each one concrete API call (or one wait), so a dry run can
//! show exactly what a live run would send. [`run`] walks the list: in `dry-run` without a
//! live cluster it only records; in `dry-run` with one it sends each mutating call with
//! `dryRun=All` and skips the waits; in `enforce` it performs every step, stops at the first
//! failure and marks the rest skipped (so a failed drain leaves the node cordoned: the safe
//! state). Before each step that changes something, the time the actuator has left (a
//! Lambda invocation's) is checked against what the step may take; a step that does not
//! fit is not started, so an action is stopped cleanly between steps, never cut off in one.
//! Right after a cordon, the node's pods are listed again (`second_look`) and the drain's
//! decision made anew ([`drain::decide`]: claims read, same rules), so the drain also
//! evicts what was scheduled onto the node since the plan was made, and stops for a
//! newcomer it must not evict. Consecutive evictions are handed over as one batch, which
//! adapters run in parallel. A plan that ends by terminating an instance asks the fleet
//! first (a dry run of the termination: is the instance in a group of this cluster, can it
//! be reached?), so that a node is not cordoned and drained for a termination that would
//! then be refused. A plan that ends by deleting a Karpenter NodeClaim waits for its
//! NodePool's new node last; one not Ready in time is noted, not a failure. In enforce mode
//! every step that changes something is preceded by an intent in the [`Journal`] and
//! followed by its result, and after the first change every result (see `intent.rs`): a
//! step whose intent cannot be written is not sent.

use std::future::{Future, ready};

use crate::cluster::{Actuator, ClusterError, Fleet, Submit};
use crate::drain;
use crate::traffic::Traffic;
use crate::vocab::op::{DrainRules, Op, PodRef};
use crate::vocab::verdict::{Mode, StepRecord, StepResult, Verdict};

/// Where the executor writes down how far it has got: before each step that changes the
/// cluster, with `in_flight` the number of ops at the head of `rest` about to be sent, and
/// after it (and after every later step), with `in_flight` 0. `steps` are the results so
/// far.
pub trait Journal: Sync {
    /// Writes the progress; `Err` (why) stops the action before the step.
    fn write(
        &self,
        steps: &[StepRecord],
        rest: &[Op],
        in_flight: usize,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// No journal: a replay, or a ledger that keeps no progress.
impl Journal for () {
    fn write(
        &self,
        _: &[StepRecord],
        _: &[Op],
        _: usize,
    ) -> impl Future<Output = Result<(), String>> + Send {
        ready(Ok(()))
    }
}

/// What running a plan came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `executed`, `planned` or `failed`.
    pub verdict: Verdict,
    /// Step results, one per op, in order.
    pub steps: Vec<StepRecord>,
    /// The first failure, if any.
    pub error: Option<ClusterError>,
    /// Facts for the record found while running (the drain's second look: local data
    /// evicted as allowed, claims that could not be checked).
    pub notes: Vec<String>,
}

fn record(op: &Op, result: StepResult, detail: String) -> StepRecord {
    StepRecord {
        op: op.name().to_owned(),
        call: op.call(),
        result,
        detail,
    }
}

/// The drain's second look, right after the cordon: kubectl lists a node's pods only once
/// it is cordoned, since a pod scheduled onto it before the cordon would otherwise stay
/// there, unevicted, when the instance is terminated. The node is listed again and the
/// drain's rules applied to what is there now; pods the plan did not know of are evicted
/// too (and waited for), right after the planned evictions, or before the termination when
/// none were planned. A pod that refuses the drain (bare, or keeping data on the node in an
/// `emptyDir` or on a local persistent volume) stops it here, the node left cordoned. The
/// decision's notes go to `notes`.
async fn second_look<A: Actuator>(
    ops: &mut Vec<Op>,
    at: usize,
    node: &str,
    rules: DrainRules,
    actuator: &A,
    notes: &mut Vec<String>,
) -> Result<(), ClusterError> {
    let pods = actuator.pods_on_node(node).await?;
    let set = drain::decide(actuator, node, pods, rules.evict_local_data)
        .await?
        .map_err(|reason| ClusterError::Refused(format!("after the cordon: {reason}")))?;
    notes.extend(set.notes);
    let planned: Vec<PodRef> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Evict { pod, .. } => Some(pod.clone()),
            _ => None,
        })
        .collect();
    let newcomers: Vec<PodRef> = set
        .evict
        .iter()
        .map(drain::pod_ref)
        .filter(|p| !planned.contains(p))
        .collect();
    if newcomers.is_empty() {
        return Ok(());
    }
    let evictions_end = ops[at..]
        .iter()
        .position(|op| !matches!(op, Op::Evict { .. }))
        .map_or(ops.len(), |n| at + n);
    let evictions = newcomers.iter().map(|pod| Op::Evict {
        pod: pod.clone(),
        timeout: rules.timeout,
    });
    ops.splice(evictions_end..evictions_end, evictions);
    let after = evictions_end + newcomers.len();
    match ops.get_mut(after) {
        Some(Op::WaitPodsGone { pods, .. }) => pods.extend(newcomers),
        _ => ops.insert(
            after,
            Op::WaitPodsGone {
                pods: newcomers,
                timeout: rules.timeout,
                terminating_grace: rules.terminating_grace,
            },
        ),
    }
    Ok(())
}

/// Why `op` must not be started now, if so: what it may take does not fit in the time the
/// actuator has left. Said with what was done so far, so that the record shows the state
/// the action was left in (a node cordoned but not replaced, say).
fn too_late<A: Actuator>(op: &Op, actuator: &A, done: &[StepRecord]) -> Option<String> {
    let left = actuator.time_left()?;
    let needs = match op {
        Op::Evict { timeout, .. } => timeout.to_std(),
        _ => actuator.call_allowance(),
    };
    if left >= needs {
        return None;
    }
    let done: Vec<&str> = done
        .iter()
        .filter(|s| s.result == StepResult::Ok)
        .map(|s| s.op.as_str())
        .collect();
    let so_far = match done.as_slice() {
        [] => "nothing was changed".to_owned(),
        ops => format!("done so far: {}", ops.join(", ")),
    };
    let left_as = match op {
        Op::Evict { .. } | Op::TerminateInstance { .. } | Op::DeleteNodeClaim { .. }
            if done.contains(&"cordon") =>
        {
            "; the node stays cordoned"
        }
        _ => "",
    };
    Some(format!(
        "{} not started with {:.1}s of the invocation left, as it may take {:.0}s; {so_far}{left_as}",
        op.name(),
        left.as_secs_f64(),
        needs.as_secs_f64()
    ))
}

/// A NodePool's replacement node that is not Ready in time is a note, not a failure:
/// Karpenter launches one only when pending pods need it, and the node that was replaced is
/// gone either way. Every other result is passed through.
fn late_pool_node(
    op: &Op,
    result: Result<String, ClusterError>,
    notes: &mut Vec<String>,
) -> Result<String, ClusterError> {
    match (op, result) {
        (
            Op::WaitPoolNode {
                nodepool,
                replacing,
                timeout,
                ..
            },
            Err(ClusterError::Timeout(why)),
        ) => {
            notes.push(format!(
                "no new Ready node in NodePool {nodepool} within {timeout} of replacing {replacing} ({why}); Karpenter launches one when pending pods need it"
            ));
            Ok(format!("not Ready within {timeout}: noted, not a failure"))
        }
        (_, result) => result,
    }
}

/// Records a plan without sending anything (dry run without a live cluster).
pub fn record_only(ops: &[Op]) -> Outcome {
    Outcome {
        verdict: Verdict::Planned,
        steps: ops
            .iter()
            .map(|op| record(op, StepResult::Planned, String::new()))
            .collect(),
        error: None,
        notes: Vec::new(),
    }
}

/// Asks the fleet, before anything is changed, whether the plan's instance termination
/// would be accepted.
async fn fleet_preflight<F: Fleet>(ops: &[Op], fleet: &F) -> Result<(), ClusterError> {
    for op in ops {
        if let Op::TerminateInstance { instance_id, .. } = op {
            fleet.terminate(instance_id, Submit::DryRun).await?;
        }
    }
    Ok(())
}

/// Runs a plan against live adapters. In [`Mode::DryRun`] mutating steps go out with
/// `dryRun=All` and waits are recorded only (a Route 53 change batch, which has no dry run,
/// is recorded as planned); in [`Mode::Enforce`] everything is performed, each change
/// between an intent and a result written to `journal`.
pub async fn run<A: Actuator, F: Fleet, T: Traffic, J: Journal>(
    planned: &[Op],
    mode: Mode,
    actuator: &A,
    fleet: &F,
    traffic: &T,
    journal: &J,
) -> Outcome {
    let submit = match mode {
        Mode::DryRun => Submit::DryRun,
        Mode::Enforce => Submit::Apply,
    };
    // The drain's evictions may grow after the cordon (see `second_look`).
    let mut ops = planned.to_vec();
    let mut steps = Vec::with_capacity(ops.len());
    let mut error = None;
    let mut notes = Vec::new();
    let mut cordoned: Option<(String, DrainRules)> = None;
    // The Route 53 change a `VerifyInSync` follows: the one its `ChangeWeights` sent.
    let mut change_id: Option<String> = None;
    let mut begun = false;
    if mode == Mode::Enforce
        && let Err(e) = fleet_preflight(&ops, fleet).await
    {
        let reason = format!(
            "not started: the instance termination, checked first, would fail ({e}); nothing was changed"
        );
        steps.extend(
            ops.iter()
                .map(|op| record(op, StepResult::Skipped, reason.clone())),
        );
        return Outcome {
            verdict: Verdict::Failed,
            steps,
            error: Some(e),
            notes,
        };
    }
    let mut i = 0;
    while i < ops.len() {
        if let Some((node, rules)) = cordoned.take()
            && let Err(e) = second_look(&mut ops, i, &node, rules, actuator, &mut notes).await
        {
            steps.push(record(&ops[i], StepResult::Failed, e.to_string()));
            error = Some(e);
            i += 1;
            continue;
        }
        if error.is_some() {
            steps.extend(
                ops[i..]
                    .iter()
                    .map(|op| record(op, StepResult::Skipped, String::new())),
            );
            break;
        }
        // Hand a run of consecutive evictions over as one batch.
        let batch_end = if matches!(ops[i], Op::Evict { .. }) {
            ops[i..]
                .iter()
                .position(|op| !matches!(op, Op::Evict { .. }))
                .map_or(ops.len(), |n| i + n)
        } else {
            i + 1
        };
        let batch = &ops[i..batch_end];
        if mode == Mode::Enforce
            && batch[0].is_mutation()
            && let Some(reason) = too_late(&batch[0], actuator, &steps)
        {
            steps.extend(
                ops[i..]
                    .iter()
                    .map(|op| record(op, StepResult::Skipped, reason.clone())),
            );
            error = Some(ClusterError::Deadline(reason));
            break;
        }
        // Once a change was sent, every result is written down (a verification's too), so
        // that an invocation that ends later leaves the whole story.
        let intent = submit == Submit::Apply && batch[0].is_mutation();
        let journaled = intent || begun;
        begun |= intent;
        if intent && let Err(why) = journal.write(&steps, &ops[i..], batch.len()).await {
            let reason = format!("not sent: {why}");
            steps.extend(
                ops[i..]
                    .iter()
                    .map(|op| record(op, StepResult::Skipped, reason.clone())),
            );
            error = Some(ClusterError::Unavailable(reason));
            break;
        }
        let waits_only = mode == Mode::DryRun && !batch[0].is_mutation();
        let unsent = mode == Mode::DryRun && matches!(batch[0], Op::ChangeWeights { .. });
        if waits_only || unsent || matches!(batch[0], Op::Notify { .. }) {
            let (result, detail) = match &batch[0] {
                Op::Notify { .. } => (StepResult::Ok, "recorded for on-call".to_owned()),
                Op::ChangeWeights { .. } => (
                    StepResult::Planned,
                    "not sent: Route 53 has no dry run; this is the batch a live run sends"
                        .to_owned(),
                ),
                _ => (
                    StepResult::Planned,
                    "not waited for in a dry run".to_owned(),
                ),
            };
            steps.push(record(&batch[0], result, detail));
            i = batch_end;
            continue;
        }
        let results: Vec<Result<String, ClusterError>> = match &batch[0] {
            Op::Evict { .. } => actuator.apply_batch(batch, submit).await,
            Op::TerminateInstance { instance_id, .. } => {
                vec![fleet.terminate(instance_id, submit).await]
            }
            Op::ChangeWeights {
                zone,
                record,
                upserts,
            } => {
                let comment = format!("reflex shift_traffic of {record}");
                let sent = traffic.change(zone, upserts, &comment, submit).await;
                vec![sent.map(|id| {
                    let detail = format!("change {id} submitted");
                    change_id = Some(id);
                    detail
                })]
            }
            Op::VerifyInSync { timeout, .. } => vec![match &change_id {
                Some(id) => traffic.wait_in_sync(id, timeout.to_std()).await,
                None => Err(ClusterError::Unsupported(
                    "no Route 53 change was sent to wait for".into(),
                )),
            }],
            Op::Unresolved { what } => vec![Err(ClusterError::Unsupported(format!(
                "step not resolved without a cluster view: {what}"
            )))],
            op => vec![actuator.apply(op, submit).await],
        };
        for (op, result) in batch.iter().zip(results) {
            match late_pool_node(op, result, &mut notes) {
                Ok(detail) => {
                    if let (Op::Cordon { node, drain, .. }, Submit::Apply) = (op, submit) {
                        cordoned = Some((node.clone(), *drain));
                    }
                    let ok = if submit == Submit::DryRun {
                        StepResult::DryRun
                    } else {
                        StepResult::Ok
                    };
                    steps.push(record(op, ok, detail));
                }
                Err(e) => {
                    steps.push(record(op, StepResult::Failed, e.to_string()));
                    error.get_or_insert(e);
                }
            }
        }
        if journaled && let Err(why) = journal.write(&steps, &ops[batch_end..], 0).await {
            notes.push(format!(
                "the result of {} was not written to the ledger: {why}",
                batch[0].name()
            ));
        }
        i = batch_end;
    }
    let verdict = match (&error, mode) {
        (Some(_), _) => Verdict::Failed,
        (None, Mode::DryRun) => Verdict::Planned,
        (None, Mode::Enforce) => Verdict::Executed,
    };
    Outcome {
        verdict,
        steps,
        error,
        notes,
    }
}
