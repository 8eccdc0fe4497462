-- Retention at `now_at`, a partition at a time, never anything TRUSTED has
-- not merged (control.layer_state.merged_through_job):
--   LAND: a job's partition goes when its job ended more than
--     options.retention.land ago (default 7 days) and TRUSTED merged it;
--   RAW: a day's partition goes when the day ended more than
--     options.retention.raw ago (default 365 days) and every row in it was
--     merged;
--   a typed copy left beside LAND by a snapshot (layers.trusted_stage) goes
--     when its job has ended;
--   job history: jobs that ended more than `job_history_days` ago (0 = keep)
--     are deleted with their log lines (a schedule run keeps its record;
--     each source keeps its latest job).
-- A partition whose lock is not had within 2 s (a load is using it) is left
-- for the next run. Returns {"dropped": [...], "kept_unmerged": [...],
-- "jobs_deleted": n}.
CREATE OR REPLACE FUNCTION layers.retention(now_at timestamptz, job_history_days integer) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    p record;
    t text;
    merged bigint;
    land_keep bigint;
    raw_keep bigint;
    top bigint;
    dropped jsonb := '[]';
    unmerged jsonb := '[]';
    jobs_deleted bigint := 0;
BEGIN
    SET LOCAL client_min_messages = warning;
    SET LOCAL lock_timeout = '2s';
    FOR s IN SELECT src.id, src.options FROM control.sources src ORDER BY src.id LOOP
        t := layers.table_name(s.id);
        land_keep := coalesce(control.duration_seconds(s.options->'retention'->>'land'), 7 * 86400);
        raw_keep := coalesce(control.duration_seconds(s.options->'retention'->>'raw'), 365 * 86400);
        merged := coalesce((SELECT ls.merged_through_job FROM control.layer_state ls WHERE ls.source_id = s.id), 0);
        IF to_regclass(format('land.%I', t)) IS NOT NULL THEN
            FOR p IN SELECT c.oid::regclass::text AS rel,
                            substring(pg_get_expr(c.relpartbound, c.oid) FROM '\(''?([0-9]+)''?\)')::bigint AS job_id
                     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE i.inhparent = format('land.%I', t)::regclass ORDER BY 2 LOOP
                CONTINUE WHEN p.job_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM control.jobs j WHERE j.id = p.job_id AND j.finished_at IS NOT NULL
                      AND j.finished_at <= now_at - land_keep * interval '1 second')
                    AND EXISTS (SELECT 1 FROM control.jobs j WHERE j.id = p.job_id);
                IF p.job_id > merged THEN
                    unmerged := unmerged || jsonb_build_object('layer', 'land', 'partition', p.rel, 'job_id', p.job_id);
                    CONTINUE;
                END IF;
                IF layers.drop_if_free(p.rel) THEN
                    dropped := dropped || jsonb_build_object('layer', 'land', 'partition', p.rel, 'job_id', p.job_id);
                END IF;
            END LOOP;
        END IF;
        IF to_regclass(format('raw.%I', t)) IS NOT NULL THEN
            FOR p IN SELECT c.oid::regclass::text AS rel,
                            substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz AS upto
                     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE i.inhparent = format('raw.%I', t)::regclass ORDER BY 2 LOOP
                CONTINUE WHEN p.upto IS NULL OR p.upto > now_at - raw_keep * interval '1 second';
                EXECUTE format('SELECT max(_job_id) FROM %s', p.rel) INTO top;
                IF coalesce(top, 0) > merged THEN
                    unmerged := unmerged || jsonb_build_object('layer', 'raw', 'partition', p.rel, 'job_id', top);
                    CONTINUE;
                END IF;
                IF layers.drop_if_free(p.rel) THEN
                    dropped := dropped || jsonb_build_object('layer', 'raw', 'partition', p.rel, 'until', p.upto);
                END IF;
            END LOOP;
        END IF;
    END LOOP;
    -- typed copies a snapshot left beside LAND (layers.trusted_stage_create)
    -- and no merge took or dropped: their job has ended, or is gone
    FOR p IN SELECT c.oid::regclass::text AS rel, substring(c.relname FROM '-j([0-9]+)(-[a-z0-9]+)?$')::bigint AS job_id
               FROM pg_class c
              WHERE c.relnamespace = 'land'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'stage-s%-j%'
    LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM control.jobs j WHERE j.id = p.job_id
                                 AND j.state NOT IN ('JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'));
        IF layers.drop_if_free(p.rel) THEN
            dropped := dropped || jsonb_build_object('layer', 'land', 'partition', p.rel, 'job_id', p.job_id);
        END IF;
    END LOOP;
    IF job_history_days > 0 THEN
        DELETE FROM control.jobs j
        WHERE j.finished_at < now_at - job_history_days * interval '1 day'
          AND j.state IN ('JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED')
          -- each source keeps its latest job (its health reads it)
          AND j.id NOT IN (SELECT max(k.id) FROM control.jobs k WHERE k.source_id IS NOT NULL GROUP BY k.source_id);
        GET DIAGNOSTICS jobs_deleted = ROW_COUNT;
    END IF;
    RETURN json_build_object('dropped', dropped, 'kept_unmerged', unmerged, 'jobs_deleted', jobs_deleted);
END $$;
