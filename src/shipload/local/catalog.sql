-- Redshift's catalog views and functions, for the local endpoint. Installed after compat.sql, as
-- superuser, into template1 (every database made later has them). They live in pg_catalog, as on
-- Redshift, so clients find them whatever their search_path, schema-qualified (pg_catalog.svv_tables)
-- or by name in a string (has_table_privilege('svv_table_info', 'SELECT')). Column names and types
-- follow the AWS reference page named above each object.
SET allow_system_table_mods = on;

-- relations of the local database: tables, views, materialized views (the endpoint's own schema hidden)
CREATE OR REPLACE VIEW rs_compat.local_relations AS
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.relacl, pg_get_userbyid(c.relowner) AS owner,
         d.description AS remarks
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'rs_compat' AND n.nspname !~ '^pg_(toast|temp)';
GRANT SELECT ON rs_compat.local_relations TO PUBLIC;

CREATE OR REPLACE VIEW rs_compat.local_columns AS
  SELECT r.oid AS relid, r.nspname, r.relname, r.relkind, a.attname, a.attnum::integer AS attnum,
         format_type(a.atttypid, NULL) AS base_type, format_type(a.atttypid, a.atttypmod) AS full_type,
         a.atttypid, a.atttypmod, a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid) AS column_default,
         d.description AS remarks
  FROM rs_compat.local_relations r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  LEFT JOIN pg_description d ON d.objoid = r.oid AND d.objsubid = a.attnum AND d.classoid = 'pg_class'::regclass;
GRANT SELECT ON rs_compat.local_columns TO PUBLIC;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_REDSHIFT_SCHEMAS.html
CREATE OR REPLACE VIEW pg_catalog.svv_redshift_schemas AS
  SELECT current_database()::varchar(128) AS database_name, n.nspname::varchar(128) AS schema_name,
         n.nspowner::integer AS schema_owner, 'local'::varchar(16) AS schema_type,
         array_to_string(n.nspacl, ',')::varchar(128) AS schema_acl, NULL::varchar(128) AS schema_option
  FROM pg_namespace n WHERE n.nspname <> 'rs_compat' AND n.nspname !~ '^pg_(toast|temp)';

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_ALL_SCHEMAS.html
CREATE OR REPLACE VIEW pg_catalog.svv_all_schemas AS
  SELECT database_name, schema_name, schema_owner, schema_type::varchar(128) AS schema_type, schema_acl,
         NULL::varchar(128) AS source_database, schema_option::varchar(256) AS schema_option
  FROM pg_catalog.svv_redshift_schemas;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_EXTERNAL_SCHEMAS.html (no external schemas here)
CREATE OR REPLACE VIEW pg_catalog.svv_external_schemas AS
  SELECT NULL::oid AS esoid, NULL::smallint AS eskind, NULL::name AS schemaname, NULL::integer AS esowner,
         NULL::text AS databasename, NULL::text AS esoptions WHERE false;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_EXTERNAL_TABLES.html
CREATE OR REPLACE VIEW pg_catalog.svv_external_tables AS
  SELECT NULL::text AS redshift_database_name, NULL::text AS schemaname, NULL::text AS tablename,
         NULL::text AS location, NULL::text AS input_format, NULL::text AS output_format,
         NULL::text AS serialization_lib, NULL::text AS serde_parameters, NULL::integer AS compressed,
         NULL::text AS parameters, NULL::text AS tabletype WHERE false;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_EXTERNAL_COLUMNS.html
CREATE OR REPLACE VIEW pg_catalog.svv_external_columns AS
  SELECT NULL::text AS redshift_database_name, NULL::text AS schemaname, NULL::text AS tablename,
         NULL::text AS columnname, NULL::text AS external_type, NULL::integer AS columnnum,
         NULL::integer AS part_key, NULL::text AS is_nullable WHERE false;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLES.html
CREATE OR REPLACE VIEW pg_catalog.svv_tables AS
  SELECT current_database()::text AS table_catalog, nspname::text AS table_schema, relname::text AS table_name,
         (CASE WHEN relkind IN ('v', 'm') THEN 'VIEW' ELSE 'BASE TABLE' END)::text AS table_type, remarks::text
  FROM rs_compat.local_relations;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_REDSHIFT_TABLES.html
