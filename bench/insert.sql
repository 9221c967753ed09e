\set id random(1, 1000000)
INSERT INTO bench_t VALUES (:id, 'row ' || :id, now());
