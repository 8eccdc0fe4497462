-- Why a table cannot be replaced by one built aside (NULL when it can): a
-- TRUSTED swap, a report rebuilt. Replacing drops the live table and renames
-- the new one in its place: what hangs on the live table would stop the drop
-- (a view, a foreign key pointing at it) or be lost silently with it (a
-- trigger, a constraint or a policy an operator added, a publication, column
-- grants). TRUSTED merges such a table in place instead. Table grants,
-- storage options, comments and indexes are not blockers: layers.swap_in
-- carries them over.
CREATE OR REPLACE FUNCTION layers.swap_blocker(p_table regclass) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT format('view %s reads it', r.ev_class::regclass)
           FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
          WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
            AND d.refobjid = p_table AND r.ev_class <> p_table
          ORDER BY 1 LIMIT 1),
        (SELECT format('foreign key %I of %s points at it', c.conname, c.conrelid::regclass)
           FROM pg_constraint c WHERE c.confrelid = p_table ORDER BY 1 LIMIT 1),
        (SELECT format('it has constraint %I', c.conname)
           FROM pg_constraint c WHERE c.conrelid = p_table AND c.contype <> 'p' ORDER BY 1 LIMIT 1),
        (SELECT format('it has trigger %I', t.tgname)
           FROM pg_trigger t WHERE t.tgrelid = p_table AND NOT t.tgisinternal ORDER BY 1 LIMIT 1),
        (SELECT 'it has row-level security' FROM pg_class c
          WHERE c.oid = p_table AND (c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = p_table))),
        (SELECT format('publication %I publishes it', p.pubname)
           FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
          WHERE pr.prrelid = p_table ORDER BY 1 LIMIT 1),
        (SELECT format('column %I has its own grants', a.attname)
           FROM pg_attribute a WHERE a.attrelid = p_table AND a.attacl IS NOT NULL AND NOT a.attisdropped
          ORDER BY 1 LIMIT 1),
        (SELECT format('table %s inherits from it', i.inhrelid::regclass)
           FROM pg_inherits i WHERE i.inhparent = p_table ORDER BY 1 LIMIT 1),
        (SELECT format('it lives in tablespace %I', ts.spcname)
           FROM pg_class c JOIN pg_tablespace ts ON ts.oid = c.reltablespace WHERE c.oid = p_table),
        (SELECT 'it is unlogged' FROM pg_class c WHERE c.oid = p_table AND c.relpersistence <> 'p'))
$$;
