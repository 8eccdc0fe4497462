-- Puts a report rebuilt aside (refined.<name>__next) in the place of the
-- live one, in the caller's transaction. Usually a swap: the live table is
-- dropped and the new one renamed, taking along what an operator or the
-- data-viz team set on the live one — grants, storage options, comments
-- and their own indexes (layers.swap_in). When something hangs
-- on the live table (a view over the report, a trigger...:
-- layers.swap_blocker), dropping it would fail or lose that, so the rows are
-- replaced in place instead (readers see the old rows until the commit);
-- that needs the same columns, and a report whose columns changed under a
-- view fails with a message that names what to drop first.
-- Returns 'made', 'swapped' or 'refilled'.
CREATE OR REPLACE FUNCTION layers.refined_replace(p_name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    live regclass := to_regclass(format('refined.%I', p_name));
    next regclass := format('refined.%I', p_name || '__next')::regclass;
    blocker text;
BEGIN
    IF live IS NULL THEN
        EXECUTE format('ALTER TABLE %s RENAME TO %I', next, p_name);
        RETURN 'made';
    END IF;
    blocker := layers.swap_blocker(live);
    IF blocker IS NULL THEN
        PERFORM layers.swap_in(live, next);
        RETURN 'swapped';
    END IF;
    IF layers.table_columns(live) IS DISTINCT FROM layers.table_columns(next) THEN
        RAISE EXCEPTION 'report refined.% changed its columns, and % (a report rebuilt aside cannot take its place): drop or change that, then run the pipeline again',
                        p_name, blocker
              USING ERRCODE = 'dependent_objects_still_exist';
    END IF;
    EXECUTE format('DELETE FROM %s', live);
    EXECUTE format('INSERT INTO %s SELECT * FROM %s', live, next);
    EXECUTE format('DROP TABLE %s', next);
    RETURN 'refilled';
END $$;
