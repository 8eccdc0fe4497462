-- Makes refined.<p_report> hold the rows of pg_temp.refresh_rows (same
-- columns, same order), one key column p_key: deletes the rows that differ or
-- are gone, inserts the others. Returns {"deleted", "inserted"}.
CREATE OR REPLACE FUNCTION layers.refined_replace_rows(p_report text, p_key text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    n_del bigint;
    n_ins bigint;
BEGIN
    EXECUTE format('DELETE FROM refined.%I r WHERE NOT EXISTS (SELECT 1 FROM pg_temp.refresh_rows n '
                   'WHERE n.%I = r.%I AND ROW(n.*) IS NOT DISTINCT FROM ROW(r.*))', p_report, p_key, p_key);
    GET DIAGNOSTICS n_del = ROW_COUNT;
    EXECUTE format('INSERT INTO refined.%I SELECT n.* FROM pg_temp.refresh_rows n '
                   'WHERE NOT EXISTS (SELECT 1 FROM refined.%I r WHERE r.%I = n.%I)', p_report, p_report, p_key, p_key);
    GET DIAGNOSTICS n_ins = ROW_COUNT;
    DROP TABLE pg_temp.refresh_rows;
    RETURN jsonb_build_object('deleted', n_del, 'inserted', n_ins);
END $$;
