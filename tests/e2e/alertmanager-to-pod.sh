#!/usr/bin/env bash
# End to end, scenarios 1 to 7: Debian's Alertmanager → the intake function (its
# function URL, bearer token) → the alerts topic (moto) → the SNS → Lambda delivery, done by
# the harness (tests/e2e/deliver.py) → `remediate` in enforce mode → the pod deleted on the
# fake Kubernetes API server, the audit record in DynamoDB, the notification on its topic.
# Then a CloudWatch node alarm published to the alerts topic → cordon, evictions and the
# instance terminated in moto's Auto Scaling group. Then a CloudWatch ALB 5XX alarm → the
# Deployment behind its target group rolled back. Then the canary's 5XX alarm → its Route 53
# weight (moto) shifted to the stable set in one batch. Then `reflex pause --table` (the CLI
# against the same DynamoDB table): an alert delivered while paused is `suppressed` and
# nothing is deleted; after `reflex resume` a fresh alert is acted on. Both functions run as
# their real binaries under `cargo lambda watch`.
#
# Usage: tests/e2e/alertmanager-to-pod.sh   (prints the measured alert → deletion time)
#        PROFILE=release tests/e2e/alertmanager-to-pod.sh   (the functions built in release)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

fail() { echo "FAIL: $*" >&2; exit 1; }

ensure_tools
command -v prometheus-alertmanager >/dev/null || {
    step "apt-get install prometheus-alertmanager"
    apt-get install -y -qq prometheus-alertmanager >/dev/null
}
step "cargo build (fake-kube, reflex)"
cargo build --quiet --locked -p reflex-fake-kube --bin fake-kube -p reflex-cli --bin reflex
start_servers "$target/debug/fake-kube"
setup_aws
"$venv/bin/python" tests/e2e/canary.py "$moto_url" setup >>"$work/env"
canary_zone=$(env_value E2E_CANARY_ZONE)
# The default policy with the canary rule of the catalog's example first.
"$venv/bin/python" - "$canary_zone" >"$work/policy.yaml" <<'PY'
import sys
default = open("shared/core/policy/default.yaml").read()
rule = f"""rules:
  - name: result-canary-5xx
    match: {{ source: cloudwatch, alertname: [voting-prod-result-canary-alb-target-5xx] }}
    class: service_errors
    action: shift_traffic
    traffic: {{ hosted_zone_id: {sys.argv[1]}, record: result.voting.example.com, canary: canary, stable: stable }}
"""
assert default.count("\nrules:\n") == 1
print(default.replace("\nrules:\n", "\n" + rule, 1), end="")
PY

token="e2e-token-$RANDOM$RANDOM"
printf %s "$token" >"$work/token"
{
    aws_env
    echo REFLEX_MODE=enforce
    echo REFLEX_CLUSTER_NAME=voting-prod
    echo "REFLEX_KUBECONFIG=$work/kubeconfig"
    echo "REFLEX_INTAKE_TOKEN_SHA256=$(sha256sum <"$work/token" | cut -d' ' -f1)"
    echo REFLEX_MAX_BODY_BYTES=1048576
    echo "REFLEX_POLICY_PATH=$work/policy.yaml"
    grep '^REFLEX_' "$work/env"
} >"$work/functions.env"

step "cargo lambda watch (alertmanager-intake, remediate)"
lambda_port=$(free_port)
# The functions' profile: dev (the default, as the test suite runs them) or release.
watch_profile=()
[ "${PROFILE:-dev}" = release ] && watch_profile=(--release)
"$venv/bin/cargo-lambda" lambda watch "${watch_profile[@]}" --ignore-changes --quiet -A 127.0.0.1 -P "$lambda_port" \
    --env-file "$work/functions.env" >"$work/watch.log" 2>&1 &
