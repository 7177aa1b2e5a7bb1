"""A catalog CloudWatch alarm made real on moto: the alarm put in ALARM (remediate re-checks
it with DescribeAlarms before acting) and its notification published to the alerts topic.

Usage: alarm.py MOTO_URL ALERTS_TOPIC_ARN EVENT_FILE   (EVENT_FILE: an sns-cloudwatch/ event)
node_setup.py uses publish() after its Auto Scaling set-up.
"""

import json
import sys

import boto3

# The account the events/ catalog is written for.
CATALOG_ACCOUNT = "111122223333"


def clients(moto_url: str, *services: str):
    kw = dict(
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return tuple(boto3.client(s, **kw) for s in services)


def publish(moto_url: str, topic_arn: str, event_file: str) -> None:
    cw, sns = clients(moto_url, "cloudwatch", "sns")
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
    publish(*sys.argv[1:4])
