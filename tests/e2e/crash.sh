#!/usr/bin/env bash
# End to end, a kill mid-action: `remediate` (built with the `crash-points` feature) runs
# under `cargo lambda watch`, and `REFLEX_CRASH_AT` makes it SIGKILL itself at one step of
# the intent log. The same SNS delivery is then sent again, as Lambda does after a failed
# invocation, to a fresh process (`cargo lambda watch` ends with the killed one and is
# started again): first while the killed invocation may still be at work (deferred: a
# function error, nothing stored), then once it cannot be (taken over). For each point: the pod is
# deleted at most once on the fake API server, the alert instance has exactly one record in
# DynamoDB (moto), and on-call is told once. The policy's short timeouts keep the holder's
# `alive_until` near (claim + 20 s + 2 × drain + verify = 40 s).
#
# Usage: tests/e2e/crash.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

fail() { echo "FAIL: $*" >&2; exit 1; }

ensure_tools
step "cargo build (fake-kube)"
cargo build --quiet --locked -p reflex-fake-kube --bin fake-kube
start_servers "$target/debug/fake-kube"
setup_aws

sed -e 's/^    drain: 5m$/    drain: 5s/' -e 's/^    verify: 5m$/    verify: 10s/' \
    shared/core/policy/default.yaml >"$work/policy.yaml"
grep -q 'drain: 5s' "$work/policy.yaml" || fail 'policy timeouts not shortened'
# The holder is alive for 20 s of planning plus 2 × drain + verify after its claim.
alive_s=42

# Starts `cargo lambda watch` with crash point $2 ("" for none) on a free port, and sets
# $1_url (its Invoke endpoint) and $1_pid.
start_watch() { # NAME POINT
    local port
    port=$(free_port)
    {
        aws_env
        echo REFLEX_MODE=enforce
        echo REFLEX_CLUSTER_NAME=voting-prod
        echo "REFLEX_KUBECONFIG=$work/kubeconfig"
        echo "REFLEX_POLICY_PATH=$work/policy.yaml"
        if [ -n "$2" ]; then
            echo "REFLEX_CRASH_AT=$2"
            echo "REFLEX_CRASH_MARKER=$work/crashed-${2//:/-}"
        fi
        grep '^REFLEX_' "$work/env"
    } >"$work/$1.env"
    "$venv/bin/cargo-lambda" lambda watch --ignore-changes --quiet -A 127.0.0.1 -P "$port" \
        --features reflex-remediate/crash-points --env-file "$work/$1.env" \
        >>"$work/watch-$1.log" 2>&1 &
    pids+=($!)
    printf -v "$1_pid" %s "$!"
    printf -v "$1_url" %s "http://127.0.0.1:$port/2015-03-31/functions/remediate/invocations"
    wait_http "http://127.0.0.1:$port/"
}

# One SNS delivery of an alert ALERTNAME for pod POD, starting now.
sns_event() { # ALERTNAME POD FILE
    "$venv/bin/python" - "$1" "$2" "$(env_value REFLEX_ALERTS_TOPIC_ARN)" >"$3" <<'PY'
import datetime, json, sys, uuid
name, pod, topic = sys.argv[1:4]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
alert = {
    "version": "4", "status": "firing", "receiver": "reflex", "groupKey": "{}:{}",
    "truncatedAlerts": 0, "externalURL": "http://alertmanager", "groupLabels": {},
    "commonLabels": {}, "commonAnnotations": {},
    "alerts": [{
        "status": "firing", "startsAt": now, "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": uuid.uuid4().hex[:16], "generatorURL": "http://prometheus",
        "labels": {"alertname": name, "namespace": "production",
                   "pod": pod, "container": pod.split("-")[0], "severity": "warning"},
        "annotations": {"summary": "Pod is crash looping."},
    }],
}
message = {
    "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": topic,
    "Subject": None, "Message": json.dumps(alert), "Timestamp": now,
    "SignatureVersion": "1", "Signature": "", "SigningCertUrl": "", "UnsubscribeUrl": "",
    "MessageAttributes": {},
}
print(json.dumps({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
    "EventSubscriptionArn": f"{topic}:e2e-subscription", "Sns": message}]}))
PY
}

invoke() { # URL FILE → "<status> <function error or ->" and the answer in $work/answer
    local code error
    rm -f "$work/answer" "$work/headers"
    code=$(curl -s -m 600 -o "$work/answer" -D "$work/headers" -w '%{http_code}' \
        -X POST "$1" --data-binary @"$2" || true)
    error=$(grep -i '^x-amz-function-error:' "$work/headers" 2>/dev/null | cut -d' ' -f2 | tr -d '\r' || true)
    echo "$code ${error:--}"
}

