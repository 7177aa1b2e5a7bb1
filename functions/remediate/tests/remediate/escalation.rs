//! The escalation ladder across invocations: two `remediate` invocations sharing the
//! DynamoDB table (moto), each handling one alert about a different pod of the same
//! Deployment. The second finds the first's record through the table and takes the
//! ladder's next step.

use reflex_core::policy::Policy;
use reflex_core::vocab::action::ActionKind;
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_remediate::{Deps, handle};
use reflex_test_support::aws::{create_table, moto_aws};

use crate::{event, lambda_event, now, voting_app};

const LADDER: &str = r#"rules:
  - name: crash-ladder
    match:
      alertname: [KubePodCrashLooping]
    class: pod_crash_loop
    action: restart_pod
    escalate: [rollback, notify]
    escalate_within: 1h
    recent_revision: 60m
    target: { kind: Pod, namespace: "{namespace}", name: "{pod}" }
"#;

/// The catalog's vote crash-loop webhook about `pod`, with fingerprint `fingerprint`.
fn crashloop(pod: &str, fingerprint: &str) -> Vec<u8> {
    String::from_utf8(event("alertmanager/pod-crashloop-vote-recent-rollout.json"))
        .unwrap()
        .replace("vote-6f7c9b8d5-x2k4q", pod)
        .replace("3a68c229a291a53f", fingerprint)
        .into_bytes()
}

#[tokio::test]
async fn the_second_invocation_climbs_the_ladder_from_the_first_ones_record() {
    let aws = moto_aws().await;
    let ledger = create_table(&aws).await;
    let policy = Policy::from_yaml(LADDER).unwrap();
    let invoke = |payload: Vec<u8>, request: &'static str| {
        let (policy, ledger) = (&policy, &ledger);
        async move {
            // Each invocation reads the cluster afresh and shares only the table.
            let cluster = voting_app();
            let deps = Deps {
                pipeline: reflex_core::pipeline::Pipeline {
                    policy,
                    mode: Mode::Enforce,
                },
                adapters: reflex_core::pipeline::Adapters {
                    cluster: Some(&cluster),
                    live: Some((&cluster, &cluster)),
                    ledger,
                    notifier: &(),
                    alarms: &(),
                },
                admission: &(),
                now: Some(now()),
                emf_metrics: false,
                links: None,
            };
            let summary = handle(lambda_event(&payload, request), &deps)
                .await
                .unwrap();
            summary.records.into_iter().next().unwrap()
        }
    };

    let first = invoke(
        crashloop("vote-7c8d6f9b5-k2x9w", "1adde7000000001"),
        "req-1",
    )
    .await;
    let second = invoke(
        crashloop("vote-6f7c9b8d5-x2k4q", "1adde7000000002"),
        "req-2",
    )
    .await;

    assert_eq!(first.verdict, Verdict::Executed, "{first:?}");
    assert_eq!(second.verdict, Verdict::Executed, "{second:?}");
    let stored = ledger
        .records_since(now() - chrono::Duration::minutes(1))
        .await
        .unwrap();
    let record = |id: &str| stored.iter().find(|r| r.id == id).unwrap().clone();
    let (first, second) = (record(&first.id), record(&second.id));
    assert_eq!(first.action.as_ref().unwrap().kind, ActionKind::RestartPod);
    let action = second.action.as_ref().unwrap();
    assert_eq!(action.kind, ActionKind::Rollback);
    assert_eq!(action.target.to_string(), "Deployment production/vote");
    assert!(
        second.reason.starts_with("escalation step 2 of 3: rule crash-ladder already acted for Deployment production/vote once within 1h, last restart_pod on Pod production/vote-7c8d6f9b5-k2x9w")
            && second.reason.contains(&format!("(record {})", first.id)),
        "{}",
        second.reason
    );
    assert_eq!(
        second.workload.as_ref().map(ToString::to_string).as_deref(),
        Some("Deployment production/vote")
    );
    assert_eq!(second.workload, first.workload);
}
