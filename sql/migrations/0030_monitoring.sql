-- Monitoring: the alerts the checks raise (control.monitoring_checks, in
-- sql/functions/) and the server's own period for the checks when no
-- schedule runs them.
--
-- An alert is one condition of one thing (a source stale, a source's loads
-- failing, a schedule's run past its deadline), identified by its dedup_key
-- (alertname:thing). It fires once: while its condition holds the checks
-- only touch last_seen_at; when it stops holding the alert is resolved, and
-- the next time it holds a NEW alert fires. At most one firing alert per
-- dedup_key (the partial unique index). Delivery to Alertmanager and to a
-- webhook is recorded on the row (monitor/deliver.c).
CREATE TABLE control.alerts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key         text NOT NULL,
    alertname         text NOT NULL,
    severity          text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    check_scope       text NOT NULL,                  -- which check raised it (freshness, failures, deadlines)
    source_id         bigint,                          -- no foreign key: history outlives a source
    schedule_id       bigint,
    labels            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    summary           text NOT NULL,
    state             text NOT NULL DEFAULT 'firing' CHECK (state IN ('firing', 'resolved')),
    started_at        timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    resolved_at       timestamptz,
    -- delivery: Alertmanager gets a firing alert again every resend period
    -- and once more when it resolves; the webhook once per state
    am_sent_at        timestamptz,                     -- last accepted post
    am_sent_state     text,                            -- the state it carried
    am_attempts       integer NOT NULL DEFAULT 0,      -- failed posts in a row
    am_next_at        timestamptz,                     -- no post before (backoff)
    am_error          text,
    hook_sent_state   text,
    hook_attempts     integer NOT NULL DEFAULT 0,
    hook_next_at      timestamptz,
    hook_error        text,
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);

CREATE UNIQUE INDEX alerts_one_firing ON control.alerts (dedup_key) WHERE state = 'firing';
CREATE INDEX alerts_list ON control.alerts (id);
CREATE INDEX alerts_source ON control.alerts (source_id, id);

-- When each built-in task last ran on the server's own period (no schedule
-- naming it): one UPDATE ... RETURNING claims a period, so several servers
-- run it once.
CREATE TABLE control.task_periods (
    task        text PRIMARY KEY,
    last_run_at timestamptz
);
INSERT INTO control.task_periods (task) VALUES ('monitoring_checks');

-- What the delivery thread looks at: firing alerts, and resolved ones whose
-- resolution is not delivered yet.
CREATE INDEX alerts_am_pending ON control.alerts (id) WHERE state = 'firing' OR am_sent_state = 'firing';
CREATE INDEX alerts_hook_pending ON control.alerts (id) WHERE state = 'firing' OR hook_sent_state = 'firing';
