//! Exact limits under concurrency (ARCHITECTURE section 5): the node-replacement slots and
//! the budget window's counter, taken from the ledger just before an action changes the
//! cluster, and given back when it changed nothing.
//!
//! The planner's guardrails read recent history, an index that may lag behind concurrent
//! invocations, so they only refuse early; these are conditional writes, so two invocations
//! can never both take the last action of a budget or the last replacement slot. The one
//! design choice to know: they are taken in enforce mode only. A dry run changes nothing,
//! and within a replay its planned actions already count "as if executed" through history,
//! which a sequential run keeps exact. The slot is taken first (the scarcer limit), then
//! the budget; a refusal by the second gives the first back.

use chrono::{DateTime, TimeDelta, Utc};

use crate::audit::rfc3339;
use crate::guard::Refusal;
use crate::ledger::{BudgetTake, BudgetWindow, Ledger, LedgerError, SlotHolder, SlotTake};
use crate::plan::Plan;
use crate::policy::Guardrails;
use crate::vocab::action::ActionKind;
use crate::vocab::verdict::Mode;

/// What an action holds of the limits; given back with [`Held::give_back`] when nothing was
/// changed, kept (until the window ends, the slot expires) otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    holder: String,
    budget: Option<BudgetWindow>,
    slot: Option<u32>,
}

/// Why an action may not go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// A limit is reached: the reason names it and its figures.
    Refused(Refusal),
    /// The store could not be asked; `what` says which limit.
    Store {
        /// `the budget`, `a node-replacement slot`.
        what: &'static str,
        /// The store's error.
        error: LedgerError,
    },
}

/// The longest an action may run: evictions and the wait for them, then a verification.
/// The drain is counted twice, which the live adapter's one drain deadline never reaches:
/// a lease that outlasts the action is safe, one that ends before it is not.
pub fn action_time(g: &Guardrails) -> TimeDelta {
    g.timeouts.drain.to_chrono() * 2 + g.timeouts.verify.to_chrono()
}

/// Takes what `plan` needs of the limits for `holder` (its record id): a node-replacement
/// slot for `replace_node`, one action of the budget window for any action but `notify`.
/// Nothing in [`Mode::DryRun`].
pub async fn take<L: Ledger>(
    ledger: &L,
    plan: &Plan,
    g: &Guardrails,
    mode: Mode,
    holder: &str,
    now: DateTime<Utc>,
) -> Result<Held, Denied> {
    let mut held = Held {
        holder: holder.to_owned(),
        budget: None,
        slot: None,
    };
    if mode == Mode::DryRun {
        return Ok(held);
    }
    if plan.action == ActionKind::ReplaceNode {
        // A replacement stays in flight until its node is gone and its successor joined:
        // the slot is held for the in-flight window, as a recorded replacement counts.
        let until = now + action_time(g).max(g.nodes.in_flight_window.to_chrono());
        let slots = g.nodes.max_in_flight;
        match ledger
            .take_node_slot(&plan.target.name, holder, slots, now, until)
            .await
        {
            Ok(SlotTake::Taken { slot }) => held.slot = Some(slot),
            Ok(SlotTake::Busy { held: others }) => {
                return Err(Denied::Refused(Refusal::suppressed(slots_busy(
                    &others, slots,
                ))));
            }
            Err(error) => {
                return Err(Denied::Store {
                    what: "a node-replacement slot",
                    error,
                });
            }
        }
    }
    if plan.action != ActionKind::Notify {
        let window = BudgetWindow::containing(now, g.budget.window, g.budget.max_actions);
        let refusal = match ledger.take_budget(&window, holder).await {
            Ok(BudgetTake::Taken { .. }) => {
                held.budget = Some(window);
                return Ok(held);
            }
            Ok(BudgetTake::Exhausted { used }) => Denied::Refused(Refusal::suppressed(format!(
                "budget: {used} of {} actions used in {}",
                window.max,
                window.describe()
            ))),
            Err(error) => Denied::Store {
                what: "the budget",
                error,
            },
        };
        // The slot was taken for an action that will not happen.
        held.give_back(ledger).await;
        return Err(refusal);
    }
    Ok(held)
}

