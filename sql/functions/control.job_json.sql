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
