// Incremental refresh of the REFINED reports (issue 14): after a full load,
// an incremental pipeline run with updated, moved (to another day), inserted
// and deleted sales refreshes the reports that say how — by the groups it
// changed (`-- refresh_by:`; the lake's home gets one more report for this,
// GROUPS_REPORT, the daily sales refreshed by day and product), or by a
// function of their own (`-- refresh_with:`) — and every report then equals
// a full rebuild of its own SELECT (both dumped sorted, as text). A change
// the refresh cannot follow (a product's name: a table with no refresh_from)
// rebuilds the report and says why; a change of a column no report reads (a
// product's price, for the daily sales) does not; a snapshot (a full load)
// rebuilds. The sales reports move by signed rows (edges, NULL sums, chains
// of unseen changes); the 30-day top reports follow their window: its end
// moving back or far ahead, sales moved in and out of it; the catalogue
// follows the clock; sentimento_produtos (posts from the redesocial
// simulator) refreshes by groups. A refresh that fails rolls back whole and
// the next run catches up.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Lake, ROOT } from './lib/harness.mjs';
import { SourceDb, assertSameRows, dumpRows, marketplaceEnv, registerDemoSources, runLoad, runPipeline } from './lib/marketplace.mjs';
import { CLIENT, Sim, postsDef } from './lib/redesocial.mjs';

let lake;
let src;
let srv;
let home;

// The daily sales as vendas_diarias was before it moved by signed rows: the
// refresh by groups (layers.refined_refresh), which sentimento_produtos uses.
const GROUPS_REPORT = 'vendas_diarias_grupos';
const groupsReportSql = () =>
  readFileSync(path.join(ROOT, 'sql/refined/vendas_diarias.sql'), 'utf8')
    .replace(/^-- refresh_with: .*\n/m, '')
    .replace(/^-- \(a day and product added up again[^\n]*\n/m, '');

before(async () => {
  lake = await Lake.create('refined-refresh');
  src = await SourceDb.create('refinedrefresh', { sales: 3000 });
  home = path.join(lake.tmp, 'home');
  cpSync(path.join(ROOT, 'sql'), path.join(home, 'sql'), { recursive: true });
  cpSync(path.join(ROOT, 'openapi'), path.join(home, 'openapi'), { recursive: true });
  writeFileSync(path.join(home, 'sql/refined', `${GROUPS_REPORT}.sql`), groupsReportSql());
  srv = await lake.startServer({
    env: { ...marketplaceEnv(src), SHOPPERLAKE_HOME: home, LAKE_SECRET_REDESOCIAL_CLIENT: CLIENT },
  });
  await registerDemoSources(srv);
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    await src?.drop();
  }
});

const REPORTS = readdirSync(path.join(ROOT, 'sql/refined'))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => f.slice(0, -4))
  .concat([GROUPS_REPORT]);

// The report's own SELECT, as a full rebuild runs it.
function reportSql(name) {
  return readFileSync(path.join(home, 'sql/refined', `${name}.sql`), 'utf8').replace(/[\s;]+$/, '');
}

