-- The API's representation of a source, in one place.
CREATE OR REPLACE FUNCTION control.source_json(s control.sources) RETURNS json
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
