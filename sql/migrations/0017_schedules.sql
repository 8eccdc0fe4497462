-- Schedules: the lake runs by itself. A schedule fires a target (a pipeline,
-- one source's load, or a built-in task) at the instants of a 5-field cron in
-- an IANA time zone. The server's scheduler thread (scheduler/) fires them;
-- control.schedule_runs holds one row per fire and attempt, unique on
-- (schedule_id, scheduled_at, attempt), written in the same transaction as
-- the pipeline run or job it starts: exactly once, however many servers.
--
-- The cron is parsed in C (scheduler/cron.c) and stored both as typed and
-- as the sets it means (cron_minutes ... cron_dows), so PostgreSQL, which
-- has the IANA database, computes the fire instants (schedule_fires below).

CREATE TABLE control.schedules (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text UNIQUE CHECK (name <> ''),
    pipeline         text,
    source_id        bigint,          -- no foreign key: a deleted source is reported, not cascaded
    load_type        text CHECK (load_type IN ('full', 'incremental')),
    task             text,
    cron             text NOT NULL,
    cron_minutes     integer[] NOT NULL,
    cron_hours       integer[] NOT NULL,
    cron_doms        integer[] NOT NULL,
    cron_months      integer[] NOT NULL,
    cron_dows        integer[] NOT NULL,
    cron_dom_any     boolean NOT NULL,  -- day-of-month field starts with '*'
    cron_dow_any     boolean NOT NULL,  -- day-of-week field starts with '*'
    cron_fixed       boolean NOT NULL,  -- neither minute nor hour starts with '*' (DST rule)
    timezone         text NOT NULL DEFAULT 'UTC',
    active           boolean NOT NULL DEFAULT true,
    catchup          text NOT NULL DEFAULT 'none' CHECK (catchup IN ('none', 'all')),
    catchup_limit    integer NOT NULL DEFAULT 10 CHECK (catchup_limit BETWEEN 1 AND 1000),
    max_active_runs  integer NOT NULL DEFAULT 1 CHECK (max_active_runs BETWEEN 1 AND 64),
    deadline_seconds integer CHECK (deadline_seconds > 0),
    retries          integer NOT NULL DEFAULT 0 CHECK (retries BETWEEN 0 AND 10),
    retry_delay_seconds integer NOT NULL DEFAULT 300 CHECK (retry_delay_seconds >= 0),
    next_fire_at     timestamptz,     -- the earliest fire not handled yet (NULL: none within 5 years)
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((pipeline IS NOT NULL)::int + (source_id IS NOT NULL)::int + (task IS NOT NULL)::int = 1),
    CHECK ((source_id IS NULL) = (load_type IS NULL))
);

CREATE INDEX schedules_due ON control.schedules (next_fire_at) WHERE active;

CREATE TABLE control.schedule_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id      bigint NOT NULL REFERENCES control.schedules (id) ON DELETE CASCADE,
    scheduled_at     timestamptz NOT NULL,
    attempt          integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    started_at       timestamptz NOT NULL,   -- the scheduler's clock when it fired
    outcome          text NOT NULL CHECK (outcome IN ('started', 'skipped', 'target_missing')),
    reason           text,
    pipeline_run_id  bigint REFERENCES control.pipeline_runs (id),
    job_id           bigint REFERENCES control.jobs (id),
    task             text,
    task_state       text,                   -- a built-in task's JOB_STATE_* (they run in the scheduler)
    task_finished_at timestamptz,
    deadline_at      timestamptz,
    deadline_missed_at timestamptz,
    settled          boolean NOT NULL DEFAULT false, -- final, nothing left to do (retry, deadline)
    server           text,
    UNIQUE (schedule_id, scheduled_at, attempt)
);

CREATE INDEX schedule_runs_open ON control.schedule_runs (schedule_id) WHERE NOT settled;
CREATE INDEX schedule_runs_list ON control.schedule_runs (schedule_id, id);

-- Its functions are in sql/functions/control.*.sql (tz_offset, schedule_fires, local_iso,
-- iso_duration, schedule_target_problem, schedule_json, schedule_run_*).
