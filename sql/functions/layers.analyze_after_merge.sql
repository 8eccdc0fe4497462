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
    -- its key columns only: what the next merge's join is planned on; the
    -- rest is left to autovacuum (a column list does not reset its count of
    -- changes, so it still analyzes the whole table soon), half the time here
    EXECUTE format('ANALYZE trusted.%I (%s)', t,
                   (SELECT string_agg(format('%I', x->>'name'), ', ')
                      FROM control.sources s, jsonb_array_elements(s.columns) x
                     WHERE s.id = p_source AND (x->>'key')::boolean));
    -- the day partitions of RAW without statistics, made before RAW was
    -- partitioned by job (a job's own partition is found by its bounds: the
    -- merge needs no statistics of it)
    FOR part IN SELECT c.oid::regclass AS rel FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = to_regclass(format('raw.%I', t)) AND c.relkind = 'r' AND c.reltuples < 0
    LOOP
        EXECUTE format('ANALYZE %s', part.rel);
    END LOOP;
    RETURN true;
END $$;
