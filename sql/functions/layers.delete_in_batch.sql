-- Raised by the one-pass build of TRUSTED (layers.trusted_merge) at the
-- first 'D' row of a job it took to hold none: the scan that types the rows
-- is also the one that finds a delete, and the merge then picks the newest
-- row per key instead. Parallel safe, so the parallel build stays parallel.
CREATE OR REPLACE FUNCTION layers.delete_in_batch() RETURNS boolean
LANGUAGE plpgsql PARALLEL SAFE AS $$
BEGIN
    RAISE EXCEPTION 'a delete in a batch typed as it lies' USING ERRCODE = 'LK001';
END $$;
