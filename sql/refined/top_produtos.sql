-- Products ranked by revenue over the last 30 days of sales in the lake (the
-- window ends at the newest sale, janela_fim, so the report is stable for old data).
-- depends: trusted.marketplace_vendas, trusted.marketplace_produtos
-- key: produto_id
-- Refreshed without reading the window (layers.refresh_top_produtos): the
-- sums move by the changed sales and by those the moving window took in or
-- let out (found through the index), the rank is taken again over these rows.
-- refresh_with: layers.refresh_top_produtos
-- index: trusted.marketplace_vendas (data_venda)
WITH ate AS (SELECT max(data_venda) AS fim FROM trusted.marketplace_vendas WHERE NOT _deleted),
recentes AS (
    SELECT v.produto_id, count(*) AS vendas, sum(v.quantidade) AS itens, sum(v.total) AS receita
    FROM trusted.marketplace_vendas v, ate
    WHERE NOT v._deleted AND v.data_venda > ate.fim - interval '30 days'
    GROUP BY v.produto_id
)
SELECT r.produto_id, p.sku, p.nome, r.vendas, r.itens, r.receita,
       rank() OVER (ORDER BY r.receita DESC) AS posicao, ate.fim AS janela_fim
FROM recentes r JOIN trusted.marketplace_produtos p ON p.id = r.produto_id, ate