pids+=($!)
lambda="http://127.0.0.1:$lambda_port"
intake="$lambda/lambda-url/alertmanager-intake/"
invoke_url="$lambda/2015-03-31/functions/remediate/invocations"
wait_http "$lambda/"
# The first request to each function builds and starts it: do that before timing anything.
curl -s -o /dev/null -m 600 -X POST "$intake" -d '{}'
curl -s -o /dev/null -m 600 -X POST "$invoke_url" \
    --data-binary @events/sns-cloudwatch/alb-target-5xx-unrelated.json

posted() { # BODY [CURL ARGS...] → HTTP status of a POST to the intake
    local body=$1; shift
    curl -s -o "$work/intake.out" -w '%{http_code}' -X POST "$intake" "$@" --data-binary "$body"
}
queue_depth() {
    "$venv/bin/python" -c '
import boto3, sys
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
print(sqs.get_queue_attributes(QueueUrl=sys.argv[2], AttributeNames=["ApproximateNumberOfMessages"])
      ["Attributes"]["ApproximateNumberOfMessages"])' "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)"
}

step "scenario 4: wrong token, oversized body, garbage body are refused, nothing published"
good=events/alertmanager/pod-crashloop-worker.json
[ "$(posted @$good -H 'Authorization: Bearer wrong')" = 401 ] || fail "wrong token not 401"
head -c 1100000 /dev/zero | tr '\0' x >"$work/big"
[ "$(posted @"$work/big" -H "Authorization: Bearer $token")" = 413 ] || fail "oversized not 413"
[ "$(posted 'not json at all' -H "Authorization: Bearer $token")" = 400 ] || fail "garbage not 400"
[ "$(queue_depth)" = 0 ] || fail "a refused request published something"

step "Alertmanager with a webhook receiver on the intake function URL"
am_port=$(free_port)
cat >"$work/alertmanager.yml" <<YAML
route:
  receiver: reflex
  group_by: [alertname, namespace]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 4h
receivers:
  - name: reflex
    webhook_configs:
      - url: $intake
        send_resolved: true
        max_alerts: 0
        http_config:
          authorization:
            type: Bearer
            credentials_file: $work/token
YAML
amtool check-config "$work/alertmanager.yml" >/dev/null
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
    >"$work/alertmanager.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$am_port/-/ready"

step "scenario 1 and 3: KubePodCrashLooping → pod deleted, audited, notified; redelivery acts once"
pod=worker-69d4c8b7f-h7s2d
pod_url="$kube_url/api/v1/namespaces/production/pods/$pod"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$pod_url")" = 200 ] || fail "pod missing at start"
started=$(now_ms)
curl -sf -X POST "http://127.0.0.1:$am_port/api/v2/alerts" -H 'content-type: application/json' \
    --data-binary "[{\"labels\":{\"alertname\":\"KubePodCrashLooping\",\"namespace\":\"production\",\"pod\":\"$pod\",\"container\":\"worker\",\"severity\":\"warning\"},\"annotations\":{\"summary\":\"Pod is crash looping.\"},\"startsAt\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\"}]" \
    >/dev/null
# Each message twice: SNS may redeliver, and the second delivery must not act again.
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 60 2 >"$work/deliveries" &
deliver=$!
deleted=""
for _ in $(seq 1200); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$pod_url")" = 404 ]; then
        deleted=$(now_ms); break
    fi
    sleep 0.05
done
wait "$deliver" || { cat "$work/deliveries" >&2; fail "delivery failed"; }
[ -n "$deleted" ] || fail "pod $pod was not deleted"
cat "$work/deliveries" >&2

"$venv/bin/python" tests/e2e/audit.py "$moto_url" "$(env_value REFLEX_AUDIT_TABLE)" >"$work/audit"
executed=$(grep -c '"verdict": "executed"' "$work/audit" || true)
duplicate=$(grep -c 'duplicate delivery' "$work/audit" || true)
[ "$executed" = 1 ] || { cat "$work/audit" >&2; fail "expected 1 executed record, got $executed"; }
[ "$duplicate" = 1 ] || { cat "$work/audit" >&2; fail "expected 1 duplicate record, got $duplicate"; }
deletes=$(curl -s "$kube_url/_fake/requests" | "$venv/bin/python" -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "DELETE"
          and r["path"].endswith("/" + sys.argv[1]) and "dryRun" not in (r["query"] or "")))' "$pod")
