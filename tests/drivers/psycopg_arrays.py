"""psycopg 3 round-trips int[] and text[] against a server, for tests/arrays.rs.

Usage: python3 psycopg_arrays.py SOCKET_DIR PORT
Sends Python lists as parameters in text (%t) and binary (%b) format, reads
them back with text and binary result columns, and prints one line per
check; a mismatch raises (non-zero exit). The same output is expected of
PostgreSQL 15 and of ferrogres.
"""
import sys

import psycopg

socket_dir, port = sys.argv[1:3]


def check(what, got, want):
    if got != want:
        raise SystemExit(f"{what}: got {got!r}, want {want!r}")
    print(f"ok {what}")


INTS = [1, None, -2147483648, 2147483647]
TEXTS = ["a", "b c", None, "", "NULL", 'q"uote\\', "é"]
NESTED = [[1, 2], [3, None]]

with psycopg.connect(
    host=socket_dir, port=int(port), user="postgres", dbname="postgres", autocommit=True
) as conn:
    conn.execute("DROP TABLE IF EXISTS psycopg_arrays")
    conn.execute("CREATE TABLE psycopg_arrays (n int, a int[], t text[])")
    conn.execute("INSERT INTO psycopg_arrays VALUES (1, %t, %t)", [INTS, TEXTS])
    conn.execute("INSERT INTO psycopg_arrays VALUES (2, %b, %b)", [INTS, TEXTS])
    conn.execute("INSERT INTO psycopg_arrays VALUES (3, %b, %b)", [[], []])
    conn.execute("INSERT INTO psycopg_arrays VALUES (4, %b::int[], NULL)", [NESTED])
    for binary in (False, True):
        fmt = "binary" if binary else "text"
        cur = conn.cursor(binary=binary)
        rows = cur.execute("SELECT n, a, t FROM psycopg_arrays ORDER BY n").fetchall()
        check(f"{fmt} rows", rows, [(1, INTS, TEXTS), (2, INTS, TEXTS), (3, [], []), (4, NESTED, None)])
        check(f"{fmt} column type oids", [d.type_code for d in cur.description], [23, 1007, 1009])
        got = cur.execute("SELECT %b::int[] || 5", [[1, 2]]).fetchone()
        check(f"{fmt} binary parameter in an expression", got, ([1, 2, 5],))
        got = cur.execute("SELECT n FROM psycopg_arrays WHERE 'b c' = ANY(t) ORDER BY n").fetchall()
        check(f"{fmt} ANY over a stored text[]", got, [(1,), (2,)])
        got = cur.execute("SELECT ARRAY[1.5, NULL]::float8[], ARRAY[true]").fetchone()
        check(f"{fmt} float8[] and bool[] results", got, ([1.5, None], [True]))
        got = cur.execute("SELECT '[0:1]={7,8}'::int[]").fetchone()
        print(f"ok {fmt} lower bound 0 reads as {got!r}")
    conn.execute("DROP TABLE psycopg_arrays")
