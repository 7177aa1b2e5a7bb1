//! `restart_pod`: a crash-looping pod of a long-stable Deployment is deleted (pinned to its
//! uid) and its ReplicaSet's Ready replacement is waited for.

use std::time::{Duration, Instant};

use reflex_core::cluster::{Actuator, Submit};
use reflex_core::duration::Span;
use reflex_core::vocab::op::{Op, PodRef};
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use serde_json::Value;

use crate::common::{cluster, detail, policy, run, start_voting_app, steps, writes};

const WORKER: &str = "worker-69d4c8b7f-h7s2d";

fn uid(pod: &Value) -> &str {
    pod["metadata"]["uid"].as_str().unwrap()
}

#[tokio::test]
async fn dry_run_sends_a_dry_run_delete_and_changes_nothing() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let before = fake.object("Pod", Some("production"), WORKER).unwrap();
    let pods_before = fake.objects("Pod", Some("production")).len();

    let r = run(
        &kube,
        &policy(2, 2),
        Mode::DryRun,
        "alertmanager/pod-crashloop-worker.json",
    )
    .await;

    assert_eq!(r.verdict, Verdict::Planned, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("delete_pod".into(), StepResult::DryRun),
            ("verify_replacement".into(), StepResult::Planned)
        ]
    );
    let writes = writes(&fake);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        writes[0].line(),
        format!("DELETE /api/v1/namespaces/production/pods/{WORKER}")
    );
    assert!(writes[0].is_dry_run());
    let after = fake.object("Pod", Some("production"), WORKER).unwrap();
    assert_eq!(uid(&after), uid(&before));
    assert_eq!(fake.objects("Pod", Some("production")).len(), pods_before);
}

#[tokio::test]
async fn execute_deletes_the_pod_and_waits_for_a_ready_replacement() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let before = fake.object("Pod", Some("production"), WORKER).unwrap();

    let r = run(
        &kube,
        &policy(2, 5),
        Mode::Enforce,
        "alertmanager/pod-crashloop-worker.json",
    )
    .await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    assert!(fake.object("Pod", Some("production"), WORKER).is_none());
    let delete = writes(&fake).into_iter().next().unwrap();
    assert!(!delete.is_dry_run());
    assert_eq!(
        delete.body_json().unwrap()["preconditions"]["uid"],
        uid(&before)
    );
    let replacement = fake
        .objects("Pod", Some("production"))
        .into_iter()
        .find(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("worker-69d4c8b7f-")
        })
        .unwrap();
    let name = replacement["metadata"]["name"].as_str().unwrap();
    assert!(
        detail(&r, "verify_replacement")
            .starts_with(&format!("{name} is Ready, replacing {WORKER}")),
        "{r:?}"
    );
}

#[tokio::test]
async fn without_a_replacement_verification_fails_at_its_timeout() {
    let fake = start_voting_app().await;
    fake.controllers().set_replace_pods(false);
    let kube = cluster(&fake);

    let started = Instant::now();
    let r = run(
        &kube,
        &policy(2, 1),
        Mode::Enforce,
        "alertmanager/pod-crashloop-worker.json",
    )
    .await;
    let took = started.elapsed();

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("delete_pod".into(), StepResult::Ok),
            ("verify_replacement".into(), StepResult::Failed)
        ]
    );
    assert!(
        detail(&r, "verify_replacement").starts_with(&format!(
            "timed out: no Ready replacement for production/{WORKER} from ReplicaSet worker-69d4c8b7f within 1.0 s"
        )),
        "{r:?}"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(2000),
        "took {took:?}"
    );
}

#[tokio::test]
async fn a_stateful_set_pod_back_under_its_name_is_told_apart_by_uid() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let pod = PodRef {
        namespace: "staging".into(),
        name: "db-0".into(),
    };
    let old = fake.object("Pod", Some("staging"), "db-0").unwrap();

    kube.apply(
        &Op::DeletePod {
            pod: pod.clone(),
            uid: None,
        },
        Submit::Apply,
    )
    .await
    .unwrap();
    let verified = kube
        .apply(
            &Op::VerifyReplacement {
                pod,
                controller: "StatefulSet db".into(),
                timeout: Span::from_secs(3),
            },
            Submit::Apply,
        )
        .await
        .unwrap();

    let new = fake.object("Pod", Some("staging"), "db-0").unwrap();
    assert_ne!(uid(&new), uid(&old));
    assert!(
        verified.starts_with("db-0 is Ready, replacing db-0"),
        "{verified}"
    );
}

#[tokio::test]
async fn a_pod_recreated_since_the_plan_is_not_deleted_in_its_stead() {
    // The plan read db-0 with one uid; by the time the delete runs, the StatefulSet has
    // recreated it (a new uid). The delete is pinned to the planned uid and refuses.
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let pod = PodRef {
        namespace: "staging".into(),
        name: "db-0".into(),
    };
    let current = fake.object("Pod", Some("staging"), "db-0").unwrap();

    let refused = kube
        .apply(
            &Op::DeletePod {
                pod,
                uid: Some("planned-for-an-earlier-db-0".into()),
            },
            Submit::Apply,
        )
        .await
        .unwrap_err();

    assert!(
        matches!(refused, reflex_core::cluster::ClusterError::Conflict(_)),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("recreated since the plan"),
        "{refused}"
    );
    let after = fake.object("Pod", Some("staging"), "db-0").unwrap();
    assert_eq!(uid(&after), uid(&current));
    assert!(
        writes(&fake)
            .iter()
            .all(|w| !w.line().starts_with("DELETE")),
        "{:?}",
        writes(&fake)
    );
}
