-- Makes sure the index a report's `-- index: trusted.t (columns or
-- expressions)` line asks for exists (a snapshot that replaced the table
-- dropped it): the incremental refresh finds a group's rows through it.
CREATE OR REPLACE FUNCTION layers.refined_index(p_def text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    m text[] := regexp_match(p_def, '^\s*trusted\.([a-z_][a-z0-9_]*)\s*(\(.*\))\s*$');
BEGIN
    IF m IS NULL THEN
        RAISE EXCEPTION 'index line "%": expected trusted.<table> (<columns or expressions>)', p_def;
    END IF;
    IF to_regclass(format('trusted.%I', m[1])) IS NOT NULL
       AND to_regclass(format('trusted.%I', left(m[1], 40) || '_r_' || left(md5(m[2]), 12))) IS NULL THEN
        EXECUTE format('CREATE INDEX %I ON trusted.%I %s',
                       left(m[1], 40) || '_r_' || left(md5(m[2]), 12), m[1], m[2]);
        -- an index on expressions has statistics of its own only from the
        -- next ANALYZE: without them a refresh's group lookups are planned
        -- blind
        EXECUTE format('ANALYZE trusted.%I', m[1]);
    END IF;
END $$;
