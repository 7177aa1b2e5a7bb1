"""Scenario 2's AWS side on moto: an Auto Scaling group owned by the cluster (moto does not
create the one a node group names), the CloudWatch alarm in ALARM, and the alarm's
notification published to the alerts topic.

Usage: node_setup.py MOTO_URL ALERTS_TOPIC_ARN EVENT_FILE
Prints the instance id the node should be backed by, then (after reading a line on stdin,
once the node points at it) publishes the notification.
"""

import sys

from alarm import clients, publish


def main() -> None:
    moto_url, topic_arn, event_file = sys.argv[1:4]
    ec2, asg = clients(moto_url, "ec2", "autoscaling")
    ec2.create_launch_template(
        LaunchTemplateName="voting-prod-ng",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "m5.large"},
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName="eks-voting-prod-ng",
        LaunchTemplate={"LaunchTemplateName": "voting-prod-ng"},
        MinSize=1,
        MaxSize=3,
        DesiredCapacity=1,
        AvailabilityZones=["us-east-1b"],
        Tags=[
            {
                "Key": "kubernetes.io/cluster/voting-prod",
                "Value": "owned",
                "PropagateAtLaunch": True,
            }
        ],
    )
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["eks-voting-prod-ng"])
    print(group["AutoScalingGroups"][0]["Instances"][0]["InstanceId"], flush=True)
    sys.stdin.readline()

    publish(moto_url, topic_arn, event_file)


if __name__ == "__main__":
    main()
