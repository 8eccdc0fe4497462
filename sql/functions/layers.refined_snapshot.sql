-- The snapshot a report records, in its REPEATABLE READ transaction: its
-- own, unless it reads another report (p_depends has refined.<r>) that does
-- not have yet a change this snapshot sees of a table that report reads (a
-- merge committed after that report was brought up to date): then that
-- report's snapshot, so the change is taken again by the next refresh
-- instead of missed (the rows read through that report are as of it).
CREATE OR REPLACE FUNCTION layers.refined_snapshot(p_depends text[]) RETURNS pg_snapshot
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT s.snapshot FROM control.refined_state s
          WHERE 'refined.' || s.report = ANY (p_depends)
            AND EXISTS (SELECT 1 FROM control.trusted_changes c
                         WHERE c.table_name IN (SELECT substr(d, 9) FROM unnest(s.depends) d WHERE d LIKE 'trusted.%')
                           AND c.xid >= pg_snapshot_xmin(s.snapshot)   -- (implied: the index reads it)
                           AND NOT pg_visible_in_snapshot(c.xid, s.snapshot))
          ORDER BY pg_snapshot_xmin(s.snapshot) LIMIT 1),
        pg_current_snapshot())
$$;
