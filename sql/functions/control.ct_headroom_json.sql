-- A change-tracked source's Change Tracking headroom at `now_at`, for its
-- GET answer and the dashboard: what the monitoring checks last measured
-- (control.ct_headroom) and `seconds`, how long until the source's cleanup
-- reaches the changes since the last load (0 once the offset was cleaned
-- up; absent while no load has landed). NULL for a source never measured.
CREATE OR REPLACE FUNCTION control.ct_headroom_json(s control.sources, now_at timestamptz) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object(
               'seconds', CASE WHEN c.error IS NOT NULL THEN NULL
                               WHEN c.offset_lost THEN 0
                               WHEN lj.started_at IS NULL THEN NULL
                               ELSE greatest(c.retention_seconds - extract(epoch FROM now_at - lj.started_at)::bigint, 0) END,
               'retention_seconds', c.retention_seconds,
               'min_valid_version', c.min_valid_version,
               'offset_version', c.offset_version,
               'offset_lost', c.offset_lost,
               'measured_at', c.measured_at,
               'error', c.error))
    FROM control.ct_headroom c
    LEFT JOIN LATERAL (SELECT j.started_at FROM control.jobs j
                       WHERE j.source_id = s.id AND j.loaded_at IS NOT NULL ORDER BY j.id DESC LIMIT 1) lj ON true
    WHERE c.source_id = s.id
$$;
