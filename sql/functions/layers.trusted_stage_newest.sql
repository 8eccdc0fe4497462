-- A stage of changes (an API load's typed rows, layers.trusted_stage_create)
-- may hold a key more than once: a record changed while the API was paged
-- lands again with a newer version. Its older rows are deleted here, and the
-- keys landed twice are kept with their newest version in
-- land."stage-s<source>-j<job>-newest", committed with the stage, so that
-- each child table's own connection can drop the children of those older
-- rows (layers.trusted_stage_done) at the same time as the others. Returns
-- the rows deleted. The job's end drops the table again.
-- p_twice lists the keys that may have landed twice (the load's filter of
-- keys seen, lib/key_filter.h), as arrays of their values as LAND has them:
-- only those are looked for (200 000 posts: 0.6 s to group every key);
-- NULL: any may have.
CREATE OR REPLACE FUNCTION layers.trusted_stage_newest(p_source bigint, p_job bigint, p_twice jsonb) RETURNS bigint
LANGUAGE plpgsql
-- a hash aggregate in memory; no JIT for a plan without statistics
SET work_mem = '64MB' SET jit = off AS $$
DECLARE
    name text := format('stage-s%s-j%s', p_source, p_job);
    stage regclass := format('land.%I', name)::regclass;
    keys text := (SELECT string_agg(format('%I', k), ', ')
                    FROM jsonb_array_elements_text(obj_description(stage, 'pg_class')::jsonb->'key') k);
    newest text := format('land.%I', name || '-newest');
    listed text := '';
    n bigint;
BEGIN
    SET LOCAL client_min_messages = warning;
    EXECUTE format('DROP TABLE IF EXISTS %s', newest);
    IF jsonb_array_length(p_twice) = 0 THEN
        RETURN 0;
    ELSIF p_twice IS NOT NULL THEN
        -- (the key's values typed as the stage's columns are)
        SELECT format(' WHERE (%s) IN (SELECT %s FROM jsonb_array_elements($1) e)',
                      string_agg(format('s.%I', a.attname), ', ' ORDER BY k.i),
                      string_agg(format('(e->>%s)::%s', k.i - 1, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY k.i))
          INTO listed
          FROM jsonb_array_elements_text(obj_description(stage, 'pg_class')::jsonb->'key') WITH ORDINALITY AS k(name, i)
          JOIN pg_attribute a ON a.attrelid = stage AND a.attname = k.name;
    END IF;
    EXECUTE format('CREATE UNLOGGED TABLE %s AS SELECT %s, max(_change_version) AS v FROM %s s%s GROUP BY %s HAVING count(*) > 1',
                   newest, keys, stage, listed, keys) USING p_twice;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN 0;
    END IF;
    -- (statistics: a hash join, where the planner would sort both sides)
    EXECUTE format('ANALYZE %s', newest);
    EXECUTE format('DELETE FROM %s s USING %s d WHERE %s AND s._change_version < d.v', stage, newest,
                   (SELECT string_agg(format('s.%I = d.%I', k, k), ' AND ')
                      FROM jsonb_array_elements_text(obj_description(stage, 'pg_class')::jsonb->'key') k));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
