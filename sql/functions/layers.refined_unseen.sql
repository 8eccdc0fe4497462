-- For a report refreshed by a function of its own (-- refresh_with:): the
-- changes of the tables it reads that its rows do not have yet, those
-- visible in this transaction's snapshot and not in the one it recorded,
-- into pg_temp.unseen_changes (table_name, old_row, new_row); or why it must
-- be rebuilt instead (why: first build, its SQL changed, a table that is not
-- a source's, a `whole` change). Needs the report's REPEATABLE READ
-- transaction (jobs/layers/refined.c): the rows the function reads next are
-- of the same snapshot, so every change is added once. snap: the snapshot
-- to record.
CREATE OR REPLACE FUNCTION layers.refined_unseen(p_report text, p_sql text, p_depends text[],
                                                 OUT why text, OUT snap pg_snapshot)
LANGUAGE plpgsql AS $$
DECLARE
    st control.refined_state;
    dep text;
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

    DROP TABLE IF EXISTS pg_temp.unseen_changes;
    CREATE TEMP TABLE unseen_changes ON COMMIT DROP AS
    SELECT c.table_name, c.whole, c.old_row, c.new_row
      FROM control.trusted_changes c
     WHERE 'trusted.' || c.table_name = ANY (p_depends)
       AND pg_visible_in_snapshot(c.xid, snap) AND NOT pg_visible_in_snapshot(c.xid, st.snapshot);
    SELECT format('trusted.%s changed as a whole (a snapshot or a big batch)', table_name) INTO why
      FROM pg_temp.unseen_changes WHERE whole LIMIT 1;
END $$;
