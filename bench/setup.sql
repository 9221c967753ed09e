DROP TABLE IF EXISTS bench_t;
DROP TABLE IF EXISTS bench_small;
CREATE TABLE bench_t (id int, label text, at timestamptz);
CREATE TABLE bench_small (id int, v int);
INSERT INTO bench_small SELECT g, g * 2 FROM generate_series(1, 100) g;