records_for() { # POD → how many audit records name the pod
    "$venv/bin/python" tests/e2e/audit.py "$moto_url" "$(env_value REFLEX_AUDIT_TABLE)" \
        | grep -c "\"$1\"" || true
}

deletes_of() { # POD → DELETEs of it the fake carried out
    curl -s "$kube_url/_fake/requests" | "$venv/bin/python" -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "DELETE"
          and r["path"].endswith("/" + sys.argv[1]) and "dryRun" not in (r["query"] or "")
          and 200 <= (r.get("status") or 0) < 300))' "$1"
}

notifications() {
    "$venv/bin/python" -c '
import boto3, sys
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
n = 0
while True:
    got = sqs.receive_message(QueueUrl=sys.argv[2], MaxNumberOfMessages=10, WaitTimeSeconds=1)
    msgs = got.get("Messages", [])
    if not msgs:
        break
    n += len(msgs)
    for m in msgs:
        sqs.delete_message(QueueUrl=sys.argv[2], ReceiptHandle=m["ReceiptHandle"])
print(n)' "$moto_url" "$(env_value E2E_NOTIFY_QUEUE_URL)"
}

# point, pod, expected verdict of the one record, expected DELETEs of the pod
cases=(
    "claimed worker-69d4c8b7f-h7s2d executed 1"
    "sent:delete_pod result-84b6d9c7f-9vzrm failed 1"
)
# The redeliveries go to a second function process, started once: a fresh host, as Lambda
# hands a retry to whichever instance it has.
step "cargo lambda watch (remediate, crash-points feature)"
start_watch fresh ""
# An alert no rule matches reaches no claim (no crash point): it builds and starts the
# function before anything is timed.
sns_event E2EWarmUp none "$work/warm.json"
invoke "$fresh_url" "$work/warm.json" >/dev/null
grep -q '"no_match"' "$work/answer" || { cat "$work/answer" >&2; fail "warm-up not no_match"; }

summary=()
for case in "${cases[@]}"; do
    read -r point pod verdict want_deletes <<<"$case"
    step "crash at $point: pod $pod"
    start_watch crashing "$point"
    invoke "$crashing_url" "$work/warm.json" >/dev/null
    sns_event KubePodCrashLooping "$pod" "$work/event.json"
    # The killed invocation is never answered: send it aside, wait for the crash marker.
    curl -s -m 300 -o /dev/null -X POST "$crashing_url" --data-binary @"$work/event.json" &
    first=$!
    marker="$work/crashed-${point//:/-}"
    for _ in $(seq 1200); do [ -e "$marker" ] && break; sleep 0.1; done
    [ -e "$marker" ] || { cat "$work/watch-crashing.log" >&2; fail "$point: no crash"; }
    sleep 0.5 # the SIGKILL follows the marker
    kill "$first" "$crashing_pid" 2>/dev/null || true # its scheduler ended with the function
    wait "$first" "$crashing_pid" 2>/dev/null || true
    [ "$(records_for "$pod")" = 0 ] || fail "$point: the killed invocation stored a record"
    early=$(invoke "$fresh_url" "$work/event.json")
    grep -q 'may still be at work' "$work/answer" || { cat "$work/answer" >&2; fail "$point: redelivery not deferred ($early)"; }
    [ "$(records_for "$pod")" = 0 ] || fail "$point: the deferred redelivery stored a record"
    sleep "$alive_s"
    late=$(invoke "$fresh_url" "$work/event.json")
    case "$late" in 200\ -) ;; *) cat "$work/answer" >&2; fail "$point: redelivery after the holder: $late" ;; esac
    grep -q "\"verdict\":\"$verdict\"" "$work/answer" || { cat "$work/answer" >&2; fail "$point: not $verdict"; }
    [ "$(records_for "$pod")" = 1 ] || fail "$point: expected one record"
    got=$(deletes_of "$pod")
    [ "$got" = "$want_deletes" ] || fail "$point: $got DELETEs of $pod, expected $want_deletes"
    told=$(notifications)
    [ "$told" = 1 ] || fail "$point: on-call told $told times"
    summary+=("$point:$verdict:deletes=$got:told=$told")
done
step "passed: ${summary[*]}"
