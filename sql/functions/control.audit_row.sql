-- The audit trigger (see migration 0031): one control.audit_events row per
-- changed row of control.sources, control.schedules and control.api_tokens.
-- TG_ARGV: [0] the entity; [1] columns never recorded (bookkeeping, a
-- token's hash); [2] columns that are state, not definition: a change of
-- only those is recorded when an API request made it (an admin resetting
-- last_offset) but not when a job or the scheduler did. Who: the setting
-- shopperlake.actor (the token's name, set by the server for each writing
-- request) or else the database session's user and application.
-- This file also attaches the trigger (CREATE OR REPLACE TRIGGER: a
-- trigger needs its function, and numbered migrations run before the
-- function files).
CREATE OR REPLACE FUNCTION control.audit_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    who text := nullif(current_setting('shopperlake.actor', true), '');
    ignored text[] := string_to_array(TG_ARGV[1], ',');
    state_cols text[] := CASE WHEN who IS NULL THEN string_to_array(TG_ARGV[2], ',') ELSE '{}' END;
    b jsonb;
    a jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN b := to_jsonb(OLD) - ignored; END IF;
    IF TG_OP <> 'DELETE' THEN a := to_jsonb(NEW) - ignored; END IF;
    IF TG_OP = 'UPDATE' AND (b - state_cols) = (a - state_cols) THEN
        RETURN NULL;
    END IF;
    INSERT INTO control.audit_events (actor, request_id, action, entity, entity_id, before, after)
    VALUES (coalesce(who, 'database:' || session_user ||
                     coalesce(' (' || nullif(current_setting('application_name', true), '') || ')', '')),
            nullif(current_setting('shopperlake.request_id', true), ''),
            CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
            TG_ARGV[0], coalesce(a, b)->>'id', b, a);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON control.sources
    FOR EACH ROW EXECUTE FUNCTION control.audit_row('source', 'updated_at,last_loaded_at', 'last_offset');
CREATE OR REPLACE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON control.schedules
    FOR EACH ROW EXECUTE FUNCTION control.audit_row('schedule',
        'updated_at,next_fire_at,cron_minutes,cron_hours,cron_doms,cron_months,cron_dows,cron_dom_any,cron_dow_any,cron_fixed', '');
CREATE OR REPLACE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON control.api_tokens
    FOR EACH ROW EXECUTE FUNCTION control.audit_row('token', 'secret_sha256', '');
