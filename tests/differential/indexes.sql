-- B-tree indexes from SQL: CREATE [UNIQUE] INDEX (default and explicit
-- names, IF NOT EXISTS, ASC/DESC, NULLS FIRST/LAST, NULLS [NOT] DISTINCT),
-- PRIMARY KEY / UNIQUE constraints in CREATE TABLE and ALTER TABLE, unique
-- violations (23505 with DETAIL) from INSERT, UPDATE, INSERT ... SELECT
-- and COPY, failed unique index builds, DROP INDEX / DROP CONSTRAINT, the
-- catalogs, and data staying right across TRUNCATE and VACUUM [FULL].
-- No EXPLAIN here: the planner has no index scans yet.
CREATE TABLE ix_a (id int PRIMARY KEY, code text UNIQUE, v int)
SELECT relname, relkind, relhasindex, relam, relnatts FROM pg_class WHERE relname LIKE 'ix\_a%' ORDER BY 1
SELECT conname, contype, conkey, condeferrable, condeferred, convalidated FROM pg_constraint WHERE conname LIKE 'ix\_a%' ORDER BY 1
SELECT c.relname, c.relkind, i.indisunique, i.indisprimary, i.indnatts, i.indnkeyatts FROM pg_index i, pg_class c WHERE c.oid = i.indexrelid AND c.relname LIKE 'ix\_a%' ORDER BY 1
SELECT c.relname, i.indnullsnotdistinct, i.indisvalid, i.indisready, i.indislive, i.indisclustered, i.indimmediate FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'ix_a'::regclass ORDER BY 1
SELECT conname, conindid = (SELECT oid FROM pg_class WHERE relname = conname) AS backed FROM pg_constraint WHERE conrelid = 'ix_a'::regclass ORDER BY 1
SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indexrelid = 'ix_a_code_key'::regclass
SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = 'ix_a'::regclass AND attnum > 0 ORDER BY attnum
SELECT indclass::text, indcollation::text FROM pg_index WHERE indexrelid = 'ix_a_code_key'::regclass
INSERT INTO ix_a VALUES (1, 'one', 10), (2, 'two', 20), (3, NULL, 30), (4, NULL, 40)
INSERT INTO ix_a VALUES (1, 'uno', 11)
INSERT INTO ix_a VALUES (5, 'one', 50)
INSERT INTO ix_a VALUES (NULL, 'six', 60)
INSERT INTO ix_a VALUES (6, 'six', 60), (7, 'six', 70)
SELECT * FROM ix_a ORDER BY id
UPDATE ix_a SET id = 2 WHERE id = 1
UPDATE ix_a SET code = 'two' WHERE id = 3
UPDATE ix_a SET id = id + 10 RETURNING id, code
UPDATE ix_a SET code = code WHERE id = 11
SELECT * FROM ix_a ORDER BY id
INSERT INTO ix_a SELECT id + 100, code, v FROM ix_a WHERE id = 11
INSERT INTO ix_a SELECT g, NULL, g FROM generate_series(20, 25) g
INSERT INTO ix_a SELECT g % 3 + 30, NULL, g FROM generate_series(1, 5) g
WITH w AS (INSERT INTO ix_a VALUES (40, 'forty') RETURNING id) INSERT INTO ix_a SELECT id, 'again' FROM w
SELECT count(*) FROM ix_a
BEGIN; INSERT INTO ix_a VALUES (40, 'forty'); DELETE FROM ix_a WHERE id = 40; INSERT INTO ix_a VALUES (40, 'forty again'); COMMIT
BEGIN; DELETE FROM ix_a WHERE id = 40; ROLLBACK
INSERT INTO ix_a VALUES (40, 'dup')
BEGIN; INSERT INTO ix_a VALUES (41, 'gone'); ROLLBACK
INSERT INTO ix_a VALUES (41, 'forty-one')
BEGIN; INSERT INTO ix_a VALUES (42, 'a'); SAVEPOINT s; INSERT INTO ix_a VALUES (42, 'b'); ROLLBACK TO s; INSERT INTO ix_a VALUES (43, 'c'); COMMIT
UPDATE ix_a SET id = 50 WHERE id = 11
INSERT INTO ix_a VALUES (11, 'eleven again')
INSERT INTO ix_a VALUES (50, 'dup')
SELECT * FROM ix_a WHERE id >= 40 ORDER BY id
-- Multi-column keys, default names, explicit names and clashes.
CREATE TABLE ix_b (a int, b text, c int, CONSTRAINT ix_b_pk PRIMARY KEY (a, b), UNIQUE (b, c))
CREATE INDEX ON ix_b (c)
CREATE INDEX ON ix_b (c)
CREATE INDEX ON ix_b (c, a)
CREATE INDEX ON ix_b (a DESC NULLS LAST, c NULLS FIRST)
CREATE UNIQUE INDEX ON ix_b USING btree (c, b)
CREATE INDEX ix_b_named ON ix_b (b)
CREATE INDEX ix_b_named ON ix_b (c)
CREATE INDEX IF NOT EXISTS ix_b_named ON ix_b (c)
CREATE INDEX ix_b ON ix_b (c)
CREATE TABLE ix_b_named (x int)
CREATE INDEX ix_b_c_idx ON ix_b (a)
CREATE INDEX ix_b_x ON ix_b (nosuch)
CREATE INDEX ix_b_x ON ix_b ()
CREATE INDEX ix_b_x ON ix_b USING nosuch (a)
CREATE INDEX ON ONLY ix_b (b, a)
SELECT c.relname, i.indnatts, i.indisunique, i.indnullsnotdistinct, i.indisprimary, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'ix\_b%' ORDER BY 1
SELECT conname, contype, conkey FROM pg_constraint WHERE conrelid = 'ix_b'::regclass ORDER BY 1
SELECT attname, attnum FROM pg_attribute WHERE attrelid = 'ix_b_a_c_idx'::regclass ORDER BY attnum
INSERT INTO ix_b VALUES (1, 'x', 1), (1, 'y', 2), (2, 'x', 3)
INSERT INTO ix_b VALUES (1, 'x', 9)
INSERT INTO ix_b VALUES (5, 'x', 1)
INSERT INTO ix_b VALUES (5, 'q', NULL), (6, 'q', NULL)
INSERT INTO ix_b VALUES (7, 'y', 2)
INSERT INTO ix_b VALUES (1, NULL, 5)
SELECT * FROM ix_b ORDER BY a, b
SELECT * FROM ix_b ORDER BY a DESC, c NULLS FIRST
CREATE TABLE ix_m_pkey (x int)
CREATE TABLE ix_m (a int PRIMARY KEY, b int UNIQUE, UNIQUE (a, b))
CREATE TABLE ix_m_a_key (x int)
ALTER TABLE ix_m ADD UNIQUE (a)
SELECT relname FROM pg_class WHERE relname LIKE 'ix\_m%' ORDER BY 1
SELECT conname, contype, conkey FROM pg_constraint WHERE conrelid = 'ix_m'::regclass ORDER BY 1
CREATE TABLE ix_long (a_very_long_column_name_that_goes_on_and_on_and_on_forever_and_more int UNIQUE)
CREATE INDEX ON ix_long (a_very_long_column_name_that_goes_on_and_on_and_on_forever_and_more)
SELECT relname FROM pg_class WHERE relname LIKE 'ix\_long%' ORDER BY 1
-- NULLS [NOT] DISTINCT.
CREATE TABLE ix_c (a int, b text, CONSTRAINT ix_c_ab UNIQUE NULLS NOT DISTINCT (a, b))
INSERT INTO ix_c VALUES (1, NULL), (2, NULL)
INSERT INTO ix_c VALUES (1, NULL)
INSERT INTO ix_c VALUES (NULL, NULL)
INSERT INTO ix_c VALUES (NULL, NULL)
CREATE UNIQUE INDEX ix_c_nd ON ix_c (b) NULLS NOT DISTINCT
CREATE UNIQUE INDEX ix_c_a ON ix_c (a) NULLS DISTINCT
INSERT INTO ix_c VALUES (NULL, 'z')
SELECT c.relname, i.indisunique, i.indnullsnotdistinct FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'ix\_c%' ORDER BY 1
-- Equality as the btree operator class sees it.
CREATE TABLE ix_ty (n numeric UNIQUE, f float8 UNIQUE, c char(5) UNIQUE, i interval UNIQUE, ts timestamptz UNIQUE, arr int[] UNIQUE, b bool UNIQUE, by bytea UNIQUE, u uuid UNIQUE, e text[] UNIQUE)
INSERT INTO ix_ty VALUES (1.0, 'NaN', 'a', '1 day', '2020-01-01 12:00+02', '{1,2}', false, '\x00ff', '00000000-0000-0000-0000-000000000001', '{a,NULL}')
INSERT INTO ix_ty (n) VALUES (1.00)
INSERT INTO ix_ty (f) VALUES ('NaN')
INSERT INTO ix_ty (c) VALUES ('a   ')
INSERT INTO ix_ty (i) VALUES ('24 hours')
INSERT INTO ix_ty (ts) VALUES ('2020-01-01 10:00+00')
INSERT INTO ix_ty (arr) VALUES ('{1,2}')
INSERT INTO ix_ty (arr) VALUES ('[0:1]={1,2}')
INSERT INTO ix_ty (by) VALUES ('\x00ff')
INSERT INTO ix_ty (u) VALUES ('00000000000000000000000000000001')
INSERT INTO ix_ty (f) VALUES ('Infinity'), ('-Infinity'), (0), (1e308)
INSERT INTO ix_ty (f) VALUES ('-0')
INSERT INTO ix_ty (n) VALUES ('NaN'), (-1), (1e-20), (123456789012345678901234567890)
SELECT f FROM ix_ty WHERE f IS NOT NULL ORDER BY f
SELECT n FROM ix_ty WHERE n IS NOT NULL ORDER BY n DESC
INSERT INTO ix_ty (c) VALUES (E'a\tb'), ('ünï')
INSERT INTO ix_ty (c) VALUES (E'a\tb')
INSERT INTO ix_ty (c) VALUES ('ünï')
-- A unique index over duplicates fails and leaves nothing behind.
CREATE TABLE ix_e (a int, b text)
INSERT INTO ix_e VALUES (1, 'p'), (2, 'q'), (2, 'r'), (NULL, 's'), (NULL, 's')
CREATE UNIQUE INDEX ix_e_a ON ix_e (a)
CREATE UNIQUE INDEX ON ix_e (a, b)
CREATE UNIQUE INDEX ix_e_b ON ix_e (b)
CREATE UNIQUE INDEX ix_e_bnd ON ix_e (a) NULLS NOT DISTINCT
BEGIN; CREATE UNIQUE INDEX ix_e_c ON ix_e (b); COMMIT
SELECT relname, relhasindex FROM pg_class WHERE relname LIKE 'ix\_e%' ORDER BY 1
SELECT count(*) FROM pg_index WHERE indrelid = 'ix_e'::regclass
ALTER TABLE ix_e ADD CONSTRAINT ix_e_uq UNIQUE (a)
SELECT count(*) FROM pg_constraint WHERE conrelid = 'ix_e'::regclass
DELETE FROM ix_e WHERE a IS NULL
ALTER TABLE ix_e ADD PRIMARY KEY (a)
DELETE FROM ix_e WHERE b = 'r'
ALTER TABLE ix_e ADD PRIMARY KEY (a)
SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = 'ix_e'::regclass AND attnum > 0 ORDER BY attnum
ALTER TABLE ix_e ADD PRIMARY KEY (b)
ALTER TABLE ix_e ADD CONSTRAINT ix_e_bu UNIQUE (b)
ALTER TABLE ix_e ADD CONSTRAINT ix_e_bu UNIQUE (a)
ALTER TABLE ix_e ADD UNIQUE (a, b)
SELECT conname, contype, conkey FROM pg_constraint WHERE conrelid = 'ix_e'::regclass ORDER BY 1
INSERT INTO ix_e VALUES (NULL, 'n')
INSERT INTO ix_e VALUES (3, 'q')
-- ALTER TABLE ADD PRIMARY KEY over NULLs (23502).
CREATE TABLE ix_nn (a int, b int)
INSERT INTO ix_nn VALUES (1, 1), (NULL, 2)
ALTER TABLE ix_nn ADD PRIMARY KEY (a)
ALTER TABLE ix_nn ADD UNIQUE (a)
INSERT INTO ix_nn VALUES (NULL, 3)
ALTER TABLE ix_nn ADD PRIMARY KEY (b)
INSERT INTO ix_nn VALUES (5, NULL)
-- Bad definitions.
CREATE TABLE ix_f (a int PRIMARY KEY, b int PRIMARY KEY)
CREATE TABLE ix_f (a int PRIMARY KEY, b int, PRIMARY KEY (b))
CREATE TABLE ix_f (a json PRIMARY KEY)
CREATE TABLE ix_f (a json UNIQUE)
CREATE TABLE ix_f (a int CONSTRAINT ix_f_k PRIMARY KEY, b int CONSTRAINT ix_f_k UNIQUE)
SELECT relname FROM pg_class WHERE relname LIKE 'ix\_f%'
CREATE TABLE ix_g (j json, k jsonb)
CREATE INDEX ON ix_g (j)
ALTER TABLE ix_g ADD PRIMARY KEY (j)
CREATE INDEX ON ix_g (k)
INSERT INTO ix_g (k) VALUES ('{"a": 1}'), ('[1, 2]'), ('null'), ('"s"'), ('2')
SELECT k FROM ix_g ORDER BY k
CREATE UNIQUE INDEX ix_g_k_u ON ix_g (k)
INSERT INTO ix_g (k) VALUES ('{"a":   1}')
SELECT relname FROM pg_class WHERE relname LIKE 'ix\_g%' ORDER BY 1
CREATE SEQUENCE ix_seq
CREATE INDEX ON ix_seq (last_value)
CREATE INDEX ON pg_class (relname)
-- DROP INDEX, DROP CONSTRAINT, and index names where a table belongs.
CREATE TABLE ix_h (a int PRIMARY KEY, b int UNIQUE, c int)
CREATE INDEX ix_h_c ON ix_h (c)
DROP INDEX ix_h_pkey
DROP INDEX ix_h_b_key RESTRICT
DROP INDEX ix_h
DROP INDEX IF EXISTS ix_h
DROP INDEX ix_h_nosuch
DROP INDEX IF EXISTS ix_h_nosuch, ix_h_c
DROP INDEX ix_h_c
CREATE INDEX ix_h_c ON ix_h (c)
DROP INDEX ix_h_c, ix_h_pkey
DROP INDEX ix_h_c, ix_h_nosuch
DROP INDEX public.ix_h_c
DROP TABLE ix_h_pkey
DROP TABLE IF EXISTS ix_h_pkey
SELECT * FROM ix_h_pkey
INSERT INTO ix_h_pkey VALUES (1)
TRUNCATE ix_h_pkey
VACUUM ix_h_pkey
CREATE TABLE ix_h_pkey (x int)
SELECT relkind FROM pg_class WHERE oid = 'ix_h_b_key'::regclass
ALTER TABLE ix_h DROP CONSTRAINT ix_h_b_key
SELECT relname FROM pg_class WHERE relname LIKE 'ix\_h%' ORDER BY 1
ALTER TABLE ix_h DROP CONSTRAINT ix_h_b_key
ALTER TABLE ix_h DROP CONSTRAINT IF EXISTS ix_h_b_key
ALTER TABLE ix_h DROP CONSTRAINT ix_h_pkey
SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = 'ix_h'::regclass AND attnum > 0 ORDER BY attnum
SELECT relhasindex FROM pg_class WHERE relname = 'ix_h'
INSERT INTO ix_h VALUES (1, 1, 1), (1, 1, 2)
ALTER TABLE ix_h ADD CONSTRAINT ix_h_pk PRIMARY KEY (a)
DELETE FROM ix_h WHERE c = 2
ALTER TABLE ix_h ADD CONSTRAINT ix_h_pk PRIMARY KEY (a)
ALTER TABLE ix_h ADD CONSTRAINT ix_h_pk2 PRIMARY KEY (b)
ALTER TABLE ix_h ADD CONSTRAINT ix_h_pk UNIQUE (b)
CREATE INDEX ix_h_pk ON ix_h (b)
SELECT conname, contype FROM pg_constraint WHERE conname LIKE 'ix\_h%' ORDER BY 1
-- TRUNCATE, DELETE + VACUUM, VACUUM FULL: freed keys come back, taken ones still clash.
CREATE TABLE ix_v (id int PRIMARY KEY, k text UNIQUE, g int)
CREATE INDEX ix_v_g ON ix_v (g DESC)
INSERT INTO ix_v SELECT i, 'key-' || lpad(i::text, 5, '0'), i % 7 FROM generate_series(1, 5000) i
SELECT count(*), count(DISTINCT id), min(k), max(k) FROM ix_v
INSERT INTO ix_v VALUES (2500, 'fresh', 0)
INSERT INTO ix_v VALUES (9999, 'key-02500', 0)
DELETE FROM ix_v WHERE id % 2 = 0
VACUUM ix_v
SELECT count(*) FROM ix_v
INSERT INTO ix_v SELECT i, 'key-' || lpad(i::text, 5, '0'), i % 7 FROM generate_series(2, 5000, 2) i
SELECT count(*), sum(id) FROM ix_v
DELETE FROM ix_v WHERE id > 100
VACUUM FULL ix_v
SELECT count(*) FROM ix_v
INSERT INTO ix_v VALUES (50, 'again', 1)
INSERT INTO ix_v VALUES (5000, 'key-00050', 1)
INSERT INTO ix_v VALUES (5000, 'key-05000', 1)
SELECT * FROM ix_v WHERE id > 95 ORDER BY id
SELECT id, g FROM ix_v WHERE id < 20 ORDER BY g DESC, id
TRUNCATE ix_v
SELECT count(*) FROM ix_v
INSERT INTO ix_v VALUES (1, 'key-00001', 1), (2, 'key-00002', 2)
INSERT INTO ix_v VALUES (1, 'key-00003', 1)
INSERT INTO ix_v VALUES (3, 'key-00002', 1)
BEGIN; TRUNCATE ix_v; INSERT INTO ix_v VALUES (1, 'key-00001', 9); ROLLBACK
SELECT * FROM ix_v ORDER BY id
INSERT INTO ix_v VALUES (2, 'x', 0)
BEGIN; TRUNCATE ix_v; INSERT INTO ix_v VALUES (1, 'key-00001', 9); COMMIT
SELECT * FROM ix_v ORDER BY id
INSERT INTO ix_v VALUES (1, 'y', 0)
INSERT INTO ix_v VALUES (2, 'key-00002', 2)
VACUUM (FULL, ANALYZE) ix_v
INSERT INTO ix_v VALUES (2, 'z', 2)
UPDATE ix_v SET k = 'z' WHERE id = 1
UPDATE ix_v SET g = g + 1
SELECT * FROM ix_v ORDER BY k DESC
DROP TABLE ix_a, ix_b, ix_c, ix_e, ix_g, ix_h, ix_m, ix_m_pkey, ix_m_a_key, ix_long, ix_nn, ix_ty, ix_v
DROP SEQUENCE ix_seq

