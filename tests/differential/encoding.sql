-- Client encodings and identifier truncation (src/utils/mb.rs). psql's
-- client encoding comes from the locale (UTF8) unless a line sets it.
SHOW client_encoding;
SELECT pg_client_encoding(), getdatabaseencoding();
SELECT pg_encoding_to_char(0), pg_encoding_to_char(6), pg_encoding_to_char(8), pg_encoding_to_char(24), pg_encoding_to_char(41), pg_encoding_to_char(42), pg_encoding_to_char(-1);
SELECT pg_char_to_encoding('latin-1'), pg_char_to_encoding('ISO_8859_5'), pg_char_to_encoding('unicode'), pg_char_to_encoding('win'), pg_char_to_encoding('nope'), pg_char_to_encoding('');
SELECT pg_typeof(pg_client_encoding()), pg_typeof(pg_char_to_encoding('utf8'));
SET client_encoding = 'xyz';
SET client_encoding = 'MULE_INTERNAL';
SET client_encoding = '';
SET client_encoding = 'iso_8859_1'; SHOW client_encoding;
SET client_encoding = 'Windows-1252'; SELECT pg_client_encoding();
SET client_encoding = 'koi8'; SHOW client_encoding;
SET client_encoding = 'LATIN1'; SELECT chr(8364);
SET client_encoding = 'LATIN1'; SELECT ('x' || chr(8364))::int;
SET client_encoding = 'LATIN1'; SELECT 1 AS U&"\20AC";
SET client_encoding = 'LATIN9'; SELECT octet_length(chr(8364)), ascii(chr(8364));
SET client_encoding = 'SQL_ASCII'; SELECT octet_length('é');
BEGIN; SET LOCAL client_encoding = 'LATIN2'; SHOW client_encoding; COMMIT; SHOW client_encoding;
SELECT 1 AS abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij;
SELECT 1 AS "ééééééééééééééééééééééééééééééééééé";
CREATE TABLE abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij (x int); DROP TABLE abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc;
SELECT repeat('x', 2000000000);
SELECT length(rpad('ab', 1000000, 'xyz')), right(rpad('ab', 1000000, 'xyz'), 5);
SELECT lpad('x', 268435455, ' ');
SELECT rpad('x', 268435455, 'y');
