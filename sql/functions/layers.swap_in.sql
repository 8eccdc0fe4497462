-- Puts p_next, built aside, in the place of p_live (a TRUSTED swap, a report
-- rebuilt aside), in the caller's transaction: p_live is dropped and p_next
-- takes its name. What an operator set on p_live and a table built anew
-- lacks comes along: its grants exactly (a privilege revoked from p_live
-- stays revoked, whatever the schema's default privileges gave p_next),
-- storage options, comments (the table's, and its columns' by name) and its
-- indexes other than the key (a report's, an operator's). The key and the
-- constraints are the caller's: which ones a table must have differs by
-- layer. The caller has checked that nothing else hangs on p_live
-- (layers.swap_blocker).
CREATE OR REPLACE FUNCTION layers.swap_in(p_live regclass, p_next regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    stmt text;
    name text;
    index_defs text[];
BEGIN
    FOR stmt IN SELECT x.stmt FROM (
        SELECT 1 AS step, format('REVOKE ALL ON %s FROM %s', p_next, layers.grantee_name(a.grantee)) AS stmt
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = p_next AND a.grantee <> c.relowner
        UNION ALL
        SELECT 2, format('GRANT %s ON %s TO %s%s', a.privilege_type, p_next, layers.grantee_name(a.grantee),
                         CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = p_live AND a.grantee <> c.relowner
        UNION ALL
        SELECT 3, format('ALTER TABLE %s SET (%s)', p_next, array_to_string(c.reloptions, ', '))
          FROM pg_class c WHERE c.oid = p_live AND c.reloptions IS NOT NULL
        UNION ALL
        SELECT 3, format('COMMENT ON TABLE %s IS %L', p_next, d.description)
          FROM pg_description d
         WHERE d.objoid = p_live AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
        UNION ALL
        SELECT 3, format('COMMENT ON COLUMN %s.%I IS %L', p_next, a.attname, d.description)
          FROM pg_description d JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
         WHERE d.objoid = p_live AND d.classoid = 'pg_class'::regclass AND d.objsubid > 0
           AND EXISTS (SELECT 1 FROM pg_attribute n WHERE n.attrelid = p_next AND n.attname = a.attname
                       AND NOT n.attisdropped)
        ) x ORDER BY x.step
    LOOP
        EXECUTE stmt;
    END LOOP;
    SELECT relname, (SELECT array_agg(pg_get_indexdef(i.indexrelid)) FROM pg_index i
                      WHERE i.indrelid = p_live AND NOT i.indisprimary)
      INTO name, index_defs
      FROM pg_class WHERE oid = p_live;
    EXECUTE format('DROP TABLE %s', p_live);
    EXECUTE format('ALTER TABLE %s RENAME TO %I', p_next, name);
    FOREACH stmt IN ARRAY coalesce(index_defs, '{}') LOOP
        EXECUTE stmt;
    END LOOP;
END $$;