[ "$deletes" = 1 ] || fail "expected one DELETE of $pod on the API server, saw $deletes"
notified=$("$venv/bin/python" -c '
import boto3, sys
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
print(len(sqs.receive_message(QueueUrl=sys.argv[2], MaxNumberOfMessages=10).get("Messages", [])))' \
    "$moto_url" "$(env_value E2E_NOTIFY_QUEUE_URL)")
[ "$notified" -ge 1 ] || fail "no notification on the notifications topic"

step "scenario 2: CloudWatch node NotReady alarm → cordon, drain, instance terminated"
node=ip-10-0-2-41.ec2.internal
coproc NODE { "$venv/bin/python" tests/e2e/node_setup.py "$moto_url" \
    "$(env_value REFLEX_ALERTS_TOPIC_ARN)" events/sns-cloudwatch/node-status-ready-sick-node.json; }
read -r instance <&"${NODE[0]}"
curl -sf -X PATCH "$kube_url/api/v1/nodes/$node" -H 'content-type: application/merge-patch+json' \
    --data-binary "{\"spec\":{\"providerID\":\"aws:///us-east-1b/$instance\"}}" >/dev/null
echo >&"${NODE[1]}"
wait "$NODE_PID" || fail "node scenario set-up failed"
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 240 >"$work/node-delivery" || { cat "$work/node-delivery" >&2; fail "delivery"; }
cat "$work/node-delivery" >&2
grep -q '"verdict":"executed"' "$work/node-delivery" || fail "node replacement not executed"
[ "$(curl -s "$kube_url/api/v1/nodes/$node" | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["spec"].get("unschedulable"))')" = True ] \
    || fail "node $node not cordoned"
evictions=$(curl -s "$kube_url/_fake/requests" | "$venv/bin/python" -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "POST" and r["path"].endswith("/eviction")
          and "dryRun" not in (r["query"] or "")))')
[ "$evictions" -ge 1 ] || fail "no eviction reached the API server"
"$venv/bin/python" -c '
import boto3, sys
asg = boto3.client("autoscaling", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["eks-voting-prod-ng"])["AutoScalingGroups"][0]
ids = [i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] == "InService"]
desired = group["DesiredCapacity"]  # replaced, not shrunk: capacity stays at 1
sys.exit(0 if sys.argv[2] not in ids and desired == 1 else
         f"instance {sys.argv[2]} still in service ({ids}), desired capacity {desired}")' \
    "$moto_url" "$instance" || fail "instance not terminated in its group"

step "scenario 6: CloudWatch ALB 5XX alarm → the Deployment behind the target group rolled back"
"$venv/bin/python" tests/e2e/alarm.py "$moto_url" "$(env_value REFLEX_ALERTS_TOPIC_ARN)" \
    events/sns-cloudwatch/alb-target-5xx-vote-recent-rollout.json || fail "ALB alarm set-up failed"
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 120 >"$work/alb-delivery" || { cat "$work/alb-delivery" >&2; fail "delivery"; }
cat "$work/alb-delivery" >&2
grep -q '"verdict":"executed"' "$work/alb-delivery" || fail "ALB 5XX rollback not executed"
image() { # JSON PATH → the first container image of the pod template at that path
    curl -s "$kube_url/$1" | "$venv/bin/python" -c \
        'import json,sys; print(json.load(sys.stdin)["spec"]["template"]["spec"]["containers"][0]["image"])'
}
rolled_back=$(image apis/apps/v1/namespaces/production/deployments/vote)
[ "$rolled_back" = "$(image apis/apps/v1/namespaces/production/replicasets/vote-7c8d6f9b5)" ] \
    || fail "production/vote not back on revision 2's template (image $rolled_back)"

step "scenario 7: the canary's ALB 5XX alarm → its Route 53 weight shifted to stable"
[ "$("$venv/bin/python" tests/e2e/canary.py "$moto_url" weights "$canary_zone")" = "canary=10 stable=90" ] \
    || fail "canary weights not set up"
