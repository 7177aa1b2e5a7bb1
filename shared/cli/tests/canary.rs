//! `reflex replay` of the canary alarm with Route 53 on moto: the real binary reads the
//! record's weighted sets and prints the exact change batch a live run would send, and
//! changes nothing.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test with its message.

mod common;

use common::{event, moto_env, pairs, reflex_env, replay_json_env, temp_file};
use reflex_test_support::route53::{WeightedZone, weighted_zone, weights};

const CANARY_5XX: &str = "sns-cloudwatch/alb-target-5xx-result-canary.json";

fn canary_policy(zone: &WeightedZone) -> String {
    temp_file(
        &format!("canary-{}.yaml", zone.zone),
        &reflex_test_support::route53::canary_policy(zone),
    )
}

#[test]
fn a_dry_run_replay_prints_the_change_batch_read_from_route53_and_changes_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let zone = runtime.block_on(weighted_zone(&[("canary", 20), ("stable", 80)]));
    let policy = canary_policy(&zone);
    let env = moto_env();
    let path = event(CANARY_5XX);

    let out = reflex_env(&["replay", "--policy", &policy, &path], &pairs(&env));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "PLANNED shift_traffic WeightedRecord {}/{} (set canary)",
            zone.zone, zone.record
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "route53:ChangeResourceRecordSets HostedZoneId={} (record {}, one batch: UPSERT {} A set=canary weight 20→0 (TTL 60, 10.0.1.1); UPSERT {} A set=stable weight 80→100 (TTL 60, 10.0.1.2))",
            zone.zone, zone.record, zone.record, zone.record
        )),
        "{text}"
    );
    assert!(
        text.contains("A canary \"canary\" weight 20 → 0, stable \"stable\" weight 80 → 100"),
        "{text}"
    );

    let (code, records) = replay_json_env(&["--policy", &policy, &path], &pairs(&env));
    assert_eq!(code, 0);
    assert_eq!(records[0]["verdict"], "planned", "{}", records[0]["reason"]);
    assert_eq!(records[0]["action"]["target"]["set_identifier"], "canary");
    assert_eq!(records[0]["steps"][0]["op"], "change_weights");
    assert_eq!(records[0]["steps"][0]["result"], "planned");

    let now = runtime.block_on(weights(&zone));
    assert_eq!((now["canary"], now["stable"]), (20, 80), "nothing changed");
}
