-- Refreshes one REFINED report by the groups the TRUSTED changes since its
-- last refresh touched, in the caller's transaction (which holds the
-- report's lock). The report's file declares
--   -- refresh_by: dia, produto_id                       (p_refresh_by: report columns)
--   -- refresh_from: trusted.t: <expressions over t's columns giving those values>
-- (p_maps: {"trusted.t": "expr, expr"}). Changes consumed: those of the tables
-- it reads (p_depends) not visible in the snapshot of its last build. Only
-- changes of columns the report reads count (PostgreSQL's own record of the
-- columns a view of the SELECT uses). A change of a table with a
-- refresh_from line adds the groups of its row before and after; of any
-- other table, or a `whole` change, means a full rebuild. The groups are
-- deleted from the report and recomputed: the SELECT with each refresh_from
-- table replaced by a temporary copy of its rows in those groups (the
-- columns the report reads, found through the index its `-- index:` line
-- asks for), restricted to the groups.
--
-- Returns {"full": reason} (nothing done: rebuild it), or {"groups",
-- "deleted", "inserted"}. A report whose rows change with the clock alone
-- (now()) has no refresh_by line: it is rebuilt every time.
CREATE OR REPLACE FUNCTION layers.refined_refresh(p_report text, p_sql text, p_depends text[],
                                                  p_refresh_by text, p_maps jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    st control.refined_state;
    snap pg_snapshot := pg_current_snapshot();  -- before anything is read
    body text := regexp_replace(p_sql, '[\s;]+$', '');
    dep text;
    cols text[];
    whole_row boolean;
    map text;
    cols_by text;        -- "dia", "produto_id"
    n_groups bigint;
    n_rows double precision;
    n_del bigint;
    n_ins bigint;
    restricted text := body;
    r record;
BEGIN
    SELECT * INTO st FROM control.refined_state WHERE report = p_report;
    IF st IS NULL THEN
        RETURN jsonb_build_object('full', 'first build');
    ELSIF st.sql_md5 <> md5(p_sql) THEN
        RETURN jsonb_build_object('full', 'the report''s SQL changed');
    ELSIF to_regclass(format('refined.%I', p_report)) IS NULL THEN
        RETURN jsonb_build_object('full', 'the report is missing');
    END IF;
    SELECT string_agg(format('%I', btrim(c)), ', ') INTO cols_by FROM unnest(string_to_array(p_refresh_by, ',')) c;

    -- The columns of each table the report reads (a temporary view's dependencies).
    DROP VIEW IF EXISTS pg_temp.refresh_columns;
    EXECUTE 'CREATE TEMP VIEW refresh_columns AS ' || body;
    DROP TABLE IF EXISTS pg_temp.refresh_read;
    CREATE TEMP TABLE refresh_read ON COMMIT DROP AS
    SELECT n.nspname || '.' || c.relname AS tbl, bool_or(d.refobjsubid = 0) AS whole_row,
           array_agg(a.attname::text) FILTER (WHERE a.attname IS NOT NULL) AS cols
      FROM pg_depend d
      JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
      JOIN pg_class c ON c.oid = d.refobjid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
     WHERE rw.ev_class = 'pg_temp.refresh_columns'::regclass AND d.refclassid = 'pg_class'::regclass
     GROUP BY 1;
    DROP VIEW pg_temp.refresh_columns;

    -- The changes this report has not seen, the ones that touch what it reads.
    DROP TABLE IF EXISTS pg_temp.refresh_changes;
    CREATE TEMP TABLE refresh_changes ON COMMIT DROP AS
    SELECT c.table_name, c.whole, c.old_row, c.new_row
      FROM control.trusted_changes c
      LEFT JOIN refresh_read rd ON rd.tbl = 'trusted.' || c.table_name
     WHERE c.table_name IN (SELECT substr(x, 9) FROM unnest(p_depends) x)
       AND NOT pg_visible_in_snapshot(c.xid, st.snapshot)
       -- no column read (count(*) only): every row counts
       AND (c.whole OR rd.tbl IS NULL OR rd.whole_row OR EXISTS (SELECT 1 FROM unnest(rd.cols) k
                                              WHERE c.old_row->k IS DISTINCT FROM c.new_row->k));

    FOREACH dep IN ARRAY p_depends LOOP
        IF NOT EXISTS (SELECT 1 FROM control.sources s WHERE 'trusted.' || s.system || '_' || s.object = dep) THEN
            RETURN jsonb_build_object('full', format('%s is not a source''s table: its changes are not recorded', dep));
        END IF;
        IF EXISTS (SELECT 1 FROM refresh_changes c WHERE 'trusted.' || c.table_name = dep AND c.whole) THEN
            RETURN jsonb_build_object('full', format('%s changed as a whole (a snapshot or a big batch)', dep));
        END IF;
        IF NOT p_maps ? dep AND EXISTS (SELECT 1 FROM refresh_changes c WHERE 'trusted.' || c.table_name = dep) THEN
            RETURN jsonb_build_object('full', format('%s changed columns the report reads and has no refresh_from', dep));
        END IF;
    END LOOP;

    -- The groups: each refresh_from table's rows before and after, mapped.
    DROP TABLE IF EXISTS pg_temp.refresh_groups;
    EXECUTE format('CREATE TEMP TABLE refresh_groups ON COMMIT DROP AS SELECT %s FROM %s LIMIT 0',
                   cols_by, format('refined.%I', p_report));
    FOR dep, map IN SELECT key, value #>> '{}' FROM jsonb_each(p_maps) LOOP
        EXECUTE format('INSERT INTO pg_temp.refresh_groups SELECT %s FROM ('
                       'SELECT (jsonb_populate_record(NULL::%s, i.img)).* FROM ('
                       'SELECT old_row AS img FROM pg_temp.refresh_changes WHERE table_name = $1 AND old_row IS NOT NULL '
                       'UNION ALL SELECT new_row FROM pg_temp.refresh_changes WHERE table_name = $1 AND new_row IS NOT NULL'
                       ') i) x', map, dep::regclass) USING substr(dep, 9);
    END LOOP;
    EXECUTE format('CREATE TEMP TABLE refresh_keys ON COMMIT DROP AS SELECT DISTINCT * FROM pg_temp.refresh_groups');
    DROP TABLE pg_temp.refresh_groups;
    ALTER TABLE pg_temp.refresh_keys RENAME TO refresh_groups;
    SELECT count(*) INTO n_groups FROM pg_temp.refresh_groups;
    SELECT greatest(reltuples, 0) INTO n_rows FROM pg_class WHERE oid = format('refined.%I', p_report)::regclass;
    IF n_groups > greatest(100, 0.1 * n_rows) THEN
        RETURN jsonb_build_object('full', format('%s groups changed: a rebuild is cheaper', n_groups));
    END IF;
    ANALYZE pg_temp.refresh_groups;

    -- Each refresh_from table's rows in those groups, only the columns the
    -- report reads, under a temporary name the report's SELECT reads instead
    -- (not analyzed: that took longer than the recompute).
    FOR dep, map IN SELECT key, value #>> '{}' FROM jsonb_each(p_maps) LOOP
        EXECUTE format('CREATE TEMP TABLE %I ON COMMIT DROP AS SELECT %s FROM %s t '
                       'WHERE (%s) IN (SELECT %s FROM pg_temp.refresh_groups)',
                       'refresh_' || substr(dep, 9),
                       coalesce((SELECT string_agg(format('t.%I', k), ', ') FROM pg_temp.refresh_read rd, unnest(rd.cols) k
                                  WHERE rd.tbl = dep AND NOT rd.whole_row), 't.*'),
                       dep::regclass, map, cols_by);
        restricted := regexp_replace(restricted, '\m' || replace(dep, '.', '\.') || '\M',
                                     'pg_temp.refresh_' || substr(dep, 9), 'g');
    END LOOP;

    EXECUTE format('DELETE FROM refined.%I r WHERE (%s) IN (SELECT %s FROM pg_temp.refresh_groups)',
                   p_report, (SELECT string_agg('r.' || format('%I', btrim(c)), ', ')
                                FROM unnest(string_to_array(p_refresh_by, ',')) c), cols_by);
    GET DIAGNOSTICS n_del = ROW_COUNT;
    EXECUTE format('INSERT INTO refined.%I SELECT * FROM (%s) r WHERE (%s) IN (SELECT %s FROM pg_temp.refresh_groups)',
                   p_report, restricted, (SELECT string_agg('r.' || format('%I', btrim(c)), ', ')
                                            FROM unnest(string_to_array(p_refresh_by, ',')) c), cols_by);
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    FOR r IN SELECT 'refresh_' || substr(key, 9) AS t FROM jsonb_each(p_maps) LOOP
        EXECUTE format('DROP TABLE pg_temp.%I', r.t);
    END LOOP;
    DROP TABLE pg_temp.refresh_groups;
    DROP TABLE pg_temp.refresh_changes;
    DROP TABLE pg_temp.refresh_read;
    UPDATE control.refined_state SET snapshot = snap, refreshed_at = now(), depends = p_depends
     WHERE report = p_report;
    RETURN jsonb_build_object('groups', n_groups, 'deleted', n_del, 'inserted', n_ins);
END $$;
