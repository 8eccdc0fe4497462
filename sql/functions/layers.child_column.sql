-- The column of the merge's typed batch (pg_temp.typed) that carries an API
-- record's array at a child's path (options.children[].path): written by
-- layers.trusted_merge, read by layers.trusted_children. Named after the
-- path, not its place in the list, so a change of the options between the
-- two finds no column rather than another child's.
CREATE OR REPLACE FUNCTION layers.child_column(p_path text) RETURNS name
LANGUAGE sql IMMUTABLE AS $$
    SELECT ('child_' || md5(p_path))::name
$$;
