-- The changes of the tables a report reads that its rows do not have yet:
-- those visible in this transaction's snapshot and not in the one the
-- report recorded, and only those that touch a column the report reads
-- (layers.refined_reads), into pg_temp.unseen_changes (table_name, whole,
-- old_row, new_row). Or why the report must be rebuilt instead (why: first
-- build, its SQL changed, it is missing, a table that is not a source's, a
-- `whole` change). Needs the report's REPEATABLE READ transaction
-- (jobs/layers/refined_report.c): what the caller reads next is of the same
-- snapshot, so a change adding up to a report is added once. snap: the
-- snapshot to record.
CREATE OR REPLACE FUNCTION layers.refined_unseen(p_report text, p_sql text, p_depends text[],
                                                 OUT why text, OUT snap pg_snapshot)
LANGUAGE plpgsql AS $$
DECLARE
    st control.refined_state;
    dep text;
    reads jsonb;
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'layers.refined_unseen: needs a REPEATABLE READ transaction';
    END IF;
    snap := pg_current_snapshot();
    SELECT * INTO st FROM control.refined_state WHERE report = p_report;
    IF st IS NULL THEN
        why := 'first build';
    ELSIF st.sql_md5 <> md5(p_sql) THEN
        why := 'the report''s SQL changed';
    ELSIF to_regclass(format('refined.%I', p_report)) IS NULL THEN
        why := 'the report is missing';
    END IF;
    IF why IS NOT NULL THEN
        RETURN;
    END IF;
    FOREACH dep IN ARRAY p_depends LOOP
        IF NOT EXISTS (SELECT 1 FROM control.sources s WHERE 'trusted.' || s.system || '_' || s.object = dep) THEN
            why := format('%s is not a source''s table: its changes are not recorded', dep);
            RETURN;
        END IF;
    END LOOP;
    reads := layers.refined_reads(p_report, p_sql);

    DROP TABLE IF EXISTS pg_temp.unseen_changes;
    CREATE TEMP TABLE unseen_changes ON COMMIT DROP AS
    SELECT c.table_name, c.whole, c.old_row, c.new_row
      FROM control.trusted_changes c
      LEFT JOIN jsonb_to_recordset(reads) AS rd(tbl text, whole_row boolean, cols text[])
        ON rd.tbl = 'trusted.' || c.table_name
     WHERE c.table_name IN (SELECT substr(x, 9) FROM unnest(p_depends) x)
       -- (implied by the next line: what the index on (table_name, xid) reads)
       AND c.xid >= pg_snapshot_xmin(st.snapshot)
       AND pg_visible_in_snapshot(c.xid, snap) AND NOT pg_visible_in_snapshot(c.xid, st.snapshot)
       -- no column read (count(*) only), an insert or a delete: every row counts
       AND (c.whole OR rd.tbl IS NULL OR rd.whole_row OR c.old_row IS NULL OR c.new_row IS NULL
            OR c.changed && rd.cols
            -- (an update recorded before its changed columns were: compared here)
            OR (c.changed IS NULL AND EXISTS (SELECT 1 FROM unnest(rd.cols) k
                                              WHERE c.old_row->k IS DISTINCT FROM c.new_row->k)));
    SELECT format('trusted.%s changed as a whole (a snapshot or a big batch)', table_name) INTO why
      FROM pg_temp.unseen_changes WHERE whole LIMIT 1;
END $$;
