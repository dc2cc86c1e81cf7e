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
-- pg_last_copy_count(): per session; the proxy writes the count of each COPY outside the client's
-- transaction (page "PG_LAST_COPY_COUNT": 0 after a COPY that failed while loading, unchanged after one
-- refused for its syntax or privileges, 0 when no COPY ran in the session)
CREATE TABLE IF NOT EXISTS rs_compat.copy_counts (pid integer PRIMARY KEY, backend_start timestamptz, n bigint);
CREATE OR REPLACE FUNCTION rs_compat.pg_last_copy_count() RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT coalesce((SELECT c.n FROM rs_compat.copy_counts c JOIN pg_stat_activity a
                     ON a.pid = c.pid AND a.backend_start = c.backend_start
                   WHERE c.pid = pg_backend_pid()), 0) $$;

-- stv_slices: as many slices as the endpoint is configured with (`rs_compat.slices`, default 2)
CREATE OR REPLACE VIEW rs_compat.stv_slices AS
  SELECT (s / 2)::integer AS node, s::integer AS slice, (s % 2)::integer AS localslice, 'D'::char(1) AS type
  FROM generate_series(0, coalesce(nullif(current_setting('rs_compat.slices', true), '')::integer, 2) - 1) AS s;
GRANT SELECT ON rs_compat.stv_slices TO PUBLIC;

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

-- COPY emulation. The proxy fetched the S3 objects and spooled them to `path`:
--  * fmt 'parquet': CSV of the file columns in order (Arrow wrote it); `kinds` says what each column
--    holds (nested / json / text / binary / number / bool / time / null / other);
--  * fmt 'json': one line per object: file index \x02 line number \x02 the object.
-- Bulk first: PARQUET goes straight into the target with one COPY when no column needs converting,
-- else through a text table and one INSERT ... SELECT, as JSON does. Only when that fails are the rows
-- tried one by one, to find the failing line and column (and to skip bad rows under MAXERROR). A
-- failure raises 'rs_copy_failed' with the errors as JSON in DETAIL; skipped rows come as a NOTICE
-- 'rs_copy_skipped <json>'; the proxy turns both into stl_load_errors rows.
DROP FUNCTION IF EXISTS rs_compat.copy_spool(regclass, text[], text, boolean, integer);
CREATE OR REPLACE FUNCTION rs_compat.copy_spool(target regclass, cols text[], path text, fmt text, kinds text[],
                                                serialize boolean, maxerror integer) RETURNS bigint
  -- TimeZone UTC: a timestamp without zone in a file is UTC, as Redshift reads it
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
  tcols text[]; ttypes text[]; tnames text[]; tlens text[]; exprs text[] := '{}'; kind text;
  collist text; sel text; src text; direct boolean; done boolean := false; n bigint := 0; bad integer := 0;
  rec record; errs jsonb := '[]'::jsonb; err jsonb; w integer; i integer; msg text; st text; cons text;
  colname text; col integer; lo bigint; hi bigint; got bigint; los bigint[]; his bigint[];
