-- For a report over the sales of a window of p_days ending at the newest
-- sale (the top reports), what changed since its last refresh, as signed
-- sales that add up to the difference (pg_temp.window_delta: kind 'e' a sale
-- of the table entering (+1) or leaving (-1) the window as its end moved,
-- 'n' / 'o' a changed sale's row after (+1) / before (-1), counted when it
-- lies in the old window). With T the sales now, W0 / W1 the old / new
-- window and N / O the rows after / before of the changes not seen yet
-- (layers.unseen_rows: a chain of changes of one key adds up to the first
-- row before and the last row after):
--   sum over T in W1 = sum over T0 in W0 + sum over T in (W1 - W0)
--                      - sum over T in (W0 - W1) + sum over N in W0 - sum over O in W0
-- so counts and sums move by the sum of window_delta, exactly. The old
-- window's end is the report's own janela_fim. Runs in the report's
-- REPEATABLE READ transaction: the changes taken are those visible in its
-- snapshot (and not in the last one), and the sales read are that same
-- snapshot's, or a change would be added twice or never.
-- why: a reason to rebuild instead (nothing done), else NULL; s0/e0, s1/e1:
-- the old and the new window (start, end]; snap: the snapshot to record.
CREATE OR REPLACE FUNCTION layers.refined_window_delta(p_report text, p_sql text, p_depends text[], p_days interval,
    OUT why text, OUT s0 timestamptz, OUT e0 timestamptz, OUT s1 timestamptz, OUT e1 timestamptz,
    OUT snap pg_snapshot)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT u.why, u.snap INTO why, snap FROM layers.refined_unseen(p_report, p_sql, p_depends) u;
    IF why IS NOT NULL THEN
        RETURN;
    END IF;
    -- the other tables give names to the groups: a row updated is read again
    -- below, but one added or removed may bring or take a group
    SELECT format('a row of trusted.%s was added or removed', table_name) INTO why
      FROM pg_temp.unseen_changes
     WHERE table_name <> 'marketplace_vendas' AND (old_row IS NULL OR new_row IS NULL) LIMIT 1;
    IF why IS NOT NULL THEN
        RETURN;
    END IF;

    EXECUTE format('SELECT janela_fim FROM refined.%I LIMIT 1', p_report) INTO e0;
    e1 := (SELECT max(data_venda) FROM trusted.marketplace_vendas WHERE NOT _deleted);
    IF e0 IS NULL OR e1 IS NULL THEN
        why := 'no sales in the window';
        RETURN;
    END IF;
    s0 := e0 - p_days;
    s1 := e1 - p_days;

    DROP TABLE IF EXISTS pg_temp.window_delta;
    CREATE TEMP TABLE window_delta ON COMMIT DROP AS
    -- the sales the moving window took in or let out: (lo, hi] ranges read
    -- through the data_venda index
    SELECT 'e'::"char" AS kind, g.sign, v.loja_id, v.produto_id, v.cliente_id, v.quantidade, v.total
      FROM (VALUES (1, s1, least(e1, s0)), (1, greatest(s1, e0), e1),
                   (-1, s0, least(e0, s1)), (-1, greatest(s0, e1), e0)) AS g(sign, lo, hi),
           LATERAL (SELECT x.loja_id, x.produto_id, x.cliente_id, x.quantidade, x.total
                      FROM trusted.marketplace_vendas x
                     WHERE x.data_venda > g.lo AND x.data_venda <= g.hi AND NOT x._deleted) v
     WHERE g.lo < g.hi
    UNION ALL
    SELECT CASE WHEN i.sign > 0 THEN 'n' ELSE 'o' END::"char", i.sign,
           r.loja_id, r.produto_id, r.cliente_id, r.quantidade, r.total
      FROM layers.unseen_rows('marketplace_vendas') i,
           jsonb_populate_record(NULL::trusted.marketplace_vendas, i.img) r
     WHERE NOT r._deleted AND r.data_venda > s0 AND r.data_venda <= e0;
    -- a sum over NULLs only is NULL, not the 0 a difference gives
    IF EXISTS (SELECT 1 FROM pg_temp.window_delta WHERE quantidade IS NULL OR total IS NULL) THEN
        why := 'a sale without quantidade or total';
    END IF;
END $$;
