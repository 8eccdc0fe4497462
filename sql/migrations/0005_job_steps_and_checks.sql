-- A job's load (LAND + RAW + offset) commits before its layer steps; loaded_at
-- says it did, so a retried job goes straight to the layer steps.
ALTER TABLE control.jobs ADD COLUMN loaded_at timestamptz;

CREATE OR REPLACE FUNCTION control.job_json(j control.jobs) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', j.id, 'name', j.name, 'source_id', j.source_id, 'source', j.source_name,
        'pipeline_run_id', j.pipeline_run_id, 'load_type', j.load_type, 'state', j.state,
        'attempt', j.attempt, 'max_attempts', j.max_attempts,
        'created_at', j.created_at, 'started_at', j.started_at, 'loaded_at', j.loaded_at,
        'finished_at', j.finished_at,
        'duration_seconds', round(extract(epoch FROM coalesce(j.finished_at, now()) - j.started_at)::numeric, 3),
        'worker', j.worker, 'heartbeat_at', j.heartbeat_at,
        'rows_read', j.rows_read, 'rows_written', j.rows_written,
        'rows_quarantined', j.rows_quarantined,
        'progress', json_build_object('rows', j.rows_read, 'estimate', j.rows_estimate,
            'fraction', CASE WHEN j.state = 'JOB_STATE_DONE' OR j.loaded_at IS NOT NULL THEN 1.0
                             WHEN j.rows_estimate > 0 THEN least(1.0, round(j.rows_read::numeric / j.rows_estimate, 4)) END),
        'offset_before', j.offset_before, 'offset_after', j.offset_after,
        'steps', j.steps, 'error', j.error, 'error_kind', j.error_kind)
$$;

-- Data-quality checks on a TRUSTED table, declared in the source's
-- options.checks (see control/source_validate.c for the accepted shapes).
-- Returns the failed ones: [{check, detail, failing_rows, sample}]. The key's
-- uniqueness and non-nullness are the table's primary key.
CREATE FUNCTION layers.run_checks(p_source bigint, p_rows_before bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    t text;
    c jsonb;
    cond text;
    n bigint;
    sample jsonb;
    failed jsonb := '[]';
    rows_now bigint;
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    t := s.system || '_' || s.object;
    FOR c IN SELECT x FROM jsonb_array_elements(coalesce(s.options->'checks', '[]')) x LOOP
        cond := CASE c->>'check'
            WHEN 'not_null' THEN format('%I IS NULL', c->>'column')
            WHEN 'accepted_values' THEN format('%I IS NOT NULL AND %I::text <> ALL (%L::text[])',
                c->>'column', c->>'column',
                (SELECT array_agg(v) FROM jsonb_array_elements_text(c->'values') v))
            WHEN 'references' THEN format('%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM trusted.%I r WHERE r.%I = x.%I)',
                c->>'column', c->>'table', c->>'to', c->>'column')
            WHEN 'unique' THEN format('(%s) IN (SELECT %s FROM trusted.%I GROUP BY %s HAVING count(*) > 1)',
                (SELECT string_agg(format('%I', v), ', ') FROM jsonb_array_elements_text(c->'columns') v),
                (SELECT string_agg(format('%I', v), ', ') FROM jsonb_array_elements_text(c->'columns') v), t,
                (SELECT string_agg(format('%I', v), ', ') FROM jsonb_array_elements_text(c->'columns') v))
            ELSE NULL END;
        IF c->>'check' = 'row_count_not_collapsing' THEN
            EXECUTE format('SELECT count(*) FROM trusted.%I WHERE NOT _deleted', t) INTO rows_now;
            IF p_rows_before > 0 AND rows_now < p_rows_before * (1 - coalesce((c->>'max_drop_pct')::numeric, 50) / 100) THEN
                failed := failed || jsonb_build_object('check', c, 'detail',
                    format('rows fell from %s to %s', p_rows_before, rows_now), 'failing_rows', p_rows_before - rows_now);
            END IF;
            CONTINUE;
        END IF;
        IF to_regclass(format('trusted.%I', coalesce(c->>'table', t))) IS NULL THEN
            failed := failed || jsonb_build_object('check', c, 'detail',
                format('table trusted.%s does not exist', coalesce(c->>'table', t)), 'failing_rows', 0);
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*), (SELECT jsonb_agg(to_jsonb(y) - ''_merged_at'') FROM '
                       '(SELECT * FROM trusted.%I x WHERE NOT _deleted AND %s LIMIT 5) y) '
                       'FROM trusted.%I x WHERE NOT _deleted AND %s', t, cond, t, cond)
            INTO n, sample;
        IF n > 0 THEN
            failed := failed || jsonb_build_object('check', c, 'detail',
                format('%s rows fail %s', n, c->>'check'), 'failing_rows', n, 'sample', sample);
        END IF;
    END LOOP;
    RETURN failed;
END $$;

-- The TRUSTED row count before a merge, but only for sources that declare a
-- row_count_not_collapsing check (counting costs a scan).
CREATE FUNCTION layers.rows_before_merge(p_source bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    n bigint;
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    IF NOT coalesce(s.options->'checks', '[]') @> '[{"check": "row_count_not_collapsing"}]'
       OR to_regclass(format('trusted.%I', s.system || '_' || s.object)) IS NULL THEN
        RETURN -1;
    END IF;
    EXECUTE format('SELECT count(*) FROM trusted.%I WHERE NOT _deleted', s.system || '_' || s.object) INTO n;
    RETURN n;
END $$;
