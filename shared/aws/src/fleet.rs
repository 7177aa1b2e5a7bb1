//! Node replacement on the AWS side: terminate the node's EC2 instance in its Auto Scaling
//! group, which launches a replacement.
//!
//! The instance's group comes from DescribeAutoScalingInstances; the group must carry the
//! tag `kubernetes.io/cluster/<cluster>` = `owned` (what EKS managed node groups, eksctl
//! and Karpenter-free self-managed groups set), read from DescribeAutoScalingGroups. The
//! decision to know: an instance outside the configured cluster is never terminated, even
//! if IAM would allow it; the template's IAM condition on the same tag is a second, separate
//! fence. Termination keeps the desired capacity (`ShouldDecrementDesiredCapacity=false`),
//! so the group replaces the node instead of shrinking.

use aws_sdk_autoscaling::Client;
use reflex_core::cluster::{ClusterError, Fleet, Submit};

use crate::config::Aws;
use crate::error::classify;

/// The value of the ownership tag for groups of this cluster.
const OWNED: &str = "owned";

/// Terminates cluster nodes' instances through EC2 Auto Scaling.
#[derive(Debug, Clone)]
pub struct AsgFleet {
    client: Client,
    cluster: String,
}

impl AsgFleet {
    /// The fleet of the configured cluster.
    pub fn new(aws: &Aws) -> Self {
        AsgFleet::with_client(
            Client::new(aws.sdk_config()),
            aws.config().cluster_name.clone(),
        )
    }

    /// The fleet of `cluster` through `client`.
    pub fn with_client(client: Client, cluster: impl Into<String>) -> Self {
        AsgFleet {
            client,
            cluster: cluster.into(),
        }
    }

    /// The ownership tag key groups of this cluster carry.
    pub fn ownership_tag(&self) -> String {
        format!("kubernetes.io/cluster/{}", self.cluster)
    }

    /// The instance's group, checked to belong to this cluster.
    async fn owned_group(&self, instance_id: &str) -> Result<String, ClusterError> {
        let found = self
            .client
            .describe_auto_scaling_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(|e| {
                ClusterError::from(classify("autoscaling:DescribeAutoScalingInstances", e))
            })?;
        let group = found
            .auto_scaling_instances()
            .iter()
            .find(|i| i.instance_id() == Some(instance_id))
            .and_then(|i| i.auto_scaling_group_name())
            .ok_or_else(|| {
                ClusterError::Refused(format!(
                    "instance {instance_id} is in no Auto Scaling group: terminating it would not bring a replacement"
                ))
            })?
            .to_owned();
        let groups = self
            .client
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&group)
            .send()
            .await
            .map_err(|e| {
                ClusterError::from(classify("autoscaling:DescribeAutoScalingGroups", e))
            })?;
        let key = self.ownership_tag();
        let owned = groups
            .auto_scaling_groups()
            .iter()
            .filter(|g| g.auto_scaling_group_name() == Some(group.as_str()))
            .flat_map(|g| g.tags())
            .any(|t| t.key() == Some(key.as_str()) && t.value() == Some(OWNED));
        if !owned {
            return Err(ClusterError::Refused(format!(
                "instance {instance_id} is in Auto Scaling group {group}, which is not tagged {key}={OWNED}: it does not belong to cluster {}, so it is not terminated",
                self.cluster
            )));
        }
        Ok(group)
    }
}

impl Fleet for AsgFleet {
    async fn terminate(&self, instance_id: &str, submit: Submit) -> Result<String, ClusterError> {
        let group = self.owned_group(instance_id).await?;
        if submit == Submit::DryRun {
            return Ok(format!(
                "would terminate instance {instance_id} in Auto Scaling group {group} (tagged {}={OWNED}) without decrementing its desired capacity",
                self.ownership_tag()
            ));
        }
        let out = self
            .client
            .terminate_instance_in_auto_scaling_group()
            .instance_id(instance_id)
            .should_decrement_desired_capacity(false)
            .send()
            .await
            .map_err(|e| {
                ClusterError::from(classify(
                    "autoscaling:TerminateInstanceInAutoScalingGroup",
                    e,
                ))
            })?;
        let activity = out
            .activity()
            .and_then(|a| a.activity_id())
            .unwrap_or("(no activity id returned)");
        Ok(format!(
            "terminated instance {instance_id} in Auto Scaling group {group}, desired capacity kept; scaling activity {activity}"
        ))
    }
}
