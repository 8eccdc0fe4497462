-- RAW: the source's history, partitioned by the UTC day of _partitiontime
-- and, within a day, by job. The job's LAND partition becomes RAW's: it is
-- detached from LAND and attached to its day, so the rows are written once.
-- Its CHECK constraints (made with it, jobs/layers/land.c) prove RAW's
-- bounds, so the attach does not scan it either. A day partition made before
-- RAW was partitioned by job (a plain table) takes a copy of the rows
-- instead, and LAND keeps its partition until retention drops it. RAW takes
-- LAND's columns by name (the two may have gained them in different orders).
-- A rerun appends nothing. Returns {"attached": true} or {"rows", "attached": false,
-- "copied_because"}.
-- (it answered a bigint before: a new return type needs a new function)
DROP FUNCTION IF EXISTS layers.raw_append(bigint, bigint);
CREATE FUNCTION layers.raw_append(p_source bigint, p_job bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t text := layers.table_name(p_source);
    part regclass;          -- the job's LAND partition
    part_name text;
    first_time timestamptz;
    day date;
    day_part text;
    day_kind "char";
    col record;
    cols text;
    done boolean;
    why text;
    prev_lock_timeout text := current_setting('lock_timeout');
    n bigint;
BEGIN
    SET LOCAL client_min_messages = warning;
    IF to_regclass(format('raw.%I', t)) IS NULL THEN
        EXECUTE format('CREATE TABLE raw.%I (LIKE land.%I) PARTITION BY RANGE (_partitiontime)', t, t);
    END IF;
    FOR col IN SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
               WHERE a.attrelid = format('land.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped
                 AND NOT EXISTS (SELECT 1 FROM pg_attribute r WHERE r.attrelid = format('raw.%I', t)::regclass
                                 AND r.attname = a.attname AND NOT r.attisdropped)
    LOOP
        EXECUTE format('ALTER TABLE raw.%I ADD COLUMN %I %s', t, col.attname, col.type);
    END LOOP;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM raw.%I WHERE _job_id = $1)', t) INTO done USING p_job;
    IF done THEN
        RETURN jsonb_build_object('rows', 0, 'attached', false, 'copied_because', 'already in RAW');
    END IF;

    SELECT c.oid, c.relname INTO part, part_name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = format('land.%I', t)::regclass
       AND pg_get_expr(c.relpartbound, c.oid) IN (format('FOR VALUES IN (%s)', p_job), format('FOR VALUES IN (''%s'')', p_job));
    IF part IS NULL THEN
        RETURN jsonb_build_object('rows', 0, 'attached', false, 'copied_because', 'no LAND partition');
    END IF;
    EXECUTE format('SELECT _partitiontime FROM %s LIMIT 1', part) INTO first_time;
    IF first_time IS NULL THEN
        RETURN jsonb_build_object('rows', 0, 'attached', false, 'copied_because', 'no rows');
    END IF;
    day := (first_time AT TIME ZONE 'UTC')::date;
    day_part := left(t, 50) || '_p' || to_char(day, 'YYYYMMDD');
    SELECT c.relkind INTO day_kind FROM pg_class c WHERE c.oid = to_regclass(format('raw.%I', day_part));
    IF day_kind IS NULL THEN
        EXECUTE format('CREATE TABLE raw.%I PARTITION OF raw.%I FOR VALUES FROM (%L) TO (%L) PARTITION BY LIST (_job_id)',
                       day_part, t, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
        -- rows of a job without its own partition (a raw override's INSERT
        -- into raw.<table>) land here
        EXECUTE format('CREATE TABLE raw.%I PARTITION OF raw.%I DEFAULT',
                       left(t, 44) || '_p' || to_char(day, 'YYYYMMDD') || '_other', day_part);
        day_kind := 'p';
    END IF;

    IF day_kind = 'p' THEN
        BEGIN
            -- the detach locks LAND's table whole: a reader of LAND makes the
            -- load copy after a short wait rather than wait for it
            PERFORM set_config('lock_timeout', '5s', true);
            EXECUTE format('ALTER TABLE land.%I DETACH PARTITION %s', t, part);
            -- RAW may hold columns this LAND table never had (RAW outlives
            -- LAND tables): the attached partition needs them all
            FOR col IN SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
                       WHERE a.attrelid = format('raw.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped
                         AND NOT EXISTS (SELECT 1 FROM pg_attribute l WHERE l.attrelid = part
                                         AND l.attname = a.attname AND NOT l.attisdropped)
            LOOP
                EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', part, col.attname, col.type);
            END LOOP;
            EXECUTE format('ALTER TABLE %s SET SCHEMA raw', part);
            EXECUTE format('ALTER TABLE raw.%I ATTACH PARTITION raw.%I FOR VALUES IN (%s)', day_part, part_name, p_job);
            PERFORM set_config('lock_timeout', prev_lock_timeout, true);
            -- (no count: the caller knows how many rows it landed)
            RETURN jsonb_build_object('attached', true);
        EXCEPTION WHEN others THEN
            -- rolled back to the block's start (lock_timeout too): the
            -- partition is LAND's again
            why := SQLERRM;
        END;
    ELSE
        why := format('RAW''s partition of %s is not partitioned by job (made before)', day);
    END IF;

    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
      FROM pg_attribute a WHERE a.attrelid = format('land.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('INSERT INTO raw.%I (%s) SELECT %s FROM %s', t, cols, cols, part);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN jsonb_build_object('rows', n, 'attached', false, 'copied_because', why);
END $$;
