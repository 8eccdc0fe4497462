-- Refreshes refined.desempenho_promocoes (sql/refined/desempenho_promocoes.sql)
-- by promotion: those whose row changed, those of a product whose row
-- changed (its cost and list price), and those whose numbers a changed sale
-- moves: the sale's promotion (its sales inside) and every promotion of the
-- sale's product (its sales outside any promotion). They are deleted and
-- recomputed by the report's SELECT over their rows of the promotions
-- (layers.refined_recompute, by the report's refresh_by and refresh_from
-- lines); their sales come from refined.vendas_produto_mes, brought up to
-- date before this report, read through its key (the product first). A
-- vendas_produto_mes rebuilt since rebuilds it.
--
-- The sums it reads are as of vendas_produto_mes's snapshot: when a sale
-- changed after that one, it records that snapshot, not its own, so the sale
-- is taken again next time (layers.refined_snapshot), as the catalogue does.
-- Runs in the report's REPEATABLE READ transaction. Answers as
-- layers.refined_refresh: {"full": why} or {"groups", "deleted", "inserted"}.
CREATE OR REPLACE FUNCTION layers.refresh_desempenho_promocoes(p_report text, p_sql text, p_depends text[],
                                                               p_refresh_by text, p_maps jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    why text;
    n_groups bigint;
    n_del bigint;
    n_ins bigint;
BEGIN
    why := layers.refined_unseen_reading(p_report, p_sql, p_depends, 'vendas_produto_mes');
    IF why IS NOT NULL THEN
        RETURN jsonb_build_object('full', why);
    END IF;

    DROP TABLE IF EXISTS pg_temp.dp_promotions;
    CREATE TEMP TABLE dp_promotions ON COMMIT DROP AS
    WITH imgs AS (
        SELECT c.table_name, x.img
          FROM pg_temp.unseen_changes c, LATERAL (VALUES (c.old_row), (c.new_row)) x(img)
         WHERE x.img IS NOT NULL
    ), products AS (
        SELECT (img->>'id')::bigint AS produto_id FROM imgs WHERE table_name = 'marketplace_produtos'
        UNION
        SELECT (img->>'produto_id')::bigint FROM imgs WHERE table_name = 'marketplace_vendas'
    )
    SELECT DISTINCT promocao_id FROM (
        SELECT (img->>'id')::bigint AS promocao_id FROM imgs WHERE table_name = 'marketplace_promocoes'
        UNION ALL
        SELECT (img->>'promocao_id')::bigint FROM imgs WHERE table_name = 'marketplace_vendas'
        UNION ALL
        SELECT pr.id FROM trusted.marketplace_promocoes pr WHERE pr.produto_id IN (SELECT produto_id FROM products)
    ) p WHERE promocao_id IS NOT NULL;
    SELECT count(*) INTO n_groups FROM pg_temp.dp_promotions;
    SELECT x.deleted, x.inserted INTO n_del, n_ins
      FROM layers.refined_recompute(p_report, p_sql, p_refresh_by, p_maps, 'dp_promotions') x;

    DROP TABLE pg_temp.dp_promotions;
    DROP TABLE pg_temp.unseen_changes;
    PERFORM layers.refined_refreshed(p_report, p_depends, layers.refined_snapshot(p_depends));
    RETURN jsonb_build_object('groups', n_groups, 'deleted', n_del, 'inserted', n_ins);
END $$;
