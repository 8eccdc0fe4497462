CREATE OR REPLACE FUNCTION layers.table_name(p_source bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT system || '_' || object FROM control.sources WHERE id = p_source
$$;
