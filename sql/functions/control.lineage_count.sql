-- The exact row count of <schema>.<name>, or null when there is no such
-- table (for control.lineage).
CREATE OR REPLACE FUNCTION control.lineage_count(p_schema text, p_name text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    n bigint;
BEGIN
    IF to_regclass(format('%I.%I', p_schema, p_name)) IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM %I.%I', p_schema, p_name) INTO n;
    RETURN n;
END $$;
