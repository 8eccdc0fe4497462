-- Change tracking for the demo marketplace, in the spirit of SQL Server
-- Change Tracking (CHANGETABLE(CHANGES ...)), built on PostgreSQL snapshots so
-- that an extractor loads every change EXACTLY ONCE, even when source
-- transactions run long and commit out of order.
--
-- WHAT IS KEPT
--   ct.<T>                  one row per key of table public.<T> that ever changed
--                           ("net changes": the latest change wins):
--     id                    bigint PK   the key of the changed row
--     sys_change_version    bigint      from the global sequence ct.version_seq;
--                                       grows with every change of a key, so for ONE
--                                       key a higher version is a later change. It is
--                                       NOT a commit order across keys.
--     sys_change_operation  char(1)     'I', 'U' or 'D': the latest operation, except
--                                       that an insert followed by updates in the
--                                       same transaction stays 'I'
--     txid                  xid8        the writing (top-level) transaction
--   ct.tracked_tables(table_name, key_column)   what is tracked
--   ct.horizon(table_name, min_valid_xid, truncated_by)   see RETENTION
--   ct.min_valid_xid(table) -> xid8             '0' until a cleanup
--   ct.offset_lost(offset, table) -> boolean    true when changes the offset
--                                               needs are gone (a full load is due)
--
-- WHY TRANSACTION IDS AND NOT VERSIONS
--   A version (or a timestamp) is drawn when a row changes, not when its
--   transaction commits. A load that remembers "up to version 1000" misses
--   version 990 of a transaction that was still open when it ran. Instead an
--   offset is a whole snapshot: which transactions had committed when the
--   load read. The next load takes exactly the changes of the transactions
--   that its own snapshot sees and the previous one did not.
--
-- HOW AN EXTRACTOR USES IT (per table T; $prev is the stored offset)
--   Full load:
--     BEGIN ISOLATION LEVEL REPEATABLE READ;
--     SELECT pg_current_snapshot()::text;      -- the offset, e.g. '812:815:812,813'
--     SELECT * FROM T;                         -- same snapshot as the offset
--     COMMIT;
--   Incremental load:
--     BEGIN ISOLATION LEVEL REPEATABLE READ;
--     SELECT pg_current_snapshot()::text;      -- the NEXT offset
--     -- refuse (gap: do a full load) when
--     --   ct.offset_lost($prev::pg_snapshot, 'T')
--     SELECT c.sys_change_version, c.sys_change_operation, c.id, t.*
--       FROM ct.T c LEFT JOIN T t ON t.id = c.id
--      WHERE c.txid >= pg_snapshot_xmin($prev::pg_snapshot)
--        AND NOT pg_visible_in_snapshot(c.txid, $prev::pg_snapshot);
--     COMMIT;
--   Every statement of a REPEATABLE READ transaction uses the snapshot of its
--   first statement, so the offset, the horizon and the rows agree. 'D' rows
--   come with t.* all NULL; a 'D' may name a key the extractor never saw
--   (inserted and deleted between two loads): deleting nothing is right.
--   Store the offset in the lake in the same transaction as the rows.
--
-- RETENTION
--   Keys that still exist keep exactly one ct row, so only 'D' rows pile up.
--   ct.cleanup(T, K) deletes the 'D' rows of transactions older than K and
--   raises T's min_valid_xid to K: changes of transactions below
--   min_valid_xid may be gone, so an offset is usable only when
--   pg_snapshot_xmin(offset) >= min_valid_xid. Pick K no higher than the
--   lowest xmin among the offsets of all extractors you want to keep.
--   TRUNCATE T (demo.generate does that) is not a row change: it empties ct.T
--   and records its own transaction in truncated_by, so every offset whose
--   snapshot does not see that transaction committed must start again with a
--   full load, like SQL Server after a truncate. An offset taken after the
--   truncate committed sees it, and everything that committed before it,
--   however old its snapshot's xmin (a long transaction elsewhere in the
--   cluster keeps xmin low without losing anything).
--
-- COST
--   Statement-level AFTER triggers with transition tables: one set-based
--   upsert per statement instead of one trigger call per row. Updating the
--   key column itself is refused (it would be a delete plus an insert).
--
-- Rerunnable: drops schema ct and recreates it, with the triggers, empty
-- (the version sequence continues where it was).

-- Versions keep growing across a rebuild, so that "the higher version wins"
-- stays true for a consumer that keeps history across full loads.
DO $$
BEGIN
    IF to_regclass('ct.version_seq') IS NOT NULL THEN
        CREATE TEMP TABLE ct_version_keep AS SELECT last_value FROM ct.version_seq;
    END IF;
