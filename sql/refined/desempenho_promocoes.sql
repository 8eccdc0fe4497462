-- Promotion performance: the promoted product's sales inside the promotion
-- window against its sales outside any promotion, per day, and the discount
-- given (list price minus the price paid, times the units).
--   uplift = daily units inside / daily units outside - 1 (NULL without sales outside)
-- Days outside = the days between the product's first and last sale, less the
-- days of this window (at least one).
-- depends: trusted.marketplace_promocoes, trusted.marketplace_vendas, trusted.marketplace_produtos
-- key: promocao_id
WITH janela AS (
    SELECT pr.id AS promocao_id, pr.nome, pr.produto_id, pr.desconto_pct, pr.inicio, pr.fim,
           greatest(extract(epoch FROM pr.fim - pr.inicio) / 86400.0, 1.0) AS dias
    FROM trusted.marketplace_promocoes pr
    WHERE NOT pr._deleted
), dentro AS (
    SELECT j.promocao_id, count(v.id) AS vendas, coalesce(sum(v.quantidade), 0) AS itens,
           coalesce(sum(v.total), 0) AS receita,
           coalesce(sum(v.total - v.quantidade * p.custo), 0) AS margem,
           coalesce(sum(v.quantidade * (p.preco - v.preco_unitario)), 0) AS desconto_concedido
    FROM janela j
    JOIN trusted.marketplace_produtos p ON p.id = j.produto_id
    LEFT JOIN trusted.marketplace_vendas v ON v.promocao_id = j.promocao_id AND NOT v._deleted
    GROUP BY j.promocao_id
), fora AS (
    SELECT v.produto_id, count(*) AS vendas, sum(v.quantidade) AS itens, sum(v.total) AS receita,
           sum(v.total - v.quantidade * p.custo) AS margem,
           greatest(extract(epoch FROM max(v.data_venda) - min(v.data_venda)) / 86400.0, 1.0) AS dias_com_vendas
    FROM trusted.marketplace_vendas v
    JOIN trusted.marketplace_produtos p ON p.id = v.produto_id
    WHERE v.promocao_id IS NULL AND NOT v._deleted
    GROUP BY v.produto_id
)
SELECT j.promocao_id, j.nome, j.produto_id, j.desconto_pct, j.inicio, j.fim, round(j.dias, 2) AS dias,
       d.vendas AS vendas_na_promocao, d.itens AS itens_na_promocao, d.receita AS receita_na_promocao,
       d.margem AS margem_na_promocao, d.desconto_concedido,
       coalesce(f.vendas, 0) AS vendas_fora, coalesce(f.itens, 0) AS itens_fora,
       coalesce(f.receita, 0) AS receita_fora, coalesce(f.margem, 0) AS margem_fora,
       round(d.itens / j.dias, 4) AS itens_por_dia_na_promocao,
       round(f.itens / greatest(f.dias_com_vendas - j.dias, 1.0), 4) AS itens_por_dia_fora,
       round((d.itens / j.dias) / nullif(f.itens / greatest(f.dias_com_vendas - j.dias, 1.0), 0) - 1, 4) AS uplift
FROM janela j
JOIN dentro d USING (promocao_id)
LEFT JOIN fora f ON f.produto_id = j.produto_id
