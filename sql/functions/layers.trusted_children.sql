-- Child tables for arrays inside API records: options.children lists
-- {name, path}; each becomes trusted.<table>_<name> with the parent's key,
-- the position in the array and the element (jsonb, plus its text when it is
-- a scalar). Runs right after layers.trusted_merge in the same transaction and
-- reuses its temp tables: the children of every merged key are replaced.
CREATE OR REPLACE FUNCTION layers.trusted_children(p_source bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    t text;
    child jsonb;
    ct text;
    key_defs text;
    key_cols text;
    key_match text;
    key_from_typed text;
    n bigint;
    counts jsonb := '{}';
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    t := s.system || '_' || s.object;
    -- (separate tests: SQL does not promise to stop an OR at the first true)
    IF jsonb_array_length(coalesce(s.options->'children', '[]')) = 0 THEN
        RETURN counts;
    END IF;
    IF to_regclass('pg_temp.typed') IS NULL OR to_regclass('pg_temp.batch') IS NULL THEN
        RETURN counts;  -- nothing new was merged
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('pg_temp.batch') AND attname = '_record') THEN
        RETURN counts;
    END IF;
    SELECT string_agg(format('%I %s', x->>'name', x->>'type'), ', '),
           string_agg(format('%I', x->>'name'), ', '),
           string_agg(format('c.%I = b.%I', x->>'name', x->>'name'), ' AND '),
           string_agg(format('y.%I', x->>'name'), ', ')
      INTO key_defs, key_cols, key_match, key_from_typed
      FROM jsonb_array_elements(s.columns) x WHERE (x->>'key')::boolean;

    FOR child IN SELECT x FROM jsonb_array_elements(s.options->'children') x LOOP
        ct := t || '_' || (child->>'name');
        EXECUTE format('CREATE TABLE IF NOT EXISTS trusted.%I (%s, position integer NOT NULL, '
                       'value jsonb, value_text text, PRIMARY KEY (%s, position))', ct, key_defs, key_cols);
        EXECUTE format('DELETE FROM trusted.%I c USING typed b WHERE %s', ct, key_match);
        IF (SELECT bool_or(sys_change_operation IS NULL) FROM pg_temp.batch) THEN
            -- a snapshot may have removed parents: drop their orphans
            EXECUTE format('DELETE FROM trusted.%I c WHERE NOT EXISTS (SELECT 1 FROM trusted.%I b WHERE %s)',
                           ct, t, key_match);
        END IF;
        EXECUTE format('INSERT INTO trusted.%I (%s, position, value, value_text) '
                       'SELECT %s, e.pos, e.val, CASE WHEN jsonb_typeof(e.val) IN (''string'', ''number'', ''boolean'') '
                       'THEN e.val #>> ''{}'' END '
                       'FROM typed y JOIN batch b ON %s '
                       'CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(b._record #> $1) = ''array'' '
                       'THEN b._record #> $1 ELSE ''[]'' END) WITH ORDINALITY AS e(val, pos) '
                       'WHERE y.sys_change_operation IS DISTINCT FROM ''D''',
                       ct, key_cols, key_from_typed,
                       (SELECT string_agg(format('y.%I::text = b.%I', x->>'name', x->>'name'), ' AND ')
                          FROM jsonb_array_elements(s.columns) x WHERE (x->>'key')::boolean))
            USING string_to_array(child->>'path', '.');
        GET DIAGNOSTICS n = ROW_COUNT;
        counts := counts || jsonb_build_object(child->>'name', n);
    END LOOP;
    RETURN counts;
END $$;
