"""psycopg 3 round-trips uuid against ferrogres, for tests/uuid.rs.

Usage: python3 psycopg_uuid.py SOCKET_DIR PORT
Sends uuid.UUID values as parameters in text (%t) and binary (%b) format,
reads them back with text and binary result columns, and prints one line
per check; any mismatch raises (non-zero exit).
"""
import sys
import uuid

import psycopg
from psycopg.adapt import Dumper

socket_dir, port = sys.argv[1:3]
A = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
B = uuid.UUID("00000000-0000-0000-0000-0000000000ff")
C = uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")


def check(what, got, want):
    if got != want:
        raise SystemExit(f"{what}: got {got!r}, want {want!r}")
    print(f"ok {what}")


with psycopg.connect(
    host=socket_dir, port=int(port), user="postgres", dbname="postgres", autocommit=True
) as conn:
    conn.execute("CREATE TABLE psycopg_uuid (id uuid, n int)")
    conn.execute("INSERT INTO psycopg_uuid VALUES (%t, 1)", [A])
    conn.execute("INSERT INTO psycopg_uuid VALUES (%b, 2)", [C])
    conn.execute("INSERT INTO psycopg_uuid VALUES (%b, 3), (%t, 4)", [B, None])
    conn.execute("INSERT INTO psycopg_uuid VALUES (%b, 5)", [None])

    for binary in (False, True):
        fmt = "binary" if binary else "text"
        cur = conn.cursor(binary=binary)
        rows = cur.execute("SELECT id, n FROM psycopg_uuid ORDER BY id, n").fetchall()
        check(f"{fmt} rows in uuid order", rows, [(B, 3), (A, 1), (C, 2), (None, 4), (None, 5)])
        check(f"{fmt} column type oid", cur.description[0].type_code, 2950)
        got = cur.execute("SELECT n FROM psycopg_uuid WHERE id = %b", [C]).fetchall()
        check(f"{fmt} result of a binary uuid parameter", got, [(2,)])
        got = cur.execute("SELECT n FROM psycopg_uuid WHERE id = %t", [A]).fetchall()
        check(f"{fmt} result of a text uuid parameter", got, [(1,)])
        (u,) = cur.execute("SELECT gen_random_uuid()").fetchone()
        check(f"{fmt} gen_random_uuid is a version 4 uuid.UUID", (type(u), u.version), (uuid.UUID, 4))
        (s,) = cur.execute("SELECT %b::text", [A]).fetchone()
        check(f"{fmt} binary parameter prints canonically", s, str(A))

    conn.execute("UPDATE psycopg_uuid SET id = %b WHERE n = 4", [A])
    got = conn.execute("SELECT count(*) FROM psycopg_uuid WHERE id = %t", [A]).fetchone()
    check("update with a binary uuid", got, (2,))

    class ShortUuid(Dumper):
        """A binary uuid of 3 bytes instead of 16."""

        format = psycopg.pq.Format.BINARY
        oid = 2950

        def dump(self, obj):
            return b"abc"

    cur = conn.cursor()
    cur.adapters.register_dumper(bytes, ShortUuid)
    try:
        cur.execute("SELECT %b", [b"x"])
        raise SystemExit("a 3-byte binary uuid was accepted")
    except psycopg.errors.DatabaseError:
        print("ok a 3-byte binary uuid is an error")
    got = conn.execute("SELECT count(*) FROM psycopg_uuid").fetchone()
    check("the session goes on after it", got, (5,))
    conn.execute("DROP TABLE psycopg_uuid")
