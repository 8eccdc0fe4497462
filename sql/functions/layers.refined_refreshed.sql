-- Records that a report was refreshed (not rebuilt) from snapshot p_snap:
-- the next refresh takes the changes that one does not see.
CREATE OR REPLACE FUNCTION layers.refined_refreshed(p_report text, p_depends text[], p_snap pg_snapshot) RETURNS void
LANGUAGE sql AS $$
    UPDATE control.refined_state SET snapshot = p_snap, refreshed_at = now(), depends = p_depends
     WHERE report = p_report
$$;
