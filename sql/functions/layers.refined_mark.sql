-- Records, in the transaction that rebuilds a report, the snapshot its rows
-- will reflect: called before the report's SELECT runs, so every change
-- visible in this snapshot is in the new report (one committed later may be
-- too, and is refreshed once more next time: harmless).
CREATE OR REPLACE FUNCTION layers.refined_mark(p_report text, p_sql text, p_depends text[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO control.refined_state (report, sql_md5, depends, snapshot, refreshed_at)
    VALUES (p_report, md5(p_sql), p_depends, pg_current_snapshot(), now())
    ON CONFLICT (report) DO UPDATE SET sql_md5 = excluded.sql_md5, depends = excluded.depends,
        snapshot = excluded.snapshot, refreshed_at = excluded.refreshed_at
$$;
