-- Promotion performance: the promoted product's sales inside the promotion
-- window against its sales outside any promotion, per day, and the discount
-- given (list price minus the price paid, times the units).
--   uplift = daily units inside / daily units outside - 1 (NULL without sales outside)
-- Days outside = the days between the product's first and last sale, less the
-- days of this window (at least one).
-- Sales are added up from refined.vendas_produto_mes (per month, product and
-- promotion): margin and discount from its sums and the product's current
-- cost and list price, as they would be sale by sale; only the rows of the
-- promotions and of the promoted products are added up.
-- Refreshed by promotion (layers.refresh_desempenho_promocoes): those whose
-- row, product or sales (inside, or its product's outside any promotion)
-- changed.
-- refresh_with: layers.refresh_desempenho_promocoes
-- (a promotion recomputed: its row found by these)
-- refresh_by: promocao_id
-- refresh_from: trusted.marketplace_promocoes: id
-- (the promotions of a changed product are looked up through this index)
-- index: trusted.marketplace_promocoes (produto_id)
-- depends: trusted.marketplace_promocoes, trusted.marketplace_vendas, trusted.marketplace_produtos, refined.vendas_produto_mes
-- key: promocao_id
WITH janela AS (
    SELECT pr.id AS promocao_id, pr.nome, pr.produto_id, pr.desconto_pct, pr.inicio, pr.fim,
           greatest(extract(epoch FROM pr.fim - pr.inicio) / 86400.0, 1.0) AS dias
    FROM trusted.marketplace_promocoes pr
    WHERE NOT pr._deleted
), na_promocao AS (
    SELECT m.promocao_id, sum(m.vendas) AS vendas, sum(m.itens) AS itens, sum(m.receita) AS receita,
           sum(m.valor_pago) AS valor_pago
    FROM refined.vendas_produto_mes m
    WHERE m.promocao_id IN (SELECT promocao_id FROM janela)
    GROUP BY m.promocao_id
), dentro AS (
    SELECT j.promocao_id, coalesce(n.vendas, 0)::bigint AS vendas, coalesce(n.itens, 0)::bigint AS itens,
           coalesce(n.receita, 0) AS receita,
           coalesce(n.receita - n.itens * p.custo, 0) AS margem,
           coalesce(n.itens * p.preco - n.valor_pago, 0) AS desconto_concedido
    FROM janela j
    JOIN trusted.marketplace_produtos p ON p.id = j.produto_id
    LEFT JOIN na_promocao n ON n.promocao_id = j.promocao_id
), fora AS (
    SELECT m.produto_id, sum(m.vendas)::bigint AS vendas, sum(m.itens)::bigint AS itens, sum(m.receita) AS receita,
           sum(m.receita) - sum(m.itens) * p.custo AS margem,
           greatest(extract(epoch FROM max(m.ultima_venda) - min(m.primeira_venda)) / 86400.0, 1.0) AS dias_com_vendas
    FROM refined.vendas_produto_mes m
    JOIN trusted.marketplace_produtos p ON p.id = m.produto_id
    WHERE m.promocao_id = 0 AND m.produto_id IN (SELECT produto_id FROM janela)
    GROUP BY m.produto_id, p.custo
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
