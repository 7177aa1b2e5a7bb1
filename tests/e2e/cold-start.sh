#!/usr/bin/env bash
# Cold start of `remediate`: from process start to the first event handled, and the warm
# latency of the next events. The function runs as its real binary behind cargo lambda's
# Lambda runtime API emulator, against moto (DynamoDB, SNS, Auto Scaling, CloudWatch) and
# the fake Kubernetes API server seeded with the voting app; the events come from events/.
#
# Usage: tests/e2e/cold-start.sh [RUNS]   (PROFILE=release|dev, default release)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

runs=${1:-5}
profile=${PROFILE:-release}
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")

ensure_tools
step "cargo build --profile $profile (remediate, fake-kube)"
cargo build --quiet --locked --profile "$profile" -p reflex-remediate -p reflex-fake-kube \
    --bin remediate --bin fake-kube
bin="$target/$dir"

step "moto, fake-kube, runtime API"
start_servers "$bin/fake-kube"
rt_port=$(free_port)
"$venv/bin/cargo-lambda" lambda watch --only-lambda-apis -A 127.0.0.1 -P "$rt_port" \
    >"$work/watch.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "starting Runtime server" "$work/watch.log" && break; sleep 0.1; done

# The KEY=VALUE lines hold no spaces: word splitting them into arguments is the point.
# shellcheck disable=SC2046
function_env() {
    exec env -i PATH="$PATH" HOME="$HOME" \
        AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$rt_port/.rt" \
        AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 \
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 \
        $(aws_env) \
        REFLEX_MODE=dry-run REFLEX_CLUSTER_NAME=voting-prod REFLEX_POLICY_PATH= \
        REFLEX_KUBECONFIG="$work/kubeconfig" \
        $(grep '^REFLEX_' "$work/env" | grep -v ALERTS) \
        REFLEX_ALERTS_TOPIC_ARN="$catalog_topic" "$@"
}
invoke() { # EVENT_FILE
    "$venv/bin/cargo-lambda" lambda invoke _ -A 127.0.0.1 -P "$rt_port" --data-file "$1" \
        >"$work/out.json" 2>&1
}

# The events come as the catalog has them, from the catalog's alerts topic, and all through
# Alertmanager: a CloudWatch alarm is acted on only when CloudWatch (here moto) has it.
catalog_topic=arn:aws:sns:us-east-1:111122223333:reflex-alerts
events=(
    events/sns-alertmanager/pod-crashloop-worker.json
    events/sns-alertmanager/pod-not-ready-result.json
    events/sns-alertmanager/deployment-replicas-mismatch-result.json
)
# ready_ms: process start → "remediate ready" (configuration, AWS session, clients);
# first_record_ms: process start → the first audit record logged (the first event handled);
# cold_invoke_ms / warm_invoke_ms: round trip of `cargo lambda invoke` (CLI start included).
ms_of() { # LOG MESSAGE → epoch milliseconds of the first JSON log line with that message
    "$venv/bin/python" -c '
import json, sys, datetime
for line in open(sys.argv[1]):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("fields", {}).get("message") == sys.argv[2]:
        t = datetime.datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
        print(int(t.timestamp() * 1000)); break
' "$1" "$2"
}
printf '%-4s %-9s %-16s %-15s %s\n' run ready_ms first_record_ms cold_invoke_ms warm_invoke_ms
for run in $(seq "$runs"); do
    setup_aws
    start=$(now_ms)
    function_env "$bin/remediate" >"$work/function-$run.log" 2>&1 &
    fn=$!
    pids+=("$fn")
    invoke "${events[0]}" || { cat "$work/out.json" "$work/function-$run.log" >&2; exit 1; }
    cold=$(( $(now_ms) - start ))
    warm_total=0
    for event in "${events[@]:1}"; do
        t=$(now_ms); invoke "$event"; warm_total=$(( warm_total + $(now_ms) - t ))
    done
    kill "$fn"; wait "$fn" 2>/dev/null || true
    log="$work/function-$run.log"
    printf '%-4s %-9s %-16s %-15s %s\n' "$run" "$(( $(ms_of "$log" "remediate ready") - start ))" \
        "$(( $(ms_of "$log" "audit record") - start ))" "$cold" \
        "$(( warm_total / (${#events[@]} - 1) ))"
done
step "last answer:"
cat "$work/out.json" >&2
step "last function log:"
cat "$work/function-$runs.log" >&2
