-- The newest job RAW holds after p_after, and the newest of those that was a
-- snapshot (its rows carry no change operation), without reading the rows:
-- a job's own partition (RAW partitioned by day, then by job) is named by its
-- bound, and its first row says whether it is a snapshot. Day partitions
-- made before RAW was partitioned by job (through their _job_id index) and a
-- day's DEFAULT partition (rows a raw override wrote) are asked for theirs.
-- `jobs` counts the jobs found (2 when a scanned partition had any: at least
-- one, maybe more). For layers.trusted_merge.
-- (it had no `jobs` before: new OUT parameters need a new function)
DROP FUNCTION IF EXISTS layers.raw_jobs_after(bigint, bigint);
CREATE FUNCTION layers.raw_jobs_after(p_source bigint, p_after bigint, OUT top_job bigint, OUT snap_job bigint,
                                      OUT jobs integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    part record;
    top bigint;
    snap bigint;
    is_snap boolean;
BEGIN
    FOR part IN WITH raw AS (SELECT to_regclass(format('raw.%I', layers.table_name(p_source))) AS rel),
                leaves AS (SELECT p.relid FROM raw, pg_partition_tree(raw.rel) p WHERE p.isleaf
                           UNION ALL  -- a RAW table that is not partitioned (made by a raw override)
                           SELECT c.oid FROM raw JOIN pg_class c ON c.oid = raw.rel WHERE c.relkind = 'r')
                SELECT l.relid::regclass AS relid,
                       substring(pg_get_expr(c.relpartbound, c.oid) FROM 'IN \(''?([0-9]+)''?\)')::bigint AS job
                FROM leaves l JOIN pg_class c ON c.oid = l.relid
    LOOP
        IF part.job IS NULL THEN
            -- a plain day partition, or a day's DEFAULT partition: any jobs
            EXECUTE format('SELECT max(_job_id), max(_job_id) FILTER (WHERE sys_change_operation IS NULL) '
                           'FROM %s WHERE _job_id > $1', part.relid) INTO top, snap USING p_after;
        ELSIF part.job > p_after THEN
            -- a job's rows are all of a snapshot or all changes (every
            -- change-sending extractor marks each row I, U or D): its first
            -- row says which, and that it has rows at all
            EXECUTE format('SELECT sys_change_operation IS NULL FROM %s LIMIT 1', part.relid) INTO is_snap;
            top := CASE WHEN is_snap IS NOT NULL THEN part.job END;
            snap := CASE WHEN is_snap THEN part.job END;
        ELSE
            CONTINUE;
        END IF;
        IF top IS NOT NULL THEN
            jobs := coalesce(jobs, 0) + CASE WHEN part.job IS NULL THEN 2 ELSE 1 END;
        END IF;
        top_job := greatest(top_job, top);
        snap_job := greatest(snap_job, snap);
    END LOOP;
END $$;
