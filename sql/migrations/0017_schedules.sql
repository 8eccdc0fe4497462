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

-- Local minus UTC at instant x in zone tz.
CREATE FUNCTION control.tz_offset(x timestamptz, tz text) RETURNS interval
LANGUAGE sql STABLE AS $$ SELECT (x AT TIME ZONE tz) - (x AT TIME ZONE 'UTC') $$;

-- The fire instants of schedule s strictly after `after`, up to `until`
-- (NULL: no bound; at most 5 years ahead), at most n, in order.
--
-- Daylight-saving time follows Vixie cron (ISC cron 4.1): a FIXED-time
-- schedule (neither minute nor hour starts with '*') whose local time falls
-- in a spring-forward gap fires once, at the first instant after the gap;
-- one whose local time occurs twice on a fall-back day fires once, at the
-- first occurrence. A WILDCARD schedule (minute or hour starts with '*')
-- follows the wall clock: minutes that do not exist are not fired, minutes
-- that occur twice fire twice (they are distinct instants). Fires that land
-- on the same instant fire once.
CREATE FUNCTION control.schedule_fires(s control.schedules, after timestamptz, until timestamptz, n integer)
RETURNS SETOF timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    tz   text := s.timezone;
    day  date := (after AT TIME ZONE tz)::date - 1;
    stop date := CASE WHEN until IS NULL THEN day + 5 * 366 ELSE (until AT TIME ZONE tz)::date + 1 END;
    got  integer := 0;
    last timestamptz := after;
    ob interval; oe interval; lt timestamp;
    x1 timestamptz; x2 timestamptz; ok1 boolean; ok2 boolean;
    fires timestamptz[]; f timestamptz; h integer; m integer; dom integer; dow integer;
BEGIN
    IF n <= 0 THEN RETURN; END IF;
    WHILE day <= stop LOOP
        dom := extract(day FROM day)::integer;
        dow := extract(dow FROM day)::integer;
        IF extract(month FROM day)::integer = ANY (s.cron_months) AND (CASE
               WHEN s.cron_dom_any AND s.cron_dow_any THEN true
               WHEN s.cron_dom_any THEN dow = ANY (s.cron_dows)
               WHEN s.cron_dow_any THEN dom = ANY (s.cron_doms)
               ELSE dom = ANY (s.cron_doms) OR dow = ANY (s.cron_dows) END) THEN
            -- the offsets before and after this local day; equal on all but
            -- the days around a transition
            ob := control.tz_offset((day::timestamp - interval '24 hours') AT TIME ZONE 'UTC', tz);
            oe := control.tz_offset((day::timestamp + interval '48 hours') AT TIME ZONE 'UTC', tz);
            fires := '{}';
            FOREACH h IN ARRAY s.cron_hours LOOP
                FOREACH m IN ARRAY s.cron_minutes LOOP
                    lt := day + make_interval(hours => h, mins => m);
                    IF ob = oe THEN
                        fires := fires || ((lt - ob) AT TIME ZONE 'UTC');
                        CONTINUE;
                    END IF;
                    x1 := (lt - ob) AT TIME ZONE 'UTC';
                    x2 := (lt - oe) AT TIME ZONE 'UTC';
                    ok1 := (x1 AT TIME ZONE tz) = lt;
                    ok2 := (x2 AT TIME ZONE tz) = lt;
                    IF ok1 AND ok2 AND x1 <> x2 THEN        -- occurs twice (fall back)
                        fires := fires || least(x1, x2);
                        IF NOT s.cron_fixed THEN fires := fires || greatest(x1, x2); END IF;
                    ELSIF ok1 THEN
                        fires := fires || x1;
                    ELSIF ok2 THEN
                        fires := fires || x2;
                    ELSIF s.cron_fixed THEN                 -- does not exist (spring forward)
                        fires := fires || (SELECT min(g) FROM generate_series(least(x1, x2), greatest(x1, x2),
                                                                              interval '1 minute') g
                                           WHERE control.tz_offset(g, tz) = oe);
                    END IF;
                END LOOP;
            END LOOP;
            FOR f IN SELECT DISTINCT u FROM unnest(fires) u WHERE u IS NOT NULL ORDER BY u LOOP
                CONTINUE WHEN f <= last;
                IF until IS NOT NULL AND f > until THEN RETURN; END IF;
                RETURN NEXT f;
                last := f;
                got := got + 1;
                IF got >= n THEN RETURN; END IF;
            END LOOP;
        END IF;
        day := day + 1;
    END LOOP;
