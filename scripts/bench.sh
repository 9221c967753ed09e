#!/usr/bin/env bash
# Runs the same pgbench custom scripts (simple protocol, fsync on,
# synchronous_commit on) against ferrogres and against the machine's
# PostgreSQL 15, in one run, at 1 and 8 clients, and prints TPS for both and
# the ratio; then the read-only query scripts (window.sql, rollup.sql) at 1 client;
# then pgbench's own workloads (TPC-B, -N, -S, prepared -S) at scale
# PGBENCH_SCALE (default 10), with pgbench's balance invariant checked;
# then COPY FROM STDIN (psql's \copy) of COPY_ROWS rows (default 10M) into a new table.
# Usage: scripts/bench.sh [seconds-per-run, default 10] [repeats, default 3]
# The machine is shared and noisy: the script reports the median of the repeats.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release --bin ferrogres
BIN="${CARGO_TARGET_DIR:-target}/release/ferrogres"
SECS=${1:-10}
REPEATS=${2:-3}
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
CONF
"$BIN" server -D "$WORK/fg" > "$WORK/fg.log" 2>&1 &

[ "$(id -u)" -eq 0 ] && chown postgres "$WORK"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
    -o "-p $PG_PORT -k $WORK -c listen_addresses='' -c fsync=on -c synchronous_commit=on" start >/dev/null

for port in $FG_PORT $PG_PORT; do
    for _ in $(seq 1 100); do psql -X -h "$WORK" -p "$port" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
done

tps() { # port script clients; prints nothing if the run failed
    psql -X -q -h "$WORK" -p "$1" -U postgres -d postgres -f bench/setup.sql >/dev/null 2>&1
    local out
    out=$(pgbench -n -M simple -h "$WORK" -p "$1" -U postgres -f "bench/$2" -c "$3" -j "$3" -T "$SECS" postgres 2>&1) || {
        echo "pgbench failed on port $1 ($2, $3 clients): $(echo "$out" | grep -m1 error)" >&2
        return 0
    }
    echo "$out" | awk '/^tps = /{print $3}'
}
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

printf '%-12s %8s %14s %14s %8s\n' script clients ferrogres_tps postgres_tps ratio
for script in insert.sql mixed.sql; do
    for clients in 1 8; do
        fg=$(for _ in $(seq "$REPEATS"); do tps "$FG_PORT" "$script" "$clients"; done | median)
        pg=$(for _ in $(seq "$REPEATS"); do tps "$PG_PORT" "$script" "$clients"; done | median)
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
    fg=$(for _ in $(seq "$REPEATS"); do query_tps "$FG_PORT" "$script"; done | median)
    pg=$(for _ in $(seq "$REPEATS"); do query_tps "$PG_PORT" "$script"; done | median)
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
std_tps() { # port clients mode extra-flags...; prints nothing if the run failed
    local port=$1 clients=$2 mode=$3; shift 3
    local out
    out=$(pgbench -n -M "$mode" "$@" -h "$WORK" -p "$port" -U postgres -c "$clients" -j "$(( clients < 2 ? clients : 2 ))" -T "$SECS" postgres 2>&1) || {
        echo "pgbench failed on port $port ($*, $clients clients): $(echo "$out" | grep -m1 -i error)" >&2
        return 0
    }
    if [ "$*" != "-S" ]; then
        ok=$(psql -X -A -t -h "$WORK" -p "$port" -U postgres -d postgres -c "$INVARIANT")
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
std_case simple-upd 8 simple -N
std_case select 1 simple -S
std_case select 8 simple -S
std_case select-prep 8 prepared -S

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