END $$;

DROP SCHEMA IF EXISTS ct CASCADE;
CREATE SCHEMA ct;

-- CACHE 1 (the default) keeps a key's versions increasing across sessions:
-- with a cache, session A could hand out 3 after session B handed out 33.
CREATE SEQUENCE ct.version_seq AS bigint CACHE 1;

DO $$
BEGIN
    IF to_regclass('pg_temp.ct_version_keep') IS NOT NULL THEN
        PERFORM setval('ct.version_seq', (SELECT last_value FROM ct_version_keep));
        DROP TABLE ct_version_keep;
    END IF;
END $$;

CREATE TABLE ct.tracked_tables (
    table_name text PRIMARY KEY,     -- in schema public; ct.<table_name> holds its changes
    key_column text NOT NULL
);

CREATE TABLE ct.horizon (
    table_name    text PRIMARY KEY REFERENCES ct.tracked_tables ON DELETE CASCADE,
    min_valid_xid xid8 NOT NULL,     -- raised by cleanups
    truncated_by  xid8               -- the last TRUNCATE's transaction
);

CREATE FUNCTION ct.assert_tracked(p_table text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_key text;
BEGIN
    SELECT key_column INTO v_key FROM ct.tracked_tables WHERE table_name = p_table;
    IF v_key IS NULL THEN
        RAISE EXCEPTION 'table "%" is not change-tracked', p_table USING ERRCODE = 'undefined_table';
    END IF;
    RETURN v_key;
END $$;

CREATE FUNCTION ct.min_valid_xid(p_table text) RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM ct.assert_tracked(p_table);
    RETURN coalesce((SELECT min_valid_xid FROM ct.horizon WHERE table_name = p_table), '0'::xid8);
END $$;

-- Whether the changes after `p_offset` are still all there: false when a
-- cleanup removed changes of transactions the offset may not have seen, or
-- a TRUNCATE happened that the offset's snapshot did not see committed.
CREATE FUNCTION ct.offset_lost(p_offset pg_snapshot, p_table text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    h ct.horizon;
BEGIN
    PERFORM ct.assert_tracked(p_table);
    SELECT * INTO h FROM ct.horizon WHERE table_name = p_table;
    RETURN coalesce(pg_snapshot_xmin(p_offset) < h.min_valid_xid, false)
        OR coalesce(NOT pg_visible_in_snapshot(h.truncated_by, p_offset), false);
END $$;

-- The horizon never moves back.
CREATE FUNCTION ct.raise_horizon(p_table text, p_xid xid8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ct.horizon AS h (table_name, min_valid_xid) VALUES (p_table, p_xid)
    ON CONFLICT (table_name) DO UPDATE
        SET min_valid_xid = greatest(h.min_valid_xid, excluded.min_valid_xid);
$$;

-- Deletes the 'D' rows of transactions below p_keep_after and raises the
-- horizon; returns how many rows went. p_keep_after may not exceed the xmin
-- of the current snapshot: below that every transaction has finished, so no
-- change can still arrive under the horizon.
CREATE FUNCTION ct.cleanup(p_table text, p_keep_after xid8) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint;
BEGIN
    PERFORM ct.assert_tracked(p_table);
    IF p_keep_after > pg_snapshot_xmin(pg_current_snapshot()) THEN
        RAISE EXCEPTION 'ct.cleanup: % is beyond the oldest running transaction %',
            p_keep_after, pg_snapshot_xmin(pg_current_snapshot());
    END IF;
    EXECUTE format('DELETE FROM ct.%I WHERE sys_change_operation = ''D'' AND txid < $1', p_table)
        USING p_keep_after;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    PERFORM ct.raise_horizon(p_table, p_keep_after);
    RETURN v_n;
END $$;

CREATE FUNCTION ct.cleanup_all(p_keep_after xid8) RETURNS bigint
LANGUAGE sql AS $$
    SELECT coalesce(sum(ct.cleanup(table_name, p_keep_after)), 0)::bigint FROM ct.tracked_tables;
$$;

-- A key update would need a 'D' for the old key and an 'I' for the new one;
-- nothing here updates keys, so refuse it rather than track it wrong.
CREATE FUNCTION ct.refuse_key_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'change tracking: the key of %.% cannot be updated', TG_TABLE_SCHEMA, TG_TABLE_NAME;
END $$;

-- TRUNCATE leaves no row changes behind: forget the table's changes and
-- record this transaction, so offsets that did not see it see the gap.
-- DELETE, not TRUNCATE, on ct.<T>: a concurrent reader must keep its snapshot.
CREATE FUNCTION ct.on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM ct.%I', TG_TABLE_NAME);
    INSERT INTO ct.horizon AS h (table_name, min_valid_xid, truncated_by)
    VALUES (TG_TABLE_NAME, '0', pg_current_xact_id())
    ON CONFLICT (table_name) DO UPDATE SET truncated_by = excluded.truncated_by;
    RETURN NULL;
END $$;

-- Starts tracking public.<p_table>: its ct table, its trigger function (static
-- SQL, so PL/pgSQL caches the plans) and the triggers.
CREATE FUNCTION ct.enable(p_table text, p_key text DEFAULT 'id') RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    v_upsert text;
BEGIN
    IF (SELECT atttypid FROM pg_attribute
         WHERE attrelid = to_regclass(format('public.%I', p_table))
           AND attname = p_key AND NOT attisdropped) IS DISTINCT FROM 'bigint'::regtype THEN
        RAISE EXCEPTION 'ct.enable: public.% has no bigint column %', p_table, p_key;
    END IF;
    INSERT INTO ct.tracked_tables VALUES (p_table, p_key);

    EXECUTE format($$
        CREATE TABLE ct.%1$I (
            id                   bigint PRIMARY KEY,
            sys_change_version   bigint NOT NULL,
            sys_change_operation char(1) NOT NULL,
            txid                 xid8 NOT NULL DEFAULT pg_current_xact_id()
        );
        CREATE INDEX ON ct.%1$I (txid);
    $$, p_table);

    -- %3$s is the operation expression; for updates an earlier insert of the
    -- same transaction wins. Version and txid always move forward.
    v_upsert := $$
            INSERT INTO ct.%1$I AS c (id, sys_change_version, sys_change_operation, txid)
            SELECT r.%2$I, nextval('ct.version_seq'), '%4$s', v_txid FROM %5$s r
            ON CONFLICT (id) DO UPDATE
               SET sys_change_version   = excluded.sys_change_version,
                   sys_change_operation = %3$s,
                   txid                 = excluded.txid;$$;
    EXECUTE format($$
        CREATE FUNCTION ct.%1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
        DECLARE
            v_txid xid8 := pg_current_xact_id();
        BEGIN
            IF TG_OP = 'INSERT' THEN %2$s
            ELSIF TG_OP = 'UPDATE' THEN %3$s
            ELSE %4$s
            END IF;
            RETURN NULL;
        END $body$;
    $$, 'track_' || p_table,
        format(v_upsert, p_table, p_key, '''I''', 'I', 'new_rows'),
        format(v_upsert, p_table, p_key,
               $$CASE WHEN c.txid = excluded.txid AND c.sys_change_operation = 'I' THEN 'I' ELSE 'U' END$$,
               'U', 'new_rows'),
        format(v_upsert, p_table, p_key, '''D''', 'D', 'old_rows'));

    EXECUTE format($$
        CREATE TRIGGER ct_track_i AFTER INSERT ON public.%1$I
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ct.%2$I();
        CREATE TRIGGER ct_track_u AFTER UPDATE ON public.%1$I
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ct.%2$I();
        CREATE TRIGGER ct_track_d AFTER DELETE ON public.%1$I
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ct.%2$I();
        CREATE TRIGGER ct_truncate AFTER TRUNCATE ON public.%1$I
            FOR EACH STATEMENT EXECUTE FUNCTION ct.on_truncate();
        CREATE TRIGGER ct_key_update BEFORE UPDATE OF %3$I ON public.%1$I
            FOR EACH ROW WHEN (OLD.%3$I IS DISTINCT FROM NEW.%3$I)
            EXECUTE FUNCTION ct.refuse_key_update();
    $$, p_table, 'track_' || p_table, p_key);
END $fn$;

-- Turns the row-change triggers of a tracked table off or on, for bulk loads
-- that are followed by a TRUNCATE-style reset (demo.generate). The TRUNCATE
-- trigger stays on. Takes a SHARE ROW EXCLUSIVE lock on the table.
CREATE FUNCTION ct.set_tracking(p_table text, p_on boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    PERFORM ct.assert_tracked(p_table);
    FOREACH t IN ARRAY ARRAY['ct_track_i', 'ct_track_u', 'ct_track_d'] LOOP
        EXECUTE format('ALTER TABLE public.%I %s TRIGGER %I',
                       p_table, CASE WHEN p_on THEN 'ENABLE' ELSE 'DISABLE' END, t);
    END LOOP;
END $$;

SELECT ct.enable(t)
  FROM unnest(ARRAY['categorias', 'marcas', 'produtos', 'lojas', 'clientes', 'promocoes', 'vendas']) AS t;
