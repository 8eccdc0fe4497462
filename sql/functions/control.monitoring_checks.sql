-- The monitoring checks (the seed's monitoring DAG and its daily file
-- check), run at `now_at` by the built-in tasks monitoring_checks
-- (scope 'all') and stale_files_check (scope 'sftp_files': the freshness of
-- sftp sources only). Each condition that holds is an alert keyed by
-- dedup_key; a new one fires, one already firing is only seen again, and a
-- firing alert of the checked scope whose condition no longer holds is
-- resolved. Conditions:
--   SourceStale (critical) / SourceLate (warning): control.source_health;
--   SourceLoadFailed (critical): the source's latest finished load failed;
--   SourceLoadCancelled (warning): ... was cancelled;
--   SourceRowsSetAside (warning): the latest DONE load put at least 1 % of
--     its rows in quarantine or _rejects, more than twice the average of
--     the ten loads before (a jump, not a steady rate someone accepted);
--   ScheduleDeadlineMissed (warning): a run of the schedule missed its
--     deadline and no later run has been DONE in time;
--   CtHeadroomLow (warning) / CtHeadroomExhausted (critical): for a
--     change-tracked source whose kind measures it (control.ct_headroom,
--     SQL Server): the changes since the offset committed after the load
--     that stored it started, so the source keeps them at least until that
--     start plus its retention; less than a quarter of the retention left
--     warns, none left (or the minimum valid version already past the
--     offset) is critical.
-- Returns {"fired": [...], "resolved": [...], "firing": n}.
CREATE OR REPLACE FUNCTION control.monitoring_checks(now_at timestamptz, scope text) RETURNS json
LANGUAGE sql VOLATILE AS $$
    WITH health AS (
        SELECT s.id, s.system, s.object, s.source_type, s.options,
               control.source_health(s, now_at)::jsonb AS h
        FROM control.sources s
        WHERE s.active AND (scope = 'all' OR s.source_type = 'sftp')),
    cond AS (
        SELECT CASE WHEN h.h->>'state' = 'stale' THEN 'SourceStale' ELSE 'SourceLate' END || ':' || h.id AS dedup_key,
               CASE WHEN h.h->>'state' = 'stale' THEN 'SourceStale' ELSE 'SourceLate' END AS alertname,
               CASE WHEN h.h->>'state' = 'stale' THEN 'critical' ELSE 'warning' END AS severity,
               'freshness' AS check_scope, h.id AS source_id, NULL::bigint AS schedule_id,
               h.source_type,
               format('%s.%s: %s %s old (%s after %s)', h.system, h.object,
                      CASE WHEN h.source_type = 'sftp' THEN 'newest file is' ELSE 'last load is' END,
                      justify_hours((h.h->>'age_seconds')::bigint * interval '1 second'),
                      CASE WHEN h.h->>'state' = 'stale' THEN 'stale' ELSE 'late' END,
                      justify_hours((CASE WHEN h.h->>'state' = 'stale' THEN (h.h->>'error_after_seconds')::bigint
                            ELSE (h.h->>'warn_after_seconds')::bigint END) * interval '1 second')) AS summary
        FROM health h WHERE h.h->>'state' IN ('late', 'stale')
      UNION ALL
        SELECT CASE WHEN lj.state = 'JOB_STATE_FAILED' THEN 'SourceLoadFailed' ELSE 'SourceLoadCancelled' END || ':' || h.id,
               CASE WHEN lj.state = 'JOB_STATE_FAILED' THEN 'SourceLoadFailed' ELSE 'SourceLoadCancelled' END,
               CASE WHEN lj.state = 'JOB_STATE_FAILED' THEN 'critical' ELSE 'warning' END,
               'failures', h.id, NULL, h.source_type,
               format('%s.%s: load job %s %s%s', h.system, h.object, lj.id,
                      CASE WHEN lj.state = 'JOB_STATE_FAILED' THEN 'failed' ELSE 'was cancelled' END,
                      CASE WHEN lj.error IS NOT NULL THEN ': ' || left(lj.error, 300) ELSE '' END)
        FROM health h
        CROSS JOIN LATERAL (
            SELECT j.id, j.state, j.error FROM control.jobs j
            WHERE j.source_id = h.id AND j.state IN ('JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED')
            ORDER BY j.id DESC LIMIT 1) lj
        WHERE scope = 'all' AND lj.state IN ('JOB_STATE_FAILED', 'JOB_STATE_CANCELLED')
      UNION ALL
        SELECT 'SourceRowsSetAside:' || h.id, 'SourceRowsSetAside', 'warning', 'failures', h.id, NULL, h.source_type,
               format('%s.%s: load job %s set aside %s%% of its rows (quarantined or rejected); the loads before: %s%%',
                      h.system, h.object, lj.id, round(lj.rate * 100, 1), round(coalesce(prev.rate, 0) * 100, 1))
        FROM health h
        CROSS JOIN LATERAL (
            SELECT j.id, (j.rows_quarantined + coalesce((SELECT sum(f.rows_rejected) FROM control.files f
                                                         WHERE f.job_id = j.id), 0))::numeric
                         / greatest(j.rows_read, 1) AS rate
            FROM control.jobs j WHERE j.source_id = h.id AND j.state = 'JOB_STATE_DONE'
            ORDER BY j.id DESC LIMIT 1) lj
        CROSS JOIN LATERAL (
            SELECT avg((j.rows_quarantined + coalesce((SELECT sum(f.rows_rejected) FROM control.files f
                                                       WHERE f.job_id = j.id), 0))::numeric
                       / greatest(j.rows_read, 1)) AS rate
            FROM (SELECT * FROM control.jobs j WHERE j.source_id = h.id AND j.state = 'JOB_STATE_DONE'
                  AND j.id < lj.id ORDER BY j.id DESC LIMIT 10) j) prev
        WHERE scope = 'all' AND lj.rate >= 0.01 AND lj.rate > 2 * coalesce(prev.rate, 0)
      UNION ALL
        SELECT 'ScheduleDeadlineMissed:' || sc.id, 'ScheduleDeadlineMissed', 'warning', 'deadlines', NULL, sc.id,
               NULL,
               format('schedule %s: the run of %s was not done by its deadline %s',
                      coalesce(sc.name, sc.id::text), m.scheduled_at, m.deadline_at)
        FROM control.schedules sc
        CROSS JOIN LATERAL (
            SELECT r.scheduled_at, r.deadline_at FROM control.schedule_runs r
            WHERE r.schedule_id = sc.id AND r.deadline_missed_at IS NOT NULL
            ORDER BY r.scheduled_at DESC LIMIT 1) m
        WHERE scope = 'all' AND sc.active AND NOT EXISTS (
            SELECT 1 FROM control.schedule_runs r2
            WHERE r2.schedule_id = sc.id AND r2.scheduled_at > m.scheduled_at AND r2.settled
              AND r2.deadline_missed_at IS NULL AND control.schedule_run_state(r2) = 'JOB_STATE_DONE')
      UNION ALL
        SELECT CASE WHEN x.exhausted THEN 'CtHeadroomExhausted' ELSE 'CtHeadroomLow' END || ':' || s.id,
               CASE WHEN x.exhausted THEN 'CtHeadroomExhausted' ELSE 'CtHeadroomLow' END,
               CASE WHEN x.exhausted THEN 'critical' ELSE 'warning' END,
               'ct_headroom', s.id, NULL, s.source_type,
               CASE WHEN c.offset_lost
                    THEN format('%s.%s: the source''s change tracking minimum valid version %s passed the stored '
                                'offset %s: changes were cleaned up, a full load is needed',
                                s.system, s.object, c.min_valid_version, c.offset_version)
                    ELSE format('%s.%s: change tracking keeps the changes since the last load for about %s more '
                                '(retention %s); load it before then',
                                s.system, s.object, justify_hours(h.headroom * interval '1 second'),
                                justify_hours(c.retention_seconds * interval '1 second')) END
        FROM control.sources s
        JOIN control.ct_headroom c ON c.source_id = s.id AND c.error IS NULL
        CROSS JOIN LATERAL (SELECT (control.ct_headroom_json(s, now_at)->>'seconds')::bigint AS headroom) h
        CROSS JOIN LATERAL (SELECT c.offset_lost OR h.headroom = 0 AS exhausted) x
        WHERE scope = 'all' AND s.active AND s.offset_mode = 'change_tracking' AND h.headroom IS NOT NULL
          AND (x.exhausted OR h.headroom < c.retention_seconds / 4)),
    labelled AS (
        SELECT c.*, jsonb_strip_nulls(jsonb_build_object(
                   'alertname', c.alertname, 'severity', c.severity, 'service', 'shopperlake',
                   'source', (SELECT s.system || '.' || s.object FROM control.sources s WHERE s.id = c.source_id),
                   'source_id', c.source_id::text, 'source_type', c.source_type,
                   'schedule_id', c.schedule_id::text)) AS labels
        FROM cond c),
    resolved AS (
        UPDATE control.alerts a SET state = 'resolved', resolved_at = now_at
        WHERE a.state = 'firing'
          AND (scope = 'all' OR (a.check_scope = 'freshness' AND a.labels->>'source_type' = 'sftp'))
          AND NOT EXISTS (SELECT 1 FROM labelled c WHERE c.dedup_key = a.dedup_key)
        RETURNING a.id, a.dedup_key),
    seen AS (
        UPDATE control.alerts a SET last_seen_at = now_at, summary = c.summary
        FROM labelled c WHERE a.state = 'firing' AND a.dedup_key = c.dedup_key
        RETURNING a.id),
    fired AS (
        INSERT INTO control.alerts AS a (dedup_key, alertname, severity, check_scope, source_id, schedule_id,
                                         labels, summary, started_at, last_seen_at)
        SELECT c.dedup_key, c.alertname, c.severity, c.check_scope, c.source_id, c.schedule_id,
               c.labels, c.summary, now_at, now_at
        FROM labelled c
        WHERE NOT EXISTS (SELECT 1 FROM control.alerts x WHERE x.state = 'firing' AND x.dedup_key = c.dedup_key)
        ON CONFLICT (dedup_key) WHERE state = 'firing' DO NOTHING
        RETURNING a.id, a.dedup_key, a.severity, a.summary)
    SELECT json_build_object(
        'fired', (SELECT coalesce(json_agg(json_build_object('id', f.id, 'dedup_key', f.dedup_key,
                         'severity', f.severity, 'summary', f.summary) ORDER BY f.id), '[]') FROM fired f),
        'resolved', (SELECT coalesce(json_agg(json_build_object('id', r.id, 'dedup_key', r.dedup_key)
                         ORDER BY r.id), '[]') FROM resolved r),
        'firing', (SELECT count(*) FROM seen) + (SELECT count(*) FROM fired))
$$;
