-- What a TRUSTED merge changes, for the incremental refresh of the REFINED
-- reports (control.trusted_changes). Called by the TRUSTED step in the
-- merge's transaction, around the merge:
--   'before'  the keys of the batch (RAW rows of the jobs not merged yet)
--             and their TRUSTED rows as they are (kept in pg_temp.capture_old);
--   'after'   one change per key: the row before and the row after the
--             merge (NULL when the key was new or is gone); a key the merge
--             left as it was (its row came back unchanged) records nothing;
--   'whole'   the table changed in a way not listed key by key (an override).
-- A batch with a snapshot (its keys do not say which rows go), bigger than
-- 2 % of the table (at least 1 000, at most 20 000 rows: beyond, the images
-- cost the merge more than a rebuild saves), with a key that
-- does not cast, or a table not merged before, is recorded as one `whole`
-- change: the reports reading it are rebuilt.
-- No JIT: compiling the plans of these small statements took 160 ms of 200.
CREATE OR REPLACE FUNCTION layers.capture_changes(p_source bigint, p_phase text) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    s control.sources;
    t text;
    last_job bigint;
    lim bigint;
    n bigint;
    snap boolean;
    typed_keys text;     -- b."id"::bigint AS "id", ...
    key_match text;      -- n."id" = o."id" AND ...
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    t := s.system || '_' || s.object;
    SELECT string_agg(format('b.%I::%s AS %I', x->>'name', x->>'type', x->>'name'), ', ' ORDER BY i),
           string_agg(format('n.%I = o.%I', x->>'name', x->>'name'), ' AND ' ORDER BY i)
      INTO typed_keys, key_match
      FROM jsonb_array_elements(s.columns) WITH ORDINALITY AS e(x, i) WHERE (x->>'key')::boolean;

    IF p_phase = 'after' THEN
        IF to_regclass('pg_temp.capture_old') IS NOT NULL THEN
            -- a subquery per key: one index probe each (a join was planned as
            -- a scan of the whole table)
            -- (changed: the columns an update changed, read by the reports'
            -- refreshes; NULL for an insert or a delete)
            EXECUTE format('INSERT INTO control.trusted_changes (table_name, old_row, new_row, changed) '
                           'SELECT %L, c.old_row, c.new_row, CASE WHEN c.old_row IS NOT NULL AND c.new_row IS NOT NULL '
                           'THEN ARRAY(SELECT n.key FROM jsonb_each(c.new_row) n WHERE c.old_row->n.key IS DISTINCT FROM n.value) END '
                           'FROM ('
                           'SELECT o.old_row, (SELECT to_jsonb(n) FROM trusted.%I n WHERE %s) AS new_row '
                           'FROM pg_temp.capture_old o) c '
                           'WHERE c.old_row IS DISTINCT FROM c.new_row', t, t, key_match);
            DROP TABLE pg_temp.capture_old;
        END IF;
        RETURN;
    END IF;

    DROP TABLE IF EXISTS pg_temp.capture_old;
    SELECT merged_through_job INTO last_job FROM control.layer_state WHERE source_id = p_source;
    -- (0: the TRUSTED step made the source's row, no merge has run yet)
    IF p_phase = 'whole' OR coalesce(last_job, 0) = 0 OR to_regclass(format('trusted.%I', t)) IS NULL
       OR to_regclass(format('raw.%I', t)) IS NULL THEN
        IF p_phase = 'whole' OR to_regclass(format('raw.%I', t)) IS NOT NULL THEN
            INSERT INTO control.trusted_changes (table_name, whole) VALUES (t, true);
        END IF;
        RETURN;
    END IF;

    lim := greatest(1000, least(20000, 0.02 * (SELECT reltuples FROM pg_class
                                                  WHERE oid = format('trusted.%I', t)::regclass)))::bigint;
    EXECUTE format('SELECT count(*), coalesce(bool_or(sys_change_operation IS NULL), false) '
                   'FROM (SELECT sys_change_operation FROM raw.%I WHERE _job_id > $1 LIMIT $2) b', t)
        INTO n, snap USING last_job, lim + 1;
    IF n = 0 THEN
        RETURN;
    END IF;
    IF snap OR n > lim THEN
        INSERT INTO control.trusted_changes (table_name, whole) VALUES (t, true);
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('CREATE TEMP TABLE capture_old ON COMMIT DROP AS '
                       'SELECT DISTINCT %s, NULL::jsonb AS old_row FROM raw.%I b WHERE b._job_id > $1',
                       typed_keys, t) USING last_job;
    EXCEPTION WHEN data_exception THEN
        INSERT INTO control.trusted_changes (table_name, whole) VALUES (t, true);
        RETURN;
    END;
    ANALYZE pg_temp.capture_old;
    EXECUTE format('UPDATE pg_temp.capture_old o SET old_row = to_jsonb(n) FROM trusted.%I n WHERE %s',
                   t, key_match);
END $$;
