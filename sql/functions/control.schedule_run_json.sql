CREATE OR REPLACE FUNCTION control.schedule_run_json(r control.schedule_runs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', r.id, 'schedule_id', r.schedule_id, 'scheduled_at', r.scheduled_at,
        'attempt', r.attempt, 'started_at', r.started_at, 'outcome', r.outcome, 'reason', r.reason,
        'pipeline_run_id', r.pipeline_run_id, 'job_id', r.job_id, 'task', r.task,
        'state', control.schedule_run_state(r), 'finished_at', control.schedule_run_finished_at(r),
        'deadline_at', r.deadline_at, 'deadline_missed_at', r.deadline_missed_at, 'server', r.server)
$$;
