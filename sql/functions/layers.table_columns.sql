-- A table's columns in order, each as "name type" (dropped ones left out):
-- what two tables must share for one to take the other's place (a TRUSTED
-- swap, a child table, a report refilled).
CREATE OR REPLACE FUNCTION layers.table_columns(p_table regclass) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(format('%s %s', a.attname, format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
      FROM pg_attribute a
     WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped
$$;
