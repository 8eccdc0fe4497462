-- Refreshes refined.vendas_produto_mes (sql/refined/vendas_produto_mes.sql)
-- from the changed sales alone: each (month, product, promotion) row moves by
-- the sales it lost (a changed sale's row before, -1) and gained (its row
-- after, +1; layers.unseen_rows, where the middle of a chain of changes of
-- one sale cancels out). Counts and sums add up exactly. The first and last
-- sale move with the sales gained, unless a sale lost was the first or the
-- last one and none gained reaches that far (or a sum turns NULL or zero, or
-- a quantity is NULL): then the month and product are added up again from
-- its sales (layers.refined_recompute, by the report's refresh_by and
-- refresh_from lines). Runs in the report's REPEATABLE READ transaction
-- (layers.refined_unseen). Answers as layers.refined_refresh: {"full": why}
-- or {"groups", "deleted", "inserted"} (a row updated counts in both).
CREATE OR REPLACE FUNCTION layers.refresh_vendas_produto_mes(p_report text, p_sql text, p_depends text[],
                                                             p_refresh_by text, p_maps jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    u record;
    n_groups bigint;
    n_del bigint;
    n_upd bigint;
    n_ins bigint;
BEGIN
    SELECT * INTO u FROM layers.refined_unseen(p_report, p_sql, p_depends);
    IF u.why IS NOT NULL THEN
        RETURN jsonb_build_object('full', u.why);
    END IF;

    DROP TABLE IF EXISTS pg_temp.vpm_delta;
    CREATE TEMP TABLE vpm_delta ON COMMIT DROP AS
    WITH vendas AS (
        SELECT date_trunc('month', v.data_venda AT TIME ZONE 'America/Sao_Paulo')::date AS mes, v.produto_id,
               coalesce(v.promocao_id, 0) AS promocao_id, i.sign, v.data_venda, v.quantidade, v.total,
               v.quantidade * v.preco_unitario AS pago
          FROM layers.unseen_rows('marketplace_vendas') i, jsonb_populate_record(NULL::trusted.marketplace_vendas, i.img) v
         WHERE NOT v._deleted
    ), grupos AS (
        SELECT mes, produto_id, promocao_id, sum(sign) AS vendas, sum(sign * quantidade) AS itens,
               sum(sign * total) AS receita, sum(sign * pago) AS valor_pago,
               min(data_venda) FILTER (WHERE sign > 0) AS ganhou_primeira,
               max(data_venda) FILTER (WHERE sign > 0) AS ganhou_ultima,
               min(data_venda) FILTER (WHERE sign < 0) AS perdeu_primeira,
               max(data_venda) FILTER (WHERE sign < 0) AS perdeu_ultima,
               bool_or(quantidade IS NULL OR total IS NULL OR pago IS NULL) AS tem_nulo
          FROM vendas GROUP BY 1, 2, 3
    )
    SELECT g.mes, g.produto_id, g.promocao_id,
           coalesce(r.vendas, 0) + g.vendas AS vendas, coalesce(r.itens, 0) + g.itens AS itens,
           coalesce(r.receita, 0) + g.receita AS receita, coalesce(r.valor_pago, 0) + g.valor_pago AS valor_pago,
           least(r.primeira_venda, g.ganhou_primeira) AS primeira_venda,
           greatest(r.ultima_venda, g.ganhou_ultima) AS ultima_venda,
           r.mes IS NOT NULL AS existe,
           -- what the sums and the edges cannot say: add the month and product up
           -- again (an edge lost and not reached by a sale gained; no edge lost: NULL)
           coalesce(g.tem_nulo
                    OR (r.mes IS NULL AND g.perdeu_primeira IS NOT NULL)
                    OR (r.mes IS NOT NULL
                        AND (r.itens IS NULL OR r.receita IS NULL OR r.valor_pago IS NULL
                             OR (g.perdeu_primeira <= r.primeira_venda
                                 AND NOT coalesce(g.ganhou_primeira <= r.primeira_venda, false))
                             OR (g.perdeu_ultima >= r.ultima_venda
                                 AND NOT coalesce(g.ganhou_ultima >= r.ultima_venda, false))))
                    OR coalesce(r.vendas, 0) + g.vendas < 0
                    OR (coalesce(r.vendas, 0) + g.vendas > 0
                        AND 0 IN (coalesce(r.itens, 0) + g.itens, coalesce(r.receita, 0) + g.receita,
                                  coalesce(r.valor_pago, 0) + g.valor_pago)), false) AS de_novo
      FROM grupos g
      LEFT JOIN refined.vendas_produto_mes r
             ON r.mes = g.mes AND r.produto_id = g.produto_id AND r.promocao_id = g.promocao_id;
    SELECT count(*) INTO n_groups FROM pg_temp.vpm_delta;

    -- a month and product added up again takes none of its rows by the sums
    DROP TABLE IF EXISTS pg_temp.vpm_again;
    CREATE TEMP TABLE vpm_again ON COMMIT DROP AS
    SELECT DISTINCT mes, produto_id FROM pg_temp.vpm_delta WHERE de_novo;
    DELETE FROM pg_temp.vpm_delta d USING pg_temp.vpm_again a WHERE a.mes = d.mes AND a.produto_id = d.produto_id;

    DELETE FROM refined.vendas_produto_mes r USING pg_temp.vpm_delta d
     WHERE d.vendas = 0 AND r.mes = d.mes AND r.produto_id = d.produto_id AND r.promocao_id = d.promocao_id;
    GET DIAGNOSTICS n_del = ROW_COUNT;
    UPDATE refined.vendas_produto_mes r
       SET vendas = d.vendas, itens = d.itens, receita = d.receita, valor_pago = d.valor_pago,
           primeira_venda = d.primeira_venda, ultima_venda = d.ultima_venda
      FROM pg_temp.vpm_delta d
     WHERE d.existe AND d.vendas > 0
       AND r.mes = d.mes AND r.produto_id = d.produto_id AND r.promocao_id = d.promocao_id;
    GET DIAGNOSTICS n_upd = ROW_COUNT;
    INSERT INTO refined.vendas_produto_mes (mes, produto_id, promocao_id, vendas, itens, receita, valor_pago,
                                            primeira_venda, ultima_venda)
    SELECT mes, produto_id, promocao_id, vendas, itens, receita, valor_pago, primeira_venda, ultima_venda
      FROM pg_temp.vpm_delta WHERE NOT existe AND vendas > 0;
    GET DIAGNOSTICS n_ins = ROW_COUNT;

    -- the months and products added up again (by the report's refresh_by and
    -- refresh_from lines)
    SELECT n_del + x.deleted, n_ins + x.inserted INTO n_del, n_ins
      FROM layers.refined_recompute(p_report, p_sql, p_refresh_by, p_maps, 'vpm_again') x;

    DROP TABLE pg_temp.vpm_again;
    DROP TABLE pg_temp.vpm_delta;
    DROP TABLE pg_temp.unseen_changes;
    PERFORM layers.refined_refreshed(p_report, p_depends, u.snap);
    RETURN jsonb_build_object('groups', n_groups, 'deleted', n_del + n_upd, 'inserted', n_ins + n_upd);
END $$;
