-- Child tables for arrays inside API records: options.children lists
-- {name, path}; each becomes trusted.<table>_<name> (layers.child_table).
-- Runs right after layers.trusted_merge in the same transaction and
-- reads its pg_temp.typed (the merged rows, typed, with each child's array in
-- a column of its own, layers.child_column): the children of every merged key
-- are replaced.
-- JIT is off: the planner counts 100 elements per array (jsonb_array_elements'
-- default), so a 200 000-row batch looks like 20 M rows and compiling with
-- optimization cost more than it saved (200 000 posts' hashtags: 3.2 s with JIT,
-- 2.0 s without).
CREATE OR REPLACE FUNCTION layers.trusted_children(p_source bigint) RETURNS jsonb
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    s control.sources;
    t text;
    child jsonb;
    ct text;
    arr name;            -- typed's column with the child's array
    key_cols text;
    key_match text;
    key_from_typed text;
    snapshot boolean;
    big boolean;         -- 10 000 merged rows or more
    pk name;
    n bigint;
    counts jsonb := '{}';
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    t := s.system || '_' || s.object;
    -- (separate tests: SQL does not promise to stop an OR at the first true)
    IF jsonb_array_length(coalesce(s.options->'children', '[]')) = 0 THEN
        RETURN counts;
    END IF;
    IF to_regclass('pg_temp.typed') IS NULL THEN
        RETURN counts;  -- nothing new was merged
    END IF;
    SELECT string_agg(format('%I', x->>'name'), ', '),
           string_agg(format('c.%I = b.%I', x->>'name', x->>'name'), ' AND '),
           string_agg(format('y.%I', x->>'name'), ', ')
      INTO key_cols, key_match, key_from_typed
      FROM jsonb_array_elements(s.columns) x WHERE (x->>'key')::boolean;
    SELECT count(*) >= 10000 INTO big FROM (SELECT FROM pg_temp.typed LIMIT 10000) x;

    FOR child IN SELECT x FROM jsonb_array_elements(s.options->'children') x LOOP
        ct := t || '_' || (child->>'name');
        -- the array at the child's path, as the merge typed it (a child
        -- added to the options since the merge read them waits for the next)
        arr := layers.child_column(child->>'path');
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('pg_temp.typed')
                                  AND attname = arr AND NOT attisdropped);
        PERFORM layers.child_table(p_source, child);
        -- a big batch into an empty child table (the first load): its key
        -- index is built after the fill (measured: 400 000 rows 1.8 s
        -- inserted into the index, 0.9 s so); the lock is held to the commit
        pk := NULL;
        IF big AND NOT layers.has_rows(format('trusted.%I', ct)::regclass) THEN
            SELECT conname INTO pk FROM pg_constraint
             WHERE conrelid = to_regclass(format('trusted.%I', ct)) AND contype = 'p';
        END IF;
        IF pk IS NOT NULL THEN
            EXECUTE format('ALTER TABLE trusted.%I DROP CONSTRAINT %I', ct, pk);
        ELSE
            EXECUTE format('DELETE FROM trusted.%I c USING typed b WHERE %s', ct, key_match);
            -- a snapshot may have removed parents: their orphans go too
            IF snapshot IS NULL THEN
                SELECT coalesce(bool_or(sys_change_operation IS NULL), false) INTO snapshot FROM pg_temp.typed;
            END IF;
            IF snapshot THEN
                EXECUTE format('DELETE FROM trusted.%I c WHERE NOT EXISTS (SELECT 1 FROM trusted.%I b WHERE %s)',
                               ct, t, key_match);
            END IF;
        END IF;
        EXECUTE format('INSERT INTO trusted.%I (%s, position, value, value_text) '
                       'SELECT %s, e.pos, e.val, CASE WHEN jsonb_typeof(e.val) IN (''string'', ''number'', ''boolean'') '
                       'THEN e.val #>> ''{}'' END '
                       'FROM typed y CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(y.%I) = ''array'' '
                       'THEN y.%I ELSE ''[]'' END) WITH ORDINALITY AS e(val, pos) '
                       'WHERE y.sys_change_operation IS DISTINCT FROM ''D''',
                       ct, key_cols, key_from_typed, arr, arr);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF pk IS NOT NULL THEN
            EXECUTE format('ALTER TABLE trusted.%I ADD CONSTRAINT %I PRIMARY KEY (%s, position)', ct, pk, key_cols);
        END IF;
        counts := counts || jsonb_build_object(child->>'name', n);
    END LOOP;
    RETURN counts;
END $$;
