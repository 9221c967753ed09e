SELECT count(*), max(rn) FROM (SELECT row_number() OVER (PARTITION BY p ORDER BY i) AS rn FROM bench_window) s;
