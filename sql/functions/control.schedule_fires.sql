-- The fire instants of schedule s strictly after `after`, up to `until`
-- (NULL: no bound; at most 5 years ahead), at most n, in order.
--
-- Daylight-saving time follows Vixie cron (ISC cron 4.1): a FIXED-time
-- schedule (neither minute nor hour starts with '*') whose local time falls
-- in a spring-forward gap fires once, at the first instant after the gap;
-- one whose local time occurs twice on a fall-back day fires once, at the
-- first occurrence. A WILDCARD schedule (minute or hour starts with '*')
-- follows the wall clock: minutes that do not exist are not fired, minutes
-- that occur twice fire twice (they are distinct instants). Fires that land
-- on the same instant fire once.
CREATE OR REPLACE FUNCTION control.schedule_fires(s control.schedules, after timestamptz, until timestamptz, n integer)
RETURNS SETOF timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    tz   text := s.timezone;
    day  date := (after AT TIME ZONE tz)::date - 1;
    stop date := CASE WHEN until IS NULL THEN day + 5 * 366 ELSE (until AT TIME ZONE tz)::date + 1 END;
    got  integer := 0;
    last timestamptz := after;
    ob interval; oe interval; lt timestamp;
    x1 timestamptz; x2 timestamptz; ok1 boolean; ok2 boolean;
    fires timestamptz[]; f timestamptz; h integer; m integer; dom integer; dow integer;
BEGIN
    IF n <= 0 THEN RETURN; END IF;
    WHILE day <= stop LOOP
        dom := extract(day FROM day)::integer;
        dow := extract(dow FROM day)::integer;
        IF extract(month FROM day)::integer = ANY (s.cron_months) AND (CASE
               WHEN s.cron_dom_any AND s.cron_dow_any THEN true
               WHEN s.cron_dom_any THEN dow = ANY (s.cron_dows)
               WHEN s.cron_dow_any THEN dom = ANY (s.cron_doms)
               ELSE dom = ANY (s.cron_doms) OR dow = ANY (s.cron_dows) END) THEN
            -- the offsets before and after this local day; equal on all but
            -- the days around a transition
            ob := control.tz_offset((day::timestamp - interval '24 hours') AT TIME ZONE 'UTC', tz);
            oe := control.tz_offset((day::timestamp + interval '48 hours') AT TIME ZONE 'UTC', tz);
            fires := '{}';
            FOREACH h IN ARRAY s.cron_hours LOOP
                FOREACH m IN ARRAY s.cron_minutes LOOP
                    lt := day + make_interval(hours => h, mins => m);
                    IF ob = oe THEN
                        fires := fires || ((lt - ob) AT TIME ZONE 'UTC');
                        CONTINUE;
                    END IF;
                    x1 := (lt - ob) AT TIME ZONE 'UTC';
                    x2 := (lt - oe) AT TIME ZONE 'UTC';
                    ok1 := (x1 AT TIME ZONE tz) = lt;
                    ok2 := (x2 AT TIME ZONE tz) = lt;
                    IF ok1 AND ok2 AND x1 <> x2 THEN        -- occurs twice (fall back)
                        fires := fires || least(x1, x2);
                        IF NOT s.cron_fixed THEN fires := fires || greatest(x1, x2); END IF;
                    ELSIF ok1 THEN
                        fires := fires || x1;
                    ELSIF ok2 THEN
                        fires := fires || x2;
                    ELSIF s.cron_fixed THEN                 -- does not exist (spring forward)
                        fires := fires || (SELECT min(g) FROM generate_series(least(x1, x2), greatest(x1, x2),
                                                                              interval '1 minute') g
                                           WHERE control.tz_offset(g, tz) = oe);
                    END IF;
                END LOOP;
            END LOOP;
            FOR f IN SELECT DISTINCT u FROM unnest(fires) u WHERE u IS NOT NULL ORDER BY u LOOP
                CONTINUE WHEN f <= last;
                IF until IS NOT NULL AND f > until THEN RETURN; END IF;
                RETURN NEXT f;
                last := f;
                got := got + 1;
                IF got >= n THEN RETURN; END IF;
            END LOOP;
        END IF;
        day := day + 1;
    END LOOP;
END $$;
