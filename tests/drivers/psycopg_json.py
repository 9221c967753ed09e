"""psycopg 3 round-trips json and jsonb against ferrogres, for tests/json.rs.

Usage: python3 psycopg_json.py SOCKET_DIR PORT
Sends Json/Jsonb-wrapped Python values as parameters in text (%t) and
binary (%b) format (binary jsonb is version byte 1 + text), reads json and
jsonb columns back with text and binary results, and prints one line per
check; any mismatch raises (non-zero exit).
"""
import sys

import psycopg
from psycopg.adapt import Dumper
from psycopg.types.json import Json, Jsonb

socket_dir, port = sys.argv[1:3]
DOC = {"b": [1, 2.5, None, True], "a": {"é": "x\"y\n"}, "n": 10}


def check(what, got, want):
    if got != want:
        raise SystemExit(f"{what}: got {got!r}, want {want!r}")
    print(f"ok {what}")


with psycopg.connect(
    host=socket_dir, port=int(port), user="postgres", dbname="postgres", autocommit=True
) as conn:
    conn.execute("CREATE TABLE psycopg_json (n int, j json, jb jsonb)")
    conn.execute("INSERT INTO psycopg_json VALUES (1, %t, %t)", [Json(DOC), Jsonb(DOC)])
    conn.execute("INSERT INTO psycopg_json VALUES (2, %b, %b)", [Json([1, "two"]), Jsonb([1, "two"])])
    conn.execute("INSERT INTO psycopg_json VALUES (3, %b, %t)", [None, None])

    for binary in (False, True):
        fmt = "binary" if binary else "text"
        cur = conn.cursor(binary=binary)
        rows = cur.execute("SELECT n, j, jb FROM psycopg_json ORDER BY n").fetchall()
        check(f"{fmt} rows", rows, [(1, DOC, DOC), (2, [1, "two"], [1, "two"]), (3, None, None)])
        check(
            f"{fmt} column type oids",
            [d.type_code for d in cur.description[1:]],
            [114, 3802],
        )
        got = cur.execute("SELECT n FROM psycopg_json WHERE jb @> %b", [Jsonb({"n": 10})]).fetchall()
        check(f"{fmt} result of a binary jsonb parameter", got, [(1,)])
        got = cur.execute("SELECT n FROM psycopg_json WHERE jb = %t", [Jsonb([1, "two"])]).fetchall()
        check(f"{fmt} result of a text jsonb parameter", got, [(2,)])
        (s,) = cur.execute("SELECT %b::jsonb::text", [Jsonb({"b": 1, "a": [1]})]).fetchone()
        check(f"{fmt} binary jsonb parameter prints canonically", s, '{"a": [1], "b": 1}')
        (s,) = cur.execute("SELECT %b::json::text", [Json({"b": 1})]).fetchone()
        check(f"{fmt} binary json parameter keeps its text", s, '{"b": 1}')
        (v,) = cur.execute("SELECT jsonb_build_object('k', 1) -> 'k'").fetchone()
        check(f"{fmt} an operator's jsonb result", v, 1)

    class BadVersion(Dumper):
        """A binary jsonb with version byte 2."""

        format = psycopg.pq.Format.BINARY
        oid = 3802

        def dump(self, obj):
            return b"\x02{}"

    cur = conn.cursor()
    cur.adapters.register_dumper(bytes, BadVersion)
    try:
        cur.execute("SELECT %b", [b"x"])
        raise SystemExit("a version 2 binary jsonb was accepted")
    except psycopg.errors.DatabaseError:
        print("ok a version 2 binary jsonb is an error")
    try:
        conn.execute("SELECT %t::jsonb", ['{"a":'])
        raise SystemExit("bad json was accepted")
    except psycopg.errors.InvalidTextRepresentation as e:
        # PostgreSQL adds a line naming the portal parameter.
        ctx = (e.diag.context or "").split("\n")[0]
        check("bad json context", ctx, 'JSON data, line 1: {"a":')
    got = conn.execute("SELECT count(*) FROM psycopg_json").fetchone()
    check("the session goes on after it", got, (3,))
    conn.execute("DROP TABLE psycopg_json")
