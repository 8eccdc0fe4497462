-- After a big merge (an initial snapshot, a backfill) TRUSTED and the RAW
-- partition it read have no statistics yet; the next small incremental merge
-- would then be planned as if they were empty and scan them whole (measured:
-- 1 000 changes into a fresh 10 M-row table took 0.8 s instead of 0.01 s).
-- The job analyzes them in the merge's transaction when the batch was big,
-- but only the columns that merge's plans need: TRUSTED's key (its joins with
-- the batch) and, in a day partition of RAW made before RAW was partitioned
-- by job, _job_id (the batch's filter). Sampling every column
-- (RAW's _record and texts above all) took 4x longer; a column-list ANALYZE
-- leaves the changes counter alone, so autovacuum still analyzes them whole.
-- A table built in this transaction (an empty TRUSTED filled in bulk, a
-- table swapped in) has no statistics at all: all its columns, listed.
-- A sample of 3 000 rows (statistics target 10) is enough for a key and for
-- job ids, and reads a tenth of the pages (RAW, 210 000 rows: 0.24 s -> 0.02 s).
CREATE OR REPLACE FUNCTION layers.analyze_after_merge(p_source bigint, p_batch bigint) RETURNS boolean
LANGUAGE plpgsql SET default_statistics_target = 10 AS $$
DECLARE
    t text := layers.table_name(p_source);
    cols text;
    part record;
BEGIN
    IF p_batch < 100000 OR to_regclass(format('trusted.%I', t)) IS NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = to_regclass(format('trusted.%I', t)) AND i.indisprimary
                 AND c.xmin = pg_current_xact_id()::xid) THEN
        -- a table new in this transaction (swapped in, or filled in bulk)
        -- has no statistics at all: every column, listed (so autovacuum
        -- still analyzes it properly soon), from the small sample; the
        -- reports' refreshes and the first queries are planned on them
        SELECT string_agg(format('%I', a.attname), ', ') INTO cols
          FROM pg_attribute a
         WHERE a.attrelid = format('trusted.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    ELSE
        SELECT string_agg(format('%I', x->>'name'), ', ') INTO cols
          FROM control.sources s, jsonb_array_elements(s.columns) x
         WHERE s.id = p_source AND (x->>'key')::boolean;
    END IF;
    EXECUTE format('ANALYZE trusted.%I%s', t, coalesce(' (' || cols || ')', ''));
    -- the day partitions of RAW without statistics, made before RAW was
    -- partitioned by job (a job's own partition is found by its bounds: the
    -- merge needs no statistics of it)
    FOR part IN SELECT c.oid::regclass AS rel FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = to_regclass(format('raw.%I', t)) AND c.relkind = 'r' AND c.reltuples < 0
    LOOP
        EXECUTE format('ANALYZE %s (_job_id)', part.rel);
    END LOOP;
    RETURN true;
END $$;
