-- The rows of trusted.<p_table> a report's unseen changes took away (sign
-- -1: a changed row before) and brought (+1: its row after), from
-- pg_temp.unseen_changes (layers.refined_unseen). A row that is both — the
-- middle of a chain of changes of one key, several runs unseen — cancels out,
-- so each row left is one the report counted or one that is there now. What
-- the refresh functions that move a report by signed rows add up.
-- (its sign was bigint: a type a replace cannot change)
DROP FUNCTION IF EXISTS layers.unseen_rows(text);
-- (SQL, not PL/pgSQL: the planner inlines it into the caller's query and
-- plans the two together, without a tuplestore between them)
CREATE OR REPLACE FUNCTION layers.unseen_rows(p_table text) RETURNS TABLE (sign integer, img jsonb)
LANGUAGE sql STABLE AS $$
    SELECT sum(i.s)::integer, i.img FROM (
        SELECT -1 AS s, c.old_row AS img FROM pg_temp.unseen_changes c WHERE c.table_name = p_table AND c.old_row IS NOT NULL
        UNION ALL
        SELECT 1, c.new_row FROM pg_temp.unseen_changes c WHERE c.table_name = p_table AND c.new_row IS NOT NULL) i
    GROUP BY i.img HAVING sum(i.s) <> 0
$$;
