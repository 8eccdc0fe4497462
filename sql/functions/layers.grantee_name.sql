-- A grantee as a GRANT or REVOKE names it: PUBLIC for the oid 0 aclexplode
-- gives, the role's quoted name otherwise (layers.trusted_swap).
CREATE OR REPLACE FUNCTION layers.grantee_name(p_role oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_role = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(p_role)) END
$$;
