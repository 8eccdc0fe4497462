-- The product catalogue as sold: current list price, the promotional price
-- when a promotion runs now, and the running totals of what was sold (added
-- up from refined.vendas_produto_mes, a few rows per product). Refreshed by
-- product (layers.refresh_catalogo_produtos): those whose row, promotions or
-- sales changed, and those a promotion started or ended for since (which
-- promotion runs now changes with the clock alone).
-- refresh_with: layers.refresh_catalogo_produtos
-- (a product recomputed: its rows found by these)
-- refresh_by: produto_id
-- refresh_from: trusted.marketplace_produtos: id
-- refresh_from: refined.vendas_produto_mes: produto_id
-- depends: trusted.marketplace_produtos, trusted.marketplace_categorias, trusted.marketplace_marcas, trusted.marketplace_promocoes, trusted.marketplace_vendas, refined.vendas_produto_mes
-- key: produto_id
-- (the promotion running now is looked up per product through this index)
-- index: trusted.marketplace_promocoes (produto_id)
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
    SELECT produto_id, sum(vendas)::bigint AS vendas, sum(itens)::bigint AS itens, sum(receita) AS receita,
           min(primeira_venda) AS primeira_venda, max(ultima_venda) AS ultima_venda
    FROM refined.vendas_produto_mes GROUP BY produto_id) s ON s.produto_id = p.id
WHERE NOT p._deleted
