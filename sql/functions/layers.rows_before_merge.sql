CREATE OR REPLACE FUNCTION layers.rows_before_merge(p_source bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    n bigint;
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    IF NOT coalesce(s.options->'checks', '[]') @> '[{"check": "row_count_not_collapsing"}]'
       OR to_regclass(format('trusted.%I', s.system || '_' || s.object)) IS NULL THEN
        RETURN -1;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(format('trusted.%I', s.system || '_' || s.object))
               AND attname = '_deleted' AND NOT attisdropped) THEN
        EXECUTE format('SELECT count(*) FROM trusted.%I WHERE NOT _deleted', s.system || '_' || s.object) INTO n;
    ELSE
        EXECUTE format('SELECT count(*) FROM trusted.%I', s.system || '_' || s.object) INTO n;
    END IF;
    RETURN n;
END $$;
