-- DROP TYPE / DROP DOMAIN name resolution and refusals (src/sql/typecmds.rs).
DROP TYPE int4
DROP TYPE integer
DROP TYPE pg_catalog.int4
DROP TYPE text CASCADE
DROP TYPE text RESTRICT
DROP TYPE double precision
DROP TYPE varchar(10)
DROP TYPE IF EXISTS timestamptz
DROP TYPE nosuch
DROP TYPE "integer"
DROP TYPE IF EXISTS nosuch
DROP TYPE IF EXISTS nosuch, int4
DROP TYPE bool, nosuch
DROP TYPE IF EXISTS nosuch, othermissing
DROP TYPE pg_catalog.nosuch
DROP TYPE IF EXISTS pg_catalog.nosuch
DROP TYPE public.nosuch
DROP TYPE nosch.nosuch
DROP TYPE IF EXISTS nosch.nosuch
DROP TYPE a.b.c.d
DROP DOMAIN int4
DROP DOMAIN integer
DROP DOMAIN varchar(3)
DROP DOMAIN IF EXISTS int4
DROP DOMAIN nosuch
DROP DOMAIN IF EXISTS nosuch
DROP DOMAIN IF EXISTS nosch.x
DROP DOMAIN nosch.x
CREATE TABLE droptype_t1 (a int)
DROP TYPE droptype_t1
DROP TYPE IF EXISTS droptype_t1 CASCADE
DROP TYPE public.droptype_t1
DROP DOMAIN droptype_t1
DROP TABLE droptype_t1
DROP TYPE droptype_t1
