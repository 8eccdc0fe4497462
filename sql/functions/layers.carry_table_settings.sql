-- Gives p_to what an operator set on p_from and a table built anew lacks,
-- before p_to replaces p_from (a TRUSTED swap, a report rebuilt aside): its
-- grants exactly (a privilege revoked from p_from stays revoked, whatever the
-- schema's default privileges gave p_to), storage options and comments (the
-- table's, and its columns' by name). Indexes and constraints are the
-- caller's: which ones a table must have differs by layer.
CREATE OR REPLACE FUNCTION layers.carry_table_settings(p_from regclass, p_to regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    stmt text;
BEGIN
    FOR stmt IN SELECT x.stmt FROM (
        SELECT 1 AS step, format('REVOKE ALL ON %s FROM %s', p_to, layers.grantee_name(a.grantee)) AS stmt
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = p_to AND a.grantee <> c.relowner
        UNION ALL
        SELECT 2, format('GRANT %s ON %s TO %s%s', a.privilege_type, p_to, layers.grantee_name(a.grantee),
                         CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = p_from AND a.grantee <> c.relowner
        UNION ALL
        SELECT 3, format('ALTER TABLE %s SET (%s)', p_to, array_to_string(c.reloptions, ', '))
          FROM pg_class c WHERE c.oid = p_from AND c.reloptions IS NOT NULL
        UNION ALL
        SELECT 3, format('COMMENT ON TABLE %s IS %L', p_to, d.description)
          FROM pg_description d
         WHERE d.objoid = p_from AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
        UNION ALL
        SELECT 3, format('COMMENT ON COLUMN %s.%I IS %L', p_to, a.attname, d.description)
          FROM pg_description d JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
         WHERE d.objoid = p_from AND d.classoid = 'pg_class'::regclass AND d.objsubid > 0
           AND EXISTS (SELECT 1 FROM pg_attribute n WHERE n.attrelid = p_to AND n.attname = a.attname
                       AND NOT n.attisdropped)
        ) x ORDER BY x.step
    LOOP
        EXECUTE stmt;
    END LOOP;
END $$;
