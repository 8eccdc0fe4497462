-- Locks the source's row of control.layer_state (made when missing) for the
-- rest of the transaction and returns the last job TRUSTED merged (0: none
-- yet). One TRUSTED step of a source at a time: the step takes it first
-- (jobs/layers/trusted.c), and layers.trusted_merge again, for callers that
-- run it alone.
CREATE OR REPLACE FUNCTION layers.layer_state_lock(p_source bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    last_job bigint;
BEGIN
    INSERT INTO control.layer_state (source_id) VALUES (p_source) ON CONFLICT DO NOTHING;
    SELECT merged_through_job INTO last_job FROM control.layer_state WHERE source_id = p_source FOR UPDATE;
    RETURN last_job;
END $$;
