#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every Rust test in the workspace,
# and the infrastructure checks (which install their own tools on first use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked

step "infrastructure checks"
bash infra/check.sh
