-- Records the layer and report SQL files the server found at start
-- (`files`: [{path, text}]): each new, changed or removed file is an audit
-- event (entity sql_file, actor "server", before and after with sha256 and
-- text), and control.sql_files keeps what was seen. Run under the
-- migrations' advisory lock, so servers starting together record a change
-- once. Returns {"created": n, "changed": n, "removed": n}.
CREATE OR REPLACE FUNCTION control.sql_files_sync(files jsonb) RETURNS json
LANGUAGE sql VOLATILE AS $$
    WITH cur AS (
        SELECT f->>'path' AS path, f->>'text' AS body,
               encode(sha256(convert_to(f->>'text', 'UTF8')), 'hex') AS sha
        FROM jsonb_array_elements(files) f),
    changed AS (
        SELECT c.*, s.sha256 AS old_sha, s.body AS old_body, s.path IS NULL AS added
        FROM cur c LEFT JOIN control.sql_files s ON s.path = c.path
        WHERE s.path IS NULL OR s.sha256 <> c.sha),
    removed AS (
        DELETE FROM control.sql_files s WHERE NOT EXISTS (SELECT 1 FROM cur c WHERE c.path = s.path)
        RETURNING s.path, s.sha256, s.body),
    kept AS (
        INSERT INTO control.sql_files (path, sha256, body, seen_at)
        SELECT path, sha, body, now() FROM changed
        ON CONFLICT (path) DO UPDATE SET sha256 = EXCLUDED.sha256, body = EXCLUDED.body, seen_at = EXCLUDED.seen_at
        RETURNING path),
    events AS (
        INSERT INTO control.audit_events (actor, action, entity, entity_id, before, after)
        SELECT 'server', CASE WHEN added THEN 'create' ELSE 'update' END, 'sql_file', path,
               CASE WHEN NOT added THEN jsonb_build_object('sha256', old_sha, 'text', old_body) END,
               jsonb_build_object('sha256', sha, 'text', body)
        FROM changed
        UNION ALL
        SELECT 'server', 'delete', 'sql_file', path, jsonb_build_object('sha256', sha256, 'text', body), NULL
        FROM removed
        RETURNING 1)
    SELECT json_build_object(
        'created', (SELECT count(*) FROM changed WHERE added),
        'changed', (SELECT count(*) FROM changed WHERE NOT added),
        'removed', (SELECT count(*) FROM removed),
        'recorded', (SELECT count(*) FROM events))
$$;