"$venv/bin/python" tests/e2e/alarm.py "$moto_url" "$(env_value REFLEX_ALERTS_TOPIC_ARN)" \
    events/sns-cloudwatch/alb-target-5xx-result-canary.json || fail "canary alarm set-up failed"
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 120 >"$work/canary-delivery" || { cat "$work/canary-delivery" >&2; fail "delivery"; }
cat "$work/canary-delivery" >&2
grep -q '"verdict":"executed"' "$work/canary-delivery" || fail "canary shift not executed"
shifted=$("$venv/bin/python" tests/e2e/canary.py "$moto_url" weights "$canary_zone")
[ "$shifted" = "canary=0 stable=100" ] || fail "weights not shifted: $shifted"

step "scenario 5: reflex pause (CLI, DynamoDB) → suppressed, nothing deleted; resume → acted on"
table=$(env_value REFLEX_AUDIT_TABLE)
# The CLI with the functions' AWS settings (moto), as an engineer's shell would have them.
reflex_cli() { env $(aws_env | grep -v '^RUST_LOG=') "$target/debug/reflex" "$@"; }
crashloop() { # POD STARTS_AT → an Alertmanager webhook body for one firing alert
    printf '{"receiver":"reflex","status":"firing","version":"4","groupKey":"e2e","truncatedAlerts":0,"groupLabels":{"alertname":"KubePodCrashLooping"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager","alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"production","pod":"%s","container":"result","severity":"warning"},"annotations":{"summary":"Pod is crash looping."},"startsAt":"%s","endsAt":"0001-01-01T00:00:00Z","fingerprint":"e2e0pause0000001"}]}' "$1" "$2"
}
paused_pod=result-84b6d9c7f-9vzrm
paused_url="$kube_url/api/v1/namespaces/production/pods/$paused_pod"
reflex_cli pause --table "$table" --reason "e2e: maintenance window" --for 10m >"$work/pause.out" \
    || { cat "$work/pause.out" >&2; fail "reflex pause"; }
reflex_cli status --table "$table" --format json | grep -q '"paused":{' || fail "status does not say paused"
[ "$(posted "$(crashloop "$paused_pod" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)")" \
    -H "Authorization: Bearer $token")" = 200 ] || fail "intake refused the alert"
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 60 >"$work/paused-delivery" || { cat "$work/paused-delivery" >&2; fail "delivery"; }
grep -q '"verdict":"suppressed"' "$work/paused-delivery" \
    || { cat "$work/paused-delivery" >&2; fail "alert under pause not suppressed"; }
reflex_cli audit list --table "$table" --verdict suppressed --format json >"$work/suppressed"
grep -q '"reason":"paused by arn:aws:sts::123456789012:user/moto at .*e2e: maintenance window' "$work/suppressed" \
    || { cat "$work/suppressed" >&2; fail "no suppressed record naming the pause"; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$paused_url")" = 200 ] || fail "$paused_pod acted on while paused"
reflex_cli resume --table "$table" >/dev/null || fail "reflex resume"
[ "$(posted "$(crashloop "$paused_pod" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)")" \
    -H "Authorization: Bearer $token")" = 200 ] || fail "intake refused the alert"
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 120 >"$work/resumed-delivery" || { cat "$work/resumed-delivery" >&2; fail "delivery"; }
grep -q '"verdict":"executed"' "$work/resumed-delivery" \
    || { cat "$work/resumed-delivery" >&2; fail "alert after resume not acted on"; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$paused_url")" = 404 ] || fail "$paused_pod not deleted after resume"

step "passed: executed=$executed duplicate_suppressed=$duplicate pod_deletes=$deletes notifications=$notified node_evictions=$evictions instance_terminated=$instance alb_rollback=$rolled_back canary_weights=\"$shifted\" pause_suppressed=1 resume_executed=1"
echo "alert posted to Alertmanager → pod deleted (${PROFILE:-dev} functions): $(( deleted - started )) ms"
