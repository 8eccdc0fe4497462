-- Stores ranked by revenue over the last 30 days of sales in the lake.
-- depends: trusted.marketplace_vendas, trusted.marketplace_lojas
-- key: loja_id
-- Rebuilt every time: each run's new sales move the window, and the rank is
-- over all rows. The newest sale and the window's sales come through the index.
-- index: trusted.marketplace_vendas (data_venda)
WITH ate AS (SELECT max(data_venda) AS fim FROM trusted.marketplace_vendas WHERE NOT _deleted),
recentes AS (
    SELECT v.loja_id, count(*) AS vendas, sum(v.quantidade) AS itens, sum(v.total) AS receita,
           count(DISTINCT v.cliente_id) AS clientes
    FROM trusted.marketplace_vendas v, ate
    WHERE NOT v._deleted AND v.data_venda > ate.fim - interval '30 days'
    GROUP BY v.loja_id
)
SELECT r.loja_id, l.nome, l.cidade, l.uf, r.vendas, r.itens, r.receita, r.clientes,
       rank() OVER (ORDER BY r.receita DESC) AS posicao
FROM recentes r JOIN trusted.marketplace_lojas l ON l.id = r.loja_id
