-- The columns of each table report p_report reads, as
-- [{"tbl": "trusted.t", "whole_row": false, "cols": ["a", "b"]}]:
-- PostgreSQL's own record of what a temporary view of its SELECT depends on
-- (pg_depend; whole_row: the row as a whole, t.* or the table's row type).
-- Worked out once per text of the report and kept in control.refined_state
-- (reads, reads_md5: a rebuild forgets it), in the caller's transaction,
-- which holds the report's lock.
CREATE OR REPLACE FUNCTION layers.refined_reads(p_report text, p_sql text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    st control.refined_state;
    found_reads jsonb;
BEGIN
    SELECT * INTO st FROM control.refined_state WHERE report = p_report;
    IF st.reads_md5 = md5(p_sql) THEN
        RETURN st.reads;
    END IF;
    DROP VIEW IF EXISTS pg_temp.refresh_columns;
    EXECUTE 'CREATE TEMP VIEW refresh_columns AS ' || regexp_replace(p_sql, '[\s;]+$', '');
    SELECT coalesce(jsonb_agg(jsonb_build_object('tbl', x.tbl, 'whole_row', x.whole_row, 'cols', x.cols)), '[]')
      INTO found_reads
      FROM (SELECT n.nspname || '.' || c.relname AS tbl, bool_or(d.refobjsubid = 0) AS whole_row,
                   array_agg(a.attname::text) FILTER (WHERE a.attname IS NOT NULL) AS cols
              FROM pg_depend d
              JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
              JOIN pg_class c ON c.oid = d.refobjid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
             WHERE rw.ev_class = 'pg_temp.refresh_columns'::regclass AND d.refclassid = 'pg_class'::regclass
             GROUP BY 1) x;
    DROP VIEW pg_temp.refresh_columns;
    UPDATE control.refined_state SET reads = found_reads, reads_md5 = md5(p_sql) WHERE report = p_report;
    RETURN found_reads;
END $$;