-- Fixed after the first corpus run: COPY's line of a unique violation,
-- creation-order checks, merged identical constraints, the deparsers.
CREATE TABLE ix_cp (a int PRIMARY KEY, b text)
COPY ix_cp FROM PROGRAM 'printf ''1\tx\n2\ty\n3\tz\n4\tz\n2\tw\n'''
COPY ix_cp FROM PROGRAM 'printf ''1\tx\n2\ty\n1\tz\n'''
COPY ix_cp FROM PROGRAM 'printf ''10\tx\n11\ty\n'''
SELECT a, b FROM ix_cp ORDER BY a
COPY ix_cp_pkey FROM STDIN
CREATE TABLE ix_o (a int UNIQUE, b int UNIQUE, c int UNIQUE)
CREATE UNIQUE INDEX ix_o_z ON ix_o (c)
CREATE UNIQUE INDEX ix_o_0 ON ix_o (b)
INSERT INTO ix_o VALUES (1, 1, 1)
INSERT INTO ix_o VALUES (2, 1, 1)
INSERT INTO ix_o VALUES (1, 2, 2)
CREATE TABLE ix_f (a int UNIQUE UNIQUE, b int PRIMARY KEY UNIQUE, c int UNIQUE, UNIQUE (c))
SELECT relname FROM pg_class WHERE relname LIKE 'ix\_f%' ORDER BY 1
CREATE TABLE ix_g (a int NULL PRIMARY KEY)
CREATE TABLE ix_e (a int)
INSERT INTO ix_e VALUES (1), (2), (2), (NULL), (NULL)
ALTER TABLE ix_e ADD PRIMARY KEY (a)
DELETE FROM ix_e WHERE a = 2
ALTER TABLE ix_e ADD PRIMARY KEY (a)
DELETE FROM ix_e WHERE a IS NULL
ALTER TABLE ix_e ADD PRIMARY KEY (a)
CREATE INDEX ON ix_e_pkey (a)
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'ix_f'::regclass ORDER BY 1
SELECT conname, pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conname LIKE 'ix\_o%' ORDER BY 1
CREATE TABLE ix_n (a int, b text, c date)
CREATE INDEX ix_n_multi ON ix_n (a DESC, b NULLS FIRST, c DESC NULLS LAST)
CREATE UNIQUE INDEX ix_n_u ON ix_n (b) NULLS NOT DISTINCT
ALTER TABLE ix_n ADD CONSTRAINT ix_n_uc UNIQUE NULLS NOT DISTINCT (c)
SELECT pg_get_indexdef('ix_n_multi'::regclass)
SELECT pg_get_indexdef('ix_n_u'::regclass)
SELECT pg_get_indexdef('ix_n_multi'::regclass, 2, true)
SELECT pg_get_indexdef('ix_n_multi'::regclass, 0, true)
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ix_n_uc'
SELECT pg_get_indexdef('ix_n'::regclass)
DROP TABLE ix_cp, ix_o, ix_f, ix_e, ix_g, ix_n

