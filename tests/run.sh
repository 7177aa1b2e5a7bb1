#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every Rust test in the workspace
# (with kubectl found or installed first, for the reference-client tests), the default
# policy's own tests, and the infrastructure checks (which install their own tools on first
# use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the core stays pure (no Kubernetes client, AWS SDK or async runtime)"
impure=$(cargo tree -p reflex-core -e normal --prefix none --locked | grep -E '^(tokio|kube|k8s-openapi|aws-|hyper|reqwest) ' || true)
if [ -n "${impure}" ]; then
    printf 'reflex-core depends on:\n%s\n' "${impure}" >&2
    exit 1
fi

step "kubectl, the reference client of shared/cli/tests/kubectl_reference.rs (tests/kubectl.sh)"
REFLEX_KUBECTL="$(bash tests/kubectl.sh)"
export REFLEX_KUBECTL
"${REFLEX_KUBECTL}" version --client

step "cargo test (workspace)"
cargo test --workspace --locked

step "the default policy's own tests (reflex policy test)"
cargo run --quiet --locked --bin reflex -- policy test shared/core/policy/*.test.yaml

step "infrastructure checks"
bash infra/check.sh

step "end to end: Alertmanager → intake → SNS → remediate → cluster, DynamoDB, SNS (tests/e2e)"
bash tests/e2e/alertmanager-to-pod.sh

step "end to end: remediate SIGKILLed mid-action under cargo lambda watch, the event redelivered (tests/e2e/crash.sh)"
bash tests/e2e/crash.sh

step "end to end: an approval link opened, approved and reopened in headless Chromium (tests/e2e/approval-page.sh)"
bash tests/e2e/approval-page.sh
