-- Daily sales by product, category and store (days in Brasília time).
-- Margin uses the product's current cost: the source keeps no cost history.
-- depends: trusted.marketplace_vendas, trusted.marketplace_produtos, trusted.marketplace_categorias, trusted.marketplace_lojas
-- key: dia, produto_id, loja_id
-- Refreshed by the changed sales alone (layers.refresh_vendas_diarias): each
-- row moves by the sales it lost and gained (a sale moved to another day
-- leaves one row and joins another). Product, category and store names and
-- the cost come from the dimension tables: a change of them rebuilds the
-- report. A day and product whose sums cannot be moved (a NULL) is added up
-- again from its sales, found through the index below.
-- refresh_with: layers.refresh_vendas_diarias
-- (a day and product added up again: its sales found by these)
-- refresh_by: dia, produto_id
-- refresh_from: trusted.marketplace_vendas: (data_venda AT TIME ZONE 'America/Sao_Paulo')::date, produto_id
-- index: trusted.marketplace_vendas (((data_venda AT TIME ZONE 'America/Sao_Paulo')::date), produto_id)
SELECT (v.data_venda AT TIME ZONE 'America/Sao_Paulo')::date AS dia,
       v.produto_id, p.nome AS produto, p.categoria_id, c.nome AS categoria,
       v.loja_id, l.nome AS loja, l.uf,
       count(*) AS vendas,
       sum(v.quantidade) AS itens,
       sum(v.total) AS receita,
       sum(v.quantidade * p.custo) AS custo,
       sum(v.total) - sum(v.quantidade * p.custo) AS margem,
       count(*) FILTER (WHERE v.promocao_id IS NOT NULL) AS vendas_em_promocao
FROM trusted.marketplace_vendas v
JOIN trusted.marketplace_produtos p ON p.id = v.produto_id
LEFT JOIN trusted.marketplace_categorias c ON c.id = p.categoria_id
JOIN trusted.marketplace_lojas l ON l.id = v.loja_id
WHERE NOT v._deleted
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