// The refined step of a run: the one that is not deferred to another job.
async function refinedStep(run) {
  const out = await lake.sql(
    `SELECT s FROM control.jobs j, jsonb_array_elements(j.steps) s WHERE j.pipeline_run_id = ${run.id} ` +
      "AND s->>'name' = 'refined' AND NOT s ? 'deferred'",
  );
  const lines = out.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one job of run ${run.id} brought the reports up to date: ${out}`);
  return JSON.parse(lines[0]);
}

// Every report that exists equals a full rebuild of its SELECT, row for row.
async function assertReportsEqualFullRebuild(what, table = (r) => `refined."${r}"`) {
  let compared = 0;
  for (const r of REPORTS) {
    if ((await lake.sql(`SELECT to_regclass('refined."${r}"') IS NOT NULL`)) !== 't') continue;
    const got = await dumpRows(lake.db, `SELECT * FROM ${table(r)}`);
    const want = await dumpRows(lake.db, reportSql(r));
    assertSameRows(got, want, `${what}: refined.${r} against a full rebuild of its SELECT`);
    compared++;
  }
  assert.ok(compared >= 5, `compared ${compared} reports`);
}

const refreshedOf = (step, r) => step.refreshed.find((x) => x.report === r);

// Runs fn while marking report r refreshed fails (a trigger on
// control.table_refresh): its refresh rolls back and the job fails.
async function withRefreshFailing(r, fn) {
  await lake.sql(`
    CREATE FUNCTION public.fail_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.layer = 'refined' AND NEW.table_name = '${r}' THEN RAISE EXCEPTION 'injected failure'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER fail_refresh BEFORE INSERT OR UPDATE ON control.table_refresh
      FOR EACH ROW EXECUTE FUNCTION public.fail_refresh();`);
  try {
    await fn();
  } finally {
    await lake.sql('DROP TRIGGER fail_refresh ON control.table_refresh; DROP FUNCTION public.fail_refresh()');
  }
}
const DAY = "(data_venda AT TIME ZONE 'America/Sao_Paulo')::date";

describe('incremental refresh of the REFINED reports', () => {
  test('the full load builds every report (nothing to refresh from yet) and records its snapshot', async () => {
    await runPipeline(srv, 'marketplace_postgresql_full');
    const run = await runPipeline(srv, 'marketplace_postgresql_incremental');
    const step = await refinedStep(run);
    assert.ok(step.rebuilt.includes('vendas_diarias'), JSON.stringify(step));
    assert.deepEqual(step.refreshed, []);
    assert.equal(typeof step.seconds.vendas_diarias, 'number');
    assert.equal(step.connections, 2, 'the reports side by side on the two refined connections (the default)');
    const states = await lake.sql('SELECT string_agg(report, \',\' ORDER BY report) FROM control.refined_state');
    assert.match(states, /vendas_diarias/);
    // each report's seconds, which the next step orders them by
    assert.equal(await lake.sql('SELECT count(*) FROM control.refined_state WHERE NOT seconds > 0'), '0');
    await assertReportsEqualFullRebuild('after the full load');
  });

  test('updates, a sale moved to another day, inserts and deletes: refreshed by their groups, equal to a full rebuild', async () => {
    // One sale moves five days back; one changes its quantity; two go; two
    // come (one on an old day, one now); plus a burst of the demo's changes.
    const [moved, updated, gone1, gone2] = (
      await src.sql('SELECT id FROM vendas ORDER BY id LIMIT 4 OFFSET 100')
    ).split('\n');
    const movedBefore = await src.sql(`SELECT ${DAY} || '|' || produto_id FROM vendas WHERE id = ${moved}`);
    const [oldDay, product] = movedBefore.split('|');
    const groupRow = (day) =>
      lake.sql(`SELECT coalesce(sum(vendas), 0) FROM refined.vendas_diarias WHERE dia = '${day}' AND produto_id = ${product}`);
    const newDay = await src.sql(`SELECT (DATE '${oldDay}' - 5)::text`);
    const oldBefore = Number(await groupRow(oldDay));
    const newBefore = Number(await groupRow(newDay));
    await src.sql(`
      UPDATE vendas SET data_venda = data_venda - interval '5 days', updated_at = now() WHERE id = ${moved};
      UPDATE vendas SET quantidade = quantidade + 3, total = (quantidade + 3) * preco_unitario, updated_at = now() WHERE id = ${updated};
      DELETE FROM vendas WHERE id IN (${gone1}, ${gone2});
      INSERT INTO vendas (produto_id, loja_id, cliente_id, promocao_id, data_venda, quantidade, preco_unitario, total)
      SELECT produto_id, loja_id, cliente_id, NULL, d, 2, preco_unitario, 2 * preco_unitario
        FROM vendas, (VALUES (now() - interval '200 days'), (now())) AS x(d)
       WHERE id = ${updated};`);
    await src.changes(30, 50, 40);

    const run = await runPipeline(srv, 'marketplace_postgresql_incremental');
    const step = await refinedStep(run);
    for (const r of ['vendas_diarias', GROUPS_REPORT]) {
      const vd = refreshedOf(step, r);
      assert.ok(vd, `${r} refreshed incrementally: ${JSON.stringify(step)}`);
      assert.ok(vd.groups >= 5, `the groups of the moved, updated, deleted and new sales: ${JSON.stringify(vd)}`);
      assert.ok(vd.inserted > 0 && vd.deleted > 0, JSON.stringify(vd));
      assert.ok(!step.rebuilt.includes(r), JSON.stringify(step));
    }

    // The moved sale left its day and reached the other, in the report itself.
    assert.equal(Number(await groupRow(oldDay)), oldBefore - 1, `day ${oldDay}, product ${product}: one sale fewer`);
    assert.equal(Number(await groupRow(newDay)), newBefore + 1, `day ${newDay}, product ${product}: one sale more`);
    await assertReportsEqualFullRebuild('after the incremental run');

    // The comparison sees a difference when there is one.
    await lake.sql(
      'DROP TABLE IF EXISTS public.vd_check; CREATE TABLE public.vd_check AS TABLE refined.vendas_diarias; ' +
        'UPDATE public.vd_check SET vendas = vendas + 1 WHERE ctid = (SELECT min(ctid) FROM public.vd_check)',
    );
    await assert.rejects(
      assertReportsEqualFullRebuild('a corrupted copy', (r) => (r === 'vendas_diarias' ? 'public.vd_check' : `refined."${r}"`)),
      /vendas_diarias against a full rebuild/,
    );
  });

  test('a product price change (a column vendas_diarias does not read) keeps the refresh; a name change rebuilds it, saying why', async () => {
    await src.sql("UPDATE produtos SET preco = preco + 1, updated_at = now() WHERE id = 3; UPDATE vendas SET quantidade = quantidade + 1, total = (quantidade + 1) * preco_unitario, updated_at = now() WHERE id = (SELECT max(id) FROM vendas)");
    let step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    for (const r of ['vendas_diarias', GROUPS_REPORT]) {
      assert.ok(refreshedOf(step, r), `${r} refreshed despite the price change: ${JSON.stringify(step)}`);
    }
    await assertReportsEqualFullRebuild('after a price change');

    await src.sql("UPDATE produtos SET nome = nome || ' (novo)', updated_at = now() WHERE id = 2");
    step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    for (const r of ['vendas_diarias', GROUPS_REPORT]) {
      assert.ok(step.rebuilt.includes(r), JSON.stringify(step));
      assert.match(step.rebuilt_because[r], /marketplace_produtos/);
    }
    await assertReportsEqualFullRebuild('after a name change');

    // Nothing it reads changed: nothing to do, still a refresh.
    await src.sql("UPDATE clientes SET cidade = 'Campinas', updated_at = now() WHERE id = 1");
    step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    for (const r of ['vendas_diarias', GROUPS_REPORT]) {
      assert.equal(refreshedOf(step, r)?.groups, 0, JSON.stringify(step));
    }
    await assertReportsEqualFullRebuild('after a change no report reads');

    // A full load is a snapshot: the dimension tables changed as a whole.
    step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_full'));
    for (const r of ['vendas_diarias', GROUPS_REPORT]) {
      assert.match(step.rebuilt_because?.[r] ?? '', /as a whole/, JSON.stringify(step));
    }
    await assertReportsEqualFullRebuild('after a full load of the dimensions');
  });
});

describe('what people add to a report survives its rebuild', () => {
  test('a view over it (rows replaced in place), then its own index, comment and grants (swapped)', async () => {
    const role = `rpt_viewer_${process.pid}`;
    await lake.sql(`SET ROLE lake; CREATE ROLE ${role} NOLOGIN;
      CREATE VIEW public.vendas_sp AS SELECT * FROM refined.vendas_diarias WHERE uf = 'SP';
      CREATE INDEX vendas_diarias_loja ON refined.vendas_diarias (loja_id);
      COMMENT ON TABLE refined.vendas_diarias IS 'vendas por dia';
      GRANT SELECT ON refined.vendas_diarias TO ${role}`);
    const rebuildNow = async (what) => {
      await src.sql(`UPDATE produtos SET nome = nome || ' ${what}', updated_at = now() WHERE id = 2`);
      const step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
      assert.ok(step.rebuilt.includes('vendas_diarias'), JSON.stringify(step));
    };
    await rebuildNow('(vista)');
    assert.equal(await lake.sql("SELECT count(*) FROM public.vendas_sp WHERE produto LIKE '%(vista)'"),
      await lake.sql("SELECT count(*) FROM refined.vendas_diarias WHERE uf = 'SP' AND produto LIKE '%(vista)'"), 'the view reads the new rows');
    assert.notEqual(await lake.sql("SELECT count(*) FROM public.vendas_sp WHERE produto LIKE '%(vista)'"), '0');
    await lake.sql('SET ROLE lake; DROP VIEW public.vendas_sp');
    await rebuildNow('(troca)');
    assert.equal(await lake.sql("SELECT count(*) FROM pg_indexes WHERE schemaname = 'refined' AND indexname = 'vendas_diarias_loja'"), '1');
    assert.equal(await lake.sql("SELECT obj_description('refined.vendas_diarias'::regclass, 'pg_class')"), 'vendas por dia');
    assert.equal(await lake.sql(`SELECT has_table_privilege('${role}', 'refined.vendas_diarias', 'SELECT')`), 't');
    await assertReportsEqualFullRebuild('after rebuilds with things added to a report');
    await lake.sql(`REVOKE ALL ON refined.vendas_diarias FROM ${role}; DROP ROLE ${role}`);
  });
});

describe('the 30-day top reports (refreshed by signed sales, not by groups)', () => {
  const TOPS = ['top_lojas', 'top_produtos'];
  const windowEnd = () => lake.sql('SELECT max(janela_fim)::text FROM refined.top_lojas');
  async function runAndCompare(what) {
    const step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    await assertReportsEqualFullRebuild(what);
    return step;
  }
  const assertRefreshed = (step, what) => {
    for (const r of TOPS) {
      assert.ok(refreshedOf(step, r), `${what}: ${r} refreshed: ${JSON.stringify(step)}`);
      assert.ok(!step.rebuilt.includes(r), `${what}: ${r} not rebuilt: ${JSON.stringify(step)}`);
    }
  };

  test('the newest sales deleted (the window ends earlier), sales moved out of it, into it, to another store and customer', async () => {
    await runAndCompare('before');   // every report refreshed once from here
    const endBefore = await windowEnd();
    const newest = (await src.sql('SELECT id FROM vendas ORDER BY data_venda DESC, id LIMIT 2')).split('\n');
    const inside = (
      await src.sql(
        "SELECT id FROM vendas WHERE data_venda BETWEEN (SELECT max(data_venda) FROM vendas) - interval '20 days' " +
          "AND (SELECT max(data_venda) FROM vendas) - interval '5 days' ORDER BY id LIMIT 2",
      )
    ).split('\n');
    const old = await src.sql(
      "SELECT id FROM vendas WHERE data_venda < (SELECT max(data_venda) FROM vendas) - interval '60 days' ORDER BY id LIMIT 1",
    );
    assert.equal(inside.length, 2, 'two sales inside the window');
    await src.sql(`
      DELETE FROM vendas WHERE id IN (${newest.join(', ')});
      UPDATE vendas SET data_venda = data_venda - interval '40 days', updated_at = now() WHERE id = ${inside[0]};
      UPDATE vendas SET loja_id = (SELECT max(id) FROM lojas), cliente_id = (SELECT max(id) FROM clientes),
                        updated_at = now() WHERE id = ${inside[1]};
      UPDATE vendas SET data_venda = (SELECT max(data_venda) FROM vendas) - interval '10 days', updated_at = now()
       WHERE id = ${old};`);
    const step = await runAndCompare('after the window moved back');
    assertRefreshed(step, 'the window moved back');
    assert.ok((await windowEnd()) < endBefore, `the window ends earlier: ${await windowEnd()} < ${endBefore}`);
  });

  test('a sale 40 days ahead moves the whole window past the old one, and its delete brings the old one back', async () => {
    await src.sql(`
      INSERT INTO vendas (produto_id, loja_id, cliente_id, promocao_id, data_venda, quantidade, preco_unitario, total)
      SELECT produto_id, loja_id, cliente_id, NULL, now() + interval '40 days', 1, preco_unitario, preco_unitario
        FROM vendas ORDER BY id LIMIT 1`);
    let step = await runAndCompare('after a sale 40 days ahead');
    assertRefreshed(step, 'a sale 40 days ahead');
    assert.equal(await lake.sql('SELECT sum(vendas) FROM refined.top_produtos'), '1', 'only that sale is in the window');

    await src.sql("DELETE FROM vendas WHERE data_venda > now() + interval '1 day'");
    await src.changes(20, 50, 40);
    step = await runAndCompare('after that sale went');
    assertRefreshed(step, 'that sale went');
  });

  test('a new product (a row that may bring a group) rebuilds top_produtos, saying why', async () => {
    await src.sql(`
      INSERT INTO produtos (sku, nome, categoria_id, marca_id, preco, custo)
      SELECT 'NOVO-' || sku, nome || ' (novo)', categoria_id, marca_id, preco, custo FROM produtos ORDER BY id LIMIT 1;
      INSERT INTO vendas (produto_id, loja_id, cliente_id, promocao_id, data_venda, quantidade, preco_unitario, total)
      SELECT (SELECT max(id) FROM produtos), loja_id, cliente_id, NULL, now(), 1, preco_unitario, preco_unitario
        FROM vendas ORDER BY id LIMIT 1`);
    const step = await runAndCompare('after a new product');
    assert.ok(step.rebuilt.includes('top_produtos'), JSON.stringify(step));
    assert.match(step.rebuilt_because.top_produtos, /marketplace_produtos was added or removed/);
    assert.ok(refreshedOf(step, 'top_lojas'), JSON.stringify(step));
    assert.equal(await lake.sql("SELECT count(*) FROM refined.top_produtos WHERE sku LIKE 'NOVO-%'"), '1');
  });
});

describe('vendas_produto_mes (moved by the changed sales, not recomputed by groups)', () => {
  const MONTH = "date_trunc('month', data_venda AT TIME ZONE 'America/Sao_Paulo')::date";
  // Groups of the source's sales (month, product, promotion) with n sales, their ids by date.
  const groupsOf = async (n) =>
    (
      await src.sql(`SELECT string_agg(id::text, ',' ORDER BY data_venda, id) FROM vendas
                      GROUP BY ${MONTH}, produto_id, coalesce(promocao_id, 0) HAVING count(*) ${n} ORDER BY 1 LIMIT 2`)
    )
      .split('\n')
      .map((ids) => ids.split(','));
  const vpmRow = (saleId) =>
    src.sql(`SELECT ${MONTH} || '|' || produto_id || '|' || coalesce(promocao_id, 0) FROM vendas WHERE id = ${saleId}`);
  const reportCount = async (key) => {
    const [mes, produto, promocao] = key.split('|');
    return lake.sql(`SELECT coalesce(sum(vendas), 0) FROM refined.vendas_produto_mes
                      WHERE mes = '${mes}' AND produto_id = ${produto} AND promocao_id = ${promocao}`);
  };

  test('a first sale gone, a group emptied, a new group, a sale changing promotion, quantities changed (a last sale\'s too): equal to a full rebuild', async () => {
    const [big1, big2] = await groupsOf('>= 3');
    const [single] = await groupsOf('= 1');
    const singleKey = await vpmRow(single[0]);
    const lonely = await src.sql(`SELECT p.id FROM produtos p WHERE NOT EXISTS (SELECT 1 FROM vendas v
                                    WHERE v.produto_id = p.id AND ${MONTH} = date_trunc('month', now() AT TIME ZONE 'America/Sao_Paulo')::date)
                                  ORDER BY p.id LIMIT 1`);
    assert.ok(lonely, 'a product without sales this month');
    const promoted = await src.sql('SELECT id FROM vendas WHERE promocao_id IS NOT NULL ORDER BY id LIMIT 1');
    await src.sql(`
      DELETE FROM vendas WHERE id IN (${big1[0]}, ${single[0]});
      UPDATE vendas SET quantidade = quantidade + 2, total = (quantidade + 2) * preco_unitario, updated_at = now()
       WHERE id IN (${big2[1]}, ${big2[big2.length - 1]});
      UPDATE vendas SET promocao_id = NULL, updated_at = now() WHERE id = ${promoted};
      INSERT INTO vendas (produto_id, loja_id, cliente_id, promocao_id, data_venda, quantidade, preco_unitario, total)
      SELECT ${lonely}, loja_id, cliente_id, NULL, now(), 1, preco_unitario, preco_unitario FROM vendas ORDER BY id LIMIT 1;`);
    const step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    const vpm = refreshedOf(step, 'vendas_produto_mes');
    assert.ok(vpm && !step.rebuilt.includes('vendas_produto_mes'), `refreshed, not rebuilt: ${JSON.stringify(step)}`);
    assert.ok(vpm.deleted > 0 && vpm.inserted > 0, JSON.stringify(vpm));
    assert.equal(await reportCount(singleKey), '0', 'the group whose only sale went is gone');
    assert.equal(
      await lake.sql(`SELECT vendas FROM refined.vendas_produto_mes WHERE produto_id = ${lonely} AND promocao_id = 0
                       AND mes = (SELECT max(mes) FROM refined.vendas_produto_mes)`),
      '1',
      'the new sale made its group',
    );
    await assertReportsEqualFullRebuild('after edge cases of vendas_produto_mes');
  });

  test('the only sale of a month lost its quantity (the sum turns NULL, not 0): added up again from the sales', async () => {
    const [group] = await groupsOf('= 1');
    await src.sql(`ALTER TABLE vendas ALTER quantidade DROP NOT NULL;
      UPDATE vendas SET quantidade = NULL, updated_at = now() WHERE id = ${group[0]}`);
    const step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    for (const r of ['vendas_produto_mes', 'vendas_diarias']) {
      assert.ok(refreshedOf(step, r) && !step.rebuilt.includes(r), `${r} refreshed: ${JSON.stringify(step)}`);
    }
    await assertReportsEqualFullRebuild('after a sale lost its quantity');
  });

  test('one sale changed in two runs the report did not see (its refresh failed once): the chain adds up once', async () => {
    const [group] = await groupsOf('>= 3');
    const middle = group[1];
    const key = await vpmRow(middle);
    const countBefore = await reportCount(key);
    await withRefreshFailing('vendas_produto_mes', async () => {
      await src.sql(`UPDATE vendas SET quantidade = quantidade + 1, total = (quantidade + 1) * preco_unitario, updated_at = now() WHERE id = ${middle}`);
      const run = await runPipeline(srv, 'marketplace_postgresql_incremental', { expect: null });
      assert.ok(run.jobs.some((j) => j.state === 'JOB_STATE_FAILED'), JSON.stringify(run.job_counts));
    });
    await src.sql(`UPDATE vendas SET quantidade = quantidade + 4, total = (quantidade + 4) * preco_unitario, updated_at = now() WHERE id = ${middle}`);
    const step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    assert.ok(refreshedOf(step, 'vendas_produto_mes'), `refreshed: ${JSON.stringify(step)}`);
    assert.equal(await reportCount(key), countBefore, 'the sale still counts once');
    await assertReportsEqualFullRebuild('after two unseen changes of one sale');
  });
});

describe('catalogo_produtos (refreshed by product, the clock included)', () => {
  const promotionNow = (product) =>
    lake.sql(`SELECT coalesce(promocao_atual_id::text, 'none') FROM refined.catalogo_produtos WHERE produto_id = ${product}`);

  test('a promotion that starts between two runs shows in the second, though nothing changed then', async () => {
    // A product with no promotion: one that starts 4 s from now and lasts a day.
    const product = await src.sql('SELECT p.id FROM produtos p WHERE NOT EXISTS (SELECT 1 FROM promocoes x WHERE x.produto_id = p.id) ORDER BY p.id LIMIT 1');
    const promo = await src.sql(`INSERT INTO promocoes (nome, produto_id, desconto_pct, inicio, fim)
                                 VALUES ('relampago', ${product}, 15, now() + interval '4 seconds', now() + interval '1 day') RETURNING id`);
    let step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    assert.ok(refreshedOf(step, 'catalogo_produtos') && !step.rebuilt.includes('catalogo_produtos'), JSON.stringify(step));
    assert.equal(await promotionNow(product), 'none', 'not started yet');
    await new Promise((r) => setTimeout(r, 4500));
    step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    assert.ok(refreshedOf(step, 'catalogo_produtos')?.groups >= 1, JSON.stringify(step));
    assert.equal(await promotionNow(product), promo.trim(), 'started: the catalogue shows it');
    await assertReportsEqualFullRebuild('after a promotion started between runs');
  });

  test('a product renamed and a sale changed are refreshed; categories loaded again or vendas_produto_mes rebuilt rebuild it', async () => {
    await src.sql(`UPDATE produtos SET sku = sku || '-x', updated_at = now() WHERE id = 4;
                   UPDATE vendas SET quantidade = quantidade + 1, total = (quantidade + 1) * preco_unitario, updated_at = now()
                    WHERE id = (SELECT min(id) FROM vendas WHERE produto_id = 5)`);
    let step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    assert.ok(refreshedOf(step, 'catalogo_produtos')?.groups >= 2, JSON.stringify(step));
    assert.match(await lake.sql('SELECT sku FROM refined.catalogo_produtos WHERE produto_id = 4'), /-x$/);
    await assertReportsEqualFullRebuild('after a product and a sale changed');

    // (categories come by full loads: a snapshot, a change as a whole)
    await src.sql("UPDATE categorias SET nome = nome || ' (nova)', updated_at = now() WHERE id = (SELECT min(categoria_id) FROM produtos)");
    step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_full'));
    assert.match(step.rebuilt_because?.catalogo_produtos ?? '', /as a whole/, JSON.stringify(step));
    await assertReportsEqualFullRebuild('after a category renamed');

    // vendas_produto_mes rebuilt (its state forgotten): the catalogue cannot trust its groups
    await lake.sql("DELETE FROM control.refined_state WHERE report = 'vendas_produto_mes'");
    await src.sql('UPDATE vendas SET quantidade = quantidade + 1, total = (quantidade + 1) * preco_unitario, updated_at = now() WHERE id = (SELECT max(id) FROM vendas)');
    step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    assert.ok(step.rebuilt.includes('vendas_produto_mes'), JSON.stringify(step));
    assert.match(step.rebuilt_because?.catalogo_produtos ?? '', /vendas_produto_mes was rebuilt/, JSON.stringify(step));
    await assertReportsEqualFullRebuild('after vendas_produto_mes was rebuilt');
  });
});

describe('desempenho_promocoes (refreshed by promotion)', () => {
  const inPromotion = (id) =>
    lake.sql(`SELECT vendas_na_promocao || '|' || desconto_pct FROM refined.desempenho_promocoes WHERE promocao_id = ${id}`);

  test('a discount, a cost, a sale moved out of a promotion and a promotion deleted: those promotions, equal to a full rebuild', async () => {
    const [promo, sale] = (
      await src.sql(`SELECT promocao_id || '|' || min(id) FROM vendas WHERE promocao_id IS NOT NULL
                      GROUP BY promocao_id ORDER BY count(*) DESC, promocao_id LIMIT 1`)
    ).split('|');
    const product = await src.sql(`SELECT produto_id FROM promocoes WHERE id = ${promo}`);
    const unsold = await src.sql(`SELECT p.id FROM promocoes p WHERE p.produto_id <> ${product}
                                   AND NOT EXISTS (SELECT 1 FROM vendas v WHERE v.promocao_id = p.id) ORDER BY p.id LIMIT 1`);
    assert.ok(unsold, 'the demo has a promotion without sales');
    const [soldBefore, discountBefore] = (await inPromotion(promo)).split('|').map(Number);
    assert.equal(await lake.sql(`SELECT count(*) FROM refined.desempenho_promocoes WHERE promocao_id = ${unsold}`), '1');
    await src.sql(`UPDATE promocoes SET desconto_pct = desconto_pct + 1, updated_at = now() WHERE id = ${promo};
                   UPDATE produtos SET custo = custo + 0.5, updated_at = now() WHERE id = ${product};
                   UPDATE vendas SET promocao_id = NULL, updated_at = now() WHERE id = ${sale};
                   DELETE FROM promocoes WHERE id = ${unsold}`);
    const step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    const dp = refreshedOf(step, 'desempenho_promocoes');
    assert.ok(dp && !step.rebuilt.includes('desempenho_promocoes'), `refreshed, not rebuilt: ${JSON.stringify(step)}`);
    const total = Number(await lake.sql('SELECT count(*) FROM refined.desempenho_promocoes'));
    assert.ok(dp.groups >= 2 && dp.groups < total, `some promotions, not all (${total}): ${JSON.stringify(dp)}`);
    assert.deepEqual((await inPromotion(promo)).split('|').map(Number), [soldBefore - 1, discountBefore + 1]);
    assert.equal(await lake.sql(`SELECT count(*) FROM refined.desempenho_promocoes WHERE promocao_id = ${unsold}`), '0');
    await assertReportsEqualFullRebuild('after a promotion, its product and one of its sales changed, and another promotion went');
  });
});

describe('a report that reads a report records the snapshot of what it read', () => {
  test('its own snapshot, unless the report it reads lacks a change it sees: then that one\'s', async () => {
    // One transaction: a sale's change vendas_produto_mes has not seen yet
    // (as if a merge committed after its refresh, before the catalogue's).
    const out = await lake.sql(`BEGIN;
      SELECT layers.refined_snapshot(ARRAY['refined.vendas_produto_mes', 'trusted.marketplace_produtos'])::text
             = (SELECT snapshot::text FROM control.refined_state WHERE report = 'vendas_produto_mes');
      INSERT INTO control.trusted_changes (table_name, old_row, new_row) VALUES ('marketplace_vendas', NULL, '{}');
      SELECT layers.refined_snapshot(ARRAY['refined.vendas_produto_mes', 'trusted.marketplace_produtos'])::text
             = (SELECT snapshot::text FROM control.refined_state WHERE report = 'vendas_produto_mes');
      SELECT layers.refined_snapshot(ARRAY['trusted.marketplace_produtos'])::text = pg_current_snapshot()::text;
      ROLLBACK;`);
    assert.deepEqual(out.split('\n').filter((l) => /^[tf]$/.test(l)), ['f', 't', 't'], out);
  });
});

describe('sentimento_produtos (the refresh by groups, as the demo uses it)', () => {
  let sim;
  after(async () => {
    await sim?.stop();
  });
  const jobRefinedStep = async (jobId) =>
    JSON.parse(await lake.sql(`SELECT s FROM control.jobs j, jsonb_array_elements(j.steps) s
                                WHERE j.id = ${jobId} AND s->>'name' = 'refined'`));

  test('posts loaded, then more posts and edits: refreshed by day and product, equal to a full rebuild', { timeout: 120_000 }, async () => {
    sim = await Sim.start(['--posts', 600, '--seed', 23]);
    const source = (await srv.call('POST', '/v1/sources', 201, { body: postsDef(sim) })).body;
    let step = await jobRefinedStep((await runLoad(srv, source.id, 'incremental')).id);
    assert.ok(step.rebuilt.includes('sentimento_produtos'), `built: ${JSON.stringify(step)}`);
    assert.notEqual(await lake.sql('SELECT count(*) FROM refined.sentimento_produtos'), '0');
    await assertReportsEqualFullRebuild('after the first posts');

    await sim.resize({ posts: 700 });
    step = await jobRefinedStep((await runLoad(srv, source.id, 'incremental')).id);
    const sp = refreshedOf(step, 'sentimento_produtos');
    assert.ok(sp?.groups > 0 && !step.rebuilt.includes('sentimento_produtos'), `refreshed by groups: ${JSON.stringify(step)}`);
    await assertReportsEqualFullRebuild('after more posts and edits');
  });
});

describe('a failed refresh', () => {
  test('rolls back whole, and the next run refreshes the groups it missed', async () => {
    const before = await dumpRows(lake.db, 'SELECT * FROM refined.vendas_diarias');
    const stateBefore = await lake.sql("SELECT snapshot FROM control.refined_state WHERE report = 'vendas_diarias'");
    await withRefreshFailing('vendas_diarias', async () => {
      await src.sql('DELETE FROM vendas WHERE id = (SELECT min(id) FROM vendas)');
      await src.changes(20, 50, 40);
      const run = await runPipeline(srv, 'marketplace_postgresql_incremental', { expect: null });
      assert.ok(run.jobs.some((j) => j.state === 'JOB_STATE_FAILED'), JSON.stringify(run.job_counts));
      assertSameRows(await dumpRows(lake.db, 'SELECT * FROM refined.vendas_diarias'), before, 'the report is as it was');
      assert.equal(
        await lake.sql("SELECT snapshot FROM control.refined_state WHERE report = 'vendas_diarias'"),
        stateBefore,
        'its snapshot is as it was: the changes are still unseen',
      );
    });
    const step = await refinedStep(await runPipeline(srv, 'marketplace_postgresql_incremental'));
    assert.ok(refreshedOf(step, 'vendas_diarias')?.groups > 0, `the missed groups: ${JSON.stringify(step)}`);
    await assertReportsEqualFullRebuild('after the failed refresh and the next run');
  });
});

describe('the server', () => {
  test('stops cleanly', async () => {
    await srv.stop();
  });
});
