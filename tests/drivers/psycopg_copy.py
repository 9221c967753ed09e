"""psycopg 3's cursor.copy() against ferrogres, for tests/copy.rs.

Usage: python3 psycopg_copy.py SOCKET_DIR PORT
Writes rows with copy.write_row() in text and binary format, reads them
back with copy.rows() and raw blocks, and checks that a failed COPY leaves
nothing behind and the connection usable. Prints one line per check; any
mismatch raises (non-zero exit).
"""
import sys

import psycopg

socket_dir, port = sys.argv[1:3]


def check(what, got, want):
    if got != want:
        raise SystemExit(f"{what}: got {got!r}, want {want!r}")
    print(f"ok {what}")


ROWS = [(i, f"row {i}", None if i % 3 == 0 else i * 1.5) for i in range(1, 1001)]

with psycopg.connect(
    host=socket_dir, port=int(port), user="postgres", dbname="postgres", autocommit=True
) as conn:
    conn.execute("CREATE TABLE psycopg_copy (id int, t text, f float8)")
    with conn.cursor() as cur:
        with cur.copy("COPY psycopg_copy (id, t, f) FROM STDIN") as copy:
            for r in ROWS:
                copy.write_row(r)
        check("text copy in count", cur.rowcount, len(ROWS))
        got = conn.execute("SELECT id, t, f FROM psycopg_copy ORDER BY id").fetchall()
        check("text copy in rows", got, ROWS)

        conn.execute("TRUNCATE psycopg_copy")
        with cur.copy("COPY psycopg_copy (id, t, f) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "float8"])
            for r in ROWS:
                copy.write_row(r)
        got = conn.execute("SELECT id, t, f FROM psycopg_copy ORDER BY id").fetchall()
        check("binary copy in rows", got, ROWS)

        with cur.copy("COPY (SELECT id, t, f FROM psycopg_copy ORDER BY id) TO STDOUT") as copy:
            copy.set_types(["int4", "text", "float8"])
            got = list(copy.rows())
        check("text copy out rows", got, ROWS)

        with cur.copy(
            "COPY (SELECT id, t, f FROM psycopg_copy ORDER BY id) TO STDOUT (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int4", "text", "float8"])
            got = list(copy.rows())
        check("binary copy out rows", got, ROWS)

        with cur.copy("COPY psycopg_copy TO STDOUT (FORMAT csv, HEADER)") as copy:
            data = b"".join(bytes(b) for b in copy)
        check("csv copy out header", data.split(b"\n")[0], b"id,t,f")
        check("csv copy out lines", data.count(b"\n"), len(ROWS) + 1)

    # With parameters psycopg sends COPY through the extended protocol.
    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT %s::int, %s::text) TO STDOUT", [7, "x"]) as copy:
            data = b"".join(bytes(b) for b in copy)
        check("copy out through the extended protocol", data, b"7\tx\n")
        with cur.copy("COPY psycopg_copy (id) FROM STDIN WHERE id > %s", [7000]) as copy:
            copy.write(b"7000\n7001\n7002\n")
        check("copy in through the extended protocol", cur.rowcount, 2)
        conn.execute("DELETE FROM psycopg_copy WHERE id >= 7000")

    # An exception inside the block sends CopyFail: nothing is written.
    try:
        with conn.cursor() as cur:
            with cur.copy("COPY psycopg_copy (id, t, f) FROM STDIN") as copy:
                copy.write_row((5000, "never", 1.0))
                raise RuntimeError("client gives up")
    except (RuntimeError, psycopg.errors.QueryCanceled):
        print("ok an exception in the block ends the copy")
    check(
        "nothing of a failed copy is visible",
        conn.execute("SELECT count(*) FROM psycopg_copy WHERE id = 5000").fetchone()[0],
        0,
    )

    # A bad row: 22P02 with the line in the context, the session goes on.
    try:
        with conn.cursor() as cur:
            with cur.copy("COPY psycopg_copy (id, t) FROM STDIN") as copy:
                copy.write(b"6000\tok\n6001\tok\nnot a number\tbad\n6002\tok\n")
        raise SystemExit("a bad row was accepted")
    except psycopg.errors.InvalidTextRepresentation as e:
        check("bad row sqlstate", e.sqlstate, "22P02")
        check("bad row context", e.diag.context, 'COPY psycopg_copy, line 3, column id: "not a number"')
    check(
        "the session goes on after a failed copy",
        conn.execute("SELECT count(*) FROM psycopg_copy WHERE id >= 6000").fetchone()[0],
        0,
    )
