//! The intent log: how far an action has got, kept with the claim of its alert instance,
//! so that a redelivery after the invocation was killed (a timeout, out of memory, a host
//! gone) ends the work cleanly instead of doing a step twice or leaving no record.
//!
//! The protocol, in the order an invocation follows it:
//! 1. The claim is taken with `alive_until`: the invocation cannot still be at work after
//!    it ([`alive_until`]: the policy's longest action plus [`PLANNING`], never past the
//!    invocation's deadline).
//! 2. Before each step that changes the cluster, an intent is written (the steps so far,
//!    the step about to be sent marked in flight), and its result after it. No intent, no
//!    step: a write that fails stops the action before the step.
//! 3. The terminal record is stored and the claim settled in one write.
//!
//! Every write is fenced by the claim's attempt number, so an invocation whose claim was
//! taken over can neither act nor record again. A redelivery finds the claim:
//! - settled: a duplicate;
//! - not settled and its holder possibly still at work (`alive_until` ahead): deferred,
//!   nothing stored, the event retried later;
//! - not settled and `alive_until` past: taken over ([`Ledger::take_over`]). When no step
//!   had begun, the action is planned and performed anew under the same record id (so the
//!   lease, budget and node slot the first attempt took are its own). Otherwise the record
//!   is finished from the progress ([`ended`]): every step done is `executed`; a step in
//!   flight, or steps left, is `failed`, the step in flight marked interrupted (its outcome
//!   is unknown, so it is never sent again) and the rest skipped.

use chrono::{DateTime, TimeDelta, Utc};

use crate::audit::AuditRecord;
use crate::execute::{self, Journal};
use crate::ledger::{Ledger, Progress};
use crate::limits;
use crate::policy::Guardrails;
use crate::vocab::op::Op;
use crate::vocab::verdict::{StepResult, Verdict};

/// What planning may take before the first step: the reads of the cluster and of the
/// ledger, each a bounded call.
pub const PLANNING: TimeDelta = TimeDelta::seconds(20);

/// Until when an invocation that claims an alert instance at `now` may still be at work:
/// its longest action after [`PLANNING`], and never past its `deadline` (a Lambda
/// invocation's end), when it has one.
pub fn alive_until(
    now: DateTime<Utc>,
    g: &Guardrails,
    deadline: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let bound = now + PLANNING + limits::action_time(g);
    deadline.map_or(bound, |d| d.min(bound))
}

/// The executor's journal for one claimed alert instance: each intent and result is
/// written to the claim through [`Ledger::record_progress`].
#[derive(Debug)]
pub struct Intent<'a, L> {
    /// The ledger holding the claim.
    pub ledger: &'a L,
    /// The alert instance claimed.
    pub instance: &'a str,
    /// The claim's attempt.
    pub attempt: u32,
    /// Until when this invocation may be at work.
    pub alive_until: DateTime<Utc>,
    /// The record so far (action, reason, notes); its steps are filled in on each write.
    pub draft: &'a AuditRecord,
}

impl<L: Ledger> Journal for Intent<'_, L> {
    async fn write(
        &self,
        steps: &[crate::vocab::verdict::StepRecord],
        rest: &[Op],
        in_flight: usize,
    ) -> Result<(), String> {
        let mut record = self.draft.clone();
        record.steps = steps.to_vec();
        record.steps.extend(execute::record_only(rest).steps);
        let progress = Progress {
            attempt: self.attempt,
            alive_until: self.alive_until,
            record,
            done: steps.len(),
            in_flight,
        };
        match self.ledger.record_progress(self.instance, &progress).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(
                "the claim of this alert instance was taken over by another invocation".to_owned(),
            ),
            Err(e) => Err(format!("could not write the intent to the ledger: {e}")),
        }
    }
}

