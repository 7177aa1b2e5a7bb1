"""The SNS → Lambda delivery AWS performs, done by the test harness.

Drains the SQS queue subscribed to the alerts topic (SNS's JSON envelope in each body),
wraps each message in the Lambda SNS event a subscribed function receives, and invokes
`remediate` through the Lambda Invoke API that `cargo lambda watch` serves.

Usage: deliver.py MOTO_URL QUEUE_URL INVOKE_URL COUNT TIMEOUT_S [REPEAT]
Delivers COUNT messages (each REPEAT times, to show redeliveries act once), printing one
line per invocation: the HTTP status, the function error type if any, and the answer.
"""

import json
import sys
import time
import urllib.error
import urllib.request

import boto3


def lambda_event(envelope: dict, queue_arn: str) -> dict:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{envelope['TopicArn']}:e2e-subscription",
                "Sns": {
                    "Type": envelope.get("Type", "Notification"),
                    "MessageId": envelope["MessageId"],
                    "TopicArn": envelope["TopicArn"],
                    "Subject": envelope.get("Subject"),
                    "Message": envelope["Message"],
                    "Timestamp": envelope["Timestamp"],
                    "SignatureVersion": envelope.get("SignatureVersion", "1"),
                    "Signature": envelope.get("Signature", ""),
                    "SigningCertUrl": envelope.get("SigningCertURL", ""),
                    "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
                    "MessageAttributes": envelope.get("MessageAttributes", {}),
                },
            }
        ]
    }


def invoke(url: str, event: dict) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            return answer.status, answer.headers.get("X-Amz-Function-Error", ""), answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("X-Amz-Function-Error", ""), e.read().decode()


def main() -> None:
    moto_url, queue_url, invoke_url = sys.argv[1:4]
    count, timeout = int(sys.argv[4]), float(sys.argv[5])
    repeat = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    deadline = time.monotonic() + timeout
    delivered = 0
    while delivered < count:
        if time.monotonic() > deadline:
            sys.exit(f"only {delivered} of {count} messages reached the alerts queue")
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = batch.get("Messages", [])
        if not messages:
            time.sleep(0.05)
            continue
        for message in messages:
            event = lambda_event(json.loads(message["Body"]), queue_url)
            for _ in range(repeat):
                status, error, answer = invoke(invoke_url, event)
                print(f"{status} {error or '-'} {answer}", flush=True)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            delivered += 1


if __name__ == "__main__":
    main()
