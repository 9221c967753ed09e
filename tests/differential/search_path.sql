-- search_path decides where unqualified names are found and created.
CREATE TABLE sp_t (a int); INSERT INTO sp_t VALUES (1);
SET search_path = ''; SELECT * FROM sp_t;
SET search_path = ''; SELECT * FROM public.sp_t;
SET search_path = ''; CREATE TABLE sp_u (a int);
SET search_path = nosuch, public; SELECT a FROM sp_t;
SET search_path = nosuch; CREATE TABLE sp_u (a int);
SET search_path = nosuch; SELECT a FROM sp_t;
SET search_path = "$user", public; SELECT current_schema(), a FROM sp_t;
SET search_path = ''; SELECT count(*) > 0 FROM pg_class;
SET search_path = ''; SELECT current_schema();
SET search_path = pg_catalog; SELECT a FROM sp_t;
SET search_path = pg_catalog, public; SELECT a FROM sp_t;
SET search_path = ''; DROP TABLE sp_t;
SET search_path = ''; DROP TABLE IF EXISTS sp_t;
DROP TABLE sp_t;
