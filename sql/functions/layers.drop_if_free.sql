-- Drops table p_rel unless its lock is not had within the caller's
-- lock_timeout (a load is using it): false then, and it is left for the
-- next time. For retention's partitions and left copies.
CREATE OR REPLACE FUNCTION layers.drop_if_free(p_rel text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TABLE %s', p_rel);
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END $$;
