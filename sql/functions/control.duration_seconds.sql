-- A duration of a source option ("2h", "90m", "1d", "30s" or ISO 8601 "PT2H")
-- in seconds; NULL for NULL. The validator (control/source_validate.c) has
-- refused anything else, and PostgreSQL's interval input reads both forms.
CREATE OR REPLACE FUNCTION control.duration_seconds(d text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN d IS NULL THEN NULL ELSE extract(epoch FROM d::interval)::bigint END
$$;
