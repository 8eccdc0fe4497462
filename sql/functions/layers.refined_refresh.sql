-- Refreshes one REFINED report by the groups the TRUSTED changes since its
-- last refresh touched, in the caller's transaction (which holds the
-- report's lock). The report's file declares
--   -- refresh_by: dia, produto_id                       (p_refresh_by: report columns)
--   -- refresh_from: trusted.t: <expressions over t's columns giving those values>
-- (p_maps: {"trusted.t": "expr, expr"}). Changes consumed: those of the tables
-- it reads (p_depends) not visible in the snapshot of its last build, and
-- only those of columns the report reads (layers.refined_unseen). A change
-- of a table with a
-- refresh_from line adds the groups of its row before and after; of any
-- other table, or a `whole` change, means a full rebuild. The groups are
-- deleted from the report and recomputed (layers.refined_recompute).
--
-- Returns {"full": reason} (nothing done: rebuild it), or {"groups",
-- "deleted", "inserted"}. A report whose rows change with the clock alone
-- (now()) has no refresh_by line: it is rebuilt every time.
CREATE OR REPLACE FUNCTION layers.refined_refresh(p_report text, p_sql text, p_depends text[],
                                                  p_refresh_by text, p_maps jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    why text;
    snap pg_snapshot;
    dep text;
    map text;
    cols_by text;        -- "dia", "produto_id"
    n_groups bigint;
    n_rows double precision;
    n_del bigint;
    n_ins bigint;
BEGIN
    SELECT u.why, u.snap INTO why, snap FROM layers.refined_unseen(p_report, p_sql, p_depends) u;
    IF why IS NOT NULL THEN
        RETURN jsonb_build_object('full', why);
    END IF;
    why := layers.refined_unmapped(p_depends, p_maps);
    IF why IS NOT NULL THEN
        RETURN jsonb_build_object('full', why);
    END IF;
    SELECT string_agg(format('%I', btrim(c)), ', ') INTO cols_by FROM unnest(string_to_array(p_refresh_by, ',')) c;

    -- The groups: each refresh_from table's rows before and after, mapped.
    DROP TABLE IF EXISTS pg_temp.refresh_groups;
    EXECUTE format('CREATE TEMP TABLE refresh_groups ON COMMIT DROP AS SELECT %s FROM %s LIMIT 0',
                   cols_by, format('refined.%I', p_report));
    FOR dep, map IN SELECT key, value #>> '{}' FROM jsonb_each(p_maps) LOOP
        EXECUTE format('INSERT INTO pg_temp.refresh_groups SELECT %s FROM ('
                       'SELECT (jsonb_populate_record(NULL::%s, i.img)).* FROM ('
                       'SELECT old_row AS img FROM pg_temp.unseen_changes WHERE table_name = $1 AND old_row IS NOT NULL '
                       'UNION ALL SELECT new_row FROM pg_temp.unseen_changes WHERE table_name = $1 AND new_row IS NOT NULL'
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
    SELECT x.deleted, x.inserted INTO n_del, n_ins
      FROM layers.refined_recompute(p_report, p_sql, p_refresh_by, p_maps, 'refresh_groups') x;
    DROP TABLE pg_temp.refresh_groups;
    DROP TABLE pg_temp.unseen_changes;
    PERFORM layers.refined_refreshed(p_report, p_depends, snap);
    RETURN jsonb_build_object('groups', n_groups, 'deleted', n_del, 'inserted', n_ins);
END $$;
