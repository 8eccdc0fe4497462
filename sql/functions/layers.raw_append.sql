-- RAW takes the job's rows by column name (LAND and RAW may have gained
-- columns in different orders).
CREATE OR REPLACE FUNCTION layers.raw_append(p_source bigint, p_job bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    t text := layers.table_name(p_source);
    day date;
    col record;
    cols text;
    n bigint;
BEGIN
    SET LOCAL client_min_messages = warning;
    EXECUTE format('CREATE TABLE IF NOT EXISTS raw.%I (LIKE land.%I) PARTITION BY RANGE (_partitiontime)', t, t);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON raw.%I (_job_id)', left(t, 55) || '_job_id', t);
    FOR col IN SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
               WHERE a.attrelid = format('land.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped
                 AND NOT EXISTS (SELECT 1 FROM pg_attribute r WHERE r.attrelid = format('raw.%I', t)::regclass
                                 AND r.attname = a.attname AND NOT r.attisdropped)
    LOOP
        EXECUTE format('ALTER TABLE raw.%I ADD COLUMN %I %s', t, col.attname, col.type);
    END LOOP;
    FOR day IN EXECUTE format('SELECT DISTINCT (_partitiontime AT TIME ZONE ''UTC'')::date FROM land.%I WHERE _job_id = $1', t)
               USING p_job
    LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS raw.%I PARTITION OF raw.%I FOR VALUES FROM (%L) TO (%L)',
                       left(t, 50) || '_p' || to_char(day, 'YYYYMMDD'), t,
                       day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a WHERE a.attrelid = format('land.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('INSERT INTO raw.%I (%s) SELECT %s FROM land.%I l WHERE l._job_id = $1 '
                   'AND NOT EXISTS (SELECT 1 FROM raw.%I r WHERE r._job_id = $1)', t, cols, cols, t, t)
        USING p_job;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
