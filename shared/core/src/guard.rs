//! Guardrails (ARCHITECTURE section 5): each a pure check that either lets an action
//! through or refuses it with a verdict and a sentence saying why.
//!
//! The planner calls these in a fixed order (cheapest and least cluster-dependent first);
//! every refusal path here has a test below and an end-to-end CLI test.

use chrono::{DateTime, Utc};

use crate::alert::{Alert, AlertStatus};
use crate::audit::rfc3339;
use crate::history::History;
use crate::ledger::Claim;
use crate::objects::{Meta, Node, Pool};
use crate::policy::Guardrails;
use crate::vocab::action::ActionKind;
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::Verdict;

/// A guardrail said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `suppressed` (a guardrail refused) or `ignored` (nothing to do).
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub reason: String,
}

impl Refusal {
    /// A guardrail refusal.
    pub fn suppressed(reason: impl Into<String>) -> Self {
        Refusal {
            verdict: Verdict::Suppressed,
            reason: reason.into(),
        }
    }

    /// Nothing to do.
    pub fn ignored(reason: impl Into<String>) -> Self {
        Refusal {
            verdict: Verdict::Ignored,
            reason: reason.into(),
        }
    }
}

/// Result of a guardrail check.
pub type Check = Result<(), Refusal>;

/// Never act on a resolved alert or on insufficient data.
pub fn firing(alert: &Alert) -> Check {
    match alert.status {
        AlertStatus::Firing => Ok(()),
        AlertStatus::Resolved => Err(Refusal::ignored(
            "the alert is resolved; nothing to remediate",
        )),
        AlertStatus::InsufficientData => Err(Refusal::ignored(
            "the alarm is in INSUFFICIENT_DATA; reflex does not act without data",
        )),
    }
}

/// Never act on a state change whose own actions CloudWatch holds back: a composite alarm
/// with an actions suppressor (`actionsSuppressedBy` `Alarm`, `WaitPeriod` or
/// `ExtensionPeriod`). EventBridge delivers such state changes anyway; reflex, acting for
/// the alarm, keeps to what the alarm itself may do. The reason names what suppresses them,
/// the suppressor alarm and CloudWatch's reason when the payload gives them.
pub fn actions_not_suppressed(alert: &Alert) -> Check {
    let Some(s) = &alert.actions_suppressed else {
        return Ok(());
    };
    let mut by = format!("actionsSuppressedBy {}", s.by);
    if let Some(suppressor) = &s.suppressor {
        by.push_str(&format!(", suppressor alarm {suppressor:?}"));
    }
    let why = s
        .reason
        .as_ref()
        .map(|r| format!(": {r:?}"))
        .unwrap_or_default();
    Err(Refusal::suppressed(format!(
        "CloudWatch suppresses the actions of alarm {:?} in this state change ({by}){why}; reflex does not act while the alarm's own actions are held back",
        alert.name
    )))
}

/// A stale delivery is not acted on: when the payload says when it was sent and it is
/// evaluated more than `guardrails.max_delivery_age` later (a backlog released after a
/// throttle or an outage), the picture it gives is too old to act on.
pub fn fresh(alert: &Alert, now: DateTime<Utc>, guardrails: &Guardrails) -> Check {
    let Some(sent) = alert.sent_at() else {
        return Ok(());
    };
    let max = guardrails.max_delivery_age;
    let age = now - sent;
    if age <= max.to_chrono() {
        return Ok(());
    }
    Err(Refusal::ignored(format!(
        "stale delivery: sent at {}, evaluated {} later, more than guardrails.max_delivery_age ({max}); an alert this old is not acted on (the cluster may have changed since)",
        rfc3339(sent),
        crate::duration::Span::from_secs(u64::try_from(age.num_seconds()).unwrap_or(0)),
    )))
}

/// Exactly once per alert instance: a redelivery or a repeated notification does nothing.
/// `claim` is the ledger's answer to this invocation's claim on the instance.
pub fn first_delivery(claim: &Claim) -> Check {
    match claim {
        Claim::Duplicate { by } => Err(Refusal::suppressed(format!(
            "duplicate delivery: this alert instance was already handled (record {by})"
        ))),
        Claim::First => Ok(()),
    }
}

