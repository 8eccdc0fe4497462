-- [system]_[database]_[table]_[full|incr]_[hash], as the seed names Dataflow jobs.
CREATE OR REPLACE FUNCTION control.jobs_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.name := lower(replace(NEW.source_name, '.', '_')) || '_' ||
                CASE NEW.load_type WHEN 'full' THEN 'full' ELSE 'incr' END || '_' ||
                substr(md5(NEW.id::text || clock_timestamp()::text), 1, 8);
    RETURN NEW;
END $$;
