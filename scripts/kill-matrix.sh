#!/usr/bin/env bash
# Runs the kill matrix (tests/kill_matrix.rs) with N random kills (default
# 500): every process kind, the postmaster included, killed under a write
# load; fails if any acknowledged commit is lost, a row is duplicated or
# the transfers' total changed. KILL_MATRIX_SEED=S replays a run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
KILL_MATRIX_KILLS="${1:-500}" cargo test --test kill_matrix -- --nocapture
