-- Forgets the TRUSTED changes every report reading their table has seen (they
-- are visible in its snapshot), once an hour old: a report being built for
-- the first time, not recorded yet, never loses a change it has not seen.
CREATE OR REPLACE FUNCTION layers.refined_gc() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM control.trusted_changes c
     WHERE c.recorded_at < now() - interval '1 hour'
       AND NOT EXISTS (SELECT 1 FROM control.refined_state s
                        WHERE 'trusted.' || c.table_name = ANY (s.depends)
                          AND NOT pg_visible_in_snapshot(c.xid, s.snapshot));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
