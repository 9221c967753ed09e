-- COPY (issue 11): text, CSV and binary, options, errors and their CONTEXT
-- lines. Input comes from PROGRAM 'printf ...' so that one psql -c line
-- carries its data; psql prints COPY TO STDOUT's data as it arrives.
CREATE TABLE cp_t (a int, b text, c varchar(3) DEFAULT 'zz', d numeric(6,2), e boolean)
COPY cp_t FROM PROGRAM 'printf ''1\tone\tabc\t1.5\tt\n2\t\\N\t\\N\t-2\tf\n'''
SELECT * FROM cp_t ORDER BY a
COPY cp_t TO STDOUT
COPY cp_t (b, a) TO STDOUT
COPY public.cp_t (e) TO STDOUT
COPY cp_t TO STDOUT (FORMAT csv)
COPY cp_t TO STDOUT (FORMAT csv, HEADER, FORCE_QUOTE (b, c))
COPY cp_t TO STDOUT (FORMAT csv, FORCE_QUOTE *)
COPY cp_t TO STDOUT (FORMAT csv, DELIMITER ';', QUOTE '''', NULL 'NULL')
COPY cp_t TO STDOUT (DELIMITER '|', NULL 'NULL')
COPY cp_t TO STDOUT WITH (FORMAT text, HEADER true)
COPY cp_t TO STDOUT WITH CSV HEADER
COPY cp_t TO STDOUT DELIMITER ',' NULL ''
COPY (SELECT a, b || 'x' AS bx FROM cp_t ORDER BY a DESC) TO STDOUT
COPY (SELECT a, b FROM cp_t ORDER BY a) TO STDOUT (FORMAT csv, HEADER, FORCE_QUOTE (b))
COPY (SELECT E'tab\there', E'nl\nx', E'back\\slash', E'cr\rx', E'bell\bff\f', 'pipe|') TO STDOUT
COPY (SELECT 'pipe|', 'x') TO STDOUT (DELIMITER '|')
COPY (SELECT E'tab\there', E'nl\nx', 'q"uote', 'comma,', '', NULL::text, ' sp ') TO STDOUT (FORMAT csv)
COPY (SELECT 'a"b', 'c\d') TO STDOUT (FORMAT csv, ESCAPE '\')
COPY (SELECT '\.') TO STDOUT (FORMAT csv)
COPY (SELECT '\.', 1) TO STDOUT (FORMAT csv)
COPY (SELECT 'ünïcödé', 'naïve') TO STDOUT
COPY (SELECT 1::int4, 'x'::text, NULL::int8, 2.5::float8, true, 1.50::numeric, -7::int2) TO STDOUT (FORMAT binary)
COPY (SELECT g FROM generate_series(1, 5) g WHERE g % 2 = 1) TO STDOUT
COPY (SELECT 1/0) TO STDOUT
CREATE TABLE cp_dml (a int, b text)
COPY (INSERT INTO cp_dml VALUES (1, 'x')) TO STDOUT
COPY (INSERT INTO cp_dml VALUES (1, 'one'), (2, NULL) RETURNING a, b, a * 2 AS twice) TO STDOUT (FORMAT csv, HEADER)
COPY (UPDATE cp_dml SET b = 'two' WHERE b IS NULL RETURNING *) TO STDOUT
COPY (DELETE FROM cp_dml WHERE a = 1 RETURNING b) TO STDOUT (FORMAT csv, FORCE_QUOTE *)
COPY (WITH w AS (SELECT 1 AS q) SELECT q, q + 1 FROM w) TO STDOUT
COPY (VALUES (1, 'v'), (2, NULL)) TO STDOUT
COPY (SELECT 1 INTO cp_never) TO STDOUT
SELECT * FROM cp_dml ORDER BY a
BEGIN READ ONLY; COPY (DELETE FROM cp_dml RETURNING a) TO STDOUT; COMMIT
DROP TABLE cp_dml
COPY (SELECT 1) TO STDOUT (FORMAT csv, FORCE_QUOTE (nosuch))
COPY cp_t TO STDOUT (FORMAT csv, FORCE_QUOTE (nosuch))
-- Options
COPY cp_t TO STDOUT (FORMAT xml)
COPY cp_t TO STDOUT (FORMAT csv, FORMAT csv)
COPY cp_t TO STDOUT (foo 1)
COPY cp_t TO STDOUT (FORMAT)
COPY cp_t TO STDOUT (FORMAT 1)
COPY cp_t TO STDOUT (DELIMITER 'ab')
COPY cp_t TO STDOUT (DELIMITER 1)
COPY cp_t TO STDOUT (DELIMITER '\')
COPY cp_t TO STDOUT (DELIMITER 'a')
COPY cp_t TO STDOUT (DELIMITER E'\n')
COPY cp_t TO STDOUT (NULL E'\r')
COPY cp_t TO STDOUT (FORMAT binary, DELIMITER ',')
COPY cp_t TO STDOUT (FORMAT binary, NULL 'x')
COPY cp_t TO STDOUT (FORMAT binary, HEADER)
COPY cp_t TO STDOUT (QUOTE '"')
COPY cp_t TO STDOUT (FORMAT csv, QUOTE 'ab')
COPY cp_t TO STDOUT (FORMAT csv, QUOTE ',')
COPY cp_t TO STDOUT (ESCAPE '"')
COPY cp_t TO STDOUT (FORMAT csv, ESCAPE '')
COPY cp_t TO STDOUT (FORCE_QUOTE (a))
COPY cp_t TO STDOUT (FORMAT csv, FORCE_QUOTE 'a')
COPY cp_t TO STDOUT (FORMAT csv, FORCE_NOT_NULL (a))
COPY cp_t TO STDOUT (FORCE_NOT_NULL (a))
COPY cp_t TO STDOUT (FORMAT csv, FORCE_NULL (a))
COPY cp_t TO STDOUT (DELIMITER ',', NULL 'a,b')
COPY cp_t TO STDOUT (FORMAT csv, NULL 'a"b')
COPY cp_t TO STDOUT (HEADER match)
COPY cp_t TO STDOUT (HEADER 'foo')
COPY cp_t TO STDOUT (HEADER 2)
COPY cp_t TO STDOUT (HEADER 0)
COPY cp_t TO STDOUT (FREEZE 'maybe')
COPY cp_t TO STDOUT (ENCODING 'foo')
COPY cp_t TO STDOUT (ENCODING 'LATIN1')
COPY cp_t TO STDOUT (oids)
COPY cp_t (a, a) TO STDOUT
COPY cp_t (x) TO STDOUT
COPY cp_nosuch TO STDOUT
COPY cp_nosuch FROM STDIN
COPY pg_stat_activity TO STDOUT
COPY cp_t TO 'relative/path'
COPY cp_t FROM '/nonexistent/ferrogres/file'
COPY cp_t TO STDOUT WHERE a > 1
COPY (SELECT 1) FROM STDIN
CREATE SEQUENCE cp_seq
COPY cp_seq TO STDOUT
-- Text input: errors carry the line and column
COPY cp_t FROM PROGRAM 'printf ''3\tx\tabcd\t1\tt\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\ty\t1\tt\textra\n'''
COPY cp_t FROM PROGRAM 'printf ''q\tx\ty\t1\tt\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\ty\t12345.678\tt\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\ty\t1\tmaybe\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\ty\t1\tt\r\n4\tx\ty\t1\tt\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\ty\t1\tt\n4\tx\ty\t1\tt\r\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\ty\t1\tt\r4\tx\ty\t1\tt\n'''
COPY cp_t FROM PROGRAM 'printf ''3\t\\xff\ty\t1\tt\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\ty\t1\tt\n\\.x\n'''
COPY cp_t FROM PROGRAM 'printf ''3\tx\ty\t1\tt\r\n\\.\n'''
COPY cp_t FROM PROGRAM 'exit 3'
COPY cp_t TO PROGRAM 'cat > /dev/null; exit 2'
COPY cp_t FROM PROGRAM 'printf ''1\t2\t3\t4\t5\n''' (FORMAT binary)
SELECT count(*) FROM cp_t
-- Text input: escapes, the end marker, CR line ends, defaults and WHERE
COPY cp_t FROM PROGRAM 'printf ''10\ttab\\there\\\\\\101\\x42\t\\N\t\\N\t\\N\n11\t\\.x\\n\t\t\tt\n'''
COPY cp_t FROM PROGRAM 'printf ''10\ttab\\there\\\\\\101\\x42\t\\N\t\\N\t\\N\n11\t\\\\.x\\n\t\t\tt\n'''
COPY cp_t FROM PROGRAM 'printf ''12\tend\n13\tgone\n\\.\n14\tafter\n''' WITH (FORMAT text) 
COPY cp_t (a, b) FROM PROGRAM 'printf ''12\tend\n13\tkept\n\\.\n14\tafter\n'''
COPY cp_t (b, a) FROM PROGRAM 'printf ''cr\t15\rcr2\t16\r'''
COPY cp_t (b, a) FROM PROGRAM 'printf ''crlf\t17\r\ncrlf2\t18\r\n\\.\r\n'''
COPY cp_t (a, b) FROM PROGRAM 'printf ''19\tlast line without newline'''
COPY cp_t (a) FROM PROGRAM 'printf ''20\n21\n22\n''' WHERE a % 2 = 0
COPY cp_t (a, d) FROM PROGRAM 'printf ''23|7.777\n''' (DELIMITER '|')
COPY cp_t (a, b) FROM PROGRAM 'printf ''24\tNULL\n25\t\\\\N\n''' (NULL 'NULL')
COPY cp_t (a, b) FROM PROGRAM 'printf ''a\tb\n26\theader skipped\n''' (HEADER)
SELECT * FROM cp_t WHERE a >= 10 ORDER BY a
-- CSV input
COPY cp_t FROM PROGRAM 'printf ''30,"quoted, comma",ab,,\n31,"multi\nline","",7.25,true\n32,"say ""hi""",,0,false\n''' (FORMAT csv)
COPY cp_t (a, b, c) FROM PROGRAM 'printf ''a,b,c\n33,x,y\n''' (FORMAT csv, HEADER MATCH)
COPY cp_t (a, b, c) FROM PROGRAM 'printf ''a,c,b\n34,x,y\n''' (FORMAT csv, HEADER MATCH)
COPY cp_t (a, b, c) FROM PROGRAM 'printf ''a,b\n35,x,y\n''' (FORMAT csv, HEADER MATCH)
COPY cp_t (a, b, c) FROM PROGRAM 'printf ''a,,c\n35,x,y\n''' (FORMAT csv, HEADER MATCH)
COPY cp_t (a, b, c) FROM PROGRAM 'printf ''36,,\n37,"",""\n''' (FORMAT csv, FORCE_NOT_NULL (b))
COPY cp_t (a, b, c) FROM PROGRAM 'printf ''38,"",x\n39,,x\n''' (FORMAT csv, FORCE_NULL (b))
COPY cp_t (a, b) FROM PROGRAM 'printf ''40,a\\b\n41,"q\\"x"\n''' (FORMAT csv, ESCAPE '\')
COPY cp_t (a, b) FROM PROGRAM 'printf ''42;NA\n43;x\n''' (FORMAT csv, DELIMITER ';', NULL 'NA')
COPY cp_t (a, b) FROM PROGRAM 'printf ''44,"unterminated\n''' (FORMAT csv)
COPY cp_t (a, b) FROM PROGRAM 'printf ''45,x\r\n46,y\n''' (FORMAT csv)
COPY cp_t (a, b) FROM PROGRAM 'printf ''47,x\n\\.\n48,y\n''' (FORMAT csv)
COPY cp_t (a, b) FROM PROGRAM 'printf ''49,"\\."\n''' (FORMAT csv)
COPY cp_t (a, b) FROM PROGRAM 'printf ''50,x\n''' (FORMAT csv, FORCE_NOT_NULL (c))
COPY cp_t (a, b) FROM PROGRAM 'printf ''50,x\n''' (FORMAT csv, FORCE_NULL (nosuch))
COPY cp_t (a, b) FROM PROGRAM 'printf ''50,x\n''' (FORMAT csv, FORCE_QUOTE (a))
SELECT a, b, c, d, e, b IS NULL AS b_null FROM cp_t WHERE a >= 30 ORDER BY a
-- WHERE may not hold subqueries, aggregates, windows or sets
COPY cp_t FROM STDIN WHERE a IN (SELECT 1)
COPY cp_t FROM STDIN WHERE count(*) > 1
COPY cp_t FROM STDIN WHERE row_number() OVER () > 1
COPY cp_t FROM STDIN WHERE generate_series(1, 2) > 1
COPY cp_t FROM STDIN WHERE nosuch > 1
COPY cp_t FROM STDIN WHERE a
-- Constraints, sequences and identity columns
CREATE TABLE cp_c (x int NOT NULL, y int CHECK (y > 0), z text)
COPY cp_c FROM PROGRAM 'printf ''1\t1\tok\n\\N\t2\tbad\n'''
COPY cp_c FROM PROGRAM 'printf ''1\t1\tok\n2\t-2\tbad\n'''
COPY cp_c (y, z) FROM PROGRAM 'printf ''1\tno x\n'''
SELECT count(*) FROM cp_c
CREATE TABLE cp_s (id serial, v text, w int GENERATED ALWAYS AS IDENTITY)
COPY cp_s (v) FROM PROGRAM 'printf ''one\ntwo\nthree\n'''
COPY cp_s (id, v, w) FROM PROGRAM 'printf ''100\tgiven\t100\n'''
SELECT * FROM cp_s ORDER BY id
COPY cp_seq FROM PROGRAM 'printf ''1\n'''
-- Binary input
CREATE TABLE cp_b (i int, t text, n bigint)
COPY cp_b FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\003\000\000\000\004\000\000\000\052\000\000\000\002hi\377\377\377\377\377\377''' (FORMAT binary)
COPY cp_b FROM PROGRAM 'printf ''PGCOPX\n\377\r\n\000''' (FORMAT binary)
COPY cp_b FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\002\000\000\000\004\000\000\000\052\377\377''' (FORMAT binary)
COPY cp_b FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\003\000\000\000\002\000\052''' (FORMAT binary)
COPY cp_b FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\001\000\000\000\000\000''' (FORMAT binary)
SELECT * FROM cp_b
COPY cp_b TO STDOUT (FORMAT binary)
-- FREEZE: only for a table this (sub)transaction created or truncated
CREATE TABLE cp_f (a int)
COPY cp_f FROM PROGRAM 'printf ''1\n''' (FREEZE)
BEGIN; TRUNCATE cp_f; COPY cp_f FROM PROGRAM 'printf ''1\n2\n''' (FREEZE); COMMIT
BEGIN; CREATE TABLE cp_f2 (a int); SAVEPOINT s; COPY cp_f2 FROM PROGRAM 'printf ''1\n''' (FREEZE); COMMIT
BEGIN; CREATE TABLE cp_f3 (a int); COPY cp_f3 FROM PROGRAM 'printf ''7\n''' (FREEZE); COMMIT
SELECT * FROM cp_f ORDER BY a
SELECT * FROM cp_f3
COPY cp_t TO STDOUT (FREEZE)
BEGIN READ ONLY; COPY cp_f FROM PROGRAM 'printf ''1\n'''; COMMIT
DROP TABLE cp_t, cp_c, cp_s, cp_b, cp_f, cp_f3
DROP SEQUENCE cp_seq
-- Progress: no COPY runs while this statement does
SELECT * FROM pg_stat_progress_copy
