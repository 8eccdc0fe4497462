-- A run's state follows its jobs: any still working -> RUNNING (QUEUED if
-- none started), otherwise FAILED if any failed, CANCELLED if all were
-- cancelled, else DONE.
CREATE OR REPLACE FUNCTION control.pipeline_run_json(r control.pipeline_runs, with_jobs boolean) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', r.id, 'pipeline', r.pipeline, 'system', r.system, 'source_type', r.source_type,
        'load_type', r.load_type, 'max_parallel', r.max_parallel, 'created_at', r.created_at,
        'state', CASE
            WHEN bool_or(j.state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING')) THEN 'JOB_STATE_RUNNING'
            WHEN bool_and(j.state = 'JOB_STATE_QUEUED') THEN 'JOB_STATE_QUEUED'
            WHEN bool_or(j.state = 'JOB_STATE_QUEUED') THEN 'JOB_STATE_RUNNING'
            WHEN bool_or(j.state = 'JOB_STATE_FAILED') THEN 'JOB_STATE_FAILED'
            WHEN bool_and(j.state = 'JOB_STATE_CANCELLED') THEN 'JOB_STATE_CANCELLED'
            ELSE 'JOB_STATE_DONE' END,
        'finished_at', CASE WHEN bool_and(j.finished_at IS NOT NULL) THEN max(j.finished_at) END,
        'job_counts', json_build_object(
            'total', count(j.id),
            'queued', count(*) FILTER (WHERE j.state = 'JOB_STATE_QUEUED'),
            'running', count(*) FILTER (WHERE j.state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING')),
            'done', count(*) FILTER (WHERE j.state = 'JOB_STATE_DONE'),
            'failed', count(*) FILTER (WHERE j.state = 'JOB_STATE_FAILED'),
            'cancelled', count(*) FILTER (WHERE j.state = 'JOB_STATE_CANCELLED')),
        'jobs', CASE WHEN with_jobs THEN coalesce(json_agg(control.job_json(j) ORDER BY j.id), '[]') END)
    FROM control.jobs j WHERE j.pipeline_run_id = r.id
$$;
