-- Refreshes refined.catalogo_produtos (sql/refined/catalogo_produtos.sql) by
-- product: the products whose row changed, whose promotions changed, whose
-- sales changed (their totals come from refined.vendas_produto_mes, brought
-- up to date before this report), and those a promotion started or ended
-- for since the last refresh (the catalogue shows the promotion running
-- now) are deleted and recomputed: the report's SELECT over their rows of
-- the products and of vendas_produto_mes (layers.refined_recompute, by the
-- report's refresh_by and refresh_from lines). A category or brand changed, or
-- vendas_produto_mes rebuilt since, rebuilds it.
--
-- The totals it reads are as of vendas_produto_mes's snapshot: when a sale
-- changed after that one, it records that snapshot, not its own, so the
-- sale is taken again next time (layers.refined_snapshot; a product
-- recomputed twice is harmless, one missed would not be). Runs in the
-- report's REPEATABLE READ transaction. Answers as
-- layers.refined_refresh: {"full": why} or {"groups", "deleted", "inserted"}.
CREATE OR REPLACE FUNCTION layers.refresh_catalogo_produtos(p_report text, p_sql text, p_depends text[],
                                                            p_refresh_by text, p_maps jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    st control.refined_state;
    why text;
    n_groups bigint;
    n_del bigint;
    n_ins bigint;
BEGIN
    SELECT * INTO st FROM control.refined_state WHERE report = p_report;
    why := layers.refined_unseen_reading(p_report, p_sql, p_depends, 'vendas_produto_mes');
    IF why IS NOT NULL THEN
        RETURN jsonb_build_object('full', why);
    END IF;
    SELECT format('trusted.%s changed columns the report reads (names)', table_name) INTO why
      FROM pg_temp.unseen_changes WHERE table_name IN ('marketplace_categorias', 'marketplace_marcas') LIMIT 1;
    IF why IS NOT NULL THEN
        RETURN jsonb_build_object('full', why);
    END IF;

    DROP TABLE IF EXISTS pg_temp.cat_products;
    CREATE TEMP TABLE cat_products ON COMMIT DROP AS
    SELECT DISTINCT produto_id FROM (
        SELECT CASE WHEN c.table_name = 'marketplace_produtos' THEN (x.img->>'id')::bigint
                    ELSE (x.img->>'produto_id')::bigint END AS produto_id
          FROM pg_temp.unseen_changes c, LATERAL (VALUES (c.old_row), (c.new_row)) x(img)
         WHERE x.img IS NOT NULL
           AND c.table_name IN ('marketplace_produtos', 'marketplace_promocoes', 'marketplace_vendas')
        UNION ALL
        -- the clock: a promotion that started or ended since the last refresh
        SELECT pr.produto_id FROM trusted.marketplace_promocoes pr
         WHERE (pr.inicio > st.refreshed_at AND pr.inicio <= now()) OR (pr.fim > st.refreshed_at AND pr.fim <= now())
    ) p WHERE produto_id IS NOT NULL;
    SELECT count(*) INTO n_groups FROM pg_temp.cat_products;
    -- their rows of the products and of vendas_produto_mes, by the report's
    -- refresh_by and refresh_from lines
    SELECT x.deleted, x.inserted INTO n_del, n_ins
      FROM layers.refined_recompute(p_report, p_sql, p_refresh_by, p_maps, 'cat_products') x;

    DROP TABLE pg_temp.cat_products;
    DROP TABLE pg_temp.unseen_changes;
    PERFORM layers.refined_refreshed(p_report, p_depends, layers.refined_snapshot(p_depends));
    RETURN jsonb_build_object('groups', n_groups, 'deleted', n_del, 'inserted', n_ins);
END $$;
