#!/usr/bin/env bash
# Runs the same workloads against ferrogres and against the machine's
# PostgreSQL 15, in one run, with the same settings on both (fsync,
# synchronous_commit and full_page_writes on, shared_buffers 128MB,
# max_wal_size 1GB, max_parallel_workers_per_gather 0), and prints one table
# of TPS (medians of the repeats) and the ratio ferrogres / PostgreSQL:
# - pgbench's own workloads on `pgbench -i -s PGBENCH_SCALE` (default 10):
#   TPC-B at 1, 8 and 32 clients, select-only (-S) at 1, 8 and 32,
#   prepared TPC-B and select-only at 8, simple-update (-N) at 8, and a new
#   connection per transaction (-C -S) at 8; pgbench's balance invariant is
#   checked after every writing run (a run that breaks it counts as failed);
# - the custom scripts (bench/insert.sql, bench/mixed.sql) at 1 and 8 clients;
# - the read-only query scripts (window.sql, rollup.sql) at 1 client;
# - COPY FROM STDIN of COPY_ROWS rows (default 10M).
# Every case runs a warm-up first, then REPEATS runs per server interleaved
# (fg, pg, fg, pg, ...); pgbench uses at most 2 threads (-j 2).
# Usage: scripts/bench.sh [--quick] [seconds-per-run, default 30] [repeats, default 3]
#   --quick: 10-second runs, 1 repeat, 1M COPY rows (for development; the
#   machine is shared and noisy, so quick ratios move by ±10%).
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
scripts/deps.sh
cargo build --release --bin ferrogres
BIN="${CARGO_TARGET_DIR:-target}/release/ferrogres"
if [ "$QUICK" = 1 ]; then
    SECS=${1:-10}; REPEATS=${2:-1}; COPY_ROWS=${COPY_ROWS:-1000000}; WARMUP=3
else
    SECS=${1:-30}; REPEATS=${2:-3}; WARMUP=10
fi
PGBIN=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/ferrogres-bench.XXXXXX)
chmod 755 "$WORK"
FG_PORT=$((20000 + RANDOM % 10000)); PG_PORT=$((FG_PORT + 1))
cleanup() {
    [ -f "$WORK/fg/postmaster.pid" ] && kill -INT "$(head -1 "$WORK/fg/postmaster.pid")" 2>/dev/null || true
    [ -f "$WORK/pg/postmaster.pid" ] && kill -INT "$(head -1 "$WORK/pg/postmaster.pid")" 2>/dev/null || true
    sleep 1; rm -rf "$WORK"
}
trap cleanup EXIT
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

"$BIN" initdb -D "$WORK/fg" -U postgres >/dev/null
cat >> "$WORK/fg/postgresql.conf" <<CONF
port = $FG_PORT
unix_socket_directories = '$WORK'
listen_addresses = ''
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 128MB
max_wal_size = 1GB
CONF
"$BIN" server -D "$WORK/fg" > "$WORK/fg.log" 2>&1 &

[ "$(id -u)" -eq 0 ] && chown postgres "$WORK"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
    -o "-p $PG_PORT -k $WORK -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=128MB -c max_wal_size=1GB -c max_parallel_workers_per_gather=0" start >/dev/null

for port in $FG_PORT $PG_PORT; do
    for _ in $(seq 1 100); do psql -X -h "$WORK" -p "$port" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
done

tps() { # port script clients; prints nothing if the run failed
    psql -X -q -h "$WORK" -p "$1" -U postgres -d postgres -f bench/setup.sql >/dev/null 2>&1
    local out
    out=$(pgbench -n -M simple -h "$WORK" -p "$1" -U postgres -f "bench/$2" -c "$3" -j "$(( $3 < 2 ? $3 : 2 ))" -T "$SECS" postgres 2>&1) || {
        echo "pgbench failed on port $1 ($2, $3 clients): $(echo "$out" | grep -m1 error)" >&2
        return 0
    }
    echo "$out" | awk '/^tps = /{print $3}'
}
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

