#!/usr/bin/env bash
# Builds both Lambda functions for arm64 (provided.al2023) with cargo-lambda:
#   functions/remediate            -> target/lambda/remediate/bootstrap
#   functions/alertmanager-intake  -> target/lambda/alertmanager-intake/bootstrap
#
# This is the same build `sam build --beta-features` performs for the template's
# `BuildMethod: rust-cargolambda` functions; run it to check that the functions build for
# Lambda without going through SAM. It is not part of infra/check.sh (a release
# cross-build takes minutes).
#
# Installs, when missing: cargo-lambda and zig (its cross linker), both from PyPI, into the
# project venv <repo>/.venv; the Rust target aarch64-unknown-linux-gnu through rustup.
# Needs a Rust toolchain (cargo) on PATH.
#
# Usage: bash infra/build-functions.sh [extra cargo-lambda build flags]
set -euo pipefail

CARGO_LAMBDA_VERSION="1.9.2"
ZIGLANG_VERSION="0.14.1"
FUNCTIONS=(remediate alertmanager-intake)

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REPO}/.venv"

log() { printf '==> %s\n' "$*" >&2; }

if [ ! -x "${VENV}/bin/python" ]; then
    log "creating ${VENV}"
    python3 -m venv "${VENV}"
fi
frozen="$("${VENV}/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null || true)"
if ! grep -qix "cargo-lambda==${CARGO_LAMBDA_VERSION}" <<<"${frozen}" \
    || ! grep -qix "ziglang==${ZIGLANG_VERSION}" <<<"${frozen}"; then
    log "pip-installing cargo-lambda==${CARGO_LAMBDA_VERSION} ziglang==${ZIGLANG_VERSION}"
    "${VENV}/bin/python" -m pip install -q --disable-pip-version-check \
        "cargo-lambda==${CARGO_LAMBDA_VERSION}" "ziglang==${ZIGLANG_VERSION}"
fi
# cargo-lambda finds zig through `python3 -m ziglang`: the venv's python must come first.
export PATH="${VENV}/bin:${PATH}"

if command -v rustup >/dev/null 2>&1; then
    rustup target add aarch64-unknown-linux-gnu >/dev/null
fi

for fn in "${FUNCTIONS[@]}"; do
    dir="${REPO}/functions/${fn}"
    if [ ! -f "${dir}/Cargo.toml" ]; then
        log "missing ${dir}/Cargo.toml"
        exit 1
    fi
    log "cargo lambda build --release --arm64 (${fn})"
    start=$(date +%s)
    (cd "${dir}" && cargo lambda build --release --arm64 "$@")
    printf '%s built in %ss\n' "${fn}" "$(( $(date +%s) - start ))"
done

# Workspace members build into <repo>/target; a crate outside the workspace into its own.
ls -l "${REPO}"/target/lambda/*/bootstrap "${REPO}"/functions/*/target/lambda/*/bootstrap 2>/dev/null || true
