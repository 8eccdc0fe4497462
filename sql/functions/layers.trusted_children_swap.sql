-- When TRUSTED took the typed table the API load of job p_job filled beside
-- LAND (layers.trusted_swap with a stage of changes), the tables of its children's
-- rows, filled beside it too and keyed (layers.trusted_stage_done: the
-- children of each key's newest row), replace the child tables
-- (layers.child_table) in the same transaction: no array is read from RAW
-- again. Only into a child table that is empty, has the columns the merge
-- makes and nothing hanging on it (layers.swap_blocker); otherwise SQLSTATE
-- LK002, and the caller types RAW's rows instead. Returns each child's rows,
-- as layers.trusted_children does.
CREATE OR REPLACE FUNCTION layers.trusted_children_swap(p_source bigint, p_job bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    child jsonb;
    i bigint;
    live regclass;
    staged regclass;
    meta jsonb;
    live_key name;
    why text;
    counts jsonb := '{}';
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    FOR child, i IN SELECT x, n FROM jsonb_array_elements(coalesce(s.options->'children', '[]')) WITH ORDINALITY AS e(x, n)
    LOOP
        live := layers.child_table(p_source, child);
        staged := to_regclass(format('land.%I', format('stage-s%s-j%s-c%s', p_source, p_job, i)));
        meta := obj_description(staged, 'pg_class')::jsonb;
        why := CASE
            WHEN staged IS NULL OR NOT meta ? 'rows' OR meta->>'child' IS DISTINCT FROM md5(child::text)
                THEN 'no typed rows'
            WHEN NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = staged AND contype = 'p')
                THEN 'no key'
            WHEN layers.has_rows(live) THEN 'not empty'
            WHEN layers.table_columns(live) IS DISTINCT FROM layers.table_columns(staged) THEN 'other columns'
            ELSE layers.swap_blocker(live) END;
        IF why IS NOT NULL THEN
            RAISE SQLSTATE 'LK002' USING MESSAGE = format('child %s not built aside: %s', child->>'name', why);
        END IF;
        live_key := (SELECT conname FROM pg_constraint WHERE conrelid = live AND contype = 'p');
        EXECUTE format('ALTER TABLE %s SET SCHEMA trusted', staged);
        EXECUTE format('COMMENT ON TABLE %s IS NULL', staged);
        PERFORM layers.swap_in(live, staged);
        -- (the live table's key is gone with it: its name is free)
        EXECUTE format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', staged,
                       (SELECT conname FROM pg_constraint WHERE conrelid = staged AND contype = 'p'), live_key);
        counts := counts || jsonb_build_object(child->>'name', (meta->>'rows')::bigint);
    END LOOP;
    RETURN counts;
END $$;
