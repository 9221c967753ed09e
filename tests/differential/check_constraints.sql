-- CHECK constraints: CREATE TABLE's column and table constraints, ALTER
-- TABLE ADD / DROP / VALIDATE CONSTRAINT, enforcement on INSERT and UPDATE.
CREATE TABLE chk_products (product_no integer, name text, price integer CHECK (price > 0), discounted_price integer CHECK (discounted_price > 0), CHECK (price > discounted_price))
SELECT conname, contype, convalidated, conkey FROM pg_constraint WHERE conrelid = 'chk_products'::regclass ORDER BY conname
SELECT relchecks FROM pg_class WHERE relname = 'chk_products'
SELECT conname, pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conrelid = 'chk_products'::regclass ORDER BY conname
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'chk_products_price_check'
INSERT INTO chk_products VALUES (1, 'a', 10, 5)
INSERT INTO chk_products VALUES (2, 'b', -1, 5)
INSERT INTO chk_products VALUES (3, 'c', 10, 20)
INSERT INTO chk_products VALUES (4, 'd', NULL, 5)
INSERT INTO chk_products VALUES (5, 'e', 10, -3)
UPDATE chk_products SET price = 1 WHERE product_no = 1
UPDATE chk_products SET price = 0 WHERE product_no = 4
UPDATE chk_products SET price = 100 WHERE product_no = 1 RETURNING *
SELECT * FROM chk_products ORDER BY product_no
INSERT INTO chk_products SELECT 6, 'f', -5, 1
ALTER TABLE chk_products DROP CONSTRAINT chk_products_price_check
INSERT INTO chk_products VALUES (7, 'g', -10, -20)
ALTER TABLE chk_products DROP CONSTRAINT chk_products_price_check
ALTER TABLE chk_products DROP CONSTRAINT IF EXISTS chk_products_price_check
ALTER TABLE chk_products ADD CONSTRAINT positive_price CHECK (price > 0)
ALTER TABLE chk_products ADD CONSTRAINT positive_price CHECK (price > 0) NOT VALID
SELECT conname, convalidated, pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conrelid = 'chk_products'::regclass ORDER BY conname
INSERT INTO chk_products VALUES (8, 'h', -1, -2)
ALTER TABLE chk_products VALIDATE CONSTRAINT positive_price
DELETE FROM chk_products WHERE price < 0
ALTER TABLE chk_products VALIDATE CONSTRAINT positive_price
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'chk_products'::regclass ORDER BY conname
ALTER TABLE chk_products VALIDATE CONSTRAINT no_such
ALTER TABLE chk_products ADD CONSTRAINT positive_price CHECK (price > 1)
ALTER TABLE chk_products ADD CHECK (name <> 'zzz')
ALTER TABLE chk_products ADD CHECK (product_no > 0 AND price > 0)
ALTER TABLE chk_products ADD CHECK (product_no < 1000)
SELECT conname FROM pg_constraint WHERE conrelid = 'chk_products'::regclass ORDER BY conname
SELECT relchecks FROM pg_class WHERE relname = 'chk_products'
ALTER TABLE chk_products ADD CHECK (product_no > 1000)
ALTER TABLE chk_products ADD CHECK (price)
ALTER TABLE chk_products ADD CHECK (no_col > 0)
ALTER TABLE chk_products ADD CHECK (price > (SELECT 1))
ALTER TABLE chk_products ADD CHECK (sum(price) > 0)
ALTER TABLE chk_products ADD CHECK (generate_series(1, 2) > 0)
ALTER TABLE chk_products ADD CHECK (row_number() OVER () > 0)
ALTER TABLE chk_products ADD CHECK (other.price > 0)
ALTER TABLE no_such_table ADD CHECK (a > 0)
ALTER TABLE IF EXISTS no_such_table ADD CHECK (a > 0)
DROP TABLE chk_products
CREATE TABLE chk_named (a int CONSTRAINT a_pos CHECK (a > 0), b int, CONSTRAINT b_small CHECK (b < 10), CONSTRAINT a_pos CHECK (a < 100))
CREATE TABLE chk_named (a int CONSTRAINT a_pos CHECK (a > 0), b int, CONSTRAINT b_small CHECK (b < 10))
INSERT INTO chk_named VALUES (0, 1)
INSERT INTO chk_named VALUES (1, 10)
INSERT INTO chk_named VALUES (1, 9), (2, NULL), (NULL, NULL)
SELECT * FROM chk_named ORDER BY a
\d chk_named
CREATE TABLE chk_named2 (a int CHECK (a > 0), b int CHECK (b > 0), CHECK (a > 0), CHECK (a + b > 0))
SELECT conname FROM pg_constraint WHERE conrelid = 'chk_named2'::regclass ORDER BY conname
INSERT INTO chk_named2 VALUES (1, -1)
DROP TABLE chk_named, chk_named2
SELECT count(*) FROM pg_constraint WHERE conname LIKE 'chk_named%' OR conname IN ('a_pos', 'b_small')
CREATE TABLE chk_bad (a int CHECK (a))
CREATE TABLE chk_bad (a int CHECK (b > 0))
CREATE TABLE chk_bad (a int CHECK (a > (SELECT 1)))
CREATE TABLE chk_bad (a int CHECK (avg(a) > 0))
SELECT count(*) FROM pg_class WHERE relname = 'chk_bad'
CREATE TABLE chk_txn (a int)
BEGIN; ALTER TABLE chk_txn ADD CONSTRAINT a_pos CHECK (a > 0); ROLLBACK
INSERT INTO chk_txn VALUES (-1) RETURNING a
ALTER TABLE chk_txn ADD CONSTRAINT a_pos CHECK (a > 0)
TRUNCATE chk_txn
ALTER TABLE chk_txn ADD CONSTRAINT a_pos CHECK (a > 0), ADD CONSTRAINT a_small CHECK (a < 10)
INSERT INTO chk_txn VALUES (10)
ALTER TABLE chk_txn DROP CONSTRAINT a_pos, DROP CONSTRAINT a_small
INSERT INTO chk_txn VALUES (10) RETURNING a
DROP TABLE chk_txn
CREATE TABLE chk_upd (id int, lo int, hi int, CHECK (lo <= hi))
INSERT INTO chk_upd VALUES (1, 1, 5), (2, 3, 4)
CREATE TABLE chk_src (id int, v int)
INSERT INTO chk_src VALUES (1, 10), (2, 2)
UPDATE chk_upd SET lo = chk_src.v FROM chk_src WHERE chk_upd.id = chk_src.id
UPDATE chk_upd SET lo = chk_src.v FROM chk_src WHERE chk_upd.id = chk_src.id AND chk_src.v < 3 RETURNING chk_upd.*
DROP TABLE chk_upd, chk_src
CREATE SEQUENCE chk_seq
ALTER TABLE chk_seq ADD CHECK (last_value > 0)
DROP SEQUENCE chk_seq
