//! The canary shift-back against moto's Route 53, through the whole pipeline: the canary
//! alarm from the events catalog, a policy naming a zone made for the test, and the Route 53
//! adapter talking to moto through [`FaultyRoute53`], which counts the requests and can
//! answer the first changes with Route 53's throttling or a refusal.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reflex_aws::Route53Traffic;
use reflex_core::ledger::MemoryLedger;
use reflex_core::pipeline::{Adapters, Clock, Handled, Ids, Pipeline, Transient};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::StepResult;
use reflex_core::{Mode, Verdict};
use reflex_snapshot::Snapshot;
use reflex_test_support::event;
use reflex_test_support::route53::{
    Fault, FaultyRoute53, PRIOR_REQUEST_NOT_COMPLETE, THROTTLING, WeightedZone, canary_policy,
    record_sets, weighted_zone, weights,
};

use crate::{config, connect};

/// Half a minute after the canary alarm was published.
fn now() -> DateTime<Utc> {
    "2026-11-20T09:31:30Z".parse().unwrap()
}

fn policy(zone: &WeightedZone) -> Policy {
    Policy::from_yaml(&canary_policy(zone)).expect("policy")
}

/// The canary alarm through the pipeline in `mode`, Route 53 behind a proxy answering the
/// first changes with `faults`.
async fn shift(zone: &WeightedZone, mode: Mode, faults: &[Fault]) -> (Handled, FaultyRoute53) {
    let proxy = FaultyRoute53::start(faults).await;
    let aws = connect(config(&proxy.endpoint)).await;
    let traffic = Route53Traffic::new(&aws).with_poll(Duration::from_millis(50));
    let policy = policy(zone);
    let cluster = Snapshot::from_json(&reflex_test_support::kube::voting_app()).expect("snapshot");
    let ledger = MemoryLedger::new();
    let mut handled = Pipeline {
        policy: &policy,
        mode,
    }
    .process(
        &event("sns-cloudwatch/alb-target-5xx-result-canary.json"),
        &Adapters {
            cluster: Some(&cluster),
            live: Some((&cluster, &cluster)),
            ledger: &ledger,
            notifier: &(),
            alarms: &(),
            traffic: &traffic,
        },
        Clock::Fixed(now()),
        &mut Ids::new("canary"),
    )
    .await;
    assert_eq!(handled.len(), 1);
    (handled.remove(0), proxy)
}

fn step<'a>(h: &'a Handled, op: &str) -> &'a reflex_core::vocab::verdict::StepRecord {
    h.record
        .steps
        .iter()
        .find(|s| s.op == op)
        .unwrap_or_else(|| panic!("no {op} step: {:?}", h.record.steps))
}

fn weights_of(pairs: &[(&str, i64)]) -> std::collections::BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn the_canary_weight_goes_to_stable_in_one_batch_and_insync_is_awaited() {
    let zone = weighted_zone(&[("canary", 10), ("stable", 90)]).await;
    let before = record_sets(&zone.zone).await;
    let (h, proxy) = shift(&zone, Mode::Enforce, &[]).await;

    assert_eq!(h.record.verdict, Verdict::Executed, "{}", h.record.reason);
    let action = h.record.action.as_ref().expect("action");
    assert_eq!(action.kind.as_str(), "shift_traffic");
    assert_eq!(action.target.kind.as_str(), "WeightedRecord");
    assert_eq!(action.target.namespace.as_deref(), Some(zone.zone.as_str()));
    assert_eq!(action.target.set_identifier.as_deref(), Some("canary"));
    assert_eq!(
        weights(&zone).await,
        weights_of(&[("canary", 0), ("stable", 100)])
    );
    assert_eq!(proxy.changes(), 1, "one ChangeResourceRecordSets batch");
    assert!(proxy.get_changes() >= 1, "GetChange was asked");
    let change = step(&h, "change_weights");
    assert_eq!(change.result, StepResult::Ok, "{}", change.detail);
    assert!(
        change
            .call
            .contains("set=canary weight 10→0 (TTL 60, 10.0.1.1)"),
        "{}",
        change.call
    );
    assert!(
        change
            .call
            .contains("set=stable weight 90→100 (TTL 60, 10.0.1.2)"),
        "{}",
        change.call
    );
    let synced = step(&h, "verify_in_sync");
    assert_eq!(synced.result, StepResult::Ok, "{}", synced.detail);
    assert!(synced.detail.contains("INSYNC"), "{}", synced.detail);
    // Only the weights moved: TTLs, values and the other record are as they were.
    let after = record_sets(&zone.zone).await;
    for (key, (weight, ttl, values)) in &before {
        let (w, t, v) = &after[key];
        assert_eq!((t, v), (ttl, values), "{key}");
        if !key.contains(" canary") && !key.contains(" stable") {
            assert_eq!(w, weight, "{key}");
        }
    }
}

