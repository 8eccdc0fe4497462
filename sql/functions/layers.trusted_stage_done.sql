-- A typed table beside LAND (layers.trusted_stage_create) was filled with
-- p_rows rows, as many as the LAND partition: its key index is built, and the
-- count recorded in its comment, in the transaction that commits it. That
-- transaction runs while the load's own commits (jobs/layers/trusted_stage.h),
-- so the TRUSTED step that swaps the table in finds its key already built.
-- Keys that are not unique leave the table without a key index: the swap
-- then fails on them as it would on RAW's rows, and the merge picks the
-- newest row per key from RAW (layers.trusted_merge).
-- A stage of changes (an API load's) may hold a key more than once: a record
-- changed while the API was paged lands again with a newer version. p_twice
-- lists the rows whose key may have landed before (the load's filter of keys
-- seen, lib/key_filter.h) as [key values as LAND has them..., version]: the
-- rows of those keys older than the newest listed go, from the main table
-- and, each on its own connection at the same time, from each child table
-- (p_child n >= 1), whose version column is then dropped and value_text made
-- a plain column, so that it looks as TRUSTED's child tables do.
DROP FUNCTION IF EXISTS layers.trusted_stage_done(bigint, bigint, bigint);
CREATE OR REPLACE FUNCTION layers.trusted_stage_done(p_source bigint, p_job bigint, p_rows bigint,
                                                     p_child integer DEFAULT 0, p_twice jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
-- the key index builds faster from sorted runs merged than from one big
-- in-memory sort (as in jobs/layers/trusted.c); a plan without statistics
-- does not need JIT
SET maintenance_work_mem = '64MB' SET jit = off AS $$
DECLARE
    name text := format('stage-s%s-j%s', p_source, p_job);
    stage regclass := format('land.%I', name || CASE WHEN p_child > 0 THEN format('-c%s', p_child) ELSE '' END)::regclass;
    meta jsonb := obj_description(stage, 'pg_class')::jsonb;
    keys text := (SELECT string_agg(format('%I', k), ', ') FROM jsonb_array_elements_text(meta->'key') k);
    rows bigint := p_rows;
    newest text;         -- the listed keys, typed as the table's columns, with their newest version
    same_key text;       -- s."id" = d."id" AND ...
    n bigint;
BEGIN
    IF jsonb_array_length(p_twice) > 0 THEN
        SELECT format('SELECT %s, max((e->>%s)::bigint) AS v FROM jsonb_array_elements($1) e GROUP BY %s',
                      string_agg(format('(e->>%s)::%s AS %I', k.i - 1, format_type(a.atttypid, a.atttypmod), k.name),
                                 ', ' ORDER BY k.i),
                      count(*), string_agg(format('%s', k.i), ', ' ORDER BY k.i)),
               string_agg(format('s.%I = d.%I', k.name, k.name), ' AND ')
          INTO newest, same_key
          FROM jsonb_array_elements_text(meta->'key') WITH ORDINALITY AS k(name, i)
          JOIN pg_attribute a ON a.attrelid = stage AND a.attname = k.name
         WHERE k.name <> 'position';
        EXECUTE format('DELETE FROM %s s USING (%s) d WHERE %s AND s._change_version < d.v', stage, newest, same_key)
            USING p_twice;
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
