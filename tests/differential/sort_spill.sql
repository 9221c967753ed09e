-- ORDER BY past work_mem (external merge through temporary files): the same rows in the same order as PostgreSQL 15
SET work_mem = '64kB'; SELECT g, md5(g::text) FROM generate_series(1, 30000) g ORDER BY 2 LIMIT 5 OFFSET 15000;
SET work_mem = '64kB'; SELECT g % 97 AS k, g FROM generate_series(1, 30000) g ORDER BY 1 DESC, 2 LIMIT 5 OFFSET 20000;
SET work_mem = '64kB'; SELECT count(*), sum(x) FROM (SELECT g AS x FROM generate_series(1, 30000) g ORDER BY md5(g::text) LIMIT 29000) s;
SET work_mem = '64kB'; SELECT nullif(g % 10, 0) AS k, g FROM generate_series(1, 20000) g ORDER BY 1 NULLS FIRST, 2 DESC LIMIT 4 OFFSET 1998;
SET work_mem = '64kB'; SELECT DISTINCT ON (g % 100) g % 100, g FROM generate_series(1, 30000) g ORDER BY g % 100, g DESC LIMIT 5;
SET work_mem = '64kB'; SELECT ARRAY[g % 7, g], g / 7.0, (g % 13) * interval '1 day', date '2000-01-01' + g FROM generate_series(1, 20000) g ORDER BY 1 DESC LIMIT 3 OFFSET 100;
SET work_mem = '64kB'; SELECT jsonb_build_object('a', g % 50, 'b', g), ROW(g % 3, g::text) FROM generate_series(1, 20000) g ORDER BY 1 LIMIT 3 OFFSET 7000;
SET work_mem = '64kB'; SELECT g::float8 / 3, (g % 2 = 0), g::text || 'x' FROM generate_series(1, 20000) g ORDER BY 3 DESC LIMIT 3;
SET work_mem = '64kB'; SELECT string_agg(x::text, ',') FROM (SELECT g AS x FROM generate_series(1, 40) g CROSS JOIN generate_series(1, 500) h ORDER BY md5((g * 1000 + h)::text) LIMIT 12) s;
SET work_mem = '64kB'; SELECT g FROM generate_series(1, 20000) g ORDER BY g % 1000, g DESC FETCH FIRST 3 ROWS WITH TIES;
SET work_mem = '64kB'; SELECT a, b FROM (VALUES (1, 'x'), (2, 'y')) v(a, b) ORDER BY b DESC;
SET work_mem = '64kB'; SELECT g % 1000 AS p, g, row_number() OVER (PARTITION BY g % 1000 ORDER BY md5(g::text)) FROM generate_series(1, 30000) g ORDER BY 1, 3 LIMIT 4 OFFSET 12345;
SET work_mem = '64kB'; SELECT sum(n) FROM (SELECT rank() OVER (PARTITION BY g % 7 ORDER BY g / 10) AS n FROM generate_series(1, 30000) g) s;
SET work_mem = '64kB'; SELECT g, sum(g) OVER (ORDER BY g DESC ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), lag(g) OVER w FROM generate_series(1, 20000) g WINDOW w AS (ORDER BY md5(g::text)) ORDER BY g LIMIT 3 OFFSET 500;
