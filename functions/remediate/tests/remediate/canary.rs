//! The canary shift-back at the handler: the canary's 5XX alarm, delivered by SNS as Lambda
//! gets it, moves the canary's weight to the stable set on moto's Route 53 in enforce mode,
//! stores one `executed` record and tells on-call; the same delivery again changes nothing.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reflex_aws::Route53Traffic;
use reflex_core::ledger::MemoryLedger;
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_remediate::{Deps, handle};
use reflex_test_support::aws::{config, connect};
use reflex_test_support::route53::{FaultyRoute53, canary_policy, weighted_zone, weights};

use crate::{Pager, event, lambda_event, now, voting_app};

#[tokio::test(flavor = "multi_thread")]
async fn the_canary_alarm_shifts_the_weight_to_stable_once_per_delivery() {
    let zone = weighted_zone(&[("canary", 10), ("stable", 90)]).await;
    let proxy = FaultyRoute53::start(&[]).await;
    let traffic = Route53Traffic::new(&connect(config(&proxy.endpoint)).await)
        .with_poll(Duration::from_millis(50));
    let policy = Policy::from_yaml(&canary_policy(&zone)).unwrap();
    let (cluster, ledger, pager) = (voting_app(), MemoryLedger::new(), Pager::default());
    let deps = Deps {
        pipeline: Pipeline {
            policy: &policy,
            mode: Mode::Enforce,
        },
        adapters: Adapters {
            cluster: Some(&cluster),
            live: Some((&cluster, &cluster)),
            ledger: &ledger,
            notifier: &pager,
            alarms: &(),
            traffic: &traffic,
        },
        admission: &(),
        now: Some(now()),
        emf_metrics: false,
        links: None,
    };
    let payload = event("sns-cloudwatch/alb-target-5xx-result-canary.json");

    let summary = handle(lambda_event(&payload, "canary-1"), &deps)
        .await
        .expect("handled");
    assert_eq!(summary.records.len(), 1);
    assert_eq!(summary.records[0].verdict, Verdict::Executed);
    assert_eq!(
        summary.records[0].action.as_deref(),
        Some(
            format!(
                "shift_traffic WeightedRecord {}/{} (set canary)",
                zone.zone, zone.record
            )
            .as_str()
        )
    );
    let w = weights(&zone).await;
    assert_eq!((w["canary"], w["stable"]), (0, 100));
    assert_eq!(proxy.changes(), 1);
    assert_eq!(pager.sent.load(Ordering::SeqCst), 1, "on-call is told");

    // SNS delivers the same message again: exactly once, nothing is sent to Route 53.
    handle(lambda_event(&payload, "canary-2"), &deps)
        .await
        .expect("handled");
    assert_eq!(proxy.changes(), 1, "no second change batch");
    let stored = ledger.records();
    assert_eq!(
        stored
            .iter()
            .filter(|r| r.verdict == Verdict::Executed)
            .count(),
        1,
        "{stored:?}"
    );
}
