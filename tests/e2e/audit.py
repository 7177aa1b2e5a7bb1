"""Prints the audit records stored in the DynamoDB audit table, one JSON line each.

Usage: audit.py MOTO_URL TABLE
"""

import json
import sys

import boto3


def main() -> None:
    moto_url, table = sys.argv[1:3]
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    # Claims and leases share the table; audit records carry the record as JSON text.
    for item in dynamodb.Table(table).scan()["Items"]:
        if "record" in item:
            print(json.dumps(json.loads(item["record"]), sort_keys=True))


if __name__ == "__main__":
    main()