CREATE OR REPLACE VIEW pg_catalog.svv_redshift_tables AS
  SELECT current_database()::varchar(128) AS database_name, nspname::varchar(128) AS schema_name,
         relname::varchar(128) AS table_name,
         (CASE WHEN relkind IN ('v', 'm') THEN 'VIEW' ELSE 'TABLE' END)::varchar(128) AS table_type,
         array_to_string(relacl, ',')::varchar(128) AS table_acl, remarks::varchar(128) AS remarks,
         owner::varchar(128) AS table_owner
  FROM rs_compat.local_relations;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_ALL_TABLES.html
CREATE OR REPLACE VIEW pg_catalog.svv_all_tables AS
  SELECT database_name, schema_name, table_name, table_type, table_acl, remarks::varchar(256) AS remarks
  FROM pg_catalog.svv_redshift_tables;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_COLUMNS.html
CREATE OR REPLACE VIEW pg_catalog.svv_columns AS
  SELECT current_database()::text AS table_catalog, nspname::text AS table_schema, relname::text AS table_name,
         attname::text AS column_name, attnum AS ordinal_position, column_default::varchar(4000) AS column_default,
         (CASE WHEN attnotnull THEN 'NO' ELSE 'YES' END)::varchar(3) AS is_nullable, base_type::text AS data_type,
         (CASE WHEN atttypid IN (1043, 1042) AND atttypmod > 0 THEN atttypmod - 4 END)::integer
           AS character_maximum_length,
         (CASE WHEN atttypid = 1700 AND atttypmod > 0 THEN (atttypmod - 4) >> 16
               WHEN atttypid = 21 THEN 16 WHEN atttypid = 23 THEN 32 WHEN atttypid = 20 THEN 64
               WHEN atttypid = 700 THEN 24 WHEN atttypid = 701 THEN 53 END)::integer AS numeric_precision,
         (CASE WHEN atttypid = 1700 THEN 10 WHEN atttypid IN (20, 21, 23, 700, 701) THEN 2 END)::integer
           AS numeric_precision_radix,
         (CASE WHEN atttypid = 1700 AND atttypmod > 0 THEN (atttypmod - 4) & 65535
               WHEN atttypid IN (20, 21, 23) THEN 0 END)::integer AS numeric_scale,
         (CASE WHEN atttypid IN (1082, 1083, 1114, 1184, 1266) THEN 6 END)::integer AS datetime_precision,
         NULL::text AS interval_type, NULL::text AS interval_precision, NULL::text AS character_set_catalog,
         NULL::text AS character_set_schema, NULL::text AS character_set_name, NULL::text AS collation_catalog,
         NULL::text AS collation_schema, NULL::text AS collation_name, NULL::text AS domain_name, remarks::text
  FROM rs_compat.local_columns;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_REDSHIFT_COLUMNS.html
CREATE OR REPLACE VIEW pg_catalog.svv_redshift_columns AS
  SELECT current_database()::varchar(128) AS database_name, nspname::varchar(128) AS schema_name,
         relname::varchar(128) AS table_name, attname::varchar(128) AS column_name, attnum AS ordinal_position,
         full_type::varchar(128) AS data_type, column_default::varchar(4000) AS column_default,
         (CASE WHEN attnotnull THEN 'NO' ELSE 'YES' END)::varchar(3) AS is_nullable,
         'none'::varchar(128) AS encoding, false AS distkey, 0 AS sortkey, NULL::varchar(128) AS column_acl,
         remarks::varchar(256) AS remarks
  FROM rs_compat.local_columns;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_ALL_COLUMNS.html
CREATE OR REPLACE VIEW pg_catalog.svv_all_columns AS
  SELECT current_database()::varchar(128) AS database_name, table_schema::varchar(128) AS schema_name,
         table_name::varchar(128), column_name::varchar(128), ordinal_position, column_default, is_nullable,
         data_type::varchar(128), character_maximum_length, numeric_precision, numeric_scale,
         remarks::varchar(256) AS remarks
  FROM pg_catalog.svv_columns;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_PG_PROC_INFO.html: pg_proc with prooid and prokind
