-- Social sentiment per product and day (posts of the redesocial network,
-- days in Brasília time), next to the product's sales of that day in the
-- marketplace. Posts join products by id (the network's product.id is the
-- marketplace's produtos.id).
-- depends: trusted.redesocial_posts, trusted.marketplace_produtos, trusted.marketplace_vendas
-- key: dia, produto_id
-- Refreshed by day and product, from the posts and the sales changed; a
-- product's sku or name changed rebuilds it.
-- refresh_by: dia, produto_id
-- refresh_from: trusted.marketplace_vendas: (data_venda AT TIME ZONE 'America/Sao_Paulo')::date, produto_id
-- refresh_from: trusted.redesocial_posts: (created_at AT TIME ZONE 'America/Sao_Paulo')::date, product_id
-- index: trusted.marketplace_vendas (((data_venda AT TIME ZONE 'America/Sao_Paulo')::date), produto_id)
-- index: trusted.redesocial_posts (((created_at AT TIME ZONE 'America/Sao_Paulo')::date), product_id)
WITH posts AS (
    SELECT (p.created_at AT TIME ZONE 'America/Sao_Paulo')::date AS dia, p.product_id AS produto_id,
           count(*) AS posts,
           count(*) FILTER (WHERE p.sentiment_label = 'positive') AS positivos,
           count(*) FILTER (WHERE p.sentiment_label = 'neutral') AS neutros,
           count(*) FILTER (WHERE p.sentiment_label = 'negative') AS negativos,
           round(avg(p.sentiment_score), 4) AS sentimento_medio,
           sum(p.user_followers) AS alcance
    FROM trusted.redesocial_posts p
    WHERE NOT p._deleted AND p.product_id IS NOT NULL
    GROUP BY 1, 2
), vendas AS (
    SELECT (v.data_venda AT TIME ZONE 'America/Sao_Paulo')::date AS dia, v.produto_id,
           count(*) AS vendas, sum(v.quantidade) AS itens, sum(v.total) AS receita
    FROM trusted.marketplace_vendas v
    WHERE NOT v._deleted
    GROUP BY 1, 2
)
SELECT p.dia, p.produto_id, pr.sku, pr.nome AS produto, p.posts, p.positivos, p.neutros, p.negativos,
       p.sentimento_medio, p.alcance,
       coalesce(v.vendas, 0) AS vendas, coalesce(v.itens, 0) AS itens, coalesce(v.receita, 0) AS receita
FROM posts p
JOIN trusted.marketplace_produtos pr ON pr.id = p.produto_id
LEFT JOIN vendas v ON v.dia = p.dia AND v.produto_id = p.produto_id
