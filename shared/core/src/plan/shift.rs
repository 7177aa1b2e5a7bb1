//! `shift_traffic`: the canary shift-back (ARCHITECTURE section 13).
//!
//! Decides: how the weight of a Route 53 canary record set goes back to the stable set of
//! the same name. The rule writes both out (`traffic: { hosted_zone_id, record, canary,
//! stable }`); the planner reads the name's weighted sets (one `ListResourceRecordSets`
//! through [`Traffic`]) and plans one `ChangeResourceRecordSets` batch: the canary `UPSERT`
//! at weight 0, the stable `UPSERT` at its weight plus the canary's, each set otherwise
//! written back as read (TTL and values or alias target, health check), then a wait for
//! `INSYNC`. A canary in several record types (`A` and `AAAA`) is shifted type by type in
//! the same batch.
//!
//! Refuses: a canary set that does not exist is a target gone (`ignored`); a canary
//! already at weight 0 has nothing to shift (`ignored`); a stable set that does not exist
//! for a type, or a stable weight that would pass Route 53's 255, is `suppressed` (the
//! weight would go nowhere, or be refused). The guardrails every action has (cooldown,
//! budget, pause, exactly-once, mode) are applied by the shared walk. Without Route 53
//! settings the plan says what it would read and change, unresolved.

use crate::cluster::ClusterError;
use crate::plan::context::{Inputs, Plan, Refused, Step};
use crate::policy::TrafficSpec;
use crate::traffic::Traffic;
use crate::vocab::action::ActionKind;
use crate::vocab::op::Op;
use crate::vocab::record::{MAX_WEIGHT, Upsert, WeightedSet, same_name};
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::Verdict;

/// The plan that shifts `spec`'s canary weight to its stable set.
pub(crate) async fn plan<T: Traffic>(
    inputs: Inputs<'_>,
    traffic: &T,
    spec: &TrafficSpec,
) -> Step<Plan> {
    let zone = spec.zone();
    let record = spec.record.as_str();
    let target = TargetRef::weighted_record(zone, record, &spec.canary);
    let refuse = |verdict, reason: String| {
        Refused::new(verdict, reason).with_action(ActionKind::ShiftTraffic, &target)
    };
    let timeout = inputs.guardrails().timeouts.verify;
    let sets = match traffic.weighted_sets(zone, record).await {
        Ok(sets) => sets,
        Err(ClusterError::Unsupported(why)) => return Ok(unread(spec, target, timeout, why)),
        Err(e) => {
            let mut refused = refuse(
                Verdict::Failed,
                format!("could not read the weighted record sets of {record} in zone {zone}: {e}"),
            );
            refused.error = Some(e);
            return Err(refused);
        }
    };
    let sets: Vec<&WeightedSet> = sets.iter().filter(|s| same_name(&s.name, record)).collect();
    let named = |id: &str| -> Vec<&WeightedSet> {
        sets.iter()
            .copied()
            .filter(|s| s.set_identifier == id)
            .collect()
    };
    let found = || {
        let mut ids: Vec<&str> = sets.iter().map(|s| s.set_identifier.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        match ids.as_slice() {
            [] => "it has no weighted sets".to_owned(),
            ids => format!("its weighted sets: {}", ids.join(", ")),
        }
    };
    let canaries = named(&spec.canary);
    if canaries.is_empty() {
        return Err(refuse(
            Verdict::Ignored,
            format!(
                "target gone: record {record} in zone {zone} has no weighted set {:?} (the canary); {}",
                spec.canary,
                found()
            ),
        ));
    }
    let stables = named(&spec.stable);
    let mut upserts = Vec::new();
    let mut moved = Vec::new();
    for canary in &canaries {
        let Some(stable) = stables.iter().find(|s| s.record_type == canary.record_type) else {
            return Err(refuse(
                Verdict::Suppressed,
                format!(
                    "record {record} in zone {zone} has no {} weighted set {:?} (the stable): the canary's weight would go nowhere; {}",
                    canary.record_type,
                    spec.stable,
                    found()
                ),
            ));
        };
        if canary.weight == 0 {
            continue;
        }
        let weight = stable.weight + canary.weight;
        if weight > MAX_WEIGHT {
            return Err(refuse(
                Verdict::Suppressed,
                format!(
                    "stable set {:?} of {record} would reach weight {weight} ({} + the canary's {}), above Route 53's {MAX_WEIGHT}",
                    spec.stable, stable.weight, canary.weight
                ),
            ));
        }
        moved.push(format!(
            "{} canary {:?} weight {} → 0, stable {:?} weight {} → {weight}",
            canary.record_type, spec.canary, canary.weight, spec.stable, stable.weight
        ));
        upserts.push(Upsert {
            set: canary.with_weight(0),
            from_weight: canary.weight,
        });
        upserts.push(Upsert {
            set: stable.with_weight(weight),
            from_weight: stable.weight,
        });
    }
    if upserts.is_empty() {
        return Err(refuse(
            Verdict::Ignored,
            format!(
                "canary {:?} of {record} in zone {zone} is already at weight 0: nothing to shift",
                spec.canary
            ),
        ));
    }
    let untouched: Vec<String> = sets
        .iter()
        .filter(|s| s.set_identifier != spec.canary && s.set_identifier != spec.stable)
        .map(|s| {
            format!(
                "{} {:?} (weight {})",
                s.record_type, s.set_identifier, s.weight
            )
        })
        .collect();
    let mut notes = Vec::new();
    if !untouched.is_empty() {
        notes.push(format!(
            "other weighted sets of {record} are left as they are: {}",
            untouched.join(", ")
        ));
    }
    Ok(Plan {
        action: ActionKind::ShiftTraffic,
        reason: format!(
            "shift the traffic of {record} (zone {zone}) back to stable: {}",
            moved.join("; ")
        ),
        ops: vec![
            Op::ChangeWeights {
                zone: zone.to_owned(),
                record: record.to_owned(),
                upserts,
            },
            Op::VerifyInSync {
                zone: zone.to_owned(),
                timeout,
            },
        ],
        target,
        notes,
        workload: None,
    })
}

/// The plan when Route 53 cannot be read in this run: what would be read and changed.
fn unread(
    spec: &TrafficSpec,
    target: TargetRef,
    timeout: crate::duration::Span,
    why: String,
) -> Plan {
    let (zone, record) = (spec.zone(), spec.record.as_str());
    Plan {
        action: ActionKind::ShiftTraffic,
        reason: format!(
            "shift the traffic of {record} (zone {zone}) from canary {:?} back to stable {:?}",
            spec.canary, spec.stable
        ),
        ops: vec![
            Op::Unresolved {
                what: format!(
                    "route53:ChangeResourceRecordSets HostedZoneId={zone}: UPSERT {record} set={} weight 0; UPSERT set={} weight + the canary's",
                    spec.canary, spec.stable
                ),
            },
            Op::VerifyInSync {
                zone: zone.to_owned(),
                timeout,
            },
        ],
        notes: vec![format!(
            "the weighted record sets of {record} were not read ({why}): their weights, and whether both sets exist, were not checked"
        )],
        target,
        workload: None,
    }
}