END $$;

-- An instant as local ISO 8601 text with its offset in zone tz.
CREATE FUNCTION control.local_iso(x timestamptz, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(x AT TIME ZONE tz, 'YYYY-MM-DD"T"HH24:MI:SS') ||
           CASE WHEN o < interval '0' THEN '-' ELSE '+' END ||
           to_char(justify_hours(abs(extract(epoch FROM o)) * interval '1 second'), 'HH24:MI')
    FROM (SELECT control.tz_offset(x, tz) AS o) t
$$;

-- Seconds as an ISO 8601 duration: 5400 -> PT1H30M, 86400 -> P1D.
CREATE FUNCTION control.iso_duration(secs integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN secs IS NULL THEN NULL WHEN secs = 0 THEN 'PT0S' ELSE
        'P' || CASE WHEN secs >= 86400 THEN (secs / 86400) || 'D' ELSE '' END ||
        CASE WHEN secs % 86400 = 0 THEN '' ELSE 'T' ||
            CASE WHEN secs % 86400 >= 3600 THEN (secs % 86400 / 3600) || 'H' ELSE '' END ||
            CASE WHEN secs % 3600 >= 60 THEN (secs % 3600 / 60) || 'M' ELSE '' END ||
            CASE WHEN secs % 60 > 0 THEN (secs % 60) || 'S' ELSE '' END END END
$$;

-- Why a schedule's target cannot run now, or NULL.
CREATE FUNCTION control.schedule_target_problem(s control.schedules) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN s.pipeline IS NOT NULL THEN
            CASE WHEN NOT EXISTS (SELECT 1 FROM control.sources x WHERE x.active AND
                     x.system || '_' || x.source_type || '_' || x.load_type = s.pipeline)
                 THEN 'pipeline ' || s.pipeline || ' has no active source' END
        WHEN s.source_id IS NOT NULL THEN
            (SELECT CASE WHEN x.id IS NULL THEN 'source ' || s.source_id || ' was deleted'
                         WHEN NOT x.active THEN 'source ' || s.source_id || ' is inactive' END
             FROM (SELECT 1) one LEFT JOIN control.sources x ON x.id = s.source_id)
        END
$$;

-- The API's representation of a schedule; next_fires counts from `clock`.
CREATE FUNCTION control.schedule_json(s control.schedules, clock timestamptz) RETURNS json
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

-- A fire's state: its pipeline run's, its job's or its task's JOB_STATE_*;
-- NULL when nothing was started (skipped, target missing).
CREATE FUNCTION control.schedule_run_state(r control.schedule_runs) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN r.outcome <> 'started' THEN NULL
        WHEN r.pipeline_run_id IS NOT NULL THEN
            (SELECT control.pipeline_run_json(p, false)->>'state' FROM control.pipeline_runs p WHERE p.id = r.pipeline_run_id)
        WHEN r.job_id IS NOT NULL THEN (SELECT j.state FROM control.jobs j WHERE j.id = r.job_id)
        ELSE r.task_state END
$$;

CREATE FUNCTION control.schedule_run_finished_at(r control.schedule_runs) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN r.pipeline_run_id IS NOT NULL THEN
            (SELECT (control.pipeline_run_json(p, false)->>'finished_at')::timestamptz
             FROM control.pipeline_runs p WHERE p.id = r.pipeline_run_id)
        WHEN r.job_id IS NOT NULL THEN (SELECT j.finished_at FROM control.jobs j WHERE j.id = r.job_id)
        ELSE r.task_finished_at END
$$;

CREATE FUNCTION control.schedule_run_json(r control.schedule_runs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', r.id, 'schedule_id', r.schedule_id, 'scheduled_at', r.scheduled_at,
        'attempt', r.attempt, 'started_at', r.started_at, 'outcome', r.outcome, 'reason', r.reason,
        'pipeline_run_id', r.pipeline_run_id, 'job_id', r.job_id, 'task', r.task,
        'state', control.schedule_run_state(r), 'finished_at', control.schedule_run_finished_at(r),
        'deadline_at', r.deadline_at, 'deadline_missed_at', r.deadline_missed_at, 'server', r.server)
$$;
