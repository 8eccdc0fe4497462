-- The lake's side of GET /metrics at `now_at`: one JSON object per sample,
-- {"m": metric name, "l": {label: value}, "v": number}. Labels stay bounded:
-- states, source types, sources (system.object), alert names, never a job
-- id; the largest tables are the ten largest of the lake's schemas (a
-- partitioned table with all its partitions). handlers/metrics.c
-- adds HELP and TYPE and writes the text format.
CREATE OR REPLACE FUNCTION control.metrics(now_at timestamptz) RETURNS SETOF json
LANGUAGE sql STABLE AS $$
    WITH jobs AS (
        SELECT j.state, coalesce(s.source_type, 'deleted') AS source_type, j.created_at,
               extract(epoch FROM j.finished_at - j.started_at) AS secs
        FROM control.jobs j LEFT JOIN control.sources s ON s.id = j.source_id),
    buckets(le) AS (VALUES (1.0), (5.0), (15.0), (60.0), (300.0), (900.0), (3600.0), (14400.0)),
    types AS (SELECT DISTINCT source_type FROM jobs WHERE state = 'JOB_STATE_DONE'),
    src AS (
        SELECT s.id, s.system || '.' || s.object AS name, s.source_type,
               control.source_health(s, now_at)::jsonb AS h,
               (control.ct_headroom_json(s, now_at)->>'seconds')::bigint AS ct_headroom
        FROM control.sources s)
    SELECT json_build_object('m', 'shopperlake_jobs', 'l', json_build_object('state', state, 'source_type', source_type), 'v', count(*))
    FROM jobs GROUP BY state, source_type
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_job_duration_seconds_bucket',
                             'l', json_build_object('source_type', t.source_type, 'le', b.le::text),
                             'v', (SELECT count(*) FROM jobs j WHERE j.state = 'JOB_STATE_DONE'
                                   AND j.source_type = t.source_type AND j.secs <= b.le))
    FROM types t CROSS JOIN buckets b
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_job_duration_seconds_bucket',
                             'l', json_build_object('source_type', source_type, 'le', '+Inf'), 'v', count(*))
    FROM jobs WHERE state = 'JOB_STATE_DONE' GROUP BY source_type
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_job_duration_seconds_sum',
                             'l', json_build_object('source_type', source_type), 'v', coalesce(sum(secs), 0))
    FROM jobs WHERE state = 'JOB_STATE_DONE' GROUP BY source_type
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_job_duration_seconds_count',
                             'l', json_build_object('source_type', source_type), 'v', count(*))
    FROM jobs WHERE state = 'JOB_STATE_DONE' GROUP BY source_type
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_queue_depth', 'l', '{}'::json, 'v', count(*))
    FROM jobs WHERE state = 'JOB_STATE_QUEUED'
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_queue_oldest_age_seconds', 'l', '{}'::json,
                             'v', coalesce(greatest(0, extract(epoch FROM now_at - min(created_at))), 0))
    FROM jobs WHERE state = 'JOB_STATE_QUEUED'
    UNION ALL
    SELECT json_build_object('m', m.name, 'l', json_build_object('source', s.name), 'v', m.v)
    FROM src s CROSS JOIN LATERAL (
        SELECT 'shopperlake_source_rows_loaded_total' AS name, coalesce(sum(j.rows_written), 0) AS v
        FROM control.jobs j WHERE j.source_id = s.id AND j.state = 'JOB_STATE_DONE'
        UNION ALL
        SELECT 'shopperlake_source_rows_quarantined_total', coalesce(sum(j.rows_quarantined), 0)
        FROM control.jobs j WHERE j.source_id = s.id AND j.state = 'JOB_STATE_DONE'
        UNION ALL
        SELECT 'shopperlake_source_rows_rejected_total', coalesce(sum(f.rows_rejected), 0)
        FROM control.files f WHERE f.source_id = s.id
        UNION ALL
        SELECT 'shopperlake_source_age_seconds', (s.h->>'age_seconds')::numeric) m
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_source_health',
                             'l', json_build_object('source', s.name, 'source_type', s.source_type, 'state', st.state),
                             'v', CASE WHEN s.h->>'state' = st.state THEN 1 ELSE 0 END)
    FROM src s CROSS JOIN (VALUES ('fresh'), ('late'), ('stale'), ('failing'), ('unknown'), ('inactive')) st(state)
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_source_ct_headroom_seconds', 'l', json_build_object('source', s.name),
                             'v', s.ct_headroom)
    FROM src s WHERE s.ct_headroom IS NOT NULL
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_alerts_firing',
                             'l', json_build_object('alertname', a.alertname, 'severity', a.severity), 'v', count(*))
    FROM control.alerts a WHERE a.state = 'firing' GROUP BY a.alertname, a.severity
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_lake_database_bytes', 'l', '{}'::json,
                             'v', pg_database_size(current_database()))
    UNION ALL
    SELECT json_build_object('m', 'shopperlake_lake_table_bytes',
                             'l', json_build_object('schema', b.nspname, 'table', b.relname), 'v', b.bytes)
    FROM (SELECT n.nspname, c.relname,
                 CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)
                                                 FROM pg_partition_tree(c.oid) t)
                      ELSE pg_total_relation_size(c.oid) END AS bytes
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
            AND n.nspname IN ('land', 'raw', 'trusted', 'refined', 'control')
          ORDER BY 3 DESC LIMIT 10) b
$$;
