#!/usr/bin/env bash
# Installs what ferrogres and its tests need when it is missing:
# - Debian: libclang-dev (pg_query's build), PostgreSQL 15's client and server
#   (psql and pgbench for the tests, the server as the differential oracle),
#   openssl (tests/tls.rs makes its certificates with it), a JDK and pgjdbc
#   (libpostgresql-jdbc-java), Node.js with npm, Python 3 with pip;
# - psycopg 3 from PyPI, node-postgres from npm (`npm ci` in tests/drivers/node,
#   pinned by its package-lock.json).
# Fails loudly if anything is still missing afterwards: the driver tests fail,
# never skip, without their driver.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client-15)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -x /usr/lib/postgresql/15/bin/pgbench ] || command -v pgbench >/dev/null 2>&1 || need+=(postgresql-15)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -f /usr/share/java/postgresql.jar ] || need+=(libpostgresql-jdbc-java)
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! python3 -c 'import psycopg' >/dev/null 2>&1; then
    echo "installing: psycopg[binary] (pip)" >&2
    python3 -m pip install --quiet 'psycopg[binary]' \
        || python3 -m pip install --quiet --break-system-packages 'psycopg[binary]'
fi
if [ ! -d tests/drivers/node/node_modules/pg ]; then
    echo "installing: node-postgres (npm ci in tests/drivers/node)" >&2
    (cd tests/drivers/node && npm ci --no-audit --no-fund --silent)
fi
for tool in psql /usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/pgbench openssl javac java node npm python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is still missing" >&2; exit 1; }
done
dpkg -s libclang-dev >/dev/null 2>&1 || { echo "error: libclang-dev is still missing" >&2; exit 1; }
[ -f /usr/share/java/postgresql.jar ] || { echo "error: pgjdbc (/usr/share/java/postgresql.jar) is still missing" >&2; exit 1; }
python3 -c 'import psycopg' || { echo "error: psycopg 3 is still missing" >&2; exit 1; }
[ -d tests/drivers/node/node_modules/pg ] || { echo "error: node-postgres is still missing" >&2; exit 1; }
