-- Refreshes refined.vendas_diarias (sql/refined/vendas_diarias.sql) from the
-- changed sales alone: each (day, product, store) row moves by the sales it
-- lost (a changed sale's row before, -1) and gained (its row after, +1;
-- layers.unseen_rows, where the middle of a chain of changes of one sale
-- cancels out); counts and sums add up exactly, the cost at the product's
-- cost as the report's SELECT takes it. A new row takes its names from the
-- products, categories and stores. A change of those tables in a column the
-- report reads (a name, a cost) rebuilds it; a sum that turns NULL or zero,
-- or a quantity or cost that is NULL, adds the day and product up again
-- from its sales (layers.refined_recompute, by the report's refresh_by and
-- refresh_from lines). Runs in the report's REPEATABLE READ transaction
-- (layers.refined_unseen). Answers as layers.refined_refresh: {"full": why}
-- or {"groups", "deleted", "inserted"} (a row updated counts in both).
CREATE OR REPLACE FUNCTION layers.refresh_vendas_diarias(p_report text, p_sql text, p_depends text[],
                                                         p_refresh_by text, p_maps jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    u record;
    why text;
    n_groups bigint;
    n_del bigint;
    n_upd bigint;
    n_ins bigint;
BEGIN
    SELECT * INTO u FROM layers.refined_unseen(p_report, p_sql, p_depends);
    IF u.why IS NOT NULL THEN
        RETURN jsonb_build_object('full', u.why);
    END IF;
    -- a dimension's change it reads (a name, a cost): its refresh_from covers the sales only
    why := layers.refined_unmapped(p_depends, p_maps);
    IF why IS NOT NULL THEN
        RETURN jsonb_build_object('full', why);
    END IF;

    DROP TABLE IF EXISTS pg_temp.vd_delta;
    CREATE TEMP TABLE vd_delta ON COMMIT DROP AS
    WITH grupos AS (
        -- the report's joins: a sale of a product or store not there is not in it
        SELECT (v.data_venda AT TIME ZONE 'America/Sao_Paulo')::date AS dia, v.produto_id, v.loja_id,
               sum(i.sign) AS vendas, sum(i.sign * v.quantidade) AS itens, sum(i.sign * v.total) AS receita,
               sum(i.sign * (v.quantidade * p.custo)) AS custo,
               coalesce(sum(i.sign) FILTER (WHERE v.promocao_id IS NOT NULL), 0) AS vendas_em_promocao,
               bool_or(v.quantidade IS NULL OR v.total IS NULL OR p.custo IS NULL) AS tem_nulo
          FROM layers.unseen_rows('marketplace_vendas') i
         CROSS JOIN LATERAL jsonb_populate_record(NULL::trusted.marketplace_vendas, i.img) v
          JOIN trusted.marketplace_produtos p ON p.id = v.produto_id
          JOIN trusted.marketplace_lojas l ON l.id = v.loja_id
         WHERE NOT v._deleted
         GROUP BY 1, 2, 3
    )
    SELECT g.dia, g.produto_id, g.loja_id,
           coalesce(r.vendas, 0) + g.vendas AS vendas, coalesce(r.itens, 0) + g.itens AS itens,
           coalesce(r.receita, 0) + g.receita AS receita, coalesce(r.custo, 0) + g.custo AS custo,
           coalesce(r.vendas_em_promocao, 0) + g.vendas_em_promocao AS vendas_em_promocao,
           r.dia IS NOT NULL AS existe,
           -- what the sums cannot say (a NULL among them): add the day and product up again
           g.tem_nulo
           OR (r.dia IS NOT NULL AND (r.itens IS NULL OR r.receita IS NULL OR r.custo IS NULL))
           OR coalesce(r.vendas, 0) + g.vendas < 0
           OR (coalesce(r.vendas, 0) + g.vendas > 0
               AND 0 IN (coalesce(r.itens, 0) + g.itens, coalesce(r.receita, 0) + g.receita,
                         coalesce(r.custo, 0) + g.custo)) AS de_novo
      FROM grupos g
      LEFT JOIN refined.vendas_diarias r ON r.dia = g.dia AND r.produto_id = g.produto_id AND r.loja_id = g.loja_id;
    SELECT count(*) INTO n_groups FROM pg_temp.vd_delta;

    -- a day and product added up again takes none of its rows by the sums
    DROP TABLE IF EXISTS pg_temp.vd_again;
    CREATE TEMP TABLE vd_again ON COMMIT DROP AS SELECT DISTINCT dia, produto_id FROM pg_temp.vd_delta WHERE de_novo;
    DELETE FROM pg_temp.vd_delta d USING pg_temp.vd_again a WHERE a.dia = d.dia AND a.produto_id = d.produto_id;

    DELETE FROM refined.vendas_diarias r USING pg_temp.vd_delta d
     WHERE d.vendas = 0 AND r.dia = d.dia AND r.produto_id = d.produto_id AND r.loja_id = d.loja_id;
    GET DIAGNOSTICS n_del = ROW_COUNT;
    UPDATE refined.vendas_diarias r
       SET vendas = d.vendas, itens = d.itens, receita = d.receita, custo = d.custo,
           margem = d.receita - d.custo, vendas_em_promocao = d.vendas_em_promocao
      FROM pg_temp.vd_delta d
     WHERE d.existe AND d.vendas > 0 AND r.dia = d.dia AND r.produto_id = d.produto_id AND r.loja_id = d.loja_id;
    GET DIAGNOSTICS n_upd = ROW_COUNT;
    INSERT INTO refined.vendas_diarias (dia, produto_id, produto, categoria_id, categoria, loja_id, loja, uf,
                                        vendas, itens, receita, custo, margem, vendas_em_promocao)
    SELECT d.dia, d.produto_id, p.nome, p.categoria_id, c.nome, d.loja_id, l.nome, l.uf,
           d.vendas, d.itens, d.receita, d.custo, d.receita - d.custo, d.vendas_em_promocao
      FROM pg_temp.vd_delta d
      JOIN trusted.marketplace_produtos p ON p.id = d.produto_id
      LEFT JOIN trusted.marketplace_categorias c ON c.id = p.categoria_id
      JOIN trusted.marketplace_lojas l ON l.id = d.loja_id
     WHERE NOT d.existe AND d.vendas > 0;
    GET DIAGNOSTICS n_ins = ROW_COUNT;

    -- the days and products added up again (by the report's refresh_by and
    -- refresh_from lines)
    SELECT n_del + x.deleted, n_ins + x.inserted INTO n_del, n_ins
      FROM layers.refined_recompute(p_report, p_sql, p_refresh_by, p_maps, 'vd_again') x;

    DROP TABLE pg_temp.vd_again;
    DROP TABLE pg_temp.vd_delta;
    DROP TABLE pg_temp.unseen_changes;
    PERFORM layers.refined_refreshed(p_report, p_depends, u.snap);
    RETURN jsonb_build_object('groups', n_groups, 'deleted', n_del + n_upd, 'inserted', n_ins + n_upd);
END $$;
