"""Scenario 2's AWS side on moto: an Auto Scaling group owned by the cluster (moto does not
create the one a node group names), the CloudWatch alarm in ALARM, and the alarm's
notification published to the alerts topic.

Usage: node_setup.py MOTO_URL ALERTS_TOPIC_ARN EVENT_FILE
Prints the instance id the node should be backed by, then (after reading a line on stdin,
once the node points at it) publishes the notification.
"""

import json
import sys

import boto3

# The account the events/ catalog is written for.
CATALOG_ACCOUNT = "111122223333"


def main() -> None:
    moto_url, topic_arn, event_file = sys.argv[1:4]
    kw = dict(
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ec2, asg, cw, sns = (boto3.client(s, **kw) for s in ("ec2", "autoscaling", "cloudwatch", "sns"))
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

    envelope = json.load(open(event_file))["Records"][0]["Sns"]
    alarm = json.loads(envelope["Message"])
    trigger = alarm["Trigger"]
    cw.put_metric_alarm(
        AlarmName=alarm["AlarmName"],
        Namespace=trigger["Namespace"],
        MetricName=trigger["MetricName"],
        Dimensions=[{"Name": d["name"], "Value": d["value"]} for d in trigger["Dimensions"]],
        Statistic="Minimum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
    )
    cw.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="ALARM", StateReason="e2e")
    # The alarm is moto's, in the topic's account: remediate acts only on alarms of its own
    # account, so the catalog message names that account.
    account = topic_arn.split(":")[4]
    message = envelope["Message"].replace(CATALOG_ACCOUNT, account)
    sns.publish(TopicArn=topic_arn, Subject=envelope.get("Subject") or "ALARM", Message=message)


if __name__ == "__main__":
    main()