/// `a node replacement is already in flight (node X, lease held by record Y until T)`.
fn slots_busy(held: &[SlotHolder], slots: u32) -> String {
    let holders: Vec<String> = held
        .iter()
        .map(|h| {
            format!(
                "node {}, lease held by record {} until {}",
                h.node,
                h.holder,
                rfc3339(h.until)
            )
        })
        .collect();
    match slots {
        0 => "node replacements are disabled (guardrails.nodes.max_in_flight is 0)".to_owned(),
        1 => format!(
            "a node replacement is already in flight ({})",
            holders.join("; ")
        ),
        n => format!(
            "{n} node replacements are already in flight, at most {n} at once ({})",
            holders.join("; ")
        ),
    }
}

impl Held {
    /// Gives back what was taken (the action changed nothing). A give-back the store
    /// refuses is a note: the limit then counts the action until its window or lease ends,
    /// the safe side.
    pub async fn give_back<L: Ledger>(self, ledger: &L) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(slot) = self.slot
            && let Err(e) = ledger.release_node_slot(slot, &self.holder).await
        {
            notes.push(format!(
                "node-replacement slot {slot} not given back (it expires by itself): {e}"
            ));
        }
        if let Some(window) = &self.budget
            && let Err(e) = ledger.give_back_budget(window, &self.holder).await
        {
            notes.push(format!(
                "budget action not given back (it counts until {} ends): {e}",
                window.describe()
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::MemoryLedger;
    use crate::ready;
    use crate::vocab::target::{TargetKind, TargetRef};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn plan(action: ActionKind, target: TargetRef) -> Plan {
        Plan {
            action,
            target,
            ops: Vec::new(),
            reason: String::new(),
            notes: Vec::new(),
            workload: None,
        }
    }

    fn restart(pod: &str) -> Plan {
        plan(
            ActionKind::RestartPod,
            TargetRef::namespaced(TargetKind::Pod, "production", pod),
        )
    }

    fn reason(denied: Denied) -> String {
        match denied {
            Denied::Refused(r) => r.reason,
            Denied::Store { error, .. } => panic!("store: {error}"),
        }
    }

    #[test]
    fn budget_windows_are_aligned_to_the_clock_and_named_by_start_and_length() {
        let g = Guardrails::default();
        let w = BudgetWindow::containing(at("2026-11-20T09:41:07Z"), g.budget.window, 10);
        assert_eq!(w.start, at("2026-11-20T09:00:00Z"));
        assert_eq!(w.end(), at("2026-11-20T10:00:00Z"));
        assert_eq!(w.key(), "2026-11-20T09:00:00.000Z/1h");
        assert_eq!(w.describe(), "the hour from 2026-11-20T09:00:00.000Z");
        let half = BudgetWindow::containing(
            at("2026-11-20T09:41:07Z"),
            crate::duration::Span::from_mins(30),
            10,
        );
        assert_eq!(half.start, at("2026-11-20T09:30:00Z"));
        assert_eq!(
            half.describe(),
            "the 30m window from 2026-11-20T09:30:00.000Z"
        );
    }

    #[test]
    fn the_last_action_of_a_budget_is_taken_once_and_given_back_when_nothing_changed() {
        let (ledger, g) = (MemoryLedger::new(), Guardrails::default());
        let now = at("2026-11-20T09:31:00Z");
        for i in 0..9 {
            let id = format!("earlier-{i}");
            ready(take(&ledger, &restart(&id), &g, Mode::Enforce, &id, now)).expect("room");
        }
        let tenth = ready(take(&ledger, &restart("a"), &g, Mode::Enforce, "r-a", now))
            .expect("the tenth action fits");
        let refused = ready(take(&ledger, &restart("b"), &g, Mode::Enforce, "r-b", now))
            .expect_err("the budget is full");
        assert_eq!(
            reason(refused),
            "budget: 10 of 10 actions used in the hour from 2026-11-20T09:00:00.000Z"
        );
        assert!(ready(tenth.give_back(&ledger)).is_empty());
        ready(take(&ledger, &restart("b"), &g, Mode::Enforce, "r-b", now))
            .expect("the given-back action is free again");
        // The next window starts with a fresh counter.
        ready(take(
            &ledger,
            &restart("c"),
            &g,
            Mode::Enforce,
            "r-c",
            at("2026-11-20T10:00:00Z"),
        ))
        .expect("a new window");
    }

    #[test]
    fn one_node_replacement_holds_the_only_slot_and_the_refusal_names_it() {
        let (ledger, g) = (MemoryLedger::new(), Guardrails::default());
        let now = at("2026-11-20T09:31:00Z");
        let node = |n: &str| plan(ActionKind::ReplaceNode, TargetRef::node(n));
        ready(take(&ledger, &node("a"), &g, Mode::Enforce, "r-a", now)).expect("free slot");
        let refused = ready(take(&ledger, &node("b"), &g, Mode::Enforce, "r-b", now))
            .expect_err("one replacement at a time");
        assert_eq!(
            reason(refused),
            "a node replacement is already in flight (node a, lease held by record r-a until 2026-11-20T10:01:00.000Z)"
        );
        // The refused replacement took no budget: nine actions still fit beside node a's.
        for i in 0..9 {
            let id = format!("p{i}");
            ready(take(&ledger, &restart(&id), &g, Mode::Enforce, &id, now)).expect("room");
        }
        // The slot frees itself when its lease ends.
        let later = at("2026-11-20T10:01:00Z");
        ready(take(&ledger, &node("b"), &g, Mode::Enforce, "r-b", later)).expect("expired");
    }

    #[test]
    fn max_in_flight_above_one_is_that_many_slots() {
        let ledger = MemoryLedger::new();
        let mut g = Guardrails::default();
        g.nodes.max_in_flight = 2;
        let now = at("2026-11-20T09:31:00Z");
        let node = |n: &str| plan(ActionKind::ReplaceNode, TargetRef::node(n));
        ready(take(&ledger, &node("a"), &g, Mode::Enforce, "r-a", now)).expect("slot 0");
        ready(take(&ledger, &node("b"), &g, Mode::Enforce, "r-b", now)).expect("slot 1");
        let refused =
            ready(take(&ledger, &node("c"), &g, Mode::Enforce, "r-c", now)).expect_err("both held");
        let reason = reason(refused);
        assert!(
            reason.starts_with("2 node replacements are already in flight, at most 2 at once (node a, lease held by record r-a"),
            "{reason}"
        );
        assert!(
            reason.contains("node b, lease held by record r-b"),
            "{reason}"
        );
    }

    #[test]
    fn a_replacement_refused_by_the_budget_gives_its_slot_back() {
        let ledger = MemoryLedger::new();
        let mut g = Guardrails::default();
        g.budget.max_actions = 0;
        let now = at("2026-11-20T09:31:00Z");
        let node = |n: &str| plan(ActionKind::ReplaceNode, TargetRef::node(n));
        let refused =
            ready(take(&ledger, &node("a"), &g, Mode::Enforce, "r-a", now)).expect_err("no budget");
        assert!(reason(refused).starts_with("budget: 0 of 0"));
        g.budget.max_actions = 10;
        ready(take(&ledger, &node("b"), &g, Mode::Enforce, "r-b", now))
            .expect("the slot was given back");
    }

    #[test]
    fn a_dry_run_and_a_notification_take_nothing() {
        let ledger = MemoryLedger::new();
        let mut g = Guardrails::default();
        g.budget.max_actions = 1;
        let now = at("2026-11-20T09:31:00Z");
        for i in 0..3 {
            let id = format!("dry-{i}");
            ready(take(&ledger, &restart(&id), &g, Mode::DryRun, &id, now)).expect("dry run");
            let notify = plan(
                ActionKind::Notify,
                TargetRef::namespaced(TargetKind::Pod, "production", "x"),
            );
            let id = format!("notify-{i}");
            ready(take(&ledger, &notify, &g, Mode::Enforce, &id, now)).expect("free");
        }
        ready(take(&ledger, &restart("a"), &g, Mode::Enforce, "r-a", now))
            .expect("the one action is still there");
    }
}
