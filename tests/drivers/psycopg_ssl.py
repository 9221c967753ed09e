"""psycopg 3 over TLS against ferrogres, for tests/tls.rs.

Usage: python3 psycopg_ssl.py PORT PASSWORD CA_FILE
Connects with sslmode=verify-full (host localhost) and channel_binding=require,
then prints ssl_is_used() and the TLS version from pg_stat_ssl.
"""
import sys

import psycopg

port, password, ca_file = sys.argv[1:4]
with psycopg.connect(
    host="localhost",
    port=int(port),
    user="postgres",
    dbname="postgres",
    password=password,
    sslmode="verify-full",
    sslrootcert=ca_file,
    channel_binding="require",
) as conn:
    used, version = conn.execute(
        "SELECT ssl_is_used(), version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    ).fetchone()
    print(f"{used}|{version}")
