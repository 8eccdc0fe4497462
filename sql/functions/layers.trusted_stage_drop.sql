-- Drops a typed table made beside LAND (layers.trusted_stage_create) and the
-- tables of its children's rows (and of its newest versions,
-- layers.trusted_stage_newest), when TRUSTED does not take them.
CREATE OR REPLACE FUNCTION layers.trusted_stage_drop(p_stage regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    child regclass;
BEGIN
    FOR child IN SELECT c.oid::regclass FROM pg_class c
                  WHERE c.relnamespace = 'land'::regnamespace AND c.relkind = 'r'
                    AND c.relname LIKE (SELECT relname FROM pg_class WHERE oid = p_stage) || '-%'
    LOOP
        EXECUTE format('DROP TABLE %s', child);
    END LOOP;
    EXECUTE format('DROP TABLE %s', p_stage);
END $$;
