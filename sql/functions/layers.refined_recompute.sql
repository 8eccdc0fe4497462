-- Deletes the groups of pg_temp.<p_groups> (columns p_refresh_by; none: nothing
-- to do) from refined.<p_report> and computes them again: the report's SELECT with each
-- refresh_from table (p_maps: {"trusted.t": "expressions giving those
-- columns"}) replaced by a temporary copy of its rows in those groups — only
-- the columns the report reads (layers.refined_reads),
-- found through the index the report's `-- index:` line asks for — and the
-- result restricted to the groups. The recompute of layers.refined_refresh,
-- and of the refresh functions of their own for the groups their sums
-- cannot move.
CREATE OR REPLACE FUNCTION layers.refined_recompute(p_report text, p_sql text, p_refresh_by text, p_maps jsonb,
                                                    p_groups text, OUT deleted bigint, OUT inserted bigint)
LANGUAGE plpgsql AS $$
DECLARE
    cols_by text := (SELECT string_agg(format('%I', btrim(c)), ', ') FROM unnest(string_to_array(p_refresh_by, ',')) c);
    r_by text := (SELECT string_agg('r.' || format('%I', btrim(c)), ', ') FROM unnest(string_to_array(p_refresh_by, ',')) c);
    restricted text := regexp_replace(p_sql, '[\s;]+$', '');
    dep text;
    map text;
    done boolean;
    groups text := format('pg_temp.%I', p_groups);
    reads jsonb;
BEGIN
    deleted := 0;
    inserted := 0;
    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %s)', groups) INTO STRICT done;
    IF done THEN
        RETURN;
    END IF;
    EXECUTE format('ANALYZE %s', groups);
    -- (the copies are not analyzed: that took longer than the recompute)
    reads := layers.refined_reads(p_report, p_sql);
    FOR dep, map IN SELECT key, value #>> '{}' FROM jsonb_each(p_maps) LOOP
        EXECUTE format('DROP TABLE IF EXISTS pg_temp.%I', 'refresh_' || substr(dep, 9));
        EXECUTE format('CREATE TEMP TABLE %I ON COMMIT DROP AS SELECT %s FROM %s t '
                       'WHERE (%s) IN (SELECT %s FROM %s)',
                       'refresh_' || substr(dep, 9),
                       coalesce((SELECT string_agg(format('t.%I', k), ', ')
                                   FROM jsonb_to_recordset(reads)
                                        AS rd(tbl text, whole_row boolean, cols text[]), unnest(rd.cols) k
                                  WHERE rd.tbl = dep AND NOT rd.whole_row), 't.*'),
                       dep::regclass, map, cols_by, groups);
        restricted := regexp_replace(restricted, '\m' || replace(dep, '.', '\.') || '\M',
                                     'pg_temp.refresh_' || substr(dep, 9), 'g');
    END LOOP;
    EXECUTE format('DELETE FROM refined.%I r WHERE (%s) IN (SELECT %s FROM %s)', p_report, r_by, cols_by, groups);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    EXECUTE format('INSERT INTO refined.%I SELECT * FROM (%s) r WHERE (%s) IN (SELECT %s FROM %s)',
                   p_report, restricted, r_by, cols_by, groups);
    GET DIAGNOSTICS inserted = ROW_COUNT;
    FOR dep IN SELECT key FROM jsonb_each(p_maps) LOOP
        EXECUTE format('DROP TABLE pg_temp.%I', 'refresh_' || substr(dep, 9));
    END LOOP;
END $$;