CREATE OR REPLACE VIEW pg_catalog.pg_proc_info AS SELECT p.*, p.oid AS prooid FROM pg_proc p;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html: user tables the caller may read,
-- with the exact row count (Redshift's tbl_rows counts rows, not a planner estimate)
CREATE OR REPLACE FUNCTION rs_compat.count_rows(rel oid) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %s', rel::regclass) INTO n;
  RETURN n;
END $$;
CREATE OR REPLACE VIEW pg_catalog.svv_table_info AS
  SELECT current_database()::text AS database, r.nspname::text AS schema, r.oid::integer AS table_id,
         r.relname::text AS "table", 'N'::char(1) AS encoded, 'AUTO(EVEN)'::text AS diststyle,
         NULL::text AS sortkey1, (SELECT max(CASE WHEN a.atttypid = 1043 THEN a.atttypmod - 4 END)
           FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped)::integer AS max_varchar,
         NULL::char(32) AS sortkey1_enc, 0 AS sortkey_num,
         (pg_total_relation_size(r.oid) / 1048576)::bigint AS size, 0::numeric(10, 4) AS pct_used,
         NULL::numeric(5, 2) AS empty, 0::numeric(5, 2) AS unsorted, 0::numeric(5, 2) AS stats_off,
         rs_compat.count_rows(r.oid)::numeric(38, 0) AS tbl_rows, NULL::numeric(19, 2) AS skew_sortkey1,
         NULL::numeric(19, 2) AS skew_rows, r.owner::text AS table_owner
  FROM rs_compat.local_relations r
  WHERE r.relkind IN ('r', 'p') AND r.nspname NOT IN ('pg_catalog', 'information_schema')
    AND has_table_privilege(r.oid, 'SELECT');

-- late-binding views (CREATE VIEW ... WITH NO SCHEMA BINDING): Postgres binds every view, so the
-- endpoint records which views were created late-binding; the proxy creates them through
-- rs_compat.create_late_binding_view, and rs_compat.alter_varchar recreates them around a widening
CREATE TABLE IF NOT EXISTS rs_compat.late_binding_views (view_oid oid PRIMARY KEY);
GRANT SELECT, INSERT, DELETE ON rs_compat.late_binding_views TO PUBLIC;

CREATE OR REPLACE FUNCTION rs_compat.create_late_binding_view(view_name text, ddl text) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE ddl;
  INSERT INTO rs_compat.late_binding_views VALUES (view_name::regclass::oid) ON CONFLICT DO NOTHING;
END $$;

-- https://docs.aws.amazon.com/redshift/latest/dg/PG_GET_LATE_BINDING_VIEW_COLS.html: a record per column,
-- read with a column definition list: cols(view_schema name, view_name name, col_name name, col_type varchar, col_num int)
CREATE OR REPLACE FUNCTION pg_catalog.pg_get_late_binding_view_cols() RETURNS SETOF record
  LANGUAGE sql STABLE AS $$
  SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)::varchar, a.attnum::integer
  FROM rs_compat.late_binding_views l JOIN pg_class c ON c.oid = l.view_oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  ORDER BY n.nspname, c.relname, a.attnum $$;

-- late-binding views that read `target` (directly): their definitions, so a widening can recreate them
CREATE OR REPLACE FUNCTION rs_compat.late_binding_dependents(target regclass)
  RETURNS TABLE (view_oid oid, view_name text, definition text) LANGUAGE sql STABLE AS $$
  SELECT DISTINCT v.oid, v.oid::regclass::text, pg_get_viewdef(v.oid)
  FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class v ON v.oid = w.ev_class
  JOIN rs_compat.late_binding_views l ON l.view_oid = v.oid
  WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = target AND v.oid <> target $$;

DO $$ DECLARE v text; BEGIN
  FOR v IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'pg_catalog' AND c.relkind = 'v' AND c.relname IN (
             'svv_redshift_schemas', 'svv_all_schemas', 'svv_external_schemas', 'svv_external_tables',
             'svv_external_columns', 'svv_tables', 'svv_redshift_tables', 'svv_all_tables', 'svv_columns',
             'svv_redshift_columns', 'svv_all_columns', 'pg_proc_info', 'svv_table_info') LOOP
    EXECUTE format('GRANT SELECT ON pg_catalog.%I TO PUBLIC', v);
  END LOOP;
END $$;
RESET allow_system_table_mods;

-- https://docs.aws.amazon.com/redshift/latest/dg/REGEXP_REPLACE.html: every match is replaced, the
-- replacement defaults to '' and an optional position says where the search starts (the proxy calls
-- these for regexp_replace; Postgres' own replaces the first match only)
CREATE OR REPLACE FUNCTION rs_compat.regexp_replace(text, text, text DEFAULT '', integer DEFAULT 1) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT left($1, $4 - 1) || pg_catalog.regexp_replace(substr($1, $4), $2, $3, 'g') $$;

-- https://docs.aws.amazon.com/redshift/latest/dg/r_CHARINDEX.html
CREATE OR REPLACE FUNCTION pg_catalog.charindex(text, text) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT strpos($2, $1) $$;
