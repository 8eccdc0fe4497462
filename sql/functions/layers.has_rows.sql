-- Whether a table holds a row: the TRUSTED merge and the child tables fill
-- an empty table in bulk, its key index built after the fill.
CREATE OR REPLACE FUNCTION layers.has_rows(p_table regclass) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', p_table) INTO found;
    RETURN found;
END $$;