/// Never act in a denied namespace.
pub fn namespace_allowed(namespace: &str, guardrails: &Guardrails) -> Check {
    if guardrails.denied_namespaces.iter().any(|d| d == namespace) {
        Err(Refusal::suppressed(format!(
            "namespace {namespace} is denied by policy (denied: {})",
            guardrails.denied_namespaces.join(", ")
        )))
    } else {
        Ok(())
    }
}

/// Respect `reflex/skip-remediation: "true"` on any of the given objects (target, its
/// controller, its namespace, its node). Each entry is a description and the metadata.
pub fn not_opted_out<'a>(objects: impl IntoIterator<Item = (String, &'a Meta)>) -> Check {
    for (what, meta) in objects {
        if meta.opted_out() {
            return Err(Refusal::suppressed(format!(
                "{what} is annotated {}=\"true\"",
                crate::vocab::annotations::SKIP_ANNOTATION
            )));
        }
    }
    Ok(())
}

/// One action per target per cooldown.
pub fn cooled_down(
    target: &TargetRef,
    history: &History,
    now: DateTime<Utc>,
    guardrails: &Guardrails,
) -> Check {
    let since = now - guardrails.cooldown.to_chrono();
    match history.last_action_on(target, since) {
        Some(prior) => Err(Refusal::suppressed(format!(
            "cooldown: {} already had {} at {} (one action per target per {}; record {})",
            target,
            prior.kind,
            crate::audit::rfc3339(prior.at),
            guardrails.cooldown,
            prior.record_id
        ))),
        None => Ok(()),
    }
}

/// At most `budget.max_actions` cluster-changing actions per window (notify is free), as
/// far as recent history shows: a sliding window over recorded actions. History may lag
/// behind concurrent invocations; the exact check is the budget counter (`limits.rs`).
pub fn within_budget(
    kind: ActionKind,
    history: &History,
    now: DateTime<Utc>,
    guardrails: &Guardrails,
) -> Check {
    if kind == ActionKind::Notify {
        return Ok(());
    }
    let budget = &guardrails.budget;
    let used = history.budgeted_since(now - budget.window.to_chrono());
    if used >= budget.max_actions as usize {
        Err(Refusal::suppressed(format!(
            "budget: {used} of {} actions used in the last {} (recorded actions)",
            budget.max_actions, budget.window
        )))
    } else {
        Ok(())
    }
}

/// No node replacement while too many nodes are NotReady: that is a systemic fault (network,
/// control plane, AZ), and replacing nodes would make it worse.
///
/// The cap is `max_not_ready_percent` of the nodes, rounded down, but never less than one
/// node: on a cluster of fewer than five nodes 20% is less than a node, and a single sick
/// node must still be replaceable there (EKS's node-repair keeps the same floor for small
/// groups). Two NotReady nodes of five or fewer are always a systemic fault.
pub fn not_systemic(nodes: &[Node], guardrails: &Guardrails) -> Check {
    over_cap(nodes.iter(), guardrails).map_or(Ok(()), |over| {
        Err(Refusal::suppressed(format!(
            "{over}: a systemic fault, not a node fault"
        )))
    })
}

/// The same cap within one pool (a Karpenter NodePool or an Auto Scaling node group): a
/// pool whose nodes fail together has a fault of its own (its image, instance type,
/// configuration or capacity), which replacing its nodes one by one would not cure. The
/// refusal names the pool and its figures.
pub fn pool_not_systemic(pool: &Pool, nodes: &[Node], guardrails: &Guardrails) -> Check {
    over_cap(nodes.iter().filter(|n| pool.holds(n)), guardrails).map_or(Ok(()), |over| {
        Err(Refusal::suppressed(format!(
            "{pool}: {over}: a fault of the pool, not of one node"
        )))
    })
}

