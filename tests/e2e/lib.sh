# shellcheck shell=bash
# Shared by the end-to-end scripts (sourced, from the repository root): the project-local
# venv's tools, free ports, and the servers the functions run against: moto (AWS), the
# fake Kubernetes API server seeded with the voting app, and the template's resources.
# Every server started here is stopped by `cleanup` (installed as the EXIT trap).

venv=.venv
# shellcheck disable=SC2034 # used by the scripts that source this file
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
pids=()

step() { printf '==> %s\n' "$*" >&2; }

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# moto's server and cargo-lambda in the project-local venv.
ensure_tools() {
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    [ -x "$venv/bin/moto_server" ] || "$venv/bin/pip" install --quiet 'moto[server]==5.2.5'
    [ -x "$venv/bin/cargo-lambda" ] || "$venv/bin/pip" install --quiet 'cargo-lambda==1.9.2'
}

free_port() {
    "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # URL
    for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "no answer from $1" >&2
    return 1
}

now_ms() { date +%s%3N; }

# Starts moto (sets moto_url) and fake-kube from FAKE_KUBE_BIN (sets kube_url and writes
# $work/kubeconfig).
start_servers() { # FAKE_KUBE_BIN
    local port
    port=$(free_port)
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
    pids+=($!)
    moto_url="http://127.0.0.1:$port"
    "$1" --snapshot events/cluster/voting-app.json >"$work/fake-kube.url" 2>"$work/fake-kube.log" &
    pids+=($!)
    wait_http "$moto_url/moto-api/"
    for _ in $(seq 100); do [ -s "$work/fake-kube.url" ] && break; sleep 0.1; done
    kube_url=$(head -n1 "$work/fake-kube.url")
    cat >"$work/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "$kube_url"}}]
users: [{name: fake, user: {}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
YAML
}

# A fresh moto account with the template's resources; their names land in $work/env.
setup_aws() {
    curl -s -X POST "$moto_url/moto-api/reset" >/dev/null
    "$venv/bin/python" tests/e2e/aws_setup.py "$moto_url" e2e >"$work/env"
}

env_value() { grep "^$1=" "$work/env" | cut -d= -f2-; }

# The environment every function gets in these tests (AWS through moto).
aws_env() {
    printf '%s\n' AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
        "AWS_ENDPOINT_URL=$moto_url" RUST_LOG=info
}
