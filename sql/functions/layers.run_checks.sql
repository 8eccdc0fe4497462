-- Checks on a TRUSTED table that an override (sql/layers/) built without the
-- generated _deleted column: every row counts as live. Otherwise as in 0005.
-- JIT is off: a check is a scan with a simple condition, where compiling
-- cost more than it saved (200 000 posts, one check: 0.28 s with JIT, 0.10 s
-- without).
CREATE OR REPLACE FUNCTION layers.run_checks(p_source bigint, p_rows_before bigint) RETURNS jsonb
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    s control.sources;
    t text;
    c jsonb;
    cond text;
    n bigint;
    sample jsonb;
    failed jsonb := '[]';
    rows_now bigint;
    live text := 'true';
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    t := s.system || '_' || s.object;
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(format('trusted.%I', t))
               AND attname = '_deleted' AND NOT attisdropped) THEN
        live := 'NOT _deleted';
    END IF;
    FOR c IN SELECT x FROM jsonb_array_elements(coalesce(s.options->'checks', '[]')) x LOOP
        cond := CASE c->>'check'
            WHEN 'not_null' THEN format('%I IS NULL', c->>'column')
            -- a null among the values would make `<> ALL` null for every row and
            -- switch the check off: nulls are left out (a NULL column passes anyway)
            WHEN 'accepted_values' THEN format('%I IS NOT NULL AND %I::text <> ALL (%L::text[])',
                c->>'column', c->>'column',
                coalesce((SELECT array_agg(v) FILTER (WHERE v IS NOT NULL)
                            FROM jsonb_array_elements_text(c->'values') v), '{}'))
            WHEN 'references' THEN format('%I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM trusted.%I r WHERE r.%I = x.%I)',
                c->>'column', c->>'table', c->>'to', c->>'column')
            WHEN 'unique' THEN format('(%s) IN (SELECT %s FROM trusted.%I GROUP BY %s HAVING count(*) > 1)',
                (SELECT string_agg(format('%I', v), ', ') FROM jsonb_array_elements_text(c->'columns') v),
                (SELECT string_agg(format('%I', v), ', ') FROM jsonb_array_elements_text(c->'columns') v), t,
                (SELECT string_agg(format('%I', v), ', ') FROM jsonb_array_elements_text(c->'columns') v))
            ELSE NULL END;
        IF c->>'check' = 'row_count_not_collapsing' THEN
            EXECUTE format('SELECT count(*) FROM trusted.%I WHERE %s', t, live) INTO rows_now;
            IF p_rows_before > 0 AND rows_now < p_rows_before * (1 - coalesce((c->>'max_drop_pct')::numeric, 50) / 100) THEN
                failed := failed || jsonb_build_object('check', c, 'detail',
                    format('rows fell from %s to %s', p_rows_before, rows_now), 'failing_rows', p_rows_before - rows_now);
            END IF;
            CONTINUE;
        END IF;
        IF to_regclass(format('trusted.%I', coalesce(c->>'table', t))) IS NULL THEN
            failed := failed || jsonb_build_object('check', c, 'detail',
                format('table trusted.%s does not exist', coalesce(c->>'table', t)), 'failing_rows', 0);
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*), (SELECT jsonb_agg(to_jsonb(y) - ''_merged_at'') FROM '
                       '(SELECT * FROM trusted.%I x WHERE %s AND %s LIMIT 5) y) '
                       'FROM trusted.%I x WHERE %s AND %s', t, live, cond, t, live, cond)
            INTO n, sample;
        IF n > 0 THEN
            failed := failed || jsonb_build_object('check', c, 'detail',
                format('%s rows fail %s', n, c->>'check'), 'failing_rows', n, 'sample', sample);
        END IF;
    END LOOP;
    RETURN failed;
END $$;
