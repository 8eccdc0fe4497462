-- Adds a column to the LAND table that `p_table` (a job partition or the
-- table itself) belongs to. p_type comes from the server's code, never from
-- a user.
CREATE OR REPLACE FUNCTION layers.land_add_column(p_table regclass, p_column text, p_type text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL client_min_messages = warning;
    EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS %I %s', pg_partition_root(p_table), p_column, p_type);
END $$;
