//! Node replacement against moto's Auto Scaling.

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::types::Tag;
use reflex_aws::AsgFleet;
use reflex_core::cluster::{ClusterError, Fleet, Submit};

use reflex_test_support::unique;

/// Creates a two-instance group tagged with `tag` (key, value) and returns its name and
/// instance ids.
async fn group(client: &Client, tag: Option<(String, &str)>) -> (String, Vec<String>) {
    let name = unique("nodes");
    client
        .create_launch_configuration()
        .launch_configuration_name(&name)
        .image_id("ami-12c6146b")
        .instance_type("t3.medium")
        .send()
        .await
        .expect("launch configuration");
    let mut create = client
        .create_auto_scaling_group()
        .auto_scaling_group_name(&name)
        .launch_configuration_name(&name)
        .min_size(2)
        .max_size(3)
        .desired_capacity(2)
        .availability_zones("us-east-1a");
    if let Some((key, value)) = tag {
        create = create.tags(
            Tag::builder()
                .key(key)
                .value(value)
                .resource_id(&name)
                .resource_type("auto-scaling-group")
                .propagate_at_launch(true)
                .build(),
        );
    }
    create.send().await.expect("auto scaling group");
    (name.clone(), instances(client, &name).await)
}

/// The group's in-service instances and its desired capacity.
async fn state(client: &Client, group: &str) -> (Vec<String>, i32) {
    let out = client
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .expect("describe");
    let group = &out.auto_scaling_groups()[0];
    let instances = group
        .instances()
        .iter()
        .filter(|i| {
            i.lifecycle_state()
                .is_none_or(|s| s.as_str() == "InService")
        })
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect();
    (instances, group.desired_capacity().expect("desired"))
}

async fn instances(client: &Client, group: &str) -> Vec<String> {
    state(client, group).await.0
}

#[tokio::test]
async fn terminates_an_instance_of_a_cluster_owned_group_and_keeps_capacity() {
    let aws = crate::moto_aws().await;
    let client = Client::new(aws.sdk_config());
    let fleet = AsgFleet::new(&aws);
    let (name, before) = group(&client, Some((fleet.ownership_tag(), "owned"))).await;
    assert_eq!(before.len(), 2);
    let old = &before[0];

    let detail = fleet
        .terminate(old, Submit::Apply)
        .await
        .expect("terminate");

    assert!(detail.contains(old.as_str()), "{detail}");
    assert!(detail.contains(&name), "{detail}");
    assert!(detail.contains("scaling activity"), "{detail}");
    let (after, desired) = state(&client, &name).await;
    assert_eq!(desired, 2, "desired capacity kept");
    assert!(!after.contains(old), "{old} still in service: {after:?}");
}

#[tokio::test]
async fn refuses_an_instance_whose_group_is_not_tagged_for_the_cluster() {
    let aws = crate::moto_aws().await;
    let client = Client::new(aws.sdk_config());
    let fleet = AsgFleet::new(&aws);
    let (untagged, untagged_ids) = group(&client, None).await;
    let (other, other_ids) = group(
        &client,
        Some(("kubernetes.io/cluster/someone-else".into(), "owned")),
    )
    .await;
    let (shared, shared_ids) = group(&client, Some((fleet.ownership_tag(), "shared"))).await;

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
        assert_eq!(&instances(&client, name).await, ids, "{name} untouched");
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
    let client = Client::new(aws.sdk_config());
    let fleet = AsgFleet::new(&aws);
    let (name, before) = group(&client, Some((fleet.ownership_tag(), "owned"))).await;

    let detail = fleet
        .terminate(&before[0], Submit::DryRun)
        .await
        .expect("dry run");

    assert!(detail.starts_with("would terminate"), "{detail}");
    assert_eq!(instances(&client, &name).await, before);
    let (untagged, ids) = group(&client, None).await;
    let err = fleet.terminate(&ids[0], Submit::DryRun).await;
    assert!(
        matches!(err, Err(ClusterError::Refused(_))),
        "{untagged}: {err:?}"
    );
}
