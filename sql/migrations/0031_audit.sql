-- The audit log: every change to a source definition, a schedule or a
-- token, and to a layer or report SQL file, with before, after, when and
-- who (the API token's name; "server" for SQL files seen at start; a
-- database session's user when changed outside the API). Rows of
-- control.sources, control.schedules and control.api_tokens are recorded by
-- the trigger function control.audit_row (sql/functions/, which also
-- attaches it); SQL files by control.sql_files_sync, run at start.
CREATE TABLE control.audit_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    request_id  text,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    entity      text NOT NULL CHECK (entity IN ('source', 'schedule', 'token', 'sql_file')),
    entity_id   text,
    before      jsonb,
    after       jsonb
);

CREATE INDEX audit_events_entity ON control.audit_events (entity, entity_id, id);

-- The layer and report SQL files as last seen (sql/layers/, sql/refined/).
CREATE TABLE control.sql_files (
    path     text PRIMARY KEY,
    sha256   text NOT NULL,
    body     text NOT NULL,
    seen_at  timestamptz NOT NULL
);
