-- Redshift compatibility objects for the local endpoint. Installed once per database by the
-- endpoint (as superuser); the proxy calls them schema-qualified, so any search_path works.
CREATE SCHEMA IF NOT EXISTS rs_compat;
GRANT USAGE ON SCHEMA rs_compat TO PUBLIC;

-- SUPER and VARBYTE: domains in pg_catalog, so format_type() and pg_table_def say `super`/`varbyte`
DO $$ BEGIN
  CREATE DOMAIN pg_catalog.super AS jsonb;
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
  CREATE DOMAIN pg_catalog.varbyte AS bytea;
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE OR REPLACE FUNCTION rs_compat.json_parse(text) RETURNS pg_catalog.super
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT $1::jsonb::pg_catalog.super $$;
CREATE OR REPLACE FUNCTION rs_compat.json_serialize(jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT $1::text $$;
CREATE OR REPLACE FUNCTION rs_compat.is_valid_json(text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM $1::jsonb;
  RETURN true;
EXCEPTION WHEN others THEN RETURN false;
END $$;
CREATE OR REPLACE FUNCTION rs_compat.is_valid_json_array(text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN jsonb_typeof($1::jsonb) = 'array';
EXCEPTION WHEN others THEN RETURN false;
END $$;
CREATE OR REPLACE FUNCTION rs_compat.json_typeof(jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT jsonb_typeof($1) $$;
CREATE OR REPLACE FUNCTION rs_compat.json_extract_path_text(text, VARIADIC text[]) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT jsonb_extract_path_text($1::jsonb, VARIADIC $2) $$;
CREATE OR REPLACE FUNCTION rs_compat.getdate() RETURNS timestamp
  LANGUAGE sql STABLE AS $$ SELECT date_trunc('second', statement_timestamp() AT TIME ZONE 'UTC') $$;
CREATE OR REPLACE FUNCTION rs_compat.sysdate() RETURNS timestamp
  LANGUAGE sql STABLE AS $$ SELECT transaction_timestamp() AT TIME ZONE 'UTC' $$;
CREATE OR REPLACE FUNCTION rs_compat.len(text) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT length($1) $$;
CREATE OR REPLACE FUNCTION rs_compat.len(bytea) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT length($1) $$;
CREATE OR REPLACE FUNCTION rs_compat.convert_timezone(text, timestamp) RETURNS timestamp
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT ($2 AT TIME ZONE 'UTC') AT TIME ZONE $1 $$;
CREATE OR REPLACE FUNCTION rs_compat.convert_timezone(text, text, timestamp) RETURNS timestamp
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT ($3 AT TIME ZONE $1) AT TIME ZONE $2 $$;
CREATE OR REPLACE FUNCTION rs_compat.from_hex(text) RETURNS pg_catalog.varbyte
  LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT decode($1, 'hex')::pg_catalog.varbyte $$;
CREATE OR REPLACE FUNCTION rs_compat.to_varbyte(text, text) RETURNS pg_catalog.varbyte
  LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT (CASE lower($2) WHEN 'hex' THEN decode($1, 'hex') WHEN 'base64' THEN decode($1, 'base64')
          ELSE convert_to($1, 'UTF8') END)::pg_catalog.varbyte $$;
CREATE OR REPLACE FUNCTION rs_compat.nvl2(anyelement, anycompatible, anycompatible) RETURNS anycompatible
  LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN $1 IS NOT NULL THEN $2 ELSE $3 END $$;
CREATE OR REPLACE FUNCTION rs_compat.strtol(text, integer) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT sum((position(lower(substr($1, i, 1)) IN '0123456789abcdefghijklmnopqrstuvwxyz') - 1)::bigint
             * power($2::numeric, length($1) - i))::bigint
  FROM generate_series(1, length($1)) AS i $$;
CREATE OR REPLACE FUNCTION rs_compat.months_between(date, date) RETURNS double precision
  LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT (extract(year FROM age($1, $2)) * 12 + extract(month FROM age($1, $2))
          + extract(day FROM age($1, $2)) / 31.0)::double precision $$;
CREATE OR REPLACE FUNCTION rs_compat.version() RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
  SELECT 'PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2, Redshift 1.0.0 '
         '(shipload local endpoint on ' || pg_catalog.version() || ')' $$;
CREATE OR REPLACE FUNCTION rs_compat.pg_last_copy_count() RETURNS bigint
  LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('rs_compat.last_copy_count', true), '')::bigint, 0) $$;

-- load errors: written by the proxy (outside the failed transaction, as Redshift's system log is)
CREATE TABLE IF NOT EXISTS rs_compat.stl_load_errors (
  userid integer, slice integer DEFAULT 0, tbl integer, starttime timestamp DEFAULT (now() AT TIME ZONE 'UTC'),
  session integer, query integer, filename varchar(256), line_number bigint, colname varchar(127),
  type varchar(10), col_length varchar(10), position integer, raw_line varchar(1024),
  raw_field_value varchar(1024), err_code integer, err_reason varchar(100), is_partial integer DEFAULT 0,
  start_offset bigint DEFAULT 0
);
GRANT SELECT ON rs_compat.stl_load_errors TO PUBLIC;

-- svv_table_info and the other catalog views: catalog.sql

CREATE OR REPLACE VIEW rs_compat.pg_table_def AS
  SELECT n.nspname AS schemaname, c.relname AS tablename, a.attname AS "column",
         format_type(a.atttypid, a.atttypmod) AS type, 'none'::text AS encoding, false AS distkey,
         0 AS sortkey, a.attnotnull AS notnull
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind = 'r'
    AND n.nspname = ANY (current_schemas(false));
GRANT SELECT ON rs_compat.pg_table_def TO PUBLIC;

-- ALTER TABLE target APPEND FROM source [IGNOREEXTRA | FILLTARGET]: move rows by column name
CREATE OR REPLACE FUNCTION rs_compat.append_from(target regclass, source regclass, mode text) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  tcols text[]; scols text[]; common text; n bigint;
BEGIN
  SELECT array_agg(attname::text ORDER BY attnum) INTO tcols FROM pg_attribute
   WHERE attrelid = target AND attnum > 0 AND NOT attisdropped;
  SELECT array_agg(attname::text ORDER BY attnum) INTO scols FROM pg_attribute
   WHERE attrelid = source AND attnum > 0 AND NOT attisdropped;
  IF mode = '' AND NOT (tcols @> scols AND scols @> tcols) THEN
    RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE =
      'ALTER TABLE APPEND: source and target columns differ; use IGNOREEXTRA or FILLTARGET';
  ELSIF mode = 'IGNOREEXTRA' AND NOT tcols @> scols AND NOT scols @> tcols THEN
    RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'ALTER TABLE APPEND IGNOREEXTRA: target has columns the source lacks';
  ELSIF mode = 'FILLTARGET' AND NOT tcols @> scols THEN
    RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'ALTER TABLE APPEND FILLTARGET: source has columns the target lacks';
  END IF;
  SELECT string_agg(quote_ident(c), ', ') INTO common FROM unnest(tcols) AS c WHERE c = ANY (scols);
  EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s', target, common, common, source);
  GET DIAGNOSTICS n = ROW_COUNT;
  EXECUTE format('DELETE FROM %s', source);
  RETURN n;
END $$;

-- ALTER COLUMN TYPE VARCHAR(n): resize and move the byte-length check
CREATE OR REPLACE FUNCTION rs_compat.alter_varchar(target regclass, col text, size integer, check_name text)
  RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  old text;
BEGIN
  FOR old IN SELECT conname FROM pg_constraint WHERE conrelid = target AND contype = 'c'
      AND conname LIKE 'rs\_bytes\_%' AND conname LIKE '%\_' || split_part(check_name, '_', 4) LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', target, old);
  END LOOP;
  -- late-binding views do not depend on the table's columns on Redshift: set them aside meanwhile
  CREATE TEMP TABLE IF NOT EXISTS rs_lbv_aside (view_name text, definition text);
  DELETE FROM rs_lbv_aside;
  INSERT INTO rs_lbv_aside SELECT d.view_name, d.definition FROM rs_compat.late_binding_dependents(target) d;
  FOR old IN SELECT view_name FROM rs_lbv_aside LOOP
    EXECUTE format('DROP VIEW %s', old);
  END LOOP;
  EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE varchar(%s), ADD CONSTRAINT %I CHECK (octet_length(%I) <= %s)',
                 target, col, size, check_name, col, size);
  FOR old IN SELECT view_name FROM rs_lbv_aside LOOP
    PERFORM rs_compat.create_late_binding_view(old, format('CREATE VIEW %s AS %s', old,
      (SELECT definition FROM rs_lbv_aside WHERE view_name = old)));
  END LOOP;
END $$;

-- COPY emulation: the proxy fetched the S3 objects and wrote one JSON document per line to `path`
-- (objects by name for JSON 'auto', arrays by position for PARQUET). Rows that fail are reported in
-- the error's DETAIL as JSON; the proxy turns that into stl_load_errors rows.
CREATE OR REPLACE FUNCTION rs_compat.copy_spool(target regclass, cols text[], path text, by_position boolean,
                                                maxerror integer) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tcols text[]; collist text; sel text; n bigint := 0; bad integer := 0; rec record; width integer;
  errs jsonb := '[]'::jsonb; msg text; st text;
BEGIN
  IF cols IS NULL THEN
    SELECT array_agg(attname::text ORDER BY attnum) INTO tcols FROM pg_attribute
     WHERE attrelid = target AND attnum > 0 AND NOT attisdropped;
  ELSE
    tcols := cols;
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS rs_copy_lines (line_number bigserial, doc jsonb);
  TRUNCATE rs_copy_lines;
  ALTER SEQUENCE rs_copy_lines_line_number_seq RESTART WITH 1;
  EXECUTE format('COPY rs_copy_lines (doc) FROM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')', path);
  DELETE FROM rs_copy_lines WHERE doc IS NULL;
  IF by_position THEN
    SELECT max(jsonb_array_length(doc)), min(jsonb_array_length(doc)) INTO width, n FROM rs_copy_lines;
    IF width IS NOT NULL AND (width <> array_length(tcols, 1) OR n <> width) THEN
      RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'rs_copy_failed', DETAIL = jsonb_build_object(
        'reason', format('The file has %s columns and the target column list has %s (PARQUET maps columns by position)',
                         width, array_length(tcols, 1)), 'line', 1)::text;
    END IF;
    UPDATE rs_copy_lines SET doc = (SELECT jsonb_object_agg(tcols[i], doc -> (i - 1))
                                     FROM generate_subscripts(tcols, 1) AS i);
    n := 0;
  END IF;
  SELECT string_agg(quote_ident(c), ', '), string_agg('r.' || quote_ident(c), ', ') INTO collist, sel
    FROM unnest(tcols) AS c;
  BEGIN
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM rs_copy_lines AS l, jsonb_populate_record(NULL::%s, l.doc) AS r',
                   target, collist, sel, target);
    GET DIAGNOSTICS n = ROW_COUNT;
  EXCEPTION WHEN others THEN
    -- find the failing rows one by one; with MAXERROR the others are loaded
    n := 0;
    FOR rec IN SELECT line_number, doc FROM rs_copy_lines ORDER BY line_number LOOP
      BEGIN
        EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1) AS r',
                       target, collist, sel, target) USING rec.doc;
        n := n + 1;
      EXCEPTION WHEN others THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, st = RETURNED_SQLSTATE;
        bad := bad + 1;
        errs := errs || jsonb_build_object('line', rec.line_number, 'reason', msg, 'sqlstate', st,
                                           'raw', left(rec.doc::text, 1024));
        IF bad > maxerror THEN
          RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'rs_copy_failed', DETAIL = errs::text;
        END IF;
      END;
    END LOOP;
  END;
  PERFORM set_config('rs_compat.last_copy_count', n::text, false);
  IF bad > 0 THEN
    RAISE NOTICE 'rs_copy_skipped %', errs::text;
  END IF;
  RETURN n;
END $$;
