-- The typed table a PostgreSQL snapshot fills beside LAND (jobs/layers/trusted_stage.h):
-- land."stage-s<source>-j<job>", the columns the load was given (p_columns, the
-- job's copy of the definition), typed. Its comment records what
-- layers.trusted_stage checks before TRUSTED takes it: the OID of the job's
-- LAND partition (RAW keeps it), the md5 of the columns and the key columns
-- (layers.trusted_stage_done builds the key on them). A former attempt's
-- table is replaced. Returns the table's quoted name, for the COPY.
-- The key columns are NOT NULL from the start, as TRUSTED's key makes them:
-- the COPY checks each row as it comes, where a SET NOT NULL at the swap
-- would read the whole table again (0.7 s at 5 M rows).
CREATE OR REPLACE FUNCTION layers.trusted_stage_create(p_source bigint, p_job bigint, p_land oid, p_columns jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    stage text := format('land.%I', format('stage-s%s-j%s', p_source, p_job));
BEGIN
    SET LOCAL client_min_messages = warning;
    EXECUTE format('DROP TABLE IF EXISTS %s', stage);
    EXECUTE format('CREATE TABLE %s (%s)', stage,
                   (SELECT string_agg(format('%I %s%s', x->>'name', x->>'type',
                                          CASE WHEN (x->>'key')::boolean THEN ' NOT NULL' ELSE '' END), ', ' ORDER BY i)
                      FROM jsonb_array_elements(p_columns) WITH ORDINALITY AS e(x, i)));
    EXECUTE format('COMMENT ON TABLE %s IS %L', stage,
                   jsonb_build_object('land', p_land, 'columns', md5(p_columns::text),
                                      'key', (SELECT jsonb_agg(x->>'name' ORDER BY i)
                                                FROM jsonb_array_elements(p_columns) WITH ORDINALITY AS e(x, i)
                                               WHERE (x->>'key')::boolean)));
    RETURN stage;
END $$;
