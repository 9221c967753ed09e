-- psql's describe commands (issue 7's catalogs: regclass, COLLATE, pg_collation, pg_am, pg_class and pg_attribute columns).
CREATE TABLE psqld_t (a int, b text, c numeric(10,2) NOT NULL, d varchar(20), e timestamptz, f jsonb, g int[], h bytea, i uuid, j boolean);
CREATE TABLE "psqld Mixed" (x int NOT NULL, y text[]);
\dt psqld*
\dt "psqld Mixed"
\d psqld_t
\d "psqld Mixed"
\d+ psqld_t
\d nosuch_psqld
\dt nosuch_psqld
\dT text
\dT+ uuid
\df int4pl
\df generate_series
\df jsonb_set
\df+ concat
\df json_each
\dC regclass
\db
\du
\dD
\di
\dv
\ds
SELECT c.relname, c.relkind, c.relam, c.relpersistence, c.relhasindex, c.relchecks, c.relispartition, c.relreplident, c.relispopulated, c.relnatts FROM pg_class c WHERE c.relname LIKE 'psqld%' ORDER BY 1;
SELECT a.attname, a.atttypid::regtype, a.attlen, a.attnum, a.attndims, a.atttypmod, a.attbyval, a.attalign, a.attstorage, a.attnotnull, a.attcollation, a.attidentity = '', a.attgenerated = '', a.attislocal FROM pg_attribute a WHERE a.attrelid = 'psqld_t'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT amname, amtype FROM pg_am WHERE oid = 2;
SELECT spcname, pg_tablespace_location(oid), pg_get_userbyid(spcowner) FROM pg_tablespace ORDER BY 1;
SELECT datname, datcollate, datctype, datlocprovider, datistemplate, datallowconn, datconnlimit, array_to_string(datacl, ',') FROM pg_database WHERE datname IN ('postgres', 'template1', 'template0') ORDER BY 1;
SELECT count(*) FROM pg_inherits;
SELECT count(*) FROM pg_policy;
SELECT count(*) FROM pg_partitioned_table;
select o.n, p.partstrat, pg_catalog.count(i.inhparent) from pg_catalog.pg_class as c join pg_catalog.pg_namespace as n on (n.oid = c.relnamespace) cross join lateral (select pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname)) as o(n) left join pg_catalog.pg_partitioned_table as p on (p.partrelid = c.oid) left join pg_catalog.pg_inherits as i on (c.oid = i.inhparent) where c.relname = 'pg_class' and o.n is not null group by 1, 2 order by 1 asc limit 1;
SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolconnlimit, rolpassword, rolvaliduntil, rolbypassrls, rolconfig, oid FROM pg_roles WHERE rolname = 'postgres';
SELECT pg_relation_is_publishable('psqld_t'), pg_relation_is_publishable('pg_class');
ALTER TABLE psqld_t SET (autovacuum_enabled = off, fillfactor = 70);
SELECT reloptions, array_length(reloptions, 1), reloptions[1] FROM pg_class WHERE relname = 'psqld_t';
\d+ psqld_t
ALTER TABLE psqld_t RESET (fillfactor);
SELECT reloptions FROM pg_class WHERE relname = 'psqld_t';
\do #>>
\do+ #-
\dT+ jsonb
\df+ concat
SELECT n.nspname, c.relname, c.relacl, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'psqld_t';
DROP TABLE psqld_t, "psqld Mixed";
SELECT current_schemas(true), current_schemas(false), pg_typeof(current_schemas(true));
SET search_path = public, pg_catalog, nosuch;
SELECT current_schemas(true), current_schemas(false);
RESET search_path;
