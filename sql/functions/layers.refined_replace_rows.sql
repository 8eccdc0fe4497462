-- Makes refined.<p_report> hold the rows of pg_temp.refresh_rows (same
-- columns, same order), one key column p_key: deletes the keys gone, updates
-- the rows that differ (in place: a rank moved rewrites no index), inserts
-- the new keys. Returns {"deleted", "inserted"} (an update counts as both).
CREATE OR REPLACE FUNCTION layers.refined_replace_rows(p_report text, p_key text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    cols text;      -- "a", "b"
    vals text;      -- n."a", n."b"
    n_del bigint;
    n_upd bigint;
    n_ins bigint;
BEGIN
    SELECT string_agg(format('%I', attname), ', ' ORDER BY attnum), string_agg(format('n.%I', attname), ', ' ORDER BY attnum)
      INTO cols, vals
      FROM pg_attribute WHERE attrelid = format('refined.%I', p_report)::regclass AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('DELETE FROM refined.%I r WHERE NOT EXISTS (SELECT 1 FROM pg_temp.refresh_rows n WHERE n.%I = r.%I)',
                   p_report, p_key, p_key);
    GET DIAGNOSTICS n_del = ROW_COUNT;
    EXECUTE format('UPDATE refined.%I r SET (%s) = ROW(%s) FROM pg_temp.refresh_rows n '
                   'WHERE n.%I = r.%I AND ROW(n.*) IS DISTINCT FROM ROW(r.*)', p_report, cols, vals, p_key, p_key);
    GET DIAGNOSTICS n_upd = ROW_COUNT;
    EXECUTE format('INSERT INTO refined.%I SELECT n.* FROM pg_temp.refresh_rows n '
                   'WHERE NOT EXISTS (SELECT 1 FROM refined.%I r WHERE r.%I = n.%I)', p_report, p_report, p_key, p_key);
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    DROP TABLE pg_temp.refresh_rows;
    RETURN jsonb_build_object('deleted', n_del + n_upd, 'inserted', n_ins + n_upd);
END $$;
