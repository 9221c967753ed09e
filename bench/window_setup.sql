-- Data for the read-only query cases (window.sql, rollup.sql): 1M rows in 1000 groups.
DROP TABLE IF EXISTS bench_window;
CREATE TABLE bench_window AS SELECT i, i % 1000 AS p FROM generate_series(1, 1000000) i;
