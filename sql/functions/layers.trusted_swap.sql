-- Builds a source's TRUSTED table anew from p_rows — a FROM item naming RAW
-- rows `b` (text columns, _job_id, sys_change_version) — and swaps it in for
-- the live one, in the caller's transaction. One CREATE TABLE AS types the
-- rows in the live table's column order (parallel workers may share the
-- casts; an INSERT ... SELECT runs on one core); NOT NULLs and defaults are
-- copied from the catalog, the key index is built after the fill, and the
-- live table's other indexes, grants, storage options and comments are
-- carried over (layers.swap_in). A value that does not cast raises
-- data_exception and a duplicate key unique_violation: the caller catches
-- them and merges row by row instead. What a swap cannot carry (a view on
-- the table, a trigger, a foreign key...) keeps the caller from swapping at
-- all (layers.swap_blocker).
-- Returns {"rows": n, "deleted": keys the live table had and the new lacks}.
-- With p_kept, p_rows also carries each row's _deleted and _merged_at (rows
-- kept from the live table keep theirs).
-- With p_stage (layers.trusted_stage: the snapshot's rows, typed while they
-- landed) that table becomes the new one instead, when the live table's
-- columns are the source's followed by the four the lake adds, as the merge
-- makes them: the four are added without writing a row (constant defaults),
-- and p_rows is not read; its key index, when it has one, is the new table's.
-- (A stage of changes, an API load's, has _job_id and _change_version
-- already: the other two are added.)
-- Returns "staged": true then.
DROP FUNCTION IF EXISTS layers.trusted_swap(bigint, text);
DROP FUNCTION IF EXISTS layers.trusted_swap(bigint, text, boolean);
CREATE OR REPLACE FUNCTION layers.trusted_swap(p_source bigint, p_rows text, p_kept boolean DEFAULT false,
                                               p_stage regclass DEFAULT NULL, p_job bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    t text;
    swap text;
    select_list text;
    alter_list text;
    keys text;
    key_match text;
    n bigint;
    n_deleted bigint := 0;
    default_setup text := current_setting('parallel_setup_cost');
    default_tuple text := current_setting('parallel_tuple_cost');
    staged boolean := false;
    live_not_null name[];
    stage_key name;
    stage_cols text[];
    versions boolean;    -- the stage has _job_id and _change_version (a stage of changes)
    lake_cols text[] := ARRAY['_job_id bigint', '_change_version bigint', '_deleted boolean',
                              '_merged_at timestamp with time zone'];
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    t := s.system || '_' || s.object;
    swap := format('swap_%s', p_source);
    SELECT string_agg(format('%I', x->>'name'), ', ') FILTER (WHERE (x->>'key')::boolean),
           string_agg(format('t.%I = b.%I', x->>'name', x->>'name'), ' AND ') FILTER (WHERE (x->>'key')::boolean)
      INTO keys, key_match
      FROM jsonb_array_elements(s.columns) x;
    SELECT string_agg(CASE a.attname
                        WHEN '_job_id' THEN 'b._job_id'
                        WHEN '_change_version' THEN 'b.sys_change_version'
                        WHEN '_deleted' THEN CASE WHEN p_kept THEN 'b._deleted' ELSE 'false' END
                        WHEN '_merged_at' THEN CASE WHEN p_kept THEN 'b._merged_at' ELSE 'now()' END
                        ELSE coalesce((SELECT format('b.%I::%s', x->>'name', x->>'type')
                                         FROM jsonb_array_elements(s.columns) x WHERE x->>'name' = a.attname),
                                      format('NULL::%s', format_type(a.atttypid, a.atttypmod)))
                      END || format(' AS %I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('ALTER %I SET NOT NULL', a.attname), ', ') FILTER (WHERE a.attnotnull),
           array_agg(a.attname) FILTER (WHERE a.attnotnull)
      INTO select_list, alter_list, live_not_null
      FROM pg_attribute a
     WHERE a.attrelid = format('trusted.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT concat_ws(', ', alter_list, string_agg(format('ALTER %I SET DEFAULT %s', a.attname,
                                                         pg_get_expr(d.adbin, d.adrelid)), ', '))
      INTO alter_list
      FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
     WHERE d.adrelid = format('trusted.%I', t)::regclass AND NOT a.attisdropped;

    EXECUTE format('DROP TABLE IF EXISTS trusted.%I', swap);
    IF p_stage IS NOT NULL THEN
        -- the live table's columns, and what the stage would become
        stage_cols := layers.table_columns(p_stage);
        -- (a stage of changes has the versions, and _job_id, already)
        versions := stage_cols[array_length(stage_cols, 1) - 1:] = lake_cols[1:2];
        staged := layers.table_columns(format('trusted.%I', t)::regclass)
                  = stage_cols || CASE WHEN versions THEN lake_cols[3:4] ELSE lake_cols END;
    END IF;
    IF staged THEN
        -- NOT NULL where the live table has it, said as the column comes: a
        -- constant default proves it without reading a row, where the
        -- SET NOT NULL below would read the whole table (0.7 s at 5 M rows)
        EXECUTE format('ALTER TABLE %s %s ADD COLUMN _deleted boolean %s DEFAULT false, ADD COLUMN _merged_at timestamptz %s DEFAULT %L',
                       p_stage, CASE WHEN versions THEN '' ELSE format('ADD COLUMN _job_id bigint %s DEFAULT %s, ADD COLUMN _change_version bigint,',
                                                                      CASE WHEN '_job_id' = ANY (live_not_null) THEN 'NOT NULL' ELSE '' END, p_job) END,
                       CASE WHEN '_deleted' = ANY (live_not_null) THEN 'NOT NULL' ELSE '' END,
                       CASE WHEN '_merged_at' = ANY (live_not_null) THEN 'NOT NULL' ELSE '' END, now());
        EXECUTE format('ALTER TABLE %s ALTER COLUMN _job_id DROP DEFAULT, ALTER COLUMN _deleted DROP DEFAULT, '
                       'ALTER COLUMN _merged_at DROP DEFAULT', p_stage);
        EXECUTE format('ALTER TABLE %s SET SCHEMA trusted', p_stage);
        EXECUTE format('ALTER TABLE trusted.%I RENAME TO %I', (SELECT relname FROM pg_class WHERE oid = p_stage), swap);
        n := (obj_description(p_stage, 'pg_class')::jsonb->>'rows')::bigint;
        EXECUTE format('COMMENT ON TABLE trusted.%I IS NULL', swap);
        -- the key index the stage built as it committed (layers.trusted_stage_done)
        SELECT conname INTO stage_key FROM pg_constraint WHERE conrelid = p_stage AND contype = 'p';
        IF stage_key IS NOT NULL THEN
            EXECUTE format('ALTER TABLE trusted.%I RENAME CONSTRAINT %I TO %I', swap, stage_key, swap || '_pkey');
        END IF;
    ELSE
        -- a parallel plan for the casts, whatever the batch's size looks like
        PERFORM set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0.001', true);
        EXECUTE format('CREATE TABLE trusted.%I AS SELECT %s FROM %s', swap, select_list, p_rows);
        GET DIAGNOSTICS n = ROW_COUNT;
        PERFORM set_config('parallel_setup_cost', default_setup, true), set_config('parallel_tuple_cost', default_tuple, true);
    END IF;
    alter_list := concat_ws(', ', alter_list, CASE WHEN stage_key IS NULL
                                                   THEN format('ADD CONSTRAINT %I PRIMARY KEY (%s)', swap || '_pkey', keys) END);
    IF alter_list <> '' THEN
        EXECUTE format('ALTER TABLE trusted.%I %s', swap, alter_list);
    END IF;
    IF layers.has_rows(format('trusted.%I', t)::regclass) THEN
        EXECUTE format('SELECT count(*) FROM trusted.%I t WHERE NOT EXISTS (SELECT 1 FROM trusted.%I b WHERE %s)',
                       t, swap, key_match) INTO n_deleted;
    END IF;
    -- in the live table's place, with its other indexes, grants, options, comments
    PERFORM layers.swap_in(format('trusted.%I', t)::regclass, format('trusted.%I', swap)::regclass);
    EXECUTE format('ALTER TABLE trusted.%I RENAME CONSTRAINT %I TO %I', t, swap || '_pkey', left(t, 58) || '_pkey');
    RETURN jsonb_build_object('rows', n, 'deleted', n_deleted, 'staged', staged);
END $$;