#[tokio::test]
async fn a_missing_stable_set_is_suppressed_and_nothing_is_sent() {
    let zone = weighted_zone(&[("canary", 10), ("blue", 90)]).await;
    let (h, proxy) = shift(&zone, Mode::Enforce, &[]).await;
    assert_eq!(h.record.verdict, Verdict::Suppressed, "{}", h.record.reason);
    assert!(
        h.record
            .reason
            .contains("no A weighted set \"stable\" (the stable)")
            && h.record.reason.contains("blue"),
        "{}",
        h.record.reason
    );
    assert_eq!(proxy.changes(), 0);
    assert_eq!(
        weights(&zone).await,
        weights_of(&[("blue", 90), ("canary", 10)])
    );
}

#[tokio::test]
async fn a_missing_canary_set_is_a_target_gone() {
    let zone = weighted_zone(&[("stable", 100)]).await;
    let (h, proxy) = shift(&zone, Mode::Enforce, &[]).await;
    assert_eq!(h.record.verdict, Verdict::Ignored, "{}", h.record.reason);
    assert!(
        h.record.reason.starts_with("target gone")
            && h.record
                .reason
                .contains("no weighted set \"canary\" (the canary)"),
        "{}",
        h.record.reason
    );
    assert_eq!(proxy.changes(), 0);
}

#[tokio::test]
async fn a_canary_already_at_weight_zero_is_ignored() {
    let zone = weighted_zone(&[("canary", 0), ("stable", 100)]).await;
    let (h, proxy) = shift(&zone, Mode::Enforce, &[]).await;
    assert_eq!(h.record.verdict, Verdict::Ignored, "{}", h.record.reason);
    assert!(
        h.record
            .reason
            .contains("already at weight 0: nothing to shift"),
        "{}",
        h.record.reason
    );
    assert_eq!(proxy.changes(), 0);
}

#[tokio::test]
async fn a_throttled_change_is_retried_and_then_succeeds() {
    let zone = weighted_zone(&[("canary", 25), ("stable", 75)]).await;
    let (h, proxy) = shift(
        &zone,
        Mode::Enforce,
        &[THROTTLING, PRIOR_REQUEST_NOT_COMPLETE],
    )
    .await;
    assert_eq!(h.record.verdict, Verdict::Executed, "{}", h.record.reason);
    assert_eq!(proxy.changes(), 3, "two throttled tries, then the batch");
    assert_eq!(
        weights(&zone).await,
        weights_of(&[("canary", 0), ("stable", 100)])
    );
}

#[tokio::test]
async fn a_change_throttled_past_the_retry_budget_fails_and_the_event_is_retried() {
    let zone = weighted_zone(&[("canary", 10), ("stable", 90)]).await;
    let (h, proxy) = shift(&zone, Mode::Enforce, &[THROTTLING; 3]).await;
    assert_eq!(h.record.verdict, Verdict::Failed, "{}", h.record.reason);
    assert_eq!(proxy.changes(), 3, "the retry budget is bounded");
    assert!(
        h.record.reason.contains("Throttling"),
        "{}",
        h.record.reason
    );
    assert!(
        matches!(h.transient, Some(Transient::Cluster(_))),
        "nothing was changed, so the event may be retried: {:?}",
        h.transient
    );
    assert_eq!(
        weights(&zone).await,
        weights_of(&[("canary", 10), ("stable", 90)])
    );
}

#[tokio::test]
async fn a_refused_change_fails_with_route53s_message_and_is_not_retried() {
    let zone = weighted_zone(&[("canary", 10), ("stable", 90)]).await;
    let refused = Fault {
        code: "InvalidInput",
        message: "Invalid request: the weight of set stable is out of range",
    };
    let (h, proxy) = shift(&zone, Mode::Enforce, &[refused]).await;
    assert_eq!(h.record.verdict, Verdict::Failed, "{}", h.record.reason);
    assert_eq!(proxy.changes(), 1, "a refusal is not retried");
    assert!(
        h.record
            .reason
            .contains("the weight of set stable is out of range"),
        "{}",
        h.record.reason
    );
    assert!(h.transient.is_none(), "{:?}", h.transient);
    assert_eq!(step(&h, "change_weights").result, StepResult::Failed);
    assert_eq!(step(&h, "verify_in_sync").result, StepResult::Skipped);
    assert_eq!(
        weights(&zone).await,
        weights_of(&[("canary", 10), ("stable", 90)])
    );
}

#[tokio::test]
async fn a_dry_run_lists_the_change_batch_and_changes_nothing() {
    let zone = weighted_zone(&[("canary", 10), ("stable", 90)]).await;
    let (h, proxy) = shift(&zone, Mode::DryRun, &[]).await;
    assert_eq!(h.record.verdict, Verdict::Planned, "{}", h.record.reason);
    let change = step(&h, "change_weights");
    assert_eq!(change.result, StepResult::Planned);
    assert!(
        change.call.starts_with(&format!(
            "route53:ChangeResourceRecordSets HostedZoneId={} (record {}, one batch: UPSERT {} A set=canary weight 10→0",
            zone.zone, zone.record, zone.record
        )) && change.call.contains("set=stable weight 90→100"),
        "{}",
        change.call
    );
    assert_eq!(step(&h, "verify_in_sync").result, StepResult::Planned);
    assert_eq!(proxy.changes(), 0);
    assert_eq!(
        weights(&zone).await,
        weights_of(&[("canary", 10), ("stable", 90)])
    );
}
