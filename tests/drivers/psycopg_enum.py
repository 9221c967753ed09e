"""psycopg 3 and enum types against ferrogres, for tests/enums.rs.

Usage: python3 psycopg_enum.py SOCKET_DIR PORT
Fetches an enum's labels with psycopg's EnumInfo (its pg_type/pg_enum
query), registers a Python Enum for it and round-trips values as text and
binary parameters and results (enum_send/enum_recv are the label's text).
Prints one line per check; any mismatch raises (non-zero exit).
"""
import enum
import sys

import psycopg
from psycopg.types.enum import EnumInfo, register_enum

socket_dir, port = sys.argv[1:3]


def check(what, got, want):
    if got != want:
        raise SystemExit(f"FAIL {what}: got {got!r}, want {want!r}")
    print(f"ok {what}")


class Mood(enum.Enum):
    sad = "sad"
    ok = "ok"
    happy = "happy"


with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="postgres",
                     autocommit=True) as c:
    c.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    c.execute("CREATE TABLE feelings (id int, m mood, ms mood[])")
    info = EnumInfo.fetch(c, "mood")
    check("EnumInfo labels", info.labels, ["sad", "ok", "happy"])
    register_enum(info, c, Mood)
    for fmt, p in [("text", "%t"), ("binary", "%b")]:
        c.execute("DELETE FROM feelings")
        c.execute(f"INSERT INTO feelings VALUES (1, {p}, {p}), (2, {p}, NULL)",
                  (Mood.happy, [Mood.sad, Mood.ok], Mood.sad))
        for binary in (False, True):
            rows = c.execute("SELECT id, m, ms FROM feelings ORDER BY m",
                             binary=binary).fetchall()
            check(f"{fmt} parameters, {'binary' if binary else 'text'} results",
                  rows, [(2, Mood.sad, None), (1, Mood.happy, [Mood.sad, Mood.ok])])
    try:
        c.execute("INSERT INTO feelings (m) VALUES (%s)", ("furious",))
        raise SystemExit("FAIL a bad label was accepted")
    except psycopg.errors.InvalidTextRepresentation as e:
        check("bad label error", str(e).splitlines()[0],
              'invalid input value for enum mood: "furious"')
