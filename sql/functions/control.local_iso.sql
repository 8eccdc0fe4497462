-- An instant as local ISO 8601 text with its offset in zone tz.
CREATE OR REPLACE FUNCTION control.local_iso(x timestamptz, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(x AT TIME ZONE tz, 'YYYY-MM-DD"T"HH24:MI:SS') ||
           CASE WHEN o < interval '0' THEN '-' ELSE '+' END ||
           to_char(justify_hours(abs(extract(epoch FROM o)) * interval '1 second'), 'HH24:MI')
    FROM (SELECT control.tz_offset(x, tz) AS o) t
$$;
