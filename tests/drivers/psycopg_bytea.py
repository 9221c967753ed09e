"""psycopg 3 round-trips bytea with ferrogres, for tests/bytea.rs.

Usage: python3 psycopg_bytea.py HOST PORT
Sends and reads bytea in text and binary format (parameters and results),
stores it in a table and reads it back; prints one line per check, which
the test compares with PostgreSQL 15's answers. (TypeInfo.fetch is left
out: it needs to_regtype, which ferrogres does not have yet.)
"""
import sys

import psycopg

host, port = sys.argv[1], int(sys.argv[2])
every_byte = bytes(range(256))
with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True,
                     prepare_threshold=None) as conn:
    # No server-side prepared statements: after DROP TABLE psycopg would send
    # DEALLOCATE ALL, which ferrogres does not have yet.
    cur = conn.cursor()
    for binary in (False, True):
        for value in (b"\x00\xff", b"", every_byte, None):
            got = cur.execute("SELECT %b::bytea", (value,), binary=binary).fetchone()[0]
            print(f"binary={binary} {value is not None and len(value)} {got == value}")
        got = cur.execute("SELECT %s::bytea", (b"a\\b\x00",), binary=binary).fetchone()[0]
        print(f"binary={binary} text-param {got!r}")
        got = cur.execute("SELECT '\\x0102'::bytea, decode('ff00', 'hex')", binary=binary).fetchone()
        print(f"binary={binary} literal {got!r}")
    cur.execute("SET bytea_output = 'escape'")
    print("escape", repr(cur.execute("SELECT %b::bytea", (every_byte,)).fetchone()[0] == every_byte))
    cur.execute("RESET bytea_output")
    cur.execute("DROP TABLE IF EXISTS psycopg_bytea")
    cur.execute("CREATE TABLE psycopg_bytea (id int, b bytea)")
    with conn.transaction():
        for i, v in enumerate((every_byte, b"\x00", None, b"")):
            cur.execute("INSERT INTO psycopg_bytea VALUES (%s, %b)", (i, v))
    for binary in (False, True):
        rows = cur.execute("SELECT b FROM psycopg_bytea ORDER BY id", binary=binary).fetchall()
        print(f"table binary={binary}", [r[0] == v for r, v in zip(rows, (every_byte, b"\x00", None, b""))])
    print("where", cur.execute("SELECT id FROM psycopg_bytea WHERE b = %b", (b"\x00",)).fetchone())
    cur.execute("DROP TABLE psycopg_bytea")
