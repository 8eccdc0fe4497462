-- Records, in the transaction that rebuilds a report, the snapshot its rows
-- will reflect: the transaction is REPEATABLE READ (jobs/layers/refined.c),
-- so the report's SELECT reads this same snapshot, every change visible in it
-- and none other (a refresh that adds up changes relies on that); and when
-- it was rebuilt (built_at). A report that reads a report lacking a change
-- it sees records that report's snapshot instead (layers.refined_snapshot).
CREATE OR REPLACE FUNCTION layers.refined_mark(p_report text, p_sql text, p_depends text[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO control.refined_state (report, sql_md5, depends, snapshot, refreshed_at, built_at)
    VALUES (p_report, md5(p_sql), p_depends,
            layers.refined_snapshot(p_depends), now(), now())
    ON CONFLICT (report) DO UPDATE SET sql_md5 = excluded.sql_md5, depends = excluded.depends,
        snapshot = excluded.snapshot, refreshed_at = excluded.refreshed_at, built_at = excluded.built_at,
        reads = NULL, reads_md5 = NULL
$$;
