-- The product catalogue as sold: current list price, the promotional price
-- when a promotion runs now, and the running totals of what was sold.
-- depends: trusted.marketplace_produtos, trusted.marketplace_categorias, trusted.marketplace_marcas, trusted.marketplace_promocoes, trusted.marketplace_vendas
-- key: produto_id
SELECT p.id AS produto_id, p.sku, p.nome, c.nome AS categoria, m.nome AS marca, p.ativo,
       p.preco AS preco_atual, p.custo,
       pr.id AS promocao_atual_id, pr.desconto_pct AS desconto_atual_pct,
       CASE WHEN pr.id IS NOT NULL THEN round(p.preco * (1 - pr.desconto_pct / 100), 2) END AS preco_promocional,
       coalesce(s.vendas, 0) AS vendas, coalesce(s.itens, 0) AS itens_vendidos,
       coalesce(s.receita, 0) AS receita, s.primeira_venda, s.ultima_venda
FROM trusted.marketplace_produtos p
LEFT JOIN trusted.marketplace_categorias c ON c.id = p.categoria_id
LEFT JOIN trusted.marketplace_marcas m ON m.id = p.marca_id
LEFT JOIN LATERAL (
    SELECT x.id, x.desconto_pct FROM trusted.marketplace_promocoes x
    WHERE x.produto_id = p.id AND NOT x._deleted AND now() >= x.inicio AND now() < x.fim
    ORDER BY x.desconto_pct DESC, x.id LIMIT 1) pr ON true
LEFT JOIN (
    SELECT produto_id, count(*) AS vendas, sum(quantidade) AS itens, sum(total) AS receita,
           min(data_venda) AS primeira_venda, max(data_venda) AS ultima_venda
    FROM trusted.marketplace_vendas WHERE NOT _deleted GROUP BY produto_id) s ON s.produto_id = p.id
WHERE NOT p._deleted
