//! `replace_node` of a Karpenter node over HTTP: cordon, evictions, the NodeClaim deleted
//! with its uid as precondition, verified gone, and the NodePool's new Ready node waited
//! for, in that order in the fake's request log; a dry run that sends the delete with
//! `dryRun=All`; a NodeClaim already gone (404) as the goal reached; an owner reference
//! that 404s, resolved by the NodeClaims' status; a late replacement node noted, not failed.

use reflex_core::cluster::{Actuator, Submit};
use reflex_core::duration::Span;
use reflex_core::vocab::op::Op;
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use reflex_fake_kube::FakeKube;
use serde_json::Value;

use crate::common::{RecordingFleet, cluster, event, policy, replay, steps};

const NODE: &str = "ip-10-0-5-34.ec2.internal";
const CLAIM: &str = "default-8x2kq";
const CLAIM_PATH: &str = "/apis/karpenter.sh/v1/nodeclaims/default-8x2kq";
const ALERT: &str = "alertmanager/node-not-ready-karpenter.json";

async fn start_karpenter() -> FakeKube {
    let seed =
        std::fs::read(reflex_test_support::repo().join("events/cluster/voting-app-karpenter.json"))
            .unwrap();
    reflex_test_support::kube::start(&seed).await
}

/// The fake's request log as `METHOD path`, from the first request to `from` on.
fn calls_from(fake: &FakeKube, from: &str) -> Vec<String> {
    let all: Vec<String> = fake
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let start = all
        .iter()
        .position(|c| c.starts_with(from))
        .unwrap_or(all.len());
    all[start..].to_vec()
}

fn nodes_of_pool(fake: &FakeKube, pool: &str) -> Vec<Value> {
    fake.objects("Node", None)
        .into_iter()
        .filter(|n| n["metadata"]["labels"]["karpenter.sh/nodepool"] == pool)
        .collect()
}

#[tokio::test]
async fn a_karpenter_node_is_replaced_with_its_calls_in_order() {
    let fake = start_karpenter().await;
    let kube = cluster(&fake);
    let fleet = RecordingFleet::default();

    let r = replay(&kube, &fleet, &policy(3, 5), Mode::Enforce, &event(ALERT)).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("cordon".into(), StepResult::Ok),
            ("evict".into(), StepResult::Ok),
            ("wait_pods_gone".into(), StepResult::Ok),
            ("delete_nodeclaim".into(), StepResult::Ok),
            ("verify_nodeclaim_gone".into(), StepResult::Ok),
            ("wait_pool_node".into(), StepResult::Ok),
        ]
    );
    assert!(
        fleet.calls().is_empty(),
        "no instance is terminated by reflex"
    );
    // The order the API saw, from the cordon on (reads of the drain's second look between).
    let calls = calls_from(&fake, &format!("PATCH /api/v1/nodes/{NODE}"));
    let at = |prefix: &str| {
        calls
            .iter()
            .position(|c| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {calls:#?}"))
    };
    let cordon = at(&format!("PATCH /api/v1/nodes/{NODE}"));
    let evict = at("POST /api/v1/namespaces/staging/pods/loadtest-6c9d8f7b5-h2k9x/eviction");
    let delete = at(&format!("DELETE {CLAIM_PATH}"));
    let gone = calls[delete..]
        .iter()
        .position(|c| *c == format!("GET {CLAIM_PATH}"))
        .map(|n| delete + n)
        .unwrap_or_else(|| panic!("no GET of the NodeClaim after its delete: {calls:#?}"));
    let pool = calls
        .iter()
        .rposition(|c| c == "GET /api/v1/nodes")
        .unwrap();
    assert!(
        cordon < evict && evict < delete && delete < gone && gone < pool,
        "{calls:#?}"
    );
    let delete_request = fake
        .requests()
        .into_iter()
        .find(|q| q.method == "DELETE" && q.path == CLAIM_PATH)
        .unwrap();
    assert!(!delete_request.is_dry_run());
    let uid = delete_request.body_json().unwrap()["preconditions"]["uid"].clone();
    assert!(
        uid.as_str().is_some_and(|u| u.starts_with("5e1f0001-")),
        "{delete_request:?}"
    );

    assert!(fake.object("NodeClaim", None, CLAIM).is_none());
    assert!(
        fake.object("Node", None, NODE).is_none(),
        "Karpenter removed the node"
    );
    let pool = nodes_of_pool(&fake, "default");
    assert_eq!(pool.len(), 5, "the NodePool is back to 5 nodes: {pool:#?}");
    let detail = &r.steps.last().unwrap().detail;
    assert!(detail.contains("is Ready in NodePool default"), "{detail}");
}

#[tokio::test]
async fn a_dry_run_sends_the_nodeclaim_delete_with_dry_run_and_keeps_it() {
    let fake = start_karpenter().await;
    let kube = cluster(&fake);
    let before = fake.snapshot();

    let r = replay(
        &kube,
        &RecordingFleet::default(),
        &policy(3, 3),
        Mode::DryRun,
        &event(ALERT),
    )
    .await;

    assert_eq!(r.verdict, Verdict::Planned, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("cordon".into(), StepResult::DryRun),
            ("evict".into(), StepResult::DryRun),
            ("wait_pods_gone".into(), StepResult::Planned),
            ("delete_nodeclaim".into(), StepResult::DryRun),
            ("verify_nodeclaim_gone".into(), StepResult::Planned),
            ("wait_pool_node".into(), StepResult::Planned),
        ]
    );
    let delete = fake
        .requests()
        .into_iter()
        .find(|q| q.method == "DELETE" && q.path == CLAIM_PATH)
        .unwrap();
    assert!(delete.is_dry_run(), "{delete:?}");
    assert_eq!(fake.snapshot(), before);
}

