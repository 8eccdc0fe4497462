-- A typed table beside LAND (layers.trusted_stage_create) was filled with
-- p_rows rows, as many as the LAND partition: its key index is built, and the
-- count recorded in its comment, in the transaction that commits it. That
-- transaction runs while the load's own commits (jobs/layers/trusted_stage.h),
-- so the TRUSTED step that swaps the table in finds its key already built.
-- Keys that are not unique leave the table without a key index: the swap
-- then fails on them as it would on RAW's rows, and the merge picks the
-- newest row per key from RAW (layers.trusted_merge).
-- p_child n >= 1 is the table of child n's rows of a stage of changes, on its
-- own connection: the children of the rows layers.trusted_stage_newest
-- deleted go too (p_rows counts them before), its version column is dropped
-- and its value_text made a plain column, so that it looks as TRUSTED's
-- child tables do.
DROP FUNCTION IF EXISTS layers.trusted_stage_done(bigint, bigint, bigint);
CREATE OR REPLACE FUNCTION layers.trusted_stage_done(p_source bigint, p_job bigint, p_rows bigint,
                                                     p_child integer DEFAULT 0) RETURNS void
LANGUAGE plpgsql
-- the key index builds faster from sorted runs merged than from one big
-- in-memory sort (as in jobs/layers/trusted.c)
SET maintenance_work_mem = '64MB' SET jit = off AS $$
DECLARE
    name text := format('stage-s%s-j%s', p_source, p_job);
    stage regclass := format('land.%I', name || CASE WHEN p_child > 0 THEN format('-c%s', p_child) ELSE '' END)::regclass;
    newest regclass := to_regclass(format('land.%I', name || '-newest'));
    meta jsonb := obj_description(stage, 'pg_class')::jsonb;
    keys text := (SELECT string_agg(format('%I', k), ', ') FROM jsonb_array_elements_text(meta->'key') k);
    rows bigint := p_rows;
    n bigint;
BEGIN
    IF p_child > 0 AND newest IS NOT NULL AND layers.has_rows(newest) THEN
        EXECUTE format('DELETE FROM %s s USING %s d WHERE %s AND s._change_version < d.v', stage, newest,
                       (SELECT string_agg(format('s.%I = d.%I', k, k), ' AND ')
                          FROM jsonb_array_elements_text(meta->'key') k WHERE k <> 'position'));
        GET DIAGNOSTICS n = ROW_COUNT;
        rows := rows - n;
    END IF;
    IF keys IS NOT NULL THEN
        BEGIN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (%s)', stage,
                           (SELECT relname FROM pg_class WHERE oid = stage) || '_pkey', keys);
        EXCEPTION WHEN unique_violation THEN
            NULL;
        END;
    END IF;
    IF p_child > 0 THEN
        EXECUTE format('ALTER TABLE %s DROP COLUMN _change_version, ALTER COLUMN value_text DROP EXPRESSION', stage);
    END IF;
    EXECUTE format('COMMENT ON TABLE %s IS %L', stage, meta || jsonb_build_object('rows', rows));
END $$;
