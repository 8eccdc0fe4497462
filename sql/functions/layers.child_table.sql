-- TRUSTED's table of a child array of an API source's records (options.children
-- lists {name, path}): trusted.<table>_<name>, made when missing, with the
-- parent's key, the position in the array and the element (jsonb, plus its
-- text when it is a scalar). Made here in schema trusted, so it gets the
-- schema's default grants, also when a table built aside replaces it
-- (layers.trusted_children, layers.trusted_children_swap).
CREATE OR REPLACE FUNCTION layers.child_table(p_source bigint, p_child jsonb) RETURNS regclass
LANGUAGE plpgsql AS $$
DECLARE
    s control.sources;
    ct text;
BEGIN
    SELECT * INTO s FROM control.sources WHERE id = p_source;
    ct := s.system || '_' || s.object || '_' || (p_child->>'name');
    EXECUTE format('CREATE TABLE IF NOT EXISTS trusted.%I (%s, position integer NOT NULL, '
                   'value jsonb, value_text text, PRIMARY KEY (%s, position))', ct,
                   (SELECT string_agg(format('%I %s', x->>'name', x->>'type'), ', ')
                      FROM jsonb_array_elements(s.columns) x WHERE (x->>'key')::boolean),
                   (SELECT string_agg(format('%I', x->>'name'), ', ')
                      FROM jsonb_array_elements(s.columns) x WHERE (x->>'key')::boolean));
    RETURN format('trusted.%I', ct)::regclass;
END $$;
