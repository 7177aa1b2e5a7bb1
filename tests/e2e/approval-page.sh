#!/usr/bin/env bash
# End to end, an approval through its signed link, in a real browser: both functions run
# as their real binaries under `cargo lambda watch`, with approval links on and the HMAC key
# an SSM SecureString on moto. An Alertmanager webhook (KubePodNotReady, a rule that says
# `approval: required`) reaches remediate through the intake and the alerts topic, and
# becomes an `awaiting_approval` record whose notification carries the signed link. Headless
# Chromium, driven over WebDriver (selenium), opens that link on the intake's function URL:
# the page shows the alert, its labels, the reason, the plan and the expiry, under its
# Content-Security-Policy (the style sheet allowed by its hash is applied, no script runs).
# Approve is clicked: exactly one approval message is published to the alerts topic, remediate
# performs it (the pod is deleted on the fake API server, the outcome is a record with
# `approves`), and the link opened again says "already used", with nothing more published.
# Screenshots go to target/e2e-artifacts/.
#
# Installs what it needs: Debian's chromium and chromium-driver (apt, when missing), and
# selenium (pinned) into the project's .venv, beside moto and cargo-lambda.
#
# Usage: tests/e2e/approval-page.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

fail() { echo "FAIL: $*" >&2; exit 1; }

SELENIUM_SPEC="selenium==4.51.0"
artifacts="$target/e2e-artifacts"

ensure_tools
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    step "apt-get install chromium chromium-driver"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null
fi
"$venv/bin/python" -m pip freeze 2>/dev/null | grep -qix "$SELENIUM_SPEC" \
    || "$venv/bin/pip" install --quiet "$SELENIUM_SPEC"
mkdir -p "$artifacts"

step "cargo build (fake-kube)"
cargo build --quiet --locked -p reflex-fake-kube --bin fake-kube
start_servers "$target/debug/fake-kube"
setup_aws

step "the approval links' key: an SSM SecureString on moto"
key_parameter=/reflex/e2e/approval-link-key
"$venv/bin/python" - "$moto_url" "$key_parameter" <<'PY'
import secrets, sys
import boto3
ssm = boto3.client("ssm", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
ssm.put_parameter(Name=sys.argv[2], Type="SecureString", Value=secrets.token_urlsafe(48))
PY

# The default policy, with the pod-not-ready rule asking for approval and links on.
"$venv/bin/python" - shared/core/policy/default.yaml >"$work/policy.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
rule = "    class: pod_not_ready\n    action: restart_pod\n"
assert rule in text, "the default policy's pod-not-ready rule moved"
assert "  links: false\n" in text, "the default policy's approval section moved"
text = text.replace(rule, rule + "    approval: required\n", 1).replace("  links: false\n", "  links: true\n", 1)
print(text, end="")
PY

token="e2e-token-$RANDOM$RANDOM"
printf %s "$token" >"$work/token"
lambda_port=$(free_port)
lambda="http://127.0.0.1:$lambda_port"
intake="$lambda/lambda-url/alertmanager-intake"
invoke_url="$lambda/2015-03-31/functions/remediate/invocations"
{
    aws_env
    echo REFLEX_MODE=enforce
    echo REFLEX_CLUSTER_NAME=voting-prod
    echo "REFLEX_KUBECONFIG=$work/kubeconfig"
    echo "REFLEX_POLICY_PATH=$work/policy.yaml"
    echo "REFLEX_INTAKE_TOKEN_SHA256=$(sha256sum <"$work/token" | cut -d' ' -f1)"
    echo REFLEX_APPROVAL_LINKS=true
    echo "REFLEX_APPROVAL_KEY_PARAMETER=$key_parameter"
    echo "REFLEX_APPROVAL_LINK_BASE_URL=$intake"
    grep '^REFLEX_' "$work/env"
} >"$work/functions.env"

step "cargo lambda watch (alertmanager-intake, remediate)"
"$venv/bin/cargo-lambda" lambda watch --ignore-changes --quiet -A 127.0.0.1 -P "$lambda_port" \
    --env-file "$work/functions.env" >"$work/watch.log" 2>&1 &
pids+=($!)
wait_http "$lambda/"
# The first request to each function builds and starts it.
curl -s -o /dev/null -m 600 -X POST "$intake/" -d '{}'
curl -s -o /dev/null -m 600 -X POST "$invoke_url" \
    --data-binary @events/sns-cloudwatch/alb-target-5xx-unrelated.json

step "KubePodNotReady → intake → alerts topic → remediate: awaiting_approval, link notified"
pod=result-84b6d9c7f-tq5wl
pod_url="$kube_url/api/v1/namespaces/production/pods/$pod"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$pod_url")" = 200 ] || fail "pod missing at start"
"$venv/bin/python" - events/alertmanager/pod-not-ready-result.json >"$work/alert.json" <<'PY'
import datetime, json, sys
body = json.load(open(sys.argv[1]))
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
for alert in body["alerts"]:
    alert["startsAt"] = now
