-- Local minus UTC at instant x in zone tz.
CREATE OR REPLACE FUNCTION control.tz_offset(x timestamptz, tz text) RETURNS interval
LANGUAGE sql STABLE AS $$ SELECT (x AT TIME ZONE tz) - (x AT TIME ZONE 'UTC') $$;
