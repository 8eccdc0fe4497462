-- The job queue and pipeline runs. Handlers insert rows and NOTIFY; workers
-- claim with FOR UPDATE SKIP LOCKED under a short advisory lock (so the
-- per-source and per-pipeline limits hold across several servers).
CREATE SCHEMA IF NOT EXISTS land;

ALTER TABLE control.sources ADD COLUMN last_loaded_at timestamptz;

CREATE TABLE control.pipeline_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline      text NOT NULL,
    system        text NOT NULL,
    source_type   text NOT NULL,
    load_type     text NOT NULL CHECK (load_type IN ('full', 'incremental')),
    max_parallel  integer NOT NULL CHECK (max_parallel BETWEEN 1 AND 64),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE control.jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL DEFAULT '',
    source_id        bigint REFERENCES control.sources (id) ON DELETE SET NULL,
    source_name      text NOT NULL,             -- system.database.object, kept after a delete
    pipeline_run_id  bigint REFERENCES control.pipeline_runs (id),
    load_type        text NOT NULL CHECK (load_type IN ('full', 'incremental')),
    state            text NOT NULL DEFAULT 'JOB_STATE_QUEUED' CHECK (state IN (
                         'JOB_STATE_QUEUED', 'JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING',
                         'JOB_STATE_DONE', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED')),
    idempotency_key  text UNIQUE,
    attempt          integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 3,
    not_before       timestamptz NOT NULL DEFAULT now(),
    worker           text,
    heartbeat_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    rows_read        bigint NOT NULL DEFAULT 0,
    rows_written     bigint NOT NULL DEFAULT 0,
    rows_estimate    bigint,
    rows_quarantined bigint NOT NULL DEFAULT 0,
    offset_before    text,
    offset_after     text,
    steps            jsonb NOT NULL DEFAULT '[]',
    error            text,
    error_kind       text CHECK (error_kind IN ('transient', 'permanent', 'cancelled'))
);

CREATE INDEX jobs_queued ON control.jobs (id) WHERE state = 'JOB_STATE_QUEUED';
CREATE INDEX jobs_active_source ON control.jobs (source_id)
    WHERE state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING');
CREATE INDEX jobs_source ON control.jobs (source_id, id);
CREATE INDEX jobs_pipeline_run ON control.jobs (pipeline_run_id);

-- [system]_[database]_[table]_[full|incr]_[hash], as the seed names Dataflow jobs.
CREATE FUNCTION control.jobs_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.name := lower(replace(NEW.source_name, '.', '_')) || '_' ||
                CASE NEW.load_type WHEN 'full' THEN 'full' ELSE 'incr' END || '_' ||
                substr(md5(NEW.id::text || clock_timestamp()::text), 1, 8);
    RETURN NEW;
END $$;
CREATE TRIGGER jobs_name BEFORE INSERT ON control.jobs FOR EACH ROW EXECUTE FUNCTION control.jobs_name();

CREATE FUNCTION control.job_json(j control.jobs) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', j.id, 'name', j.name, 'source_id', j.source_id, 'source', j.source_name,
        'pipeline_run_id', j.pipeline_run_id, 'load_type', j.load_type, 'state', j.state,
        'attempt', j.attempt, 'max_attempts', j.max_attempts,
        'created_at', j.created_at, 'started_at', j.started_at, 'finished_at', j.finished_at,
        'duration_seconds', round(extract(epoch FROM coalesce(j.finished_at, now()) - j.started_at)::numeric, 3),
        'worker', j.worker, 'heartbeat_at', j.heartbeat_at,
        'rows_read', j.rows_read, 'rows_written', j.rows_written,
        'rows_quarantined', j.rows_quarantined,
        'progress', json_build_object('rows', j.rows_read, 'estimate', j.rows_estimate,
            'fraction', CASE WHEN j.state = 'JOB_STATE_DONE' THEN 1.0
                             WHEN j.rows_estimate > 0 THEN least(1.0, round(j.rows_read::numeric / j.rows_estimate, 4)) END),
        'offset_before', j.offset_before, 'offset_after', j.offset_after,
        'steps', j.steps, 'error', j.error, 'error_kind', j.error_kind)
$$;

-- A run's state follows its jobs: any still working -> RUNNING (QUEUED if
-- none started), otherwise FAILED if any failed, CANCELLED if all were
-- cancelled, else DONE.
CREATE FUNCTION control.pipeline_run_json(r control.pipeline_runs, with_jobs boolean) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', r.id, 'pipeline', r.pipeline, 'system', r.system, 'source_type', r.source_type,
        'load_type', r.load_type, 'max_parallel', r.max_parallel, 'created_at', r.created_at,
        'state', CASE
            WHEN bool_or(j.state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING')) THEN 'JOB_STATE_RUNNING'
            WHEN bool_and(j.state = 'JOB_STATE_QUEUED') THEN 'JOB_STATE_QUEUED'
            WHEN bool_or(j.state = 'JOB_STATE_QUEUED') THEN 'JOB_STATE_RUNNING'
            WHEN bool_or(j.state = 'JOB_STATE_FAILED') THEN 'JOB_STATE_FAILED'
            WHEN bool_and(j.state = 'JOB_STATE_CANCELLED') THEN 'JOB_STATE_CANCELLED'
            ELSE 'JOB_STATE_DONE' END,
        'finished_at', CASE WHEN bool_and(j.finished_at IS NOT NULL) THEN max(j.finished_at) END,
        'job_counts', json_build_object(
            'total', count(j.id),
            'queued', count(*) FILTER (WHERE j.state = 'JOB_STATE_QUEUED'),
            'running', count(*) FILTER (WHERE j.state IN ('JOB_STATE_RUNNING', 'JOB_STATE_CANCELLING')),
            'done', count(*) FILTER (WHERE j.state = 'JOB_STATE_DONE'),
            'failed', count(*) FILTER (WHERE j.state = 'JOB_STATE_FAILED'),
            'cancelled', count(*) FILTER (WHERE j.state = 'JOB_STATE_CANCELLED')),
        'jobs', CASE WHEN with_jobs THEN coalesce(json_agg(control.job_json(j) ORDER BY j.id), '[]') END)
    FROM control.jobs j WHERE j.pipeline_run_id = r.id
$$;

-- The lake names its tables <system>_<object>, so that pair must be unique too.
CREATE UNIQUE INDEX sources_system_object ON control.sources (system, object);
