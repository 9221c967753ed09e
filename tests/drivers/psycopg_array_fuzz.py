"""Random array literals and random binary int[] parameters, for tests/arrays.rs.

Usage: python3 psycopg_array_fuzz.py SOCKET_DIR PORT
Prints, for each case of a fixed pseudo-random sequence, the value the
server made of it or its error (SQLSTATE, message, detail). The output of
ferrogres must equal PostgreSQL 15's, line for line.
"""
import random
import struct
import sys

import psycopg
from psycopg.adapt import Dumper

socket_dir, port = sys.argv[1:3]


class RawInt4Array(Dumper):
    """bytes sent as they are, as a binary int[] parameter."""

    format = psycopg.pq.Format.BINARY
    oid = 1007

    def dump(self, obj):
        return obj


def run(conn, query, value):
    try:
        return repr(conn.execute(query, [value]).fetchone()[0])
    except psycopg.Error as e:
        return f"ERROR {e.sqlstate} {e.diag.message_primary} / {e.diag.message_detail}"


def binary_case(rnd):
    nd = rnd.choice([0, 1, 1, 2, 7, -1])
    b = struct.pack(">iiI", nd, rnd.choice([0, 1, 2]), rnd.choice([23, 23, 20]))
    for _ in range(max(nd, 0)):
        b += struct.pack(">ii", rnd.choice([0, 1, 2, 3, -1, 2**31 - 1]), rnd.choice([1, 0, -5, 2**31 - 1]))
    for _ in range(rnd.randint(0, 5)):
        b += struct.pack(">i", rnd.choice([4, 4, -1, 8, 3]))
        b += bytes(rnd.randint(0, 255) for _ in range(rnd.choice([4, 4, 0, 8])))
    if rnd.random() < 0.2:
        b = b[: rnd.randint(0, len(b))]
    return b


ALPHABET = ["{", "}", "{", "}", ",", ",", '"', "\\", " ", "1", "a", "NULL", "[", "]", ":", "=", "-", "2", "\t"]

with psycopg.connect(
    host=socket_dir, port=int(port), user="postgres", dbname="postgres", autocommit=True
) as conn:
    conn.adapters.register_dumper(bytes, RawInt4Array)
    rnd = random.Random(7)
    for i in range(1500):
        s = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 14)))
        if rnd.random() < 0.5:
            s = "{" + s
        for ty in ("int[]", "text[]"):
            print(f"text {i} {ty} {s!r}: {run(conn, f'SELECT %s::text::{ty}::text', s)}")
    rnd = random.Random(3)
    for i in range(1500):
        b = binary_case(rnd)
        print(f"binary {i} {b.hex()}: {run(conn, 'SELECT %b::int[]::text', b)}")
    print(run(conn, "SELECT %s", "the session is still usable"))
