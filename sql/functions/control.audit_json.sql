-- The API's representation of an audit event (GET /v1/audit).
CREATE OR REPLACE FUNCTION control.audit_json(e control.audit_events) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', e.id, 'at', e.at, 'actor', e.actor, 'request_id', e.request_id, 'action', e.action,
        'entity', e.entity, 'entity_id', e.entity_id, 'before', e.before, 'after', e.after)
$$;
