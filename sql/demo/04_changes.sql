-- demo.apply_changes(p_rows, p_insert_pct, p_update_pct): one burst of
-- marketplace activity, to feed change tracking and incremental loads.
--
--   p_insert_pct % of p_rows: new sales, now, at the current (maybe
--                             promotional) price
--   p_update_pct % of p_rows: updates, 75 % on sales (quantity, mostly
--                             recent sales), 20 % on product prices,
--                             5 % on customers' city
--   the rest:                 deleted sales (nothing references a sale)
-- Every updated row gets updated_at = now(). One call is one statement, so
-- one transaction when called on its own: a shell loop of
--   psql -c "SELECT * FROM demo.apply_changes(1000)"
-- simulates load. Several loops may run at once: rows are locked in id
-- order, sales before products before customers, so they cannot deadlock
-- (as long as each transaction makes one call: two calls in one transaction
-- lock two sets, each in order, and can deadlock with another such one).
-- Returns how many rows each kind of change touched (updates and deletes of
-- random ids may hit a little less than asked when ids have gaps).

CREATE OR REPLACE FUNCTION demo.apply_changes(p_rows int, p_insert_pct int DEFAULT 50,
                                              p_update_pct int DEFAULT 40)
RETURNS TABLE (inserted bigint, updated bigint, deleted bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n_ins      int;
    n_upd      int;
    n_upd_prod int;
    n_upd_cli  int;
    n_upd_sale int;
    n_del      int;
    v_lo       bigint;
    v_hi       bigint;
    n          bigint;
    max_prod   bigint := (SELECT max(id) FROM produtos);
    max_loja   bigint := (SELECT max(id) FROM lojas);
    max_cli    bigint := (SELECT max(id) FROM clientes);
    upd_ids    bigint[];
    del_ids    bigint[];
    -- city ids, each repeated by its weight
    cidades    int[] := (SELECT array_agg(c.id ORDER BY c.id) FROM demo.cidade c, generate_series(1, c.peso));
BEGIN
    IF p_rows < 0 OR p_insert_pct < 0 OR p_update_pct < 0 OR p_insert_pct + p_update_pct > 100 THEN
        RAISE EXCEPTION 'demo.apply_changes: p_rows >= 0, percentages >= 0 summing to at most 100';
    END IF;
    IF max_prod IS NULL OR max_loja IS NULL OR max_cli IS NULL THEN
        RAISE EXCEPTION 'demo.apply_changes: no data; run demo.generate first';
    END IF;
    n_ins      := p_rows * p_insert_pct / 100;
    n_upd      := p_rows * p_update_pct / 100;
    n_del      := p_rows - n_ins - n_upd;
    n_upd_prod := n_upd * 20 / 100;
    n_upd_cli  := n_upd * 5 / 100;
    n_upd_sale := n_upd - n_upd_prod - n_upd_cli;
    inserted := 0; updated := 0; deleted := 0;

    SELECT min(id), max(id) INTO v_lo, v_hi FROM vendas;

    -- Lock the sales to update and to delete first, in id order. Sales to
    -- update lean to recent ids (orders get corrected while fresh); deletes
    -- are uniform. Twice as many candidates as needed make up for gaps.
    IF v_hi IS NOT NULL THEN
        WITH cand AS (
            SELECT DISTINCT ON (id) id, upd, g FROM (
                SELECT v_hi - floor((v_hi - v_lo + 1) * power(random(), 3))::bigint AS id, true AS upd, g
                  FROM generate_series(1, 2 * n_upd_sale + 5) g
                 WHERE n_upd_sale > 0
                UNION ALL
                SELECT v_lo + floor((v_hi - v_lo + 1) * random())::bigint, false, g
                  FROM generate_series(1, 2 * n_del + 5) g
                 WHERE n_del > 0
            ) c ORDER BY id, g
        ), hit AS (
            SELECT v.id, c.upd, row_number() OVER (PARTITION BY c.upd ORDER BY c.g) AS rn
              FROM vendas v JOIN cand c USING (id)
        ), chosen AS (
            SELECT id, upd FROM hit WHERE rn <= CASE WHEN upd THEN n_upd_sale ELSE n_del END
        )
        SELECT coalesce(array_agg(id ORDER BY id) FILTER (WHERE upd), '{}'),
               coalesce(array_agg(id ORDER BY id) FILTER (WHERE NOT upd), '{}')
          INTO upd_ids, del_ids
          FROM chosen;

        PERFORM 1 FROM vendas v
         WHERE v.id = ANY (upd_ids) OR v.id = ANY (del_ids)
         ORDER BY v.id FOR UPDATE;

        UPDATE vendas v
           SET quantidade = u.q, total = u.q * v.preco_unitario, updated_at = now()
          FROM (SELECT id, 1 + floor(power(random(), 3) * 5)::int AS q FROM unnest(upd_ids) id) u
         WHERE v.id = u.id;
        GET DIAGNOSTICS n = ROW_COUNT;
        updated := updated + n;

        DELETE FROM vendas v WHERE v.id = ANY (del_ids);
        GET DIAGNOSTICS n = ROW_COUNT;
        deleted := n;
    END IF;

    -- Product prices move by -10 % .. +15 %, still ending in ,90.
    IF n_upd_prod > 0 THEN
        WITH p AS (
            SELECT pr.id FROM produtos pr
              JOIN (SELECT DISTINCT 1 + floor(random() * max_prod)::bigint AS id
                      FROM generate_series(1, n_upd_prod)) r USING (id)
             ORDER BY pr.id FOR NO KEY UPDATE OF pr    -- no conflict with FK checks of new sales
        )
        UPDATE produtos pr
           SET preco = greatest(4.90, round(pr.preco * (0.90 + 0.25 * random())::numeric) - 0.10),
               updated_at = now()
          FROM p WHERE pr.id = p.id;
        GET DIAGNOSTICS n = ROW_COUNT;
        updated := updated + n;
    END IF;

    -- Customers move to another city.
    IF n_upd_cli > 0 THEN
        WITH c AS (
            SELECT cl.id, demo.pick(cidades, random()) AS cidade_id
              FROM clientes cl
              JOIN (SELECT DISTINCT 1 + floor(random() * max_cli)::bigint AS id
                      FROM generate_series(1, n_upd_cli)) r USING (id)
             ORDER BY cl.id FOR NO KEY UPDATE OF cl
        )
        UPDATE clientes cl
           SET cidade = dc.cidade, uf = dc.uf, updated_at = now()
          FROM c JOIN demo.cidade dc ON dc.id = c.cidade_id
         WHERE cl.id = c.id;
        GET DIAGNOSTICS n = ROW_COUNT;
        updated := updated + n;
    END IF;

    -- New sales in the last minute, popular products first; a running
    -- promotion of the product discounts the price.
    IF n_ins > 0 THEN
        INSERT INTO vendas (produto_id, loja_id, cliente_id, promocao_id, data_venda,
                            quantidade, preco_unitario, total)
        SELECT s.produto_id, s.loja_id, s.cliente_id, pr.id, s.data_venda, s.qtd,
               round(p.preco * (1 - coalesce(pr.desconto_pct, 0) / 100), 2),
               s.qtd * round(p.preco * (1 - coalesce(pr.desconto_pct, 0) / 100), 2)
          FROM (SELECT 1 + floor(max_prod * power(random(), 2.2))::bigint AS produto_id,
                       1 + floor(max_loja * power(random(), 1.8))::bigint AS loja_id,
                       1 + floor(max_cli * power(random(), 1.3))::bigint AS cliente_id,
                       now() - random() * interval '1 minute' AS data_venda,
                       1 + floor(power(random(), 8) * 5)::int AS qtd
                  FROM generate_series(1, n_ins)) s
          JOIN produtos p ON p.id = s.produto_id
          JOIN lojas l ON l.id = s.loja_id
          JOIN clientes c ON c.id = s.cliente_id
          LEFT JOIN LATERAL (SELECT id, desconto_pct FROM promocoes pr
                              WHERE pr.produto_id = s.produto_id
                                AND s.data_venda >= pr.inicio AND s.data_venda < pr.fim
                              ORDER BY pr.id LIMIT 1) pr ON true
         ORDER BY s.data_venda;
        GET DIAGNOSTICS n = ROW_COUNT;
        inserted := n;
    END IF;

    RETURN NEXT;
END $$;