BEGIN
  IF cols IS NULL THEN
    SELECT array_agg(attname::text ORDER BY attnum) INTO tcols FROM pg_attribute
     WHERE attrelid = target AND attnum > 0 AND NOT attisdropped;
  ELSE
    tcols := cols;
  END IF;
  SELECT array_agg(format_type(a.atttypid, NULL) ORDER BY c.k), array_agg(t.typname::text ORDER BY c.k),
         array_agg(CASE WHEN a.atttypmod > 4 AND t.typname IN ('varchar', 'bpchar') THEN (a.atttypmod - 4)::text
                        WHEN a.atttypmod > 4 AND t.typname = 'numeric'
                          THEN (((a.atttypmod - 4) >> 16) || ',' || ((a.atttypmod - 4) & 65535)) END ORDER BY c.k)
    INTO ttypes, tnames, tlens
    FROM unnest(tcols) WITH ORDINALITY AS c(name, k)
    LEFT JOIN pg_attribute a ON a.attrelid = target AND a.attname = c.name AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_type t ON t.oid = a.atttypid;
  w := array_length(tcols, 1);
  FOR i IN 1 .. w LOOP
    IF tnames[i] IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '42703', MESSAGE = format('column "%s" of relation %s does not exist', tcols[i], target);
    END IF;
  END LOOP;
  SELECT string_agg(quote_ident(c), ', ') INTO collist FROM unnest(tcols) AS c;

  IF fmt = 'parquet' THEN
    -- page "COPY from columnar data formats": columns by position, as many in the file as in the table
    IF kinds IS NOT NULL AND array_length(kinds, 1) <> w THEN
      RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'rs_copy_failed', DETAIL = jsonb_build_array(jsonb_build_object(
        'reason', format('The file has %s columns and the target column list has %s (PARQUET maps columns by position)',
                         array_length(kinds, 1), w), 'line', 1, 'code', 1202))::text;
    END IF;
    direct := true;
    FOR i IN 1 .. w LOOP
      kind := coalesce(kinds[i], 'null');
      IF kind = 'nested' AND NOT (tnames[i] = 'super' AND serialize) THEN
        RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'rs_copy_failed', DETAIL = jsonb_build_array(jsonb_build_object(
          'reason', CASE WHEN tnames[i] = 'super'
                         THEN 'nested parquet data (struct, list, map) loads into SUPER only with SERIALIZETOJSON'
                         ELSE format('nested parquet data (struct, list, map) cannot load into type %s', tnames[i]) END,
          'line', 1, 'col', tcols[i], 'type', tnames[i], 'code', 1200))::text;
      END IF;
      -- page "Using COPY to load data into SUPER columns": with SERIALIZETOJSON nested data (and JSON-typed
      -- strings) load as SUPER values; any other string lands as a SUPER string scalar
      IF tnames[i] = 'super' THEN
        exprs := exprs || CASE
          WHEN kind IN ('nested', 'json') AND serialize THEN format('r.c%s::jsonb::pg_catalog.super', i)
          WHEN kind IN ('number', 'bool', 'null') THEN format('r.c%s::jsonb::pg_catalog.super', i)
          ELSE format('to_jsonb(r.c%s)::pg_catalog.super', i) END;
        direct := direct AND (kind IN ('number', 'bool', 'null') OR (kind IN ('nested', 'json') AND serialize));
      ELSE
        exprs := exprs || format('CAST(r.c%s AS %s)', i, ttypes[i]);
      END IF;
    END LOOP;
    IF direct THEN
      BEGIN
        EXECUTE format('COPY %s (%s) FROM %L WITH (FORMAT csv)', target, collist, path);
        GET DIAGNOSTICS n = ROW_COUNT;
        done := true;
      EXCEPTION WHEN others THEN
        done := false;  -- find the failing line below
      END;
    END IF;
    IF NOT done THEN
      DROP TABLE IF EXISTS pg_temp.rs_copy_rows;
      EXECUTE format('CREATE TEMP TABLE rs_copy_rows (rs_n bigint GENERATED ALWAYS AS IDENTITY, rs_f integer, '
                     'rs_line bigint, %s)', (SELECT string_agg(format('c%s text', k), ', ') FROM generate_series(1, w) k));
      EXECUTE format('COPY pg_temp.rs_copy_rows (%s) FROM %L WITH (FORMAT csv)',
                     (SELECT string_agg(format('c%s', k), ', ') FROM generate_series(1, w) k), path);
      UPDATE pg_temp.rs_copy_rows SET rs_line = rs_n;
    END IF;
    src := 'pg_temp.rs_copy_rows AS r';
  ELSE
    DROP TABLE IF EXISTS pg_temp.rs_copy_rows;
    CREATE TEMP TABLE rs_copy_rows (rs_n bigint GENERATED ALWAYS AS IDENTITY, rs_f integer, rs_line bigint, doc text);
    EXECUTE format('COPY pg_temp.rs_copy_rows (rs_f, rs_line, doc) FROM %L '
                   'WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')', path);
    FOR i IN 1 .. w LOOP
      -- JSON 'auto': keys are column names; nested objects and arrays go into SUPER as they are
      exprs := exprs || CASE WHEN tnames[i] = 'super' THEN format('nullif(j.d -> %L, ''null'')::pg_catalog.super', tcols[i])
                             ELSE format('CAST(j.d ->> %L AS %s)', tcols[i], ttypes[i]) END;
    END LOOP;
    -- OFFSET 0 keeps the planner from inlining the cast into every column: each line is parsed once
    src := 'pg_temp.rs_copy_rows AS r, LATERAL (SELECT r.doc::jsonb AS d OFFSET 0) AS j';
  END IF;

  SELECT string_agg(e, ', ') INTO sel FROM unnest(exprs) AS e;
  IF NOT done THEN
    BEGIN
      EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s ORDER BY r.rs_n', target, collist, sel, src);
      GET DIAGNOSTICS n = ROW_COUNT;
    EXCEPTION WHEN others THEN
      -- find the failing rows by halving the range that fails (a bad row in a million costs about
      -- forty inserts, not a million); the good rows are loaded as they go (they stay only under MAXERROR)
      n := 0;
      SELECT coalesce(max(rs_n), 0) INTO hi FROM pg_temp.rs_copy_rows;
      los := ARRAY[1::bigint]; his := ARRAY[hi];
      WHILE array_length(los, 1) > 0 LOOP
        lo := los[array_length(los, 1)]; hi := his[array_length(his, 1)];
        los := los[1:array_length(los, 1) - 1]; his := his[1:array_length(his, 1) - 1];
        BEGIN
          EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s WHERE r.rs_n BETWEEN $1 AND $2 ORDER BY r.rs_n',
                         target, collist, sel, src) USING lo, hi;
          GET DIAGNOSTICS got = ROW_COUNT;
          n := n + got;
        EXCEPTION WHEN others THEN
          IF lo < hi THEN  -- the lower half first, so errors come in file order
            los := los || ((lo + hi) / 2 + 1) || lo; his := his || hi || ((lo + hi) / 2);
          ELSE
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, st = RETURNED_SQLSTATE, cons = CONSTRAINT_NAME,
                                    colname = COLUMN_NAME;
            SELECT r.rs_f, r.rs_line INTO rec FROM pg_temp.rs_copy_rows AS r WHERE r.rs_n = lo;
            err := rs_compat.copy_row_error(target, tcols, tnames, tlens, exprs, src, lo, msg, st, cons, colname);
            bad := bad + 1;
            errs := errs || (err || jsonb_build_object('line', rec.rs_line, 'file', rec.rs_f));
            IF bad > maxerror THEN
              RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = 'rs_copy_failed', DETAIL = errs::text;
            END IF;
          END IF;
        END;
      END LOOP;
    END;
  END IF;
  DROP TABLE IF EXISTS pg_temp.rs_copy_rows;
  IF bad > 0 THEN
    RAISE NOTICE 'rs_copy_skipped %', errs::text;
  END IF;
  RETURN n;
