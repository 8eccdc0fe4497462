-- Products ranked by revenue over the last 30 days of sales in the lake (the
-- window ends at the newest sale, so the report is stable for old data).
-- depends: trusted.marketplace_vendas, trusted.marketplace_produtos
-- key: produto_id
-- Rebuilt every time: each run's new sales move the window, and the rank is
-- over all rows. The newest sale and the window's sales come through the index.
-- index: trusted.marketplace_vendas (data_venda)
WITH ate AS (SELECT max(data_venda) AS fim FROM trusted.marketplace_vendas WHERE NOT _deleted),
recentes AS (
    SELECT v.produto_id, count(*) AS vendas, sum(v.quantidade) AS itens, sum(v.total) AS receita
    FROM trusted.marketplace_vendas v, ate
    WHERE NOT v._deleted AND v.data_venda > ate.fim - interval '30 days'
    GROUP BY v.produto_id
)
SELECT r.produto_id, p.sku, p.nome, r.vendas, r.itens, r.receita,
       rank() OVER (ORDER BY r.receita DESC) AS posicao
FROM recentes r JOIN trusted.marketplace_produtos p ON p.id = r.produto_id