print(json.dumps(body))
PY
status=$(curl -s -o "$work/intake.out" -w '%{http_code}' -X POST "$intake/" \
    -H "Authorization: Bearer $token" --data-binary @"$work/alert.json")
[ "$status" = 200 ] || { cat "$work/intake.out" >&2; fail "intake answered $status"; }
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 60 >"$work/delivery" || { cat "$work/delivery" >&2; fail "delivery"; }
grep -q '"verdict":"awaiting_approval"' "$work/delivery" \
    || { cat "$work/delivery" >&2; fail "no awaiting_approval record"; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$pod_url")" = 200 ] || fail "$pod acted on before approval"
link=$("$venv/bin/python" - "$moto_url" "$(env_value E2E_NOTIFY_QUEUE_URL)" "$intake" <<'PY'
import json, re, sys
import boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
messages = sqs.receive_message(QueueUrl=sys.argv[2], MaxNumberOfMessages=10).get("Messages", [])
for message in messages:
    text = json.loads(message["Body"])["Message"]
    found = re.search(re.escape(sys.argv[3]) + r"/approvals/[A-Za-z0-9._~%-]+\?expires=[0-9]+&sig=[0-9a-f]+", text)
    if found:
        print(found.group(0))
        break
else:
    sys.exit(f"no approval link in {len(messages)} notification(s): {messages}")
PY
) || fail "the notification carries no approval link"
record_id=$(sed -E 's|.*/approvals/([^?]+)\?.*|\1|' <<<"$link")
echo "link: $link" >&2

step "headless Chromium (WebDriver): the page, Approve, then the link again"
"$venv/bin/python" - "$link" "$artifacts" "$pod" >"$work/browser.out" <<'PY' \
    || { cat "$work/browser.out" >&2; fail "browser checks"; }
import sys
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

link, artifacts, pod = sys.argv[1:4]
options = Options()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--window-size=1000,1100"):
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.get(link)
    text = driver.find_element(By.TAG_NAME, "body").text
    for expected in ("Approve restart_pod Pod production/" + pod, "KubePodNotReady", pod,
                     "pod-not-ready", "DELETE /api/v1/namespaces/production/pods/" + pod,
                     "This link expires", "reflex approve"):
        assert expected in text, f"{expected!r} not on the page:\n{text}"
    # The style sheet is allowed by its hash in the Content-Security-Policy: it applied.
    button = driver.find_element(By.TAG_NAME, "button")
    assert button.value_of_css_property("background-color") == "rgba(179, 38, 30, 1)", \
        button.value_of_css_property("background-color")
    assert not driver.find_elements(By.TAG_NAME, "script")
    refused = [e for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert not refused, refused
    driver.save_screenshot(f"{artifacts}/approval-page.png")
    button.click()
    text = driver.find_element(By.TAG_NAME, "body").text
    assert "Approved" in text and "approval link from 127.0.0.1" in text, text
    driver.save_screenshot(f"{artifacts}/approval-approved.png")
    driver.get(link)
    text = driver.find_element(By.TAG_NAME, "body").text
    assert "This approval link was already used" in text, text
    assert not driver.find_elements(By.TAG_NAME, "form")
    driver.save_screenshot(f"{artifacts}/approval-already-used.png")
    print("page, approve and already-used checked")
finally:
    driver.quit()
PY
cat "$work/browser.out" >&2

step "the one approval message → remediate performs it on the fake API server"
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 60 >"$work/approval-delivery" \
    || { cat "$work/approval-delivery" >&2; fail "approval delivery"; }
cat "$work/approval-delivery" >&2
grep -q '"verdict":"executed"' "$work/approval-delivery" || fail "the approval was not performed"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$pod_url")" = 404 ] || fail "$pod not deleted after approval"
"$venv/bin/python" tests/e2e/audit.py "$moto_url" "$(env_value REFLEX_AUDIT_TABLE)" >"$work/audit"
approves=$(grep -c "\"approves\": \"$record_id\"" "$work/audit" || true)
[ "$approves" = 1 ] || { cat "$work/audit" >&2; fail "expected 1 record approving $record_id, got $approves"; }
grep -q '"approver": "approval link from 127.0.0.1"' "$work/audit" || fail "approver not recorded"
# Nothing else reached the alerts topic: one click, one approval.
"$venv/bin/python" tests/e2e/deliver.py "$moto_url" "$(env_value E2E_ALERTS_QUEUE_URL)" \
    "$invoke_url" 1 3 >"$work/extra" 2>&1 && fail "a second message reached the alerts topic"

step "passed: awaiting_approval $record_id, page shown, approved once, pod deleted, link then already used"
echo "screenshots: $artifacts/approval-page.png approval-approved.png approval-already-used.png"
