#!/usr/bin/env bash
# Installs the Debian packages ferrogres needs when they are missing:
# libclang-dev (pg_query's build), and PostgreSQL 15's client and server
# (psql and pgbench for the tests, the server as the differential oracle).
# Fails loudly if anything is still missing afterwards.
set -euo pipefail
need=()
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client-15)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -x /usr/lib/postgresql/15/bin/pgbench ] || command -v pgbench >/dev/null 2>&1 || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
for tool in psql /usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/pgbench; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is still missing" >&2; exit 1; }
done
dpkg -s libclang-dev >/dev/null 2>&1 || { echo "error: libclang-dev is still missing" >&2; exit 1; }
