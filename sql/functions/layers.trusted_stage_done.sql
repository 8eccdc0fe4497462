-- A typed table beside LAND (layers.trusted_stage_create) was filled with
-- p_rows rows, as many as the LAND partition: recorded in its comment, in the
-- transaction that commits it.
CREATE OR REPLACE FUNCTION layers.trusted_stage_done(p_source bigint, p_job bigint, p_rows bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    stage regclass := format('land.%I', format('stage-s%s-j%s', p_source, p_job))::regclass;
BEGIN
    EXECUTE format('COMMENT ON TABLE %s IS %L', stage,
                   obj_description(stage, 'pg_class')::jsonb || jsonb_build_object('rows', p_rows));
END $$;
