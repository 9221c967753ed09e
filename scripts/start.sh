#!/usr/bin/env bash
# Builds ferrogres and runs the server in the foreground on the default data
# directory ($PGDATA, else ~/.local/share/ferrogres/data), initialising it on
# first use. Extra arguments go to `ferrogres server` (e.g. -p 5433).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release --bin ferrogres
exec target/release/ferrogres server "$@"
