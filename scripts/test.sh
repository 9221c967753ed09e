#!/usr/bin/env bash
# Runs the whole test suite: unit tests and black-box tests against real
# servers started from the built binary. Installs missing packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --bins
cargo test --no-fail-fast -- --test-threads=2
