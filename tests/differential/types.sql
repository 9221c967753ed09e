-- format_type, to_regtype and pg_typeof, as psql's \d and drivers use them.
SELECT format_type(23, NULL), format_type(1043, 14), format_type(1043, -1), format_type(1042, NULL), format_type(1042, -1), format_type(1042, 9);
SELECT format_type(1700, 655366), format_type(1700, -1), format_type(1700, NULL), format_type(1114, 3), format_type(1184, 0), format_type(1184, NULL);
SELECT format_type(16, NULL), format_type(20, NULL), format_type(700, NULL), format_type(701, NULL), format_type(17, NULL), format_type(2950, NULL), format_type(25, NULL);
SELECT format_type(0, NULL), format_type(NULL, 4), format_type(999999, NULL) IS NULL;
SELECT to_regtype('integer'), to_regtype('int4'), to_regtype('pg_catalog.text'), to_regtype('character varying'), to_regtype('nosuchtype') IS NULL;
SELECT to_regtype('uuid')::oid, to_regtype('bytea')::oid, to_regtype('timestamp with time zone')::oid;
SELECT pg_typeof(1), pg_typeof(1.5), pg_typeof('a'::text), pg_typeof(now()), pg_typeof(NULL::uuid), pg_typeof('\x00'::bytea);
