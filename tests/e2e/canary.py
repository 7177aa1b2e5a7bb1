"""The canary of the events/ catalog made real on moto's Route 53: a hosted zone whose record
result.voting.example.com has the weighted sets `canary` (weight 10) and `stable` (90).

Usage: canary.py MOTO_URL setup            → prints E2E_CANARY_ZONE=<id>
       canary.py MOTO_URL weights ZONE_ID  → prints `canary=N stable=N`
"""

import sys
import uuid

import boto3

RECORD = "result.voting.example.com."


def client(moto_url: str):
    return boto3.client(
        "route53",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def setup(moto_url: str) -> None:
    r53 = client(moto_url)
    zone = r53.create_hosted_zone(Name="voting.example.com.", CallerReference=str(uuid.uuid4()))
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": RECORD,
                "Type": "A",
                "SetIdentifier": set_id,
                "Weight": weight,
                "TTL": 60,
                "ResourceRecords": [{"Value": address}],
            },
        }
        for set_id, weight, address in [("canary", 10, "10.0.1.10"), ("stable", 90, "10.0.1.20")]
    ]
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    print(f"E2E_CANARY_ZONE={zone_id}")


def weights(moto_url: str, zone_id: str) -> None:
    sets = client(moto_url).list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=RECORD
    )["ResourceRecordSets"]
    found = {s["SetIdentifier"]: s["Weight"] for s in sets if s["Name"] == RECORD and "Weight" in s}
    print(" ".join(f"{k}={found[k]}" for k in sorted(found)))


if __name__ == "__main__":
    if sys.argv[2] == "setup":
        setup(sys.argv[1])
    else:
        weights(sys.argv[1], sys.argv[3])