-- EXPLAIN picks the index where PostgreSQL does for equalities (COSTS OFF).
CREATE TABLE ix_ex (id int PRIMARY KEY, k text UNIQUE, v int)
INSERT INTO ix_ex SELECT g, 'k' || g, g % 10 FROM generate_series(1, 2000) g
EXPLAIN (COSTS OFF) SELECT * FROM ix_ex WHERE id = 5
EXPLAIN (COSTS OFF) SELECT v FROM ix_ex WHERE k = 'k7'
EXPLAIN (COSTS OFF) SELECT * FROM ix_ex WHERE id = 5 AND v = 3
EXPLAIN (COSTS OFF) SELECT * FROM ix_ex WHERE 5 = id
EXPLAIN (COSTS OFF) SELECT * FROM ix_ex WHERE v = 3
EXPLAIN (COSTS OFF) UPDATE ix_ex SET v = v + 1 WHERE id = 7
EXPLAIN (COSTS OFF) DELETE FROM ix_ex WHERE id = 8
SELECT * FROM ix_ex WHERE id = 5
SELECT * FROM ix_ex WHERE 5 = id AND v = 5
SELECT id FROM ix_ex WHERE k = 'k1999'
SELECT id FROM ix_ex WHERE id = NULL
SELECT id FROM ix_ex WHERE id = 3000000000
SELECT count(*) FROM ix_ex WHERE id BETWEEN 10 AND 20
SELECT count(*) FROM ix_ex WHERE id BETWEEN 20 AND 10
UPDATE ix_ex SET v = v + 1 WHERE id = 7
DELETE FROM ix_ex WHERE id = 8
SELECT * FROM ix_ex WHERE id BETWEEN 6 AND 9 ORDER BY id
ANALYZE ix_ex
EXPLAIN (COSTS OFF) SELECT * FROM ix_ex WHERE id = 5
DROP TABLE ix_ex

-- Index statistics, pg_indexes, commuted Index Cond.
CREATE TABLE ix_st (id int PRIMARY KEY, k text)
CREATE INDEX ix_st_k ON ix_st (k DESC)
SELECT relname, reltuples FROM pg_class WHERE relname LIKE 'ix\_st%' ORDER BY 1
INSERT INTO ix_st SELECT g, 'k' || g FROM generate_series(1, 2000) g
ANALYZE ix_st
SELECT relname, relpages > 1, reltuples FROM pg_class WHERE relname LIKE 'ix\_st%' ORDER BY 1
SELECT schemaname, tablename, indexname, tablespace, indexdef FROM pg_indexes WHERE tablename = 'ix_st' ORDER BY indexname
SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_st_k'
ALTER TABLE ix_st_pkey ADD CONSTRAINT c CHECK (id > 0)
EXPLAIN (COSTS OFF) SELECT * FROM ix_st WHERE 'k5' = k
DROP TABLE ix_st
SELECT relname FROM pg_class WHERE relname LIKE 'ix\_%'
