-- Monthly sales per product and promotion (months in Brasília time;
-- promocao_id 0: sold outside any promotion): what the product catalogue and
-- the promotion performance add up, a few rows per product instead of every
-- sale. Refreshed by the changed sales alone (layers.refresh_vendas_produto_mes):
-- each row moves by the sales it lost and gained; a month and product whose
-- first or last sale went is added up again from its sales, found through
-- the index below.
-- depends: trusted.marketplace_vendas
-- (the product first: the catalogue and the promotion performance read a
-- product's rows through the key's index)
-- key: produto_id, mes, promocao_id
-- refresh_with: layers.refresh_vendas_produto_mes
-- (a month and product added up again: its sales found by these)
-- refresh_by: mes, produto_id
-- refresh_from: trusted.marketplace_vendas: date_trunc('month', data_venda AT TIME ZONE 'America/Sao_Paulo')::date, produto_id
-- index: trusted.marketplace_vendas ((date_trunc('month', data_venda AT TIME ZONE 'America/Sao_Paulo')::date), produto_id)
SELECT date_trunc('month', v.data_venda AT TIME ZONE 'America/Sao_Paulo')::date AS mes,
       v.produto_id, coalesce(v.promocao_id, 0) AS promocao_id,
       count(*) AS vendas, sum(v.quantidade) AS itens, sum(v.total) AS receita,
       sum(v.quantidade * v.preco_unitario) AS valor_pago,
       min(v.data_venda) AS primeira_venda, max(v.data_venda) AS ultima_venda
FROM trusted.marketplace_vendas v
WHERE NOT v._deleted
GROUP BY 1, 2, 3