/// The terminal record of an action whose invocation ended after `progress` (killed, or
/// timed out), written by the invocation that took its claim over as `attempt`: the steps
/// finished keep their results, a step in flight is failed as interrupted (never sent
/// again: whether it took effect is unknown), the rest are skipped.
pub fn ended(progress: Progress, attempt: u32) -> AuditRecord {
    let Progress {
        mut record,
        done,
        in_flight,
        ..
    } = progress;
    let done = done.min(record.steps.len());
    let finished: Vec<String> = record.steps[..done]
        .iter()
        .filter(|s| s.result == StepResult::Ok)
        .map(|s| s.op.clone())
        .collect();
    let interrupted: Vec<String> = record
        .steps
        .iter()
        .skip(done)
        .take(in_flight)
        .map(|s| s.op.clone())
        .collect();
    let failed = record.steps[..done]
        .iter()
        .any(|s| s.result == StepResult::Failed);
    let left = record.steps.len().saturating_sub(done + in_flight);
    for (i, step) in record.steps.iter_mut().enumerate().skip(done) {
        if i < done + in_flight {
            step.result = StepResult::Failed;
            step.detail = "interrupted: the invocation ended while this step was being sent; whether it took effect is unknown, so it is not sent again".to_owned();
        } else {
            step.result = StepResult::Skipped;
            step.detail = "not begun: the invocation performing the action ended".to_owned();
        }
    }
    let so_far = match finished.as_slice() {
        [] => "nothing finished".to_owned(),
        ops => format!("done: {}", ops.join(", ")),
    };
    let replaced = finished
        .iter()
        .any(|s| s == "terminate_instance" || s == "delete_nodeclaim");
    let cordoned = if replaced {
        ""
    } else if finished.iter().any(|s| s == "cordon") {
        "; the node stays cordoned"
    } else if interrupted.iter().any(|s| s == "cordon") {
        "; the node may be left cordoned: check it"
    } else {
        ""
    };
    record.notes.push(format!(
        "the invocation performing this action ended (killed or timed out) before recording it; recorded by attempt {attempt}, which took the claim over"
    ));
    if interrupted.is_empty() && left == 0 && !failed {
        record.verdict = Verdict::Executed;
        return record;
    }
    record.verdict = Verdict::Failed;
    let interrupted = match interrupted.as_slice() {
        [] => String::new(),
        ops => format!("; interrupted during {} (outcome unknown)", ops.join(", ")),
    };
    record.reason = format!(
        "{}; the invocation ended before finishing ({so_far}{interrupted}; {left} step(s) not begun); not resumed, final{cordoned}",
        record.reason,
    );
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Claim, MemoryLedger};
    use crate::ready;
    use crate::vocab::verdict::StepRecord;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn step(op: &str, result: StepResult) -> StepRecord {
        StepRecord {
            op: op.to_owned(),
            call: format!("{op} call"),
            result,
            detail: String::new(),
        }
    }

    fn progress(steps: Vec<StepRecord>, done: usize, in_flight: usize) -> Progress {
        let mut record: AuditRecord =
            serde_json::from_str(r#"{"id":"r-1","time":"2026-11-20T09:31:00.000Z","source":"alertmanager","alert":{"name":"KubeNodeNotReady","fingerprint":"f","labels":{}},"class":"node_not_ready","rule":"node-not-ready","action":null,"mode":"enforce","verdict":"executed","reason":"replace node n-1","steps":[]}"#)
                .expect("record");
        record.steps = steps;
        Progress {
            attempt: 0,
            alive_until: at("2026-11-20T09:32:00Z"),
            record,
            done,
            in_flight,
        }
    }

    #[test]
    fn a_step_in_flight_is_failed_as_interrupted_and_the_rest_skipped() {
        use StepResult::{Ok, Planned};
        let p = progress(
            vec![
                step("cordon", Ok),
                step("evict", Planned),
                step("terminate_instance", Planned),
            ],
            1,
            1,
        );
        let record = ended(p, 1);
        assert_eq!(record.verdict, Verdict::Failed);
        assert_eq!(
            record.reason,
            "replace node n-1; the invocation ended before finishing (done: cordon; interrupted during evict (outcome unknown); 1 step(s) not begun); not resumed, final; the node stays cordoned"
        );
        let results: Vec<StepResult> = record.steps.iter().map(|s| s.result).collect();
        assert_eq!(
            results,
            [StepResult::Ok, StepResult::Failed, StepResult::Skipped]
        );
        assert!(record.notes[0].contains("recorded by attempt 1"));
    }

    #[test]
    fn every_step_finished_is_executed_and_a_failed_one_is_failed() {
        let all = progress(
            vec![
                step("delete_pod", StepResult::Ok),
                step("verify_replacement", StepResult::Ok),
            ],
            2,
            0,
        );
        assert_eq!(ended(all, 1).verdict, Verdict::Executed);
        let failed = progress(
            vec![
                step("delete_pod", StepResult::Ok),
                step("verify_replacement", StepResult::Failed),
            ],
            2,
            0,
        );
        assert_eq!(ended(failed, 1).verdict, Verdict::Failed);
    }

    #[test]
    fn the_claim_is_taken_over_only_once_its_holder_cannot_be_at_work_and_fences_the_old_one() {
        let ledger = MemoryLedger::new();
        let (now, alive) = (at("2026-11-20T09:31:00Z"), at("2026-11-20T09:32:00Z"));
        assert_eq!(
            ready(ledger.claim("i", "r-1", now, alive)),
            Ok(Claim::First)
        );
        let mine = progress(vec![step("cordon", StepResult::Planned)], 0, 1);
        assert_eq!(ready(ledger.record_progress("i", &mine)), Ok(true));
        // Still possibly at work: not taken over.
        assert_eq!(ready(ledger.take_over("i", 0, now, alive)), Ok(false));
        let later = at("2026-11-20T09:33:00Z");
        assert_eq!(ready(ledger.take_over("i", 0, later, later)), Ok(true));
        // The first attempt can neither write progress nor settle any more.
        assert_eq!(ready(ledger.record_progress("i", &mine)), Ok(false));
        assert_eq!(ready(ledger.settle("i", 0, &mine.record)), Ok(false));
        assert!(ledger.records().is_empty());
        // The new attempt settles it, once.
        assert_eq!(ready(ledger.settle("i", 1, &mine.record)), Ok(true));
        assert_eq!(ready(ledger.settle("i", 1, &mine.record)), Ok(false));
        let state = ready(ledger.claim_state("i"))
            .expect("state")
            .expect("claimed");
        assert_eq!(
            (state.holder.as_str(), state.attempt, state.settled),
            ("r-1", 1, true)
        );
        assert_eq!(ledger.records().len(), 1);
    }

    #[test]
    fn an_invocation_is_alive_for_its_longest_action_but_never_past_its_deadline() {
        let g = Guardrails::default();
        let now = at("2026-11-20T09:31:00Z");
        let bound = now + PLANNING + limits::action_time(&g);
        assert_eq!(alive_until(now, &g, None), bound);
        let deadline = now + TimeDelta::seconds(30);
        assert_eq!(alive_until(now, &g, Some(deadline)), deadline);
    }
}
