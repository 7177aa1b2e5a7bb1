//! Auto Scaling groups on moto's server, for node replacement tests: a group with
//! instances, tagged (or not) for a cluster, and its state afterwards.

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::types::Tag;

use crate::{moto, unique};

/// An Auto Scaling client on the shared moto server.
pub fn client() -> Client {
    Client::new(&moto::sdk_config())
}

/// Creates a two-instance group (desired capacity 2) tagged with `tag` (key, value), and
/// returns its name and instance ids.
pub async fn group(tag: Option<(String, &str)>) -> (String, Vec<String>) {
    let client = client();
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
    let ids = instances(&name).await;
    (name, ids)
}

/// The group's in-service instances and its desired capacity.
pub async fn state(group: &str) -> (Vec<String>, i32) {
    let out = client()
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

/// The group's in-service instances.
pub async fn instances(group: &str) -> Vec<String> {
    state(group).await.0
}