#[tokio::test]
async fn a_nodeclaim_already_gone_is_the_goal_reached() {
    let fake = start_karpenter().await;
    let kube = cluster(&fake);
    fake.remove_object("NodeClaim", None, CLAIM).unwrap();

    let deleted = kube
        .apply(
            &Op::DeleteNodeClaim {
                node: NODE.into(),
                nodeclaim: CLAIM.into(),
                uid: Some("5e1f0001-7a2b-4c3d-9e8f-6a1b2c3d4e01".into()),
            },
            Submit::Apply,
        )
        .await
        .unwrap();
    assert_eq!(deleted, format!("NodeClaim {CLAIM} was already gone"));
    let gone = kube
        .apply(
            &Op::VerifyNodeClaimGone {
                nodeclaim: CLAIM.into(),
                timeout: Span::from_secs(2),
            },
            Submit::Apply,
        )
        .await
        .unwrap();
    assert!(
        gone.starts_with(&format!("NodeClaim {CLAIM} is gone")),
        "{gone}"
    );
    let answered: Vec<(String, Option<u16>)> = fake
        .requests()
        .into_iter()
        .filter(|q| q.path == CLAIM_PATH)
        .map(|q| (q.method, q.status))
        .collect();
    assert_eq!(
        answered,
        [("DELETE".into(), Some(404)), ("GET".into(), Some(404))]
    );
}

#[tokio::test]
async fn an_owner_reference_that_is_not_found_is_resolved_by_the_nodeclaims_status() {
    let fake = start_karpenter().await;
    let mut node = fake.object("Node", None, NODE).unwrap();
    node["metadata"]["ownerReferences"][0]["name"] = "default-gone1".into();
    fake.put_object(node).unwrap();
    let kube = cluster(&fake);

    let r = replay(
        &kube,
        &RecordingFleet::default(),
        &policy(3, 3),
        Mode::DryRun,
        &event(ALERT),
    )
    .await;

    assert_eq!(r.verdict, Verdict::Planned, "{r:?}");
    let delete = r.steps.iter().find(|s| s.op == "delete_nodeclaim").unwrap();
    assert!(
        delete.call.starts_with(&format!("DELETE {CLAIM_PATH} ")),
        "{delete:?}"
    );
    let reads: Vec<(String, Option<u16>)> = fake
        .requests()
        .into_iter()
        .filter(|q| q.path.starts_with("/apis/karpenter.sh/v1/nodeclaims") && q.method == "GET")
        .map(|q| (q.path, q.status))
        .take(2)
        .collect();
    assert_eq!(
        reads,
        [
            (
                "/apis/karpenter.sh/v1/nodeclaims/default-gone1".into(),
                Some(404)
            ),
            ("/apis/karpenter.sh/v1/nodeclaims".into(), Some(200)),
        ]
    );
}

#[tokio::test]
async fn a_replacement_node_that_is_late_is_noted_not_failed() {
    let fake = start_karpenter().await;
    fake.controllers().set_replace_nodeclaims(false);
    let kube = cluster(&fake);

    let r = replay(
        &kube,
        &RecordingFleet::default(),
        &policy(3, 1),
        Mode::Enforce,
        &event(ALERT),
    )
    .await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    assert_eq!(
        steps(&r).last().unwrap(),
        &("wait_pool_node".into(), StepResult::Ok)
    );
    assert!(
        r.notes.iter().any(|n| n.starts_with(
            "no new Ready node in NodePool default within 1s of replacing ip-10-0-5-34.ec2.internal"
        )),
        "{:?}",
        r.notes
    );
    assert!(fake.object("NodeClaim", None, CLAIM).is_none());
}
