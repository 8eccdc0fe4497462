-- The control table: one row per ingested table, endpoint or file set (the
-- seed's controle_etl). Credentials are never stored, only a reference.
CREATE TABLE control.sources (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system             text NOT NULL,
    source_type        text NOT NULL CHECK (source_type IN ('sqlserver', 'postgresql', 'api', 'sftp')),
    database           text NOT NULL,
    schema             text,
    object             text NOT NULL,
    columns            jsonb NOT NULL CHECK (jsonb_typeof(columns) = 'array' AND jsonb_array_length(columns) > 0),
    load_type          text NOT NULL CHECK (load_type IN ('full', 'incremental')),
    offset_mode        text NOT NULL DEFAULT 'none'
                       CHECK (offset_mode IN ('none', 'change_tracking', 'watermark', 'files')),
    offset_column      text,
    last_offset        text,
    active             boolean NOT NULL DEFAULT true,
    connection_secret  text CHECK (connection_secret ~ '^(env:|file:/|gcp-sm:projects/)'),
    options            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
    project            text,
    region             text,
    max_parallel_tasks integer NOT NULL DEFAULT 1 CHECK (max_parallel_tasks BETWEEN 1 AND 64),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (system, database, object)
);

CREATE INDEX sources_system_type ON control.sources (system, source_type, active);

-- The API's representation of a source, in one place.
CREATE FUNCTION control.source_json(s control.sources) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', s.id, 'system', s.system, 'source_type', s.source_type,
        'database', s.database, 'schema', s.schema, 'object', s.object,
        'columns', s.columns, 'load_type', s.load_type, 'offset_mode', s.offset_mode,
        'offset_column', s.offset_column, 'last_offset', s.last_offset, 'active', s.active,
        'connection_secret', s.connection_secret, 'options', s.options,
        'project', s.project, 'region', s.region, 'max_parallel_tasks', s.max_parallel_tasks,
        'created_at', s.created_at, 'updated_at', s.updated_at)
$$;
