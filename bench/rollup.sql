SELECT count(*) FROM (SELECT p, i % 7 AS q, sum(i), count(*) FROM bench_window GROUP BY ROLLUP (p, i % 7)) s;
