-- Why a schedule's target cannot run now, or NULL.
CREATE OR REPLACE FUNCTION control.schedule_target_problem(s control.schedules) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN s.pipeline IS NOT NULL THEN
            CASE WHEN NOT EXISTS (SELECT 1 FROM control.sources x WHERE x.active AND
                     x.system || '_' || x.source_type || '_' || x.load_type = s.pipeline)
                 THEN 'pipeline ' || s.pipeline || ' has no active source' END
        WHEN s.source_id IS NOT NULL THEN
            (SELECT CASE WHEN x.id IS NULL THEN 'source ' || s.source_id || ' was deleted'
                         WHEN NOT x.active THEN 'source ' || s.source_id || ' is inactive' END
             FROM (SELECT 1) one LEFT JOIN control.sources x ON x.id = s.source_id)
        END
$$;
