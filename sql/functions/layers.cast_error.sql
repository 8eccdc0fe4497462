-- NULL when v casts to type t, else the error. Only used on the slow path,
-- after a set-based cast of a batch failed.
CREATE OR REPLACE FUNCTION layers.cast_error(v text, t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF v IS NULL THEN RETURN NULL; END IF;
    EXECUTE format('SELECT %L::%s', v, t);
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN SQLERRM;
END $$;
