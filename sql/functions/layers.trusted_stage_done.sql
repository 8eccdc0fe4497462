-- A typed table beside LAND (layers.trusted_stage_create) was filled with
-- p_rows rows, as many as the LAND partition: its key index is built, and the
-- count recorded in its comment, in the transaction that commits it. That
-- transaction runs while the load's own commits (jobs/layers/trusted_stage.h),
-- so the TRUSTED step that swaps the table in finds its key already built.
-- Keys that are not unique leave the table without a key index: the swap
-- then fails on them as it would on RAW's rows, and the merge picks the
-- newest row per key from RAW (layers.trusted_merge).
CREATE OR REPLACE FUNCTION layers.trusted_stage_done(p_source bigint, p_job bigint, p_rows bigint) RETURNS void
LANGUAGE plpgsql
-- the key index builds faster from sorted runs merged than from one big
-- in-memory sort (as in jobs/layers/trusted.c)
SET maintenance_work_mem = '64MB' AS $$
DECLARE
    stage regclass := format('land.%I', format('stage-s%s-j%s', p_source, p_job))::regclass;
    meta jsonb := obj_description(stage, 'pg_class')::jsonb;
BEGIN
    IF jsonb_array_length(coalesce(meta->'key', '[]')) > 0 THEN
        BEGIN
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (%s)', stage,
                           format('stage-s%s-j%s_pkey', p_source, p_job),
                           (SELECT string_agg(format('%I', k), ', ') FROM jsonb_array_elements_text(meta->'key') k));
        EXCEPTION WHEN unique_violation THEN
            NULL;
        END;
    END IF;
    EXECUTE format('COMMENT ON TABLE %s IS %L', stage, meta || jsonb_build_object('rows', p_rows));
END $$;
