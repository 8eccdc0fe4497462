-- The API's representation of a schedule; next_fires counts from `clock`.
CREATE OR REPLACE FUNCTION control.schedule_json(s control.schedules, clock timestamptz) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', s.id, 'name', s.name, 'pipeline', s.pipeline, 'source_id', s.source_id,
        'load_type', s.load_type, 'task', s.task, 'cron', s.cron, 'timezone', s.timezone,
        'active', s.active, 'catchup', s.catchup, 'catchup_limit', s.catchup_limit,
        'max_active_runs', s.max_active_runs, 'deadline', control.iso_duration(s.deadline_seconds),
        'retries', s.retries, 'retry_delay', control.iso_duration(s.retry_delay_seconds),
        'target_problem', control.schedule_target_problem(s),
        'waiting_since', CASE WHEN s.active AND s.next_fire_at <= clock THEN s.next_fire_at END,
        'next_fires', CASE WHEN s.active THEN coalesce((
            SELECT json_agg(json_build_object('local', control.local_iso(f, s.timezone), 'utc', f) ORDER BY f)
            FROM control.schedule_fires(s, greatest(clock, s.next_fire_at - interval '1 microsecond'), NULL, 5) f),
            '[]') ELSE '[]' END,
        'created_at', s.created_at, 'updated_at', s.updated_at)
$$;
