-- Refreshes refined.top_lojas (sql/refined/top_lojas.sql) without reading
-- the window's sales: each store's count and sums move by its signed sales
-- of layers.refined_window_delta; its distinct customers by the pairs (store,
-- customer) among those sales that appear in or leave the window, each
-- counted through the (loja_id, cliente_id, data_venda) index: in the new
-- window now, and in the old one as it was (now, less the changes' rows
-- after, plus their rows before). Names are read again, the rank taken over
-- the report's rows. Answers as layers.refined_refresh.
CREATE OR REPLACE FUNCTION layers.refresh_top_lojas(p_report text, p_sql text, p_depends text[],
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
    ELSIF EXISTS (SELECT 1 FROM refined.top_lojas WHERE itens IS NULL OR receita IS NULL) THEN
        RETURN jsonb_build_object('full', 'a store''s sums are NULL');
    END IF;
    CREATE TEMP TABLE refresh_rows ON COMMIT DROP AS
    WITH d AS (
        SELECT loja_id, sum(sign) AS vendas, sum(sign * quantidade) AS itens, sum(sign * total) AS receita
          FROM pg_temp.window_delta WHERE loja_id IS NOT NULL GROUP BY loja_id
    ), pares AS (
        SELECT loja_id, cliente_id, count(*) FILTER (WHERE kind = 'n') AS depois,
               count(*) FILTER (WHERE kind = 'o') AS antes
          FROM pg_temp.window_delta WHERE loja_id IS NOT NULL AND cliente_id IS NOT NULL
         GROUP BY loja_id, cliente_id
    ), c AS (
        SELECT p.loja_id,
               sum((EXISTS (SELECT 1 FROM trusted.marketplace_vendas v
                             WHERE v.loja_id = p.loja_id AND v.cliente_id = p.cliente_id
                               AND v.data_venda > w.s1 AND v.data_venda <= w.e1 AND NOT v._deleted))::int
                   - ((SELECT count(*) FROM trusted.marketplace_vendas v
                        WHERE v.loja_id = p.loja_id AND v.cliente_id = p.cliente_id
                          AND v.data_venda > w.s0 AND v.data_venda <= w.e0 AND NOT v._deleted)
                      - p.depois + p.antes > 0)::int) AS clientes
          FROM pares p GROUP BY p.loja_id
    ), r AS (
        SELECT coalesce(t.loja_id, d.loja_id) AS loja_id,
               coalesce(t.vendas, 0) + coalesce(d.vendas, 0) AS vendas,
               coalesce(t.itens, 0) + coalesce(d.itens, 0) AS itens,
               coalesce(t.receita, 0) + coalesce(d.receita, 0) AS receita,
               coalesce(t.clientes, 0) + coalesce(c.clientes, 0) AS clientes
          FROM refined.top_lojas t
          FULL JOIN d ON d.loja_id = t.loja_id
          LEFT JOIN c ON c.loja_id = coalesce(t.loja_id, d.loja_id)
    )
    SELECT r.loja_id, l.nome, l.cidade, l.uf, r.vendas, r.itens, r.receita, r.clientes,
           rank() OVER (ORDER BY r.receita DESC) AS posicao, w.e1 AS janela_fim
      FROM r JOIN trusted.marketplace_lojas l ON l.id = r.loja_id
     WHERE r.vendas > 0;
    SELECT count(DISTINCT loja_id) INTO n_groups FROM pg_temp.window_delta;
    res := layers.refined_replace_rows(p_report, 'loja_id');
    DROP TABLE pg_temp.window_delta;
    DROP TABLE pg_temp.unseen_changes;
    PERFORM layers.refined_refreshed(p_report, p_depends, w.snap);
    RETURN res || jsonb_build_object('groups', n_groups);
END $$;