END $$;

-- which column of a failing row is at fault, with Redshift's error code (page "Load error reference")
CREATE OR REPLACE FUNCTION rs_compat.copy_row_error(target regclass, tcols text[], tnames text[], tlens text[],
    exprs text[], src text, rs_n bigint, msg text, st text, cons text, colname text) RETURNS jsonb
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  i integer; col integer; val text; raw text; cmsg text; cst text; code integer; reason text; tooshort boolean;
BEGIN
  EXECUTE format('SELECT left(row_to_json(r)::text, 1024) FROM %s WHERE r.rs_n = $1', src) USING rs_n INTO raw;
  IF cons LIKE 'rs\_bytes\_%' THEN
    SELECT a.attnum INTO col FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.conrelid = target AND c.conname = cons;
    SELECT array_position(tcols, attname::text) INTO col FROM pg_attribute WHERE attrelid = target AND attnum = col;
  ELSIF colname <> '' THEN
    col := array_position(tcols, colname);
  END IF;
  IF col IS NULL THEN
    FOR i IN 1 .. array_length(tcols, 1) LOOP
      BEGIN
        EXECUTE format('SELECT (%s)::text FROM %s WHERE r.rs_n = $1', exprs[i], src) USING rs_n INTO val;
        IF tlens[i] IS NOT NULL AND tnames[i] IN ('varchar', 'bpchar') AND octet_length(val) > tlens[i]::integer THEN
          col := i; st := '22001';
          EXIT;
        END IF;
      EXCEPTION WHEN others THEN
        GET STACKED DIAGNOSTICS cmsg = MESSAGE_TEXT, cst = RETURNED_SQLSTATE;
        col := i; msg := cmsg; st := cst;
        EXIT;
      END;
    END LOOP;
  END IF;
  IF col IS NOT NULL THEN
    BEGIN
      EXECUTE format('SELECT left(%s, 1024) FROM %s WHERE r.rs_n = $1',
                     CASE WHEN src LIKE '%LATERAL%' THEN format('j.d ->> %L', tcols[col]) ELSE format('r.c%s', col) END,
                     src) USING rs_n INTO val;
    EXCEPTION WHEN others THEN val := NULL;
    END;
  END IF;
  code := CASE
    WHEN st = '22001' OR cons LIKE 'rs\_bytes\_%' THEN 1204
    WHEN st = '23502' THEN 1213
    WHEN st IN ('22021', '22P05') THEN 1220
    WHEN tnames[col] IN ('int2', 'int4', 'int8') THEN 1207
    WHEN tnames[col] IN ('float4', 'float8') THEN 1208
    WHEN tnames[col] = 'numeric' THEN 1209
    WHEN tnames[col] = 'bool' THEN 1210
    WHEN tnames[col] = 'date' THEN 1205
    WHEN tnames[col] IN ('timestamp', 'timestamptz', 'time', 'timetz') THEN 1206
    ELSE 1200 END;
  reason := CASE code
    WHEN 1204 THEN 'String length exceeds DDL length'
    WHEN 1213 THEN 'Missing data for not-null field'
    WHEN 1207 THEN format('Invalid digit, Value ''%s'', Pos %s, Type: %s',
                          substr(val, coalesce(nullif(length(substring(val FROM '^[-+]?[0-9]*')), 0), 0) + 1, 1),
                          coalesce(length(substring(val FROM '^[-+]?[0-9]*')), 0),
                          CASE tnames[col] WHEN 'int2' THEN 'Short' WHEN 'int4' THEN 'Integer' ELSE 'Long' END)
    ELSE msg END;
  RETURN jsonb_build_object('col', coalesce(tcols[col], ''), 'type', coalesce(tnames[col], ''),
                            'len', coalesce(tlens[col], ''), 'code', code, 'reason', left(reason, 100),
                            'detail', msg, 'raw', raw, 'value', val);
END $$;

