-- The typed table a load fills beside LAND (jobs/layers/trusted_stage.h):
-- land."stage-s<source>-j<job>", the columns the load was given (p_columns, the
-- job's copy of the definition), typed; with p_bookkeeping, then _job_id and
-- _change_version (a CSV load: each row has its own version). Its comment
-- records what layers.trusted_stage checks before TRUSTED takes it: the OID of
-- the job's LAND partition (RAW keeps it) and the md5 of the columns. A former
-- attempt's table is replaced. Returns the table's quoted name, for the COPY.
DROP FUNCTION IF EXISTS layers.trusted_stage_create(bigint, bigint, oid, jsonb);
CREATE OR REPLACE FUNCTION layers.trusted_stage_create(p_source bigint, p_job bigint, p_land oid, p_columns jsonb,
                                                       p_bookkeeping boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    stage text := format('land.%I', format('stage-s%s-j%s', p_source, p_job));
BEGIN
    SET LOCAL client_min_messages = warning;
    EXECUTE format('DROP TABLE IF EXISTS %s', stage);
    EXECUTE format('CREATE TABLE %s (%s%s)', stage,
                   (SELECT string_agg(format('%I %s', x->>'name', x->>'type'), ', ' ORDER BY i)
                      FROM jsonb_array_elements(p_columns) WITH ORDINALITY AS e(x, i)),
                   CASE WHEN p_bookkeeping THEN ', _job_id bigint, _change_version bigint' ELSE '' END);
    EXECUTE format('COMMENT ON TABLE %s IS %L', stage,
                   jsonb_build_object('land', p_land, 'columns', md5(p_columns::text)));
    RETURN stage;
END $$;
