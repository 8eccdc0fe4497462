-- The typed table built beside LAND for job p_job of source p_source, when
-- TRUSTED may take it instead of typing RAW's rows: it was committed with its
-- row count (layers.trusted_stage_done), it was made with the LAND partition
-- that is now RAW's partition of the job (so from the very rows RAW holds),
-- and the source's columns (and child arrays) are still those it was made
-- with. NULL otherwise.
-- The tables of earlier jobs of the source are dropped (a failed load's, an
-- unused one), and this one too when it does not qualify; a table still
-- being filled (a load in progress holds it) is left alone.
CREATE OR REPLACE FUNCTION layers.trusted_stage(p_source bigint, p_job bigint) RETURNS regclass
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    stage regclass;
    meta jsonb;
    raw_part oid;
    old record;
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    FOR old IN SELECT c.oid::regclass AS rel, substring(c.relname FROM '-j([0-9]+)(-[a-z0-9]+)?$')::bigint AS job,
                      c.relname !~ '-j[0-9]+$' AS child  -- a table of children, or of newest versions
                 FROM pg_class c
                WHERE c.relnamespace = 'land'::regnamespace AND c.relkind = 'r'
                  AND c.relname LIKE format('stage-s%s-j%%', p_source)
    LOOP
        IF old.job = p_job THEN
            IF NOT old.child THEN
                stage := old.rel;  -- (its child tables: layers.trusted_children_swap)
            END IF;
        ELSIF old.job < p_job THEN
            BEGIN
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', old.rel);
                EXECUTE format('DROP TABLE %s', old.rel);
            EXCEPTION WHEN lock_not_available THEN
                NULL;  -- a load still fills it
            END;
        END IF;
    END LOOP;
    IF stage IS NULL THEN
        RETURN NULL;
    END IF;
    meta := obj_description(stage, 'pg_class')::jsonb;
    EXECUTE format('SELECT tableoid FROM raw.%I WHERE _job_id = $1 LIMIT 1', s.system || '_' || s.object)
       INTO raw_part USING p_job;
    IF meta ? 'rows' AND meta->>'land' = raw_part::text AND meta->>'columns' = md5(s.columns::text)
       AND (NOT meta ? 'children' OR meta->>'children' = md5(coalesce(s.options->'children', '[]')::text)) THEN
        RETURN stage;
    END IF;
    PERFORM layers.trusted_stage_drop(stage);
    RETURN NULL;
END $$;
