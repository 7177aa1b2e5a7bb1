"""Creates, on moto, the AWS resources infra/template.yaml gives the functions.

Usage: aws_setup.py ENDPOINT NAME_PREFIX
Prints KEY=VALUE lines (the functions' environment) on stdout.
"""

import sys

import boto3

REGION = "us-east-1"


def main() -> None:
    endpoint, prefix = sys.argv[1], sys.argv[2]
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    sns = session.client("sns", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)

    table = f"{prefix}-audit"
    # The template's AuditTable: pk/sk, index by_time on gsi1pk/gsi1sk, index by_id on id.
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk", "id")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_time",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_id",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )
    alerts = sns.create_topic(Name=f"{prefix}-alerts")["TopicArn"]
    notify = sns.create_topic(Name=f"{prefix}-notify")["TopicArn"]
    # Queues standing in for the alerts topic's Lambda subscription and for on-call.
    for topic, name in ((alerts, "alerts"), (notify, "notify")):
        url = sqs.create_queue(QueueName=f"{prefix}-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        print(f"E2E_{name.upper()}_QUEUE_URL={url}")
    print(f"REFLEX_AUDIT_TABLE={table}")
    print(f"REFLEX_NOTIFY_TOPIC_ARN={notify}")
    print(f"REFLEX_ALERTS_TOPIC_ARN={alerts}")


if __name__ == "__main__":
    main()
