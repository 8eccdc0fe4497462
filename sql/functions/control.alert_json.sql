-- The API's representation of an alert (GET /v1/alerts).
CREATE OR REPLACE FUNCTION control.alert_json(a control.alerts) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', a.id, 'dedup_key', a.dedup_key, 'alertname', a.alertname, 'severity', a.severity,
        'state', a.state, 'summary', a.summary, 'labels', a.labels,
        'source_id', a.source_id, 'schedule_id', a.schedule_id,
        'started_at', a.started_at, 'last_seen_at', a.last_seen_at, 'resolved_at', a.resolved_at,
        'delivery', json_build_object(
            'alertmanager', json_build_object('sent_at', a.am_sent_at, 'sent_state', a.am_sent_state,
                                              'failed_attempts', a.am_attempts, 'error', a.am_error),
            'webhook', json_build_object('sent_state', a.hook_sent_state,
                                         'failed_attempts', a.hook_attempts, 'error', a.hook_error)))
$$;
