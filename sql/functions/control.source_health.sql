-- A source's health at `now_at` (the scheduler's clock), shown on the source
-- and raised as alerts by control.monitoring_checks:
--   inactive  the source is switched off (never alerted on);
--   failing   its latest finished load FAILED (a later DONE load clears it);
--   stale     older than options.freshness.error_after;
--   late      older than options.freshness.warn_after;
--   fresh     within its SLA, or no SLA and loaded at least once;
--   unknown   no SLA and never loaded.
-- The age counts from the last DONE load; for sftp sources from the newest
-- file's modification time on the server (as loaded into control.files: the
-- seed's "file not updated"); before any, from the source's creation.
CREATE OR REPLACE FUNCTION control.source_health(s control.sources, now_at timestamptz) RETURNS json
LANGUAGE sql STABLE AS $$
    WITH sla AS (
        SELECT control.duration_seconds(s.options->'freshness'->>'warn_after') AS warn,
               control.duration_seconds(s.options->'freshness'->>'error_after') AS err),
    last_job AS (
        SELECT j.id, j.state, j.finished_at, j.error FROM control.jobs j
        WHERE j.source_id = s.id AND j.state IN ('JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED')
        ORDER BY j.id DESC LIMIT 1),
    last_done AS (
        SELECT max(j.finished_at) AS at FROM control.jobs j
        WHERE j.source_id = s.id AND j.state = 'JOB_STATE_DONE'),
    newest_file AS (
        SELECT max(f.mtime) AS at FROM control.files f WHERE f.source_id = s.id AND s.source_type = 'sftp'),
    basis AS (
        SELECT coalesce(CASE WHEN s.source_type = 'sftp' THEN nf.at END, ld.at, s.last_loaded_at, s.created_at) AS at,
               coalesce(ld.at, s.last_loaded_at) AS last_success, nf.at AS newest_file
        FROM last_done ld, newest_file nf),
    aged AS (
        SELECT b.*, greatest(0, extract(epoch FROM now_at - b.at))::bigint AS age FROM basis b),
    judged AS (
        SELECT a.*, sla.warn, sla.err, lj.id AS job_id, lj.state AS job_state, lj.finished_at AS job_finished,
            CASE WHEN NOT s.active THEN 'inactive'
                 WHEN lj.state = 'JOB_STATE_FAILED' THEN 'failing'
                 WHEN sla.err IS NOT NULL AND a.age > sla.err THEN 'stale'
                 WHEN sla.warn IS NOT NULL AND a.age > sla.warn THEN 'late'
                 WHEN sla.warn IS NULL AND sla.err IS NULL AND a.last_success IS NULL
                      AND a.newest_file IS NULL THEN 'unknown'
                 ELSE 'fresh' END AS state
        FROM aged a CROSS JOIN sla LEFT JOIN last_job lj ON true)
    SELECT json_build_object(
        'state', j.state,
        'age_seconds', j.age,
        'since', j.at,
        'last_success_at', j.last_success,
        'newest_file_at', j.newest_file,
        'warn_after_seconds', j.warn,
        'error_after_seconds', j.err,
        'last_job', CASE WHEN j.job_id IS NOT NULL THEN
            json_build_object('id', j.job_id, 'state', j.job_state, 'finished_at', j.job_finished) END,
        'checked_at', now_at)
    FROM judged j
$$;