/// `N of M nodes are NotReady (more than P%, ...)` when the NotReady nodes among `nodes`
/// exceed the cap (see [`not_systemic`]); `None` within it or for no nodes at all.
fn over_cap<'a>(nodes: impl Iterator<Item = &'a Node>, guardrails: &Guardrails) -> Option<String> {
    let (mut total, mut not_ready) = (0usize, 0usize);
    for node in nodes {
        total += 1;
        not_ready += usize::from(!node.is_ready());
    }
    let limit = guardrails.nodes.max_not_ready_percent as usize;
    let allowed = (total * limit / 100).max(1);
    (total > 0 && not_ready > allowed).then(|| {
        format!(
            "{not_ready} of {total} nodes are NotReady (more than {limit}%, and more than {allowed} node{})",
            if allowed == 1 { "" } else { "s" }
        )
    })
}

/// At most `nodes.max_in_flight` replacements at once: other nodes reflex has cordoned
/// within the in-flight window, and replacements of other nodes recorded within it.
///
/// The target itself never counts against the limit: when reflex cordoned it already (an
/// earlier attempt whose drain did not finish), this replacement resumes that one. A node
/// reflex cordoned longer ago than the window is not counted either, since its replacement
/// has stopped, but it is not forgotten: the returned notes name it for on-call.
///
/// Both counts may miss a replacement another invocation is starting right now; the exact
/// check is the node-replacement slot (`limits.rs`).
pub fn replacement_slot_free(
    target: &str,
    nodes: &[Node],
    history: &History,
    now: DateTime<Utc>,
    guardrails: &Guardrails,
) -> Result<Vec<String>, Refusal> {
    let window = guardrails.nodes.in_flight_window;
    let since = now - window.to_chrono();
    let mut notes = Vec::new();
    let mut in_flight: Vec<String> = Vec::new();
    for node in nodes.iter().filter(|n| n.replacement_in_flight()) {
        let name = &node.metadata.name;
        let cordoned = node.reflex_cordoned_at();
        let when = cordoned.map_or_else(|| "an unknown time".to_owned(), rfc3339);
        if name == target {
            notes.push(format!(
                "resuming: reflex cordoned node {name} at {when} and its replacement did not finish; this one continues it"
            ));
        } else if cordoned.is_some_and(|at| at < since) {
            notes.push(format!(
                "node {name} has been cordoned by reflex since {when}, longer than the {window} in-flight window: its replacement stopped and it no longer counts as in flight; look at it"
            ));
        } else {
            in_flight.push(name.clone());
        }
    }
    for prior in history.replacements_since(since) {
        let name = &prior.target.name;
        let stale_cordon = nodes.iter().any(|n| {
            n.metadata.name == *name
                && n.replacement_in_flight()
                && n.reflex_cordoned_at().is_some_and(|at| at < since)
        });
        if name != target && !stale_cordon && !in_flight.contains(name) {
            in_flight.push(name.clone());
        }
    }
    if in_flight.len() >= guardrails.nodes.max_in_flight as usize {
        Err(Refusal::suppressed(format!(
            "a node replacement is already in flight ({}); at most {} at once",
            in_flight.join(", "),
            guardrails.nodes.max_in_flight
        )))
    } else {
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{ActionSummary, AuditRecord};
    use crate::objects::Condition;
    use crate::vocab::target::TargetKind;
    use crate::vocab::verdict::Mode;
    use std::collections::BTreeMap;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn alert(status: AlertStatus) -> Alert {
        Alert {
            source: crate::alert::Source::Alertmanager,
            name: "KubePodNotReady".into(),
            status,
            fingerprint: "f1".into(),
            starts_at: Some(at("2026-11-20T09:30:00Z")),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            delivery: Default::default(),
            actions_suppressed: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn suppressed_alarm_actions_are_never_acted_on_and_the_reason_names_the_suppressor() {
        assert_eq!(actions_not_suppressed(&alert(AlertStatus::Firing)), Ok(()));
        let mut a = alert(AlertStatus::Firing);
        a.name = "voting-prod-production-health".into();
        a.actions_suppressed = Some(crate::alert::ActionsSuppressed {
            by: "WaitPeriod".into(),
            reason: Some("Actions suppressed by WaitPeriod".into()),
            suppressor: Some("voting-prod-maintenance".into()),
        });
        let refusal = actions_not_suppressed(&a).unwrap_err();
        assert_eq!(refusal.verdict, Verdict::Suppressed);
        assert_eq!(
            refusal.reason,
            r#"CloudWatch suppresses the actions of alarm "voting-prod-production-health" in this state change (actionsSuppressedBy WaitPeriod, suppressor alarm "voting-prod-maintenance"): "Actions suppressed by WaitPeriod"; reflex does not act while the alarm's own actions are held back"#
        );
        a.actions_suppressed = Some(crate::alert::ActionsSuppressed {
            by: "Alarm".into(),
            reason: None,
            suppressor: None,
        });
        assert!(
            actions_not_suppressed(&a)
                .unwrap_err()
                .reason
                .contains("(actionsSuppressedBy Alarm); reflex")
        );
    }

    fn acted(history: &mut History, id: &str, time: &str, kind: ActionKind, target: TargetRef) {
        let mut record = AuditRecord::for_alert(
            id.into(),
            at(time),
            Mode::DryRun,
            &alert(AlertStatus::Firing),
        );
        record.verdict = Verdict::Planned;
        record.action = Some(ActionSummary { kind, target });
        history.record(&record);
    }

    fn pod(name: &str) -> TargetRef {
        TargetRef::namespaced(TargetKind::Pod, "production", name)
    }

    fn node(name: &str, ready: bool, cordoned_by_reflex: bool) -> Node {
        let mut n = Node::default();
        n.metadata.name = name.into();
        n.status.conditions.push(Condition {
            kind: "Ready".into(),
            status: if ready { "True" } else { "Unknown" }.into(),
            last_transition_time: None,
            reason: None,
        });
        if cordoned_by_reflex {
            n.spec.unschedulable = true;
            n.metadata.annotations.insert(
                crate::vocab::annotations::CORDON_ANNOTATION.into(),
                "x".into(),
            );
        }
        n
    }

    #[test]
    fn resolved_and_insufficient_data_are_ignored() {
        assert_eq!(firing(&alert(AlertStatus::Firing)), Ok(()));
        for status in [AlertStatus::Resolved, AlertStatus::InsufficientData] {
            assert_eq!(
                firing(&alert(status)).map_err(|r| r.verdict),
                Err(Verdict::Ignored)
            );
        }
    }

    #[test]
    fn a_second_delivery_of_the_same_instance_is_suppressed() {
        assert_eq!(first_delivery(&Claim::First), Ok(()));
        let refusal = first_delivery(&Claim::Duplicate { by: "r1".into() }).expect_err("duplicate");
        assert!(refusal.reason.contains("r1"), "{}", refusal.reason);
    }

    #[test]
    fn denied_namespaces_are_suppressed() {
        let g = Guardrails::default();
        assert!(namespace_allowed("production", &g).is_ok());
        for ns in ["kube-system", "kube-public", "kube-node-lease"] {
            assert_eq!(
                namespace_allowed(ns, &g).map_err(|r| r.verdict),
                Err(Verdict::Suppressed)
            );
        }
    }

    #[test]
    fn the_skip_annotation_on_any_object_suppresses() {
        let plain = Meta::default();
        let mut skipped = Meta::default();
        skipped.annotations.insert(
            crate::vocab::annotations::SKIP_ANNOTATION.into(),
            "true".into(),
        );
        assert!(not_opted_out([("pod".to_owned(), &plain)]).is_ok());
        let refusal = not_opted_out([
            ("pod".to_owned(), &plain),
            ("Namespace staging".to_owned(), &skipped),
        ])
        .expect_err("opted out");
        assert!(
            refusal.reason.starts_with("Namespace staging"),
            "{}",
            refusal.reason
        );
    }

    #[test]
    fn cooldown_allows_one_action_per_target_per_window() {
        let g = Guardrails::default();
        let mut history = History::new();
        acted(
            &mut history,
            "r1",
            "2026-11-20T09:30:00Z",
            ActionKind::RestartPod,
            pod("a"),
        );
        assert!(cooled_down(&pod("a"), &history, at("2026-11-20T09:40:00Z"), &g).is_err());
        assert!(cooled_down(&pod("b"), &history, at("2026-11-20T09:40:00Z"), &g).is_ok());
        assert!(cooled_down(&pod("a"), &history, at("2026-11-20T09:46:00Z"), &g).is_ok());
    }

    #[test]
    fn the_budget_caps_actions_per_window_but_not_notifications() {
        let g = Guardrails::default();
        let mut history = History::new();
        for i in 0..10 {
            acted(
                &mut history,
                &format!("r{i}"),
                "2026-11-20T09:30:00Z",
                ActionKind::RestartPod,
                pod(&format!("p{i}")),
            );
        }
        let now = at("2026-11-20T09:50:00Z");
        assert!(within_budget(ActionKind::RestartPod, &history, now, &g).is_err());
        assert!(within_budget(ActionKind::Notify, &history, now, &g).is_ok());
        assert!(
            within_budget(
                ActionKind::RestartPod,
                &history,
                at("2026-11-20T10:31:00Z"),
                &g
            )
            .is_ok()
        );
    }

    #[test]
    fn more_than_a_fifth_of_nodes_not_ready_is_systemic() {
        let g = Guardrails::default();
        let five_one_down: Vec<Node> = (0..5)
            .map(|i| node(&format!("n{i}"), i != 0, false))
            .collect();
        assert!(
            not_systemic(&five_one_down, &g).is_ok(),
            "20% is the limit, not over it"
        );
        let three_one_down: Vec<Node> = (0..3)
            .map(|i| node(&format!("n{i}"), i != 0, false))
            .collect();
        assert!(
            not_systemic(&three_one_down, &g).is_ok(),
            "one NotReady node of a small cluster may always be replaced"
        );
        let three_two_down: Vec<Node> = (0..3)
            .map(|i| node(&format!("n{i}"), i == 0, false))
            .collect();
        assert!(not_systemic(&three_two_down, &g).is_err());
    }

    #[test]
    fn the_not_ready_cap_also_holds_within_a_pool() {
        let g = Guardrails::default();
        let in_pool = |name: &str, ready: bool, pool: &str| {
            let mut n = node(name, ready, false);
            n.metadata
                .labels
                .insert("karpenter.sh/nodepool".into(), pool.into());
            n
        };
        // 2 of 12 NotReady cluster-wide (within 20%), both in NodePool burst (2 of 3).
        let mut nodes: Vec<Node> = (0..9)
            .map(|i| node(&format!("g{i}"), true, false))
            .collect();
        nodes.push(in_pool("b0", false, "burst"));
        nodes.push(in_pool("b1", false, "burst"));
        nodes.push(in_pool("b2", true, "burst"));
        assert!(not_systemic(&nodes, &g).is_ok());
        let burst = Pool::NodePool("burst".into());
        let refused = pool_not_systemic(&burst, &nodes, &g).unwrap_err();
        assert_eq!(
            refused.reason,
            "NodePool burst: 2 of 3 nodes are NotReady (more than 20%, and more than 1 node): a fault of the pool, not of one node"
        );
        let other = Pool::NodeGroup("general".into());
        assert!(
            pool_not_systemic(&other, &nodes, &g).is_ok(),
            "a pool with no nodes"
        );
        nodes[10] = in_pool("b1", true, "burst");
        assert!(
            pool_not_systemic(&burst, &nodes, &g).is_ok(),
            "one of three may be replaced"
        );
    }

    #[test]
    fn one_node_replacement_in_flight_at_a_time() {
        let g = Guardrails::default();
        let now = at("2026-11-20T09:30:00Z");
        let calm = vec![node("a", true, false), node("b", false, false)];
        assert!(replacement_slot_free("b", &calm, &History::new(), now, &g).is_ok());
        let cordoned = vec![node("a", true, true), node("b", false, false)];
        assert!(replacement_slot_free("b", &cordoned, &History::new(), now, &g).is_err());
        let resumed = replacement_slot_free("a", &cordoned, &History::new(), now, &g).unwrap();
        assert!(resumed[0].starts_with("resuming"), "{resumed:?}");
        let mut history = History::new();
        acted(
            &mut history,
            "r1",
            "2026-11-20T09:20:00Z",
            ActionKind::ReplaceNode,
            TargetRef::node("a"),
        );
        assert!(replacement_slot_free("b", &calm, &history, now, &g).is_err());
        assert!(
            replacement_slot_free("b", &calm, &history, at("2026-11-20T10:00:00Z"), &g).is_ok()
        );
    }
}
