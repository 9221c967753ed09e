"""psycopg 3 round-trips the date/time types against ferrogres, for tests/datetime.rs.

Usage: python3 psycopg_datetime.py SOCKET_DIR PORT
Sends datetime.time, datetime.timedelta (interval), date, naive and aware
datetime values as parameters in text (%t) and binary (%b) format, stores
them in a table, reads them back with text and binary result columns, and
prints one line per check; any mismatch raises (non-zero exit).
"""
import datetime as dt
import sys

import psycopg

socket_dir, port = sys.argv[1:3]
UTC = dt.timezone.utc
ROWS = [
    (1, dt.time(4, 5, 6, 789000), dt.timedelta(days=1, hours=2, microseconds=5),
     dt.date(2001, 2, 16), dt.datetime(2001, 2, 16, 20, 38, 40, 500000),
     dt.datetime(2001, 2, 16, 20, 38, 40, tzinfo=UTC)),
    (2, dt.time(0, 0), dt.timedelta(seconds=-90), dt.date(1999, 12, 31),
     dt.datetime(1970, 1, 1), dt.datetime(2024, 7, 1, 12, 0, tzinfo=UTC)),
    (3, dt.time(23, 59, 59, 999999), dt.timedelta(days=-3, seconds=1), dt.date(1, 1, 1),
     dt.datetime(9999, 12, 31, 23, 59, 59), dt.datetime(1900, 1, 1, tzinfo=UTC)),
    (4, None, None, None, None, None),
]


def check(what, got, want):
    if got != want:
        raise SystemExit(f"{what}: got {got!r}, want {want!r}")
    print(f"ok {what}")


with psycopg.connect(
    host=socket_dir, port=int(port), user="postgres", dbname="postgres", autocommit=True
) as conn:
    conn.execute("SET timezone = 'UTC'")
    conn.execute(
        "CREATE TABLE psycopg_dt (n int, t time, i interval, d date, ts timestamp, tz timestamptz)"
    )
    for k, row in enumerate(ROWS):
        p = "%b" if k % 2 else "%t"
        conn.execute(f"INSERT INTO psycopg_dt VALUES ({', '.join([p] * 6)})", row)
    for binary in (False, True):
        fmt = "binary" if binary else "text"
        cur = conn.cursor(binary=binary)
        rows = cur.execute("SELECT * FROM psycopg_dt ORDER BY n").fetchall()
        check(f"{fmt} rows", rows, ROWS)
        check(
            f"{fmt} column type oids",
            [c.type_code for c in cur.description],
            [23, 1083, 1186, 1082, 1114, 1184],
        )
        got = cur.execute("SELECT n FROM psycopg_dt WHERE t = %b", [dt.time(0, 0)]).fetchall()
        check(f"{fmt} binary time parameter", got, [(2,)])
        got = cur.execute(
            "SELECT n FROM psycopg_dt WHERE i = %b", [dt.timedelta(seconds=-90)]
        ).fetchall()
        check(f"{fmt} binary interval parameter", got, [(2,)])
        got = cur.execute("SELECT t + i FROM psycopg_dt WHERE n = 1").fetchone()
        check(f"{fmt} time + interval", got, (dt.time(6, 5, 6, 789005),))
    conn.execute("DROP TABLE psycopg_dt")
