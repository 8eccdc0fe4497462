-- TRUSTED merge: RAW's rows of the jobs not merged yet, newest change per key,
-- typed (bad values to the quarantine table), upserted into TRUSTED; 'D'
-- changes delete (or, with options.soft_delete, mark _deleted). Only a
-- snapshot — a job whose rows carry no change operation — removes the keys it
-- does not have: extractors that send changes (change tracking, watermark,
-- API pages, files) mark every row I, U or D. The batch's temp tables are
-- analyzed, so a small incremental batch joins TRUSTED through its key index
-- however big the table is. Only new or changed rows are written; a table
-- is built aside and swapped in instead when that is cheaper (a snapshot, a
-- first load, a batch changing a quarter of it) and nothing hangs on it.
CREATE OR REPLACE FUNCTION layers.trusted_merge(p_source bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    t text;
    q text;
    last_job bigint;
    top_job bigint;
    snap_job bigint;
    keys text;           -- "a", "b"
    key_match text;      -- t."a" = b."a" AND ...
    typed_cols text;     -- b."a"::bigint AS "a", ...
    col_list text;       -- "a", "b", ...
    set_list text;       -- "a" = excluded."a", ...
    soft boolean;
    n_upserted bigint := 0;
    n_deleted bigint := 0;
    n_quarantined bigint := 0;
    n_batch bigint := 0;
    c jsonb;
    k bigint;
    empty boolean;       -- TRUSTED has no row (the quarantine below does not change that)
    swapped jsonb;
    rows_from text;
    n_jobs integer;
    one_pass boolean;
    attempt integer;
    keys_c text;         -- b."a" COLLATE "C", ...: RAW's keys as sorted (byte order)
    keys_t text;         -- b."a"::bigint, b."b"::text COLLATE "C", ...: the same, typed
    with_children boolean;
    pick text;           -- FROM raw ... ORDER BY: the batch's rows, newest first per key (keys_t)
    pick_raw text;       -- the same by keys_c
    extra text;          -- the change columns (and child arrays) typed carries
    default_setup text := current_setting('parallel_setup_cost');
    default_tuple text := current_setting('parallel_tuple_cost');
    pk name;             -- TRUSTED's primary key constraint
    bulk boolean;        -- TRUSTED is empty and the batch big: insert, index after
    not_swapped text;    -- why TRUSTED may not be built aside (layers.swap_blocker)
    same_old text;       -- t."a", t."b"::text (json), ...: a row's values, to compare
    same_new text;       -- b."a", b."b"::text, ...
    n_changed bigint;    -- the batch's rows that are new or changed
    rebuild boolean := false;  -- a big batch of changes into a filled TRUSTED: built aside
    stage regclass;      -- the job's rows typed while they landed (layers.trusted_stage)
    children jsonb;      -- the child tables swapped in with them: their rows
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    t := s.system || '_' || s.object;
    soft := coalesce((s.options->>'soft_delete')::boolean, false);
    with_children := jsonb_array_length(coalesce(s.options->'children', '[]')) > 0;
    IF to_regclass(format('raw.%I', t)) IS NULL THEN
        RETURN jsonb_build_object('merged', 0, 'deleted', 0, 'quarantined', 0);
    END IF;

    SELECT string_agg(format('%I', x->>'name'), ', ' ORDER BY i) FILTER (WHERE (x->>'key')::boolean),
           string_agg(format('t.%I = b.%I', x->>'name', x->>'name'), ' AND ' ORDER BY i) FILTER (WHERE (x->>'key')::boolean),
           string_agg(format('b.%I::%s AS %I', x->>'name', x->>'type', x->>'name'), ', ' ORDER BY i),
           string_agg(format('%I', x->>'name'), ', ' ORDER BY i),
           string_agg(format('%I = excluded.%I', x->>'name', x->>'name'), ', ' ORDER BY i),
           -- json has no equality: its text is compared
           string_agg(format(CASE WHEN x->>'type' = 'json' THEN '%s.%I::text' ELSE '%s.%I' END, 't', x->>'name'), ', ' ORDER BY i),
           string_agg(format(CASE WHEN x->>'type' = 'json' THEN '%s.%I::text' ELSE '%s.%I' END, 'b', x->>'name'), ', ' ORDER BY i)
      INTO keys, key_match, typed_cols, col_list, set_list, same_old, same_new
      FROM jsonb_array_elements(s.columns) WITH ORDINALITY AS e(x, i);

    EXECUTE format('CREATE TABLE IF NOT EXISTS trusted.%I (%s, _job_id bigint NOT NULL, '
                   '_change_version bigint, _deleted boolean NOT NULL DEFAULT false, '
                   '_merged_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (%s))',
                   t, (SELECT string_agg(format('%I %s', x->>'name', x->>'type'), ', ' ORDER BY i)
                         FROM jsonb_array_elements(s.columns) WITH ORDINALITY AS e(x, i)), keys);
    FOR c IN SELECT x FROM jsonb_array_elements(s.columns) x LOOP
        EXECUTE format('ALTER TABLE trusted.%I ADD COLUMN IF NOT EXISTS %I %s', t, c->>'name', c->>'type');
    END LOOP;
    EXECUTE format('CREATE TABLE IF NOT EXISTS trusted.%I (_job_id bigint NOT NULL, '
                   '_quarantined_at timestamptz NOT NULL DEFAULT now(), key jsonb, column_name text, '
                   'value text, reason text, row jsonb)', t || '_quarantine');

    -- The keys as sorted for "newest row per key", typed (a number sorts and
    -- groups as a number: '7' and '07' are one key, as in TRUSTED) and text
    -- in byte order (COLLATE "C": the same groups as the database's
    -- collation, which PostgreSQL sorts without abbreviated keys, several
    -- times slower). keys_c, RAW's keys untyped, serve the slow path, where
    -- a key may not cast.
    SELECT string_agg(CASE WHEN coalesce(a.attcollation, 0) <> 0 THEN format('b.%I COLLATE "C"', a.attname) ELSE format('b.%I', a.attname) END,
                      ', ' ORDER BY i),
           string_agg(format('b.%I::%s', x->>'name', x->>'type') ||
                      CASE WHEN (SELECT y.typcollation <> 0 FROM pg_type y WHERE y.oid = (x->>'type')::regtype)
                           THEN ' COLLATE "C"' ELSE '' END, ', ' ORDER BY i)
      INTO keys_c, keys_t
      FROM jsonb_array_elements(s.columns) WITH ORDINALITY AS e(x, i)
      LEFT JOIN pg_attribute a ON a.attrelid = format('raw.%I', t)::regclass AND a.attname = x->>'name' AND NOT a.attisdropped
     WHERE (x->>'key')::boolean;
    last_job := layers.layer_state_lock(p_source);
    SELECT j.top_job, j.snap_job, j.jobs INTO top_job, snap_job, n_jobs FROM layers.raw_jobs_after(p_source, last_job) j;
    IF top_job IS NULL THEN
        RETURN jsonb_build_object('merged', 0, 'deleted', 0, 'quarantined', 0, 'through_job', last_job);
    END IF;
    stage := layers.trusted_stage(p_source, top_job);

    -- Built aside and swapped in (layers.trusted_swap) rather than merged row
    -- by row: a snapshot that is the whole batch, or any batch when TRUSTED
    -- is empty (the first load of a source that sends changes: API pages,
    -- files, change tracking; soft_delete or not: with no old rows there is
    -- nothing to mark). A bad value (quarantine), a snapshot with
    -- soft_delete (the old keys stay, marked) or a source with child tables
    -- (layers.trusted_children reads the merge's typed batch), unless they
    -- were built beside LAND too, take the merge below instead.
    empty := NOT layers.has_rows(format('trusted.%I', t)::regclass);
    -- what hangs on the live table (a view, a trigger...) keeps it in place
    not_swapped := layers.swap_blocker(format('trusted.%I', t)::regclass);
    -- the batch's rows, newest first per key (job, then change version)
    pick := format('FROM raw.%I b WHERE b._job_id > %s AND b._job_id >= %s '
                   'ORDER BY %%s, b._job_id DESC, b.sys_change_version DESC NULLS LAST',
                   t, last_job, coalesce(snap_job, 0));
    pick_raw := format(pick, keys_c);
    pick := format(pick, keys_t);
    -- With child tables, only a stage of changes is swapped in (an API
    -- load's first job: its children were built beside LAND too,
    -- layers.trusted_children_swap), or nothing.
    IF ((NOT soft AND snap_job = top_job) OR empty) AND not_swapped IS NULL
       AND (NOT with_children OR (empty AND n_jobs = 1 AND stage IS NOT NULL)) THEN
        -- One job is typed as it lies when it holds no delete (the same
        -- scan finds one: layers.delete_in_batch) and its keys are unique
        -- (the key index says so); otherwise the newest row per key is
        -- picked first (a sort of the batch). The rows typed while they
        -- landed (stage) stand for the job's: a snapshot's, or an API
        -- load's (changes that are never deletes) into an empty TRUSTED.
        one_pass := coalesce(snap_job = top_job, false) OR n_jobs = 1;
        FOR attempt IN (CASE WHEN one_pass THEN 1 ELSE 2 END)..(CASE WHEN with_children THEN 1 ELSE 2 END) LOOP
            BEGIN
                rows_from := CASE WHEN attempt = 1
                    THEN format('raw.%I b WHERE b._job_id = %s AND (CASE WHEN b.sys_change_operation = ''D'' '
                                'THEN layers.delete_in_batch() END) IS NULL', t, top_job)
                    ELSE format('(SELECT DISTINCT ON (%s) * %s) b WHERE b.sys_change_operation IS DISTINCT FROM ''D''',
                                keys_t, pick) END;
                swapped := layers.trusted_swap(p_source, rows_from, false,
                                               CASE WHEN attempt = 1 AND (snap_job = top_job OR (empty AND n_jobs = 1))
                                                    THEN stage END, top_job);
                IF with_children THEN
                    IF NOT (swapped->>'staged')::boolean THEN
                        RAISE SQLSTATE 'LK002' USING MESSAGE = 'the typed rows do not fit TRUSTED';
                    END IF;
                    children := layers.trusted_children_swap(p_source, top_job);
                END IF;
                UPDATE control.layer_state SET merged_through_job = top_job, trusted_refreshed_at = now()
                 WHERE source_id = p_source;
                IF stage IS NOT NULL AND NOT (swapped->>'staged')::boolean THEN
                    PERFORM layers.trusted_stage_drop(stage);
                END IF;
                RETURN jsonb_build_object('batch', swapped->'rows', 'merged', swapped->'rows', 'deleted', swapped->'deleted',
                                          'quarantined', 0, 'through_job', top_job, 'snapshot_job', snap_job,
                                          'replaced', true, 'typed_while_landing', swapped->'staged')
                       || CASE WHEN children IS NULL THEN '{}' ELSE jsonb_build_object('children', children) END;
            EXCEPTION
                WHEN integrity_constraint_violation OR SQLSTATE 'LK001' OR SQLSTATE 'LK002' THEN
                    NULL;  -- a key twice, a delete, children that cannot be swapped: the next attempt or the merge
                WHEN data_exception THEN
                    EXIT;  -- a bad value: the merge below quarantines it
            END;
        END LOOP;
    END IF;

    IF stage IS NOT NULL AND to_regclass(stage::text) IS NOT NULL THEN
        PERFORM layers.trusted_stage_drop(stage);  -- not taken: RAW's rows are typed below
    END IF;

    -- The batch, typed in the same pass: the newest RAW row per key among the
    -- new jobs (from the latest snapshot on), cast once into pg_temp.typed,
    -- with an API source's child arrays for layers.trusted_children. Only when a
    -- value does not cast is the untyped batch kept (pg_temp.batch), to
    -- quarantine the rows that hold one and type the rest.
    DROP TABLE IF EXISTS pg_temp.batch;
    DROP TABLE IF EXISTS pg_temp.typed;
    -- An API source's child arrays ride along, each as its own column named
    -- after its path (layers.child_column), not the whole _record: the
    -- batch's sort and the temp table then carry a few bytes a row, not the
    -- record (200 000 posts: the sort's memory 195 -> 85 MB, typing and
    -- children 4.2 -> 3.3 s).
    extra := ', b._job_id, b.sys_change_version, b.sys_change_operation' ||
             CASE WHEN EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(format('raw.%I', t))
                               AND attname = '_record' AND NOT attisdropped)
                  THEN coalesce((SELECT string_agg(format(', b._record #> %L AS %I', string_to_array(ch->>'path', '.'),
                                                          layers.child_column(ch->>'path')), '')
                                   FROM jsonb_array_elements(coalesce(s.options->'children', '[]')) ch), '')
                  ELSE '' END;
    BEGIN
        -- a parallel plan for the casts and the sort, as layers.trusted_swap
        -- asks (200 000 posts: 0.76 s against 1.0 s); a batch whose RAW
        -- partitions are under min_parallel_table_scan_size stays on one core
        PERFORM set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0.001', true);
        EXECUTE format('CREATE TEMP TABLE typed ON COMMIT DROP AS SELECT DISTINCT ON (%s) %s%s %s',
                       keys_t, typed_cols, extra, pick);
        GET DIAGNOSTICS n_batch = ROW_COUNT;
        PERFORM set_config('parallel_setup_cost', default_setup, true), set_config('parallel_tuple_cost', default_tuple, true);
    EXCEPTION WHEN data_exception THEN
        -- slow path: find each bad row's first bad column
        EXECUTE format('CREATE TEMP TABLE batch ON COMMIT DROP AS SELECT DISTINCT ON (%s) * %s', keys_c, pick_raw);
        GET DIAGNOSTICS n_batch = ROW_COUNT;
        EXECUTE format('INSERT INTO trusted.%I (_job_id, key, column_name, value, reason, row) '
                       'SELECT b._job_id, jsonb_build_object(%s), e.name, e.value, e.reason, to_jsonb(b.*) '
                       'FROM batch b CROSS JOIN LATERAL ('
                       '  SELECT x->>''name'' AS name, to_jsonb(b.*)->>(x->>''name'') AS value, '
                       '         layers.cast_error(to_jsonb(b.*)->>(x->>''name''), x->>''type'') AS reason '
                       '  FROM jsonb_array_elements($1) WITH ORDINALITY AS c(x, i) '
                       '  WHERE layers.cast_error(to_jsonb(b.*)->>(x->>''name''), x->>''type'') IS NOT NULL '
                       '  ORDER BY i LIMIT 1) e', t || '_quarantine',
                       (SELECT string_agg(format('%L, b.%I', x->>'name', x->>'name'), ', ')
                          FROM jsonb_array_elements(s.columns) x WHERE (x->>'key')::boolean))
            USING s.columns;
        GET DIAGNOSTICS n_quarantined = ROW_COUNT;
        EXECUTE format('DELETE FROM batch b WHERE EXISTS (SELECT 1 FROM jsonb_array_elements($1) x '
                       'WHERE layers.cast_error(to_jsonb(b.*)->>(x->>''name''), x->>''type'') IS NOT NULL)')
            USING s.columns;
        EXECUTE format('CREATE TEMP TABLE typed ON COMMIT DROP AS SELECT %s%s FROM batch b', typed_cols, extra);
    END;

    -- A big batch into an empty TRUSTED (the first load of a source that sends
    -- changes) has nothing to delete or conflict with: one plain insert, the
    -- key index built after the fill (measured: 200 000 rows 1.07 s upserted,
    -- 0.45-0.77 s so). The exclusive lock this takes is held to the commit, as
    -- a swap's is.
    SELECT conname INTO pk FROM pg_constraint
     WHERE conrelid = to_regclass(format('trusted.%I', t)) AND contype = 'p';
    -- (not when something hangs on the table: a foreign key pointing at it
    -- needs its key constraint, which the plain insert drops for a while)
    bulk := n_batch >= 10000 AND pk IS NOT NULL AND empty AND not_swapped IS NULL;
    -- the rows a batch writes, from a table of typed rows named after it
    q := format('INSERT INTO trusted.%I AS t (%s, _job_id, _change_version, _deleted, _merged_at) '
                'SELECT %s, _job_id, sys_change_version, false, now() FROM ', t, col_list, col_list);
    IF bulk THEN
        EXECUTE format('ALTER TABLE trusted.%I DROP CONSTRAINT %I', t, pk);
        EXECUTE q || 'typed b WHERE sys_change_operation IS DISTINCT FROM ''D''';
        GET DIAGNOSTICS n_upserted = ROW_COUNT;
        EXECUTE format('ALTER TABLE trusted.%I ADD CONSTRAINT %I PRIMARY KEY (%s)', t, pk, keys);
    ELSE
        -- a temp table has no statistics: without them the planner may join a
        -- small batch to a big TRUSTED table with a full scan (the joins need
        -- only the keys and the operation; the child arrays would cost the most to sample)
        EXECUTE format('ANALYZE pg_temp.typed (%s, sys_change_operation)', keys);

        IF snap_job IS NOT NULL THEN
            -- a snapshot: keys it does not have are gone from the source
            -- (keys whose row was quarantined keep their last good version);
            -- with soft_delete they are marked, as a 'D' change is
            EXECUTE format(CASE WHEN soft
                           THEN 'UPDATE trusted.%I t SET _deleted = true, _job_id = $1, _merged_at = now() '
                                'WHERE NOT t._deleted AND NOT EXISTS (SELECT 1 FROM typed b WHERE %s) '
                           ELSE 'DELETE FROM trusted.%I t WHERE NOT EXISTS (SELECT 1 FROM typed b WHERE %s) ' END ||
                           'AND NOT EXISTS (SELECT 1 FROM trusted.%I q WHERE q._job_id >= $1 AND %s)',
                           t, key_match, t || '_quarantine',
                           (SELECT string_agg(format('q.key->>%L = t.%I::text', x->>'name', x->>'name'), ' AND ')
                              FROM jsonb_array_elements(s.columns) x WHERE (x->>'key')::boolean))
                USING snap_job;
            GET DIAGNOSTICS n_deleted = ROW_COUNT;
        END IF;

        IF soft THEN
            EXECUTE format('UPDATE trusted.%I t SET _deleted = true, _job_id = b._job_id, '
                           '_change_version = b.sys_change_version, _merged_at = now() '
                           'FROM typed b WHERE %s AND b.sys_change_operation = ''D'' AND NOT t._deleted', t, key_match);
        ELSE
            EXECUTE format('DELETE FROM trusted.%I t USING typed b WHERE %s AND b.sys_change_operation = ''D''',
                           t, key_match);
        END IF;
        GET DIAGNOSTICS k = ROW_COUNT;
        n_deleted := n_deleted + k;

        -- The rows to write: new or changed. A row the batch brings back
        -- unchanged is not written again (a daily file that repeats
        -- yesterday's rows rewrites nothing): its _job_id stays the job that
        -- brought its values.
        DROP TABLE IF EXISTS pg_temp.changed;
        EXECUTE format('CREATE TEMP TABLE changed ON COMMIT DROP AS SELECT b.* FROM typed b '
                       'WHERE b.sys_change_operation IS DISTINCT FROM ''D'' AND NOT EXISTS ('
                       'SELECT 1 FROM trusted.%I t WHERE %s AND NOT t._deleted AND (%s) IS NOT DISTINCT FROM (%s))',
                       t, key_match, same_old, same_new);
        GET DIAGNOSTICS n_changed = ROW_COUNT;

        -- As many as a quarter of the table (a daily file whose rows mostly
        -- changed), the table is cheaper built aside than upserted row by
        -- row (1 M changed rows into 1 M: ~3x): the live rows the batch does
        -- not change, then the changed ones. Not for soft_delete or a
        -- snapshot (their marks are updates), child tables, a table a swap
        -- would break (not_swapped) or one with columns the source does not
        -- declare (a rebuilt row would lose them).
        rebuild := n_changed >= 100000 AND snap_job IS NULL AND NOT soft AND NOT with_children
                   AND not_swapped IS NULL
                   AND (SELECT c.reltuples >= 0 AND n_changed * 4 >= c.reltuples FROM pg_class c
                         WHERE c.oid = format('trusted.%I', t)::regclass)
                   AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = format('trusted.%I', t)::regclass
                           AND a.attnum > 0 AND NOT a.attisdropped) = jsonb_array_length(s.columns) + 4;
        IF rebuild THEN
            PERFORM layers.trusted_swap(p_source, format(
                '(SELECT %s, t._job_id, t._change_version AS sys_change_version, t._deleted, t._merged_at '
                'FROM trusted.%I t WHERE NOT EXISTS (SELECT 1 FROM changed b WHERE %s) '
                'UNION ALL SELECT %s, b._job_id, b.sys_change_version, false, now() FROM changed b) b',
                (SELECT string_agg(format('t.%I', x->>'name'), ', ' ORDER BY i)
                   FROM jsonb_array_elements(s.columns) WITH ORDINALITY AS e(x, i)),
                t, key_match, col_list), true);
            n_upserted := n_changed;
        ELSE
            EXECUTE q || format('changed b ON CONFLICT (%s) DO UPDATE SET %s, _job_id = excluded._job_id, '
                                '_change_version = excluded._change_version, _deleted = false, _merged_at = now()',
                                keys, set_list);
            GET DIAGNOSTICS n_upserted = ROW_COUNT;
        END IF;
    END IF;

    UPDATE control.layer_state SET merged_through_job = top_job, trusted_refreshed_at = now()
     WHERE source_id = p_source;
    RETURN jsonb_build_object('batch', n_batch, 'merged', n_upserted, 'deleted', n_deleted,
                              'quarantined', n_quarantined, 'through_job', top_job,
                              'snapshot_job', snap_job)
           || CASE WHEN rebuild THEN jsonb_build_object('replaced', true) ELSE '{}'::jsonb END
           || CASE WHEN not_swapped IS NULL THEN '{}' ELSE jsonb_build_object('not_swapped_because', not_swapped) END;
END $$;
