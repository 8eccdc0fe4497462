-- The typed tables a load fills beside LAND (jobs/layers/trusted_stage.h):
-- land."stage-s<source>-j<job>", the columns the load was given (p_columns, the
-- job's copy of the definition), typed. Its comment records what
-- layers.trusted_stage checks before TRUSTED takes it: the OID of the job's
-- LAND partition (RAW keeps it), the md5 of the columns and the key columns
-- (layers.trusted_stage_done builds the key on them). A former attempt's
-- table is replaced. Returns what the COPY names: the table's quoted name
-- and its column list.
-- The key columns are NOT NULL from the start, as TRUSTED's key makes them:
-- the COPY checks each row as it comes, where a SET NOT NULL at the swap
-- would read the whole table again (0.7 s at 5 M rows).
-- With p_children (an API source's options.children, '[]' for none) the rows
-- are changes, each with its version: the table also has _job_id (this job,
-- a default) and _change_version, as TRUSTED has them, and p_child n >= 1
-- makes instead the table of child n's rows, land."stage-s<source>-j<job>-c<n>":
-- the parent's key, the position in the array, the element and its text
-- (computed by the server, as layers.trusted_children computes it), and the
-- parent row's version, which layers.trusted_stage_done uses to keep the
-- children of each key's newest row only and then drops.
DROP FUNCTION IF EXISTS layers.trusted_stage_create(bigint, bigint, oid, jsonb);
CREATE OR REPLACE FUNCTION layers.trusted_stage_create(p_source bigint, p_job bigint, p_land oid, p_columns jsonb,
                                                       p_children jsonb DEFAULT NULL, p_child integer DEFAULT 0)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    stage text := format('land.%I', format('stage-s%s-j%s', p_source, p_job)
                                    || CASE WHEN p_child > 0 THEN format('-c%s', p_child) ELSE '' END);
    keys jsonb := (SELECT jsonb_agg(x->>'name' ORDER BY i) FROM jsonb_array_elements(p_columns) WITH ORDINALITY AS e(x, i)
                    WHERE (x->>'key')::boolean);
    key_defs text := (SELECT string_agg(format('%I %s NOT NULL', x->>'name', x->>'type'), ', ' ORDER BY i)
                        FROM jsonb_array_elements(p_columns) WITH ORDINALITY AS e(x, i) WHERE (x->>'key')::boolean);
    copy_cols text;
    meta jsonb := jsonb_build_object('land', p_land, 'columns', md5(p_columns::text));
BEGIN
    SET LOCAL client_min_messages = warning;
    EXECUTE format('DROP TABLE IF EXISTS %s', stage);
    IF p_child > 0 THEN
        EXECUTE format('CREATE TABLE %s (%s, position integer NOT NULL, value jsonb, '
                       'value_text text GENERATED ALWAYS AS (CASE WHEN jsonb_typeof(value) IN (''string'', ''number'', ''boolean'') '
                       'THEN value #>> ''{}'' END) STORED, _change_version bigint)', stage, key_defs);
        copy_cols := (SELECT string_agg(format('%I', k), ', ') FROM jsonb_array_elements_text(keys) k)
                     || ', position, value, _change_version';
        meta := meta || jsonb_build_object('child', md5((p_children->(p_child - 1))::text),
                                           'key', keys || '["position"]'::jsonb);
    ELSE
        EXECUTE format('CREATE TABLE %s (%s%s)', stage,
                       (SELECT string_agg(format('%I %s%s', x->>'name', x->>'type',
                                              CASE WHEN (x->>'key')::boolean THEN ' NOT NULL' ELSE '' END), ', ' ORDER BY i)
                          FROM jsonb_array_elements(p_columns) WITH ORDINALITY AS e(x, i)),
                       CASE WHEN p_children IS NOT NULL
                            THEN format(', _job_id bigint NOT NULL DEFAULT %s, _change_version bigint', p_job) ELSE '' END);
        copy_cols := (SELECT string_agg(format('%I', x->>'name'), ', ' ORDER BY i)
                        FROM jsonb_array_elements(p_columns) WITH ORDINALITY AS e(x, i))
                     || CASE WHEN p_children IS NOT NULL THEN ', _change_version' ELSE '' END;
        meta := meta || jsonb_build_object('key', keys)
                || CASE WHEN p_children IS NOT NULL
                        THEN jsonb_build_object('children', md5(p_children::text),
                                                'child_tables', jsonb_array_length(p_children))
                        ELSE '{}' END;
    END IF;
    EXECUTE format('COMMENT ON TABLE %s IS %L', stage, meta);
    RETURN format('%s (%s)', stage, copy_cols);
END $$;
