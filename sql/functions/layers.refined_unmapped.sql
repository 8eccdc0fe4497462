-- Why a report must be rebuilt because a table it reads changed and has no
-- refresh_from line (its changes cannot be mapped to the report's groups),
-- from pg_temp.unseen_changes (layers.refined_unseen); NULL when none did.
CREATE OR REPLACE FUNCTION layers.refined_unmapped(p_depends text[], p_maps jsonb) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT format('%s changed columns the report reads and has no refresh_from', d)
              FROM unnest(p_depends) d
             WHERE NOT p_maps ? d
               AND EXISTS (SELECT 1 FROM pg_temp.unseen_changes c WHERE 'trusted.' || c.table_name = d)
             LIMIT 1);
END $$;
