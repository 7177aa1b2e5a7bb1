//! Node replacement against moto's Auto Scaling.

use reflex_aws::AsgFleet;
use reflex_core::cluster::{ClusterError, Fleet, Submit};
use reflex_test_support::asg::{group, instances, state};

#[tokio::test]
async fn terminates_an_instance_of_a_cluster_owned_group_and_keeps_capacity() {
    let aws = crate::moto_aws().await;
    let fleet = AsgFleet::new(&aws);
    let (name, before) = group(Some((fleet.ownership_tag(), "owned"))).await;
    assert_eq!(before.len(), 2);
    let old = &before[0];

    let detail = fleet
        .terminate(old, Submit::Apply)
        .await
        .expect("terminate");

    assert!(detail.contains(old.as_str()), "{detail}");
    assert!(detail.contains(&name), "{detail}");
    assert!(detail.contains("scaling activity"), "{detail}");
    let (after, desired) = state(&name).await;
    assert_eq!(desired, 2, "desired capacity kept");
    assert!(!after.contains(old), "{old} still in service: {after:?}");
}

#[tokio::test]
async fn refuses_an_instance_whose_group_is_not_tagged_for_the_cluster() {
    let aws = crate::moto_aws().await;
    let fleet = AsgFleet::new(&aws);
    let (untagged, untagged_ids) = group(None).await;
    let (other, other_ids) =
        group(Some(("kubernetes.io/cluster/someone-else".into(), "owned"))).await;
    let (shared, shared_ids) = group(Some((fleet.ownership_tag(), "shared"))).await;

    for (name, ids) in [
        (&untagged, &untagged_ids),
        (&other, &other_ids),
        (&shared, &shared_ids),
    ] {
        let err = fleet
            .terminate(&ids[0], Submit::Apply)
            .await
            .expect_err("must refuse");
        assert!(matches!(err, ClusterError::Refused(_)), "{err:?}");
        assert!(err.to_string().contains("not tagged"), "{err}");
        assert_eq!(&instances(name).await, ids, "{name} untouched");
    }
}

#[tokio::test]
async fn refuses_an_instance_in_no_group() {
    let aws = crate::moto_aws().await;
    let fleet = AsgFleet::new(&aws);
    let err = fleet
        .terminate("i-0123456789abcdef0", Submit::Apply)
        .await
        .expect_err("must refuse");
    assert!(matches!(err, ClusterError::Refused(_)), "{err:?}");
}

#[tokio::test]
async fn dry_run_checks_everything_and_terminates_nothing() {
    let aws = crate::moto_aws().await;
    let fleet = AsgFleet::new(&aws);
    let (name, before) = group(Some((fleet.ownership_tag(), "owned"))).await;

    let detail = fleet
        .terminate(&before[0], Submit::DryRun)
        .await
        .expect("dry run");

    assert!(detail.starts_with("would terminate"), "{detail}");
    assert_eq!(instances(&name).await, before);
    let (untagged, ids) = group(None).await;
    let err = fleet.terminate(&ids[0], Submit::DryRun).await;
    assert!(
        matches!(err, Err(ClusterError::Refused(_))),
        "{untagged}: {err:?}"
    );
}
