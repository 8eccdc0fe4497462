-- Each store's stock from its daily file (SFTP, arquivos.estoque), valued at
-- the marketplace's list price and at the supplier's cost (SFTP,
-- arquivos.precos_fornecedor); flags what to restock and supplier costs that
-- drifted from the marketplace's.
-- depends: trusted.arquivos_estoque, trusted.arquivos_precos_fornecedor, trusted.marketplace_produtos, trusted.marketplace_lojas
-- key: loja_id, produto_id
SELECT e.loja_id, l.nome AS loja, l.cidade, l.uf, e.produto_id, p.sku, p.nome AS produto,
       e.quantidade, e.quantidade_reservada,
       e.quantidade - coalesce(e.quantidade_reservada, 0) AS disponivel,
       e.data_referencia,
       p.preco AS preco_venda, p.custo AS custo_marketplace, f.preco_custo AS custo_fornecedor,
       f.preco_sugerido AS preco_sugerido_fornecedor,
       round(e.quantidade * p.preco, 2) AS valor_estoque_venda,
       round(e.quantidade * coalesce(f.preco_custo, p.custo), 2) AS valor_estoque_custo,
       CASE WHEN f.preco_custo IS NOT NULL AND p.custo > 0
            THEN round(100 * (f.preco_custo - p.custo) / p.custo, 1) END AS divergencia_custo_pct,
       e.quantidade - coalesce(e.quantidade_reservada, 0) <= 2 AS repor
FROM trusted.arquivos_estoque e
JOIN trusted.marketplace_produtos p ON p.id = e.produto_id AND NOT p._deleted
JOIN trusted.marketplace_lojas l ON l.id = e.loja_id AND NOT l._deleted
LEFT JOIN trusted.arquivos_precos_fornecedor f ON f.produto_id = e.produto_id AND NOT f._deleted
WHERE NOT e._deleted
