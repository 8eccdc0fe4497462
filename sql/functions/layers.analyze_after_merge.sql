-- After a big merge (an initial snapshot, a backfill) TRUSTED and the RAW
-- partition it read have no statistics yet; the next small incremental merge
-- would then be planned as if they were empty and scan them whole (measured:
-- 1 000 changes into a fresh 10 M-row table took 0.8 s instead of 0.01 s).
-- The job analyzes them in the merge's transaction when the batch was big.
CREATE OR REPLACE FUNCTION layers.analyze_after_merge(p_source bigint, p_batch bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    t text := layers.table_name(p_source);
    part record;
BEGIN
    IF p_batch < 100000 OR to_regclass(format('trusted.%I', t)) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('ANALYZE trusted.%I', t);
    -- the RAW partitions without statistics (new since the last analyze):
    -- leaves only, a day partition is itself partitioned by job
    FOR part IN SELECT p.relid AS rel FROM pg_partition_tree(to_regclass(format('raw.%I', t))) p
                JOIN pg_class c ON c.oid = p.relid
                WHERE p.isleaf AND c.reltuples < 0
    LOOP
        EXECUTE format('ANALYZE %s', part.rel);
    END LOOP;
    RETURN true;
END $$;
