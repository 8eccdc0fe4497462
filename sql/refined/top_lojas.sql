-- Stores ranked by revenue over the last 30 days of sales in the lake (the
-- window ends at the newest sale, janela_fim).
-- depends: trusted.marketplace_vendas, trusted.marketplace_lojas
-- key: loja_id
-- Refreshed without reading the window (layers.refresh_top_lojas): the sums
-- move by the changed sales and by those the moving window took in or let
-- out (found through the data_venda index), the distinct customers by the
-- (store, customer) pairs among them (through the second index), the rank
-- is taken again over these rows.
-- refresh_with: layers.refresh_top_lojas
-- index: trusted.marketplace_vendas (data_venda)
-- index: trusted.marketplace_vendas (loja_id, cliente_id, data_venda)
WITH ate AS (SELECT max(data_venda) AS fim FROM trusted.marketplace_vendas WHERE NOT _deleted),
recentes AS (
    SELECT v.loja_id, count(*) AS vendas, sum(v.quantidade) AS itens, sum(v.total) AS receita,
           count(DISTINCT v.cliente_id) AS clientes
    FROM trusted.marketplace_vendas v, ate
    WHERE NOT v._deleted AND v.data_venda > ate.fim - interval '30 days'
    GROUP BY v.loja_id
)
SELECT r.loja_id, l.nome, l.cidade, l.uf, r.vendas, r.itens, r.receita, r.clientes,
       rank() OVER (ORDER BY r.receita DESC) AS posicao, ate.fim AS janela_fim
FROM recentes r JOIN trusted.marketplace_lojas l ON l.id = r.loja_id, ate