printf '%-12s %8s %14s %14s %8s\n' script clients ferrogres_tps postgres_tps ratio
for script in insert.sql mixed.sql; do
    for clients in 1 8; do
        fgs=""; pgs=""
        for _ in $(seq "$REPEATS"); do
            fgs="$fgs $(tps "$FG_PORT" "$script" "$clients")"
            pgs="$pgs $(tps "$PG_PORT" "$script" "$clients")"
        done
        fg=$(echo $fgs | tr ' ' '\n' | grep . | median || true)
        pg=$(echo $pgs | tr ' ' '\n' | grep . | median || true)
        ratio=$(awk -v a="${fg:-0}" -v b="${pg:-0}" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        printf '%-12s %8s %14s %14s %8s\n' "$script" "$clients" "${fg:-failed}" "${pg:-failed}" "$ratio"
    done
done

# Read-only analytical queries over one table built once per server (1 client,
# so a run is a few transactions: the median TPS is queries per second).
query_tps() { # port script
    local out
    out=$(pgbench -n -M simple -h "$WORK" -p "$1" -U postgres -f "bench/$2" -c 1 -j 1 -T "$SECS" postgres 2>&1) || {
        echo "pgbench failed on port $1 ($2): $(echo "$out" | grep -m1 error)" >&2
        return 0
    }
    echo "$out" | awk '/^tps = /{print $3}'
}
for port in $FG_PORT $PG_PORT; do
    psql -X -q -h "$WORK" -p "$port" -U postgres -d postgres -f bench/window_setup.sql >/dev/null
done
for script in window.sql rollup.sql; do
    fgs=""; pgs=""
    for _ in $(seq "$REPEATS"); do
        fgs="$fgs $(query_tps "$FG_PORT" "$script")"
        pgs="$pgs $(query_tps "$PG_PORT" "$script")"
    done
    fg=$(echo $fgs | tr ' ' '\n' | grep . | median || true)
    pg=$(echo $pgs | tr ' ' '\n' | grep . | median || true)
    ratio=$(awk -v a="${fg:-0}" -v b="${pg:-0}" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf '%-12s %8s %14s %14s %8s\n' "$script" 1 "${fg:-failed}" "${pg:-failed}" "$ratio"
done

# The standard pgbench workloads on `pgbench -i -s PGBENCH_SCALE` (default
# 10) tables, initialised once per server: TPC-B (default script), simple
# update (-N), select-only (-S), and prepared select-only, each repeat
# interleaved (fg, pg, fg, pg, ...). After every run of a writing script
# pgbench's invariant must hold (sum(abalance) = sum(bbalance) =
# sum(tbalance) = sum(delta)); a run that breaks it counts as failed.
PGBENCH_SCALE=${PGBENCH_SCALE:-10}
for port in $FG_PORT $PG_PORT; do
    pgbench -i -q -s "$PGBENCH_SCALE" -h "$WORK" -p "$port" -U postgres postgres >/dev/null 2>&1 || {
        echo "pgbench -i failed on port $port" >&2
    }
done
INVARIANT="SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(bbalance) FROM pgbench_branches)
  AND (SELECT sum(bbalance) FROM pgbench_branches) = (SELECT sum(tbalance) FROM pgbench_tellers)
  AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT coalesce(sum(delta), 0) FROM pgbench_history)"
INVARIANT_N="SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT coalesce(sum(delta), 0) FROM pgbench_history)"
std_tps() { # port clients mode extra-flags...; prints nothing if the run failed
    local port=$1 clients=$2 mode=$3; shift 3
    local out
    out=$(pgbench -n -M "$mode" "$@" -h "$WORK" -p "$port" -U postgres -c "$clients" -j "$(( clients < 2 ? clients : 2 ))" -T "${RUN_SECS:-$SECS}" postgres 2>&1) || {
        echo "pgbench failed on port $port ($*, $clients clients): $(echo "$out" | grep -m1 -i error)" >&2
        return 0
    }
    if [ "$*" != "-S" ] && [ "$*" != "-C -S" ]; then
        # -N leaves tellers and branches alone: only accounts and history
        # must still agree (it runs after every TPC-B case).
        local check=$INVARIANT
        [ "$*" = "-N" ] && check=$INVARIANT_N
        ok=$(psql -X -A -t -h "$WORK" -p "$port" -U postgres -d postgres -c "$check")
        if [ "$ok" != "t" ]; then
            echo "pgbench invariant broken on port $port ($*)" >&2
            return 0
        fi
    fi
    echo "$out" | awk '/^tps = /{print $3}'
}
std_case() { # label clients mode flags...
    local label=$1 clients=$2 mode=$3; shift 3
    local fgs="" pgs=""
    RUN_SECS=$WARMUP std_tps "$FG_PORT" "$clients" "$mode" "$@" >/dev/null
    RUN_SECS=$WARMUP std_tps "$PG_PORT" "$clients" "$mode" "$@" >/dev/null
    for _ in $(seq "$REPEATS"); do
        fgs="$fgs $(std_tps "$FG_PORT" "$clients" "$mode" "$@")"
        pgs="$pgs $(std_tps "$PG_PORT" "$clients" "$mode" "$@")"
    done
    fg=$(echo $fgs | tr ' ' '\n' | grep . | median || true)
    pg=$(echo $pgs | tr ' ' '\n' | grep . | median || true)
    ratio=$(awk -v a="${fg:-0}" -v b="${pg:-0}" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf '%-12s %8s %14s %14s %8s\n' "$label" "$clients" "${fg:-failed}" "${pg:-failed}" "$ratio"
}
std_case tpcb 1 simple
std_case tpcb 8 simple
std_case tpcb 32 simple
std_case tpcb-prep 8 prepared
std_case simple-upd 8 simple -N
std_case select 1 simple -S
std_case select 8 simple -S
std_case select 32 simple -S
std_case select-prep 8 prepared -S
std_case select-conn 8 simple -C -S

# COPY FROM STDIN of COPY_ROWS rows (int, text, bigint) through psql's \copy
# into a table created just before: wall-clock seconds, repeats interleaved
# (fg, pg, fg, pg, ...); the ratio is PostgreSQL's time over ours.
COPY_ROWS=${COPY_ROWS:-10000000}
seq 1 "$COPY_ROWS" | awk '{print $1 "\tname " $1 "\t" $1 * 2}' > "$WORK/copy.tsv"
chmod 644 "$WORK/copy.tsv"
copy_secs() { # port; prints nothing if the copy failed
    psql -X -q -h "$WORK" -p "$1" -U postgres -d postgres \
        -c 'DROP TABLE IF EXISTS bench_copy' -c 'CREATE TABLE bench_copy (id int, name text, n bigint)' >/dev/null 2>&1
    local t0 t1
    t0=$(date +%s.%N)
    psql -X -q -h "$WORK" -p "$1" -U postgres -d postgres -c "\\copy bench_copy FROM '$WORK/copy.tsv'" >/dev/null || {
        echo "COPY failed on port $1" >&2
        return 0
    }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}
fg_times=""; pg_times=""
for _ in $(seq "$REPEATS"); do
    fg_times="$fg_times $(copy_secs "$FG_PORT")"
    pg_times="$pg_times $(copy_secs "$PG_PORT")"
done
fg=$(echo $fg_times | tr ' ' '\n' | grep . | median || true)
pg=$(echo $pg_times | tr ' ' '\n' | grep . | median || true)
ratio=$(awk -v a="${fg:-0}" -v b="${pg:-0}" 'BEGIN{ if (a > 0) printf "%.2f", b / a; else print "n/a" }')
printf '%-12s %8s %14s %14s %8s\n' "copy_rows" "$COPY_ROWS" "${fg:-failed}s" "${pg:-failed}s" "$ratio"

# Memory: the resident set (VmRSS, kB) of the postmaster and of one idle
# client backend (a psql session waiting for input) on each server; the
# ratio is ferrogres' over PostgreSQL's (lower is better here).
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null; }
idle_backend_rss() { # port
    (sleep 4 | psql -X -q -h "$WORK" -p "$1" -U postgres -d postgres >/dev/null 2>&1) &
    sleep 2
    local pid
    pid=$(psql -X -A -t -h "$WORK" -p "$1" -U postgres -d postgres -c \
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'idle' AND pid <> pg_backend_pid() LIMIT 1")
    [ -n "$pid" ] && rss_kb "$pid"
    wait
}
fg_pm=$(rss_kb "$(head -1 "$WORK/fg/postmaster.pid")"); pg_pm=$(rss_kb "$(head -1 "$WORK/pg/postmaster.pid")")
fg_be=$(idle_backend_rss "$FG_PORT"); pg_be=$(idle_backend_rss "$PG_PORT")
for row in "rss_postmaster $fg_pm $pg_pm" "rss_idle_backend $fg_be $pg_be"; do
    set -- $row
    ratio=$(awk -v a="${2:-0}" -v b="${3:-0}" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf '%-12s %8s %14s %14s %8s\n' "$1" "-" "${2:-?}kB" "${3:-?}kB" "$ratio"
done
