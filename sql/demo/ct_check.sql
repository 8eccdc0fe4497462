-- A reference extractor for the change-tracking contract of
-- 02_change_tracking.sql, used by check_ct.sh. It replicates every tracked
-- table into schema demo_check, storing rows and offset in the same
-- transaction, exactly as the lake does, and logs every change it loads.
-- Not part of the demo data: scripts/demo-db does not install it.

DROP SCHEMA IF EXISTS demo_check CASCADE;
CREATE SCHEMA demo_check;

CREATE TABLE demo_check.offsets (
    table_name text PRIMARY KEY,
    snap       pg_snapshot NOT NULL
);

-- One row per change loaded: a (table, id, version) twice means a change came twice.
CREATE TABLE demo_check.log (
    load_no    int NOT NULL,
    table_name text NOT NULL,
    id         bigint NOT NULL,
    version    bigint NOT NULL,
    op         char(1) NOT NULL,
    txid       xid8 NOT NULL
);

-- Offsets only mean something when the rows were read in the same snapshot.
CREATE FUNCTION demo_check.assert_rr() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'loads must run in REPEATABLE READ';
    END IF;
END $$;

CREATE FUNCTION demo_check.full_load() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    PERFORM demo_check.assert_rr();
    FOR t IN SELECT table_name FROM ct.tracked_tables ORDER BY 1 LOOP
        EXECUTE format('DROP TABLE IF EXISTS demo_check.%1$I;
                        CREATE TABLE demo_check.%1$I AS SELECT * FROM public.%1$I;
                        ALTER TABLE demo_check.%1$I ADD PRIMARY KEY (id)', t);
        INSERT INTO demo_check.offsets VALUES (t, pg_current_snapshot())
        ON CONFLICT (table_name) DO UPDATE SET snap = excluded.snap;
    END LOOP;
    DELETE FROM demo_check.log;
    RETURN pg_current_snapshot()::text;
END $$;

-- Loads the changes since each table's offset; returns how many.
CREATE FUNCTION demo_check.incremental(p_load int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    t     text;
    cols  text;
    prev  pg_snapshot;
    n     bigint;
    bad   bigint;
    total bigint := 0;
BEGIN
    PERFORM demo_check.assert_rr();
    FOR t IN SELECT table_name FROM ct.tracked_tables ORDER BY 1 LOOP
        SELECT snap INTO prev FROM demo_check.offsets o WHERE o.table_name = t;
        IF ct.offset_lost(prev, t) THEN
            RAISE EXCEPTION 'gap on %: changes since offset xmin % are gone, full load needed',
                t, pg_snapshot_xmin(prev) USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        -- The contract's query, as the lake's extractor runs it.
        EXECUTE format($q$
            CREATE TEMP TABLE demo_ch AS
            SELECT c.sys_change_version, c.sys_change_operation, c.id AS ct_id, c.txid AS ct_txid, t.*
              FROM ct.%1$I c LEFT JOIN public.%1$I t ON t.id = c.id
             WHERE c.txid >= pg_snapshot_xmin(%2$L::pg_snapshot)
               AND NOT pg_visible_in_snapshot(c.txid, %2$L::pg_snapshot)$q$, t, prev::text);
        SELECT count(*) FILTER (WHERE (sys_change_operation = 'D') <> (id IS NULL)), count(*)
          INTO bad, n FROM demo_ch;
        IF bad > 0 THEN
            RAISE EXCEPTION '% changes of % disagree with the row (a D with a row, or an I/U without)', bad, t;
        END IF;
        INSERT INTO demo_check.log
        SELECT p_load, t, ct_id, sys_change_version, sys_change_operation, ct_txid FROM demo_ch;
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
          FROM pg_attribute
         WHERE attrelid = format('public.%I', t)::regclass AND attnum > 0 AND NOT attisdropped;
        EXECUTE format('DELETE FROM demo_check.%1$I r USING demo_ch c WHERE r.id = c.ct_id;
                        INSERT INTO demo_check.%1$I (%2$s)
                        SELECT %2$s FROM demo_ch WHERE sys_change_operation <> ''D''', t, cols);
        DROP TABLE demo_ch;
        UPDATE demo_check.offsets o SET snap = pg_current_snapshot() WHERE o.table_name = t;
        total := total + n;
    END LOOP;
    RETURN total;
END $$;

-- Rows that differ between the source and the replica, per table.
CREATE FUNCTION demo_check.diff() RETURNS TABLE (table_name text, missing bigint, extra bigint)
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tt.table_name FROM ct.tracked_tables tt ORDER BY 1 LOOP
        table_name := t;
        EXECUTE format('SELECT (SELECT count(*) FROM (SELECT * FROM public.%1$I EXCEPT ALL SELECT * FROM demo_check.%1$I) a),
                               (SELECT count(*) FROM (SELECT * FROM demo_check.%1$I EXCEPT ALL SELECT * FROM public.%1$I) b)', t)
            INTO missing, extra;
        RETURN NEXT;
    END LOOP;
END $$;

CREATE FUNCTION demo_check.duplicates() RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM (SELECT 1 FROM demo_check.log GROUP BY table_name, id, version HAVING count(*) > 1) d;
$$;
