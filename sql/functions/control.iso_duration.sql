-- Seconds as an ISO 8601 duration: 5400 -> PT1H30M, 86400 -> P1D.
CREATE OR REPLACE FUNCTION control.iso_duration(secs integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN secs IS NULL THEN NULL WHEN secs = 0 THEN 'PT0S' ELSE
        'P' || CASE WHEN secs >= 86400 THEN (secs / 86400) || 'D' ELSE '' END ||
        CASE WHEN secs % 86400 = 0 THEN '' ELSE 'T' ||
            CASE WHEN secs % 86400 >= 3600 THEN (secs % 86400 / 3600) || 'H' ELSE '' END ||
            CASE WHEN secs % 3600 >= 60 THEN (secs % 3600 / 60) || 'M' ELSE '' END ||
            CASE WHEN secs % 60 > 0 THEN (secs % 60) || 'S' ELSE '' END END END
$$;
