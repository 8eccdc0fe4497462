-- Refreshes refined.top_produtos (sql/refined/top_produtos.sql) without
-- reading the window's sales: each product's count and sums move by its
-- signed sales of layers.refined_window_delta, the names are read again and
-- the rank is taken over the report's own rows (a few thousand). Answers as
-- layers.refined_refresh: {"full": why} or {"groups", "deleted", "inserted"}.
CREATE OR REPLACE FUNCTION layers.refresh_top_produtos(p_report text, p_sql text, p_depends text[],
                                                       p_refresh_by text, p_maps jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    w record;
    n_groups bigint;
    res jsonb;
BEGIN
    SELECT * INTO w FROM layers.refined_window_delta(p_report, p_sql, p_depends, interval '30 days');
    DROP TABLE IF EXISTS pg_temp.refresh_rows;
    IF w.why IS NOT NULL THEN
        RETURN jsonb_build_object('full', w.why);
    ELSIF EXISTS (SELECT 1 FROM refined.top_produtos WHERE itens IS NULL OR receita IS NULL) THEN
        RETURN jsonb_build_object('full', 'a product''s sums are NULL');
    END IF;
    CREATE TEMP TABLE refresh_rows ON COMMIT DROP AS
    WITH d AS (
        SELECT produto_id, sum(sign) AS vendas, sum(sign * quantidade) AS itens, sum(sign * total) AS receita
          FROM pg_temp.window_delta WHERE produto_id IS NOT NULL GROUP BY produto_id
    ), r AS (
        SELECT coalesce(t.produto_id, d.produto_id) AS produto_id,
               coalesce(t.vendas, 0) + coalesce(d.vendas, 0) AS vendas,
               coalesce(t.itens, 0) + coalesce(d.itens, 0) AS itens,
               coalesce(t.receita, 0) + coalesce(d.receita, 0) AS receita
          FROM refined.top_produtos t FULL JOIN d ON d.produto_id = t.produto_id
    )
    SELECT r.produto_id, p.sku, p.nome, r.vendas, r.itens, r.receita,
           rank() OVER (ORDER BY r.receita DESC) AS posicao, w.e1 AS janela_fim
      FROM r JOIN trusted.marketplace_produtos p ON p.id = r.produto_id
     WHERE r.vendas > 0;
    SELECT count(DISTINCT produto_id) INTO n_groups FROM pg_temp.window_delta;
    res := layers.refined_replace_rows(p_report, 'produto_id');
    DROP TABLE pg_temp.window_delta;
    DROP TABLE pg_temp.unseen_changes;
    PERFORM layers.refined_refreshed(p_report, p_depends, w.snap);
    RETURN res || jsonb_build_object('groups', n_groups);
END $$;
