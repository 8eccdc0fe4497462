// The layers with real loads: LAND and RAW row counts, TRUSTED equal to the
// source table after full and incremental loads with inserts, updates and
// deletes (including a long transaction that commits after a load started),
// reruns that change nothing, bad values quarantined, a failing check that
// keeps the previous TRUSTED, and REFINED reports recomputed by hand over the
// source database.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Lake } from './lib/harness.mjs';
import {
  SourceDb,
  assertSameRows,
  assertTrustedEqualsSource,
  colList,
  demoSources,
  dumpRows,
  marketplaceEnv,
  registerDemoSources,
  runLoad,
  runPipeline,
} from './lib/marketplace.mjs';

const INCREMENTAL = ['produtos', 'clientes', 'promocoes', 'vendas'];
const FULL = ['categorias', 'marcas', 'lojas'];

let lake;
let src;
let srv;
let demo; // { object: source }
const defs = Object.fromEntries(demoSources().map((d) => [d.object, d]));

before(async () => {
  lake = await Lake.create('layers');
  src = await SourceDb.create('layers', { sales: 2000 });
  // (the reports on one connection; refined-refresh.test.mjs runs them on two)
  srv = await lake.startServer({ env: marketplaceEnv(src, { SHOPPERLAKE_REFINED_CONNECTIONS: 1 }) });
  demo = await registerDemoSources(srv);
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    await src?.drop();
  }
});

const count = async (db, sql) => Number(await (db === 'lake' ? lake.sql(sql) : src.sql(sql)));

async function assertAllTrustedEqualSource(objects = [...FULL, ...INCREMENTAL]) {
  for (const o of objects) await assertTrustedEqualsSource(lake, src, defs[o]);
}

// Everything of a TRUSTED table, bookkeeping columns included.
function trustedAll(table) {
  return dumpRows(lake.db, `SELECT * FROM trusted."${table}"`);
}

// The version of the last change tracked in the source.
async function ctVersion() {
  return Number(await src.sql("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ct.version_seq"));
}

const jobOf = (run, object) => run.jobs.find((j) => j.source === `marketplace.marketplace.${object}`);

describe('full and incremental loads', () => {
  test('the full pipeline, then the first incremental run (a snapshot): TRUSTED equals every source table', async () => {
    const full = await runPipeline(srv, 'marketplace_postgresql_full');
    const incr = await runPipeline(srv, 'marketplace_postgresql_incremental');
    for (const o of [...FULL, ...INCREMENTAL]) {
      const job = jobOf(FULL.includes(o) ? full : incr, o);
      const n = await count('src', `SELECT count(*) FROM ${o}`);
      assert.ok(n > 0, `source ${o} has rows`);
      assert.equal(job.rows_written, n, `${o}: the job wrote the whole table`);
      assert.equal(await count('lake', `SELECT count(*) FROM raw.marketplace_${o} WHERE _job_id = ${job.id}`), n, `land ${o}`);
      assert.equal(await count('lake', `SELECT count(*) FROM raw.marketplace_${o} WHERE _job_id = ${job.id}`), n, `raw ${o}`);
      assert.equal(
        await count('lake', `SELECT count(*) FROM raw.marketplace_${o} WHERE _job_id = ${job.id} AND sys_change_operation IS NOT NULL`),
        0,
        `${o}: a snapshot has no change operations`,
      );
      assert.equal(job.steps.find((s) => s.name === 'land').snapshot, true);
    }
    await assertAllTrustedEqualSource();

    // Incremental sources now have an offset (a snapshot of the source); full ones none.
    const offsets = (await srv.call('GET', '/v1/sources', 200, { query: { system: 'marketplace', limit: 100 } })).body.items;
    for (const s of offsets) {
      if (INCREMENTAL.includes(s.object)) assert.match(s.last_offset ?? '', /^\d+:\d+:[\d,]*$/, `${s.object} offset`);
      else assert.equal(s.last_offset, null, `${s.object} offset`);
    }

    // TRUSTED types are the definition's types.
    const types = await lake.sql(
      "SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute " +
        "WHERE attrelid = 'trusted.marketplace_vendas'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT LIKE '\\_%' ORDER BY attnum",
    );
    const want = defs.vendas.columns.map((c) => `${c.name} ${c.type === 'timestamptz' ? 'timestamp with time zone' : c.type}`);
    assert.deepEqual(types.split('\n'), want);
  });

  test('an incremental run after inserts, updates and deletes takes exactly the changes; TRUSTED equals the source', async () => {
    const v0 = await ctVersion();
    const burst = await src.changes(300);
    assert.ok(burst.inserted > 0 && burst.updated > 0 && burst.deleted > 0, JSON.stringify(burst));
    // By hand: a customer renamed, one added, one added then deleted before
    // any load saw it, and a sale inserted and updated in one transaction.
    await src.sql(`
      UPDATE clientes SET nome = 'Cliente Renomeado', updated_at = now() WHERE id = 5;
      INSERT INTO clientes (nome, email, cidade, uf) VALUES ('Nova Cliente', 'nova@example.com', 'Recife', 'PE');
      INSERT INTO clientes (nome, email, cidade, uf) VALUES ('Efêmera', 'efemera@example.com', 'Natal', 'RN');
      DELETE FROM clientes WHERE email = 'efemera@example.com';
      BEGIN;
      INSERT INTO vendas (produto_id, loja_id, cliente_id, data_venda, quantidade, preco_unitario, total)
        VALUES (1, 1, 1, now(), 1, 10.00, 10.00);
      UPDATE vendas SET quantidade = 3, total = 30.00 WHERE id = (SELECT max(id) FROM vendas);
      COMMIT;`);

    const run = await runPipeline(srv, 'marketplace_postgresql_incremental');
    for (const o of INCREMENTAL) {
      const job = jobOf(run, o);
      const changed = await count('src', `SELECT count(*) FROM ct.${o} WHERE sys_change_version > ${v0}`);
      const deleted = await count('src', `SELECT count(*) FROM ct.${o} WHERE sys_change_version > ${v0} AND sys_change_operation = 'D'`);
      assert.equal(job.rows_written, changed, `${o}: one LAND row per changed key`);
      assert.equal(job.steps.find((s) => s.name === 'land').snapshot, false, `${o}: not a snapshot`);
      assert.equal(await count('lake', `SELECT count(*) FROM raw.marketplace_${o} WHERE _job_id = ${job.id}`), changed);
      assert.equal(await count('lake', `SELECT count(*) FROM raw.marketplace_${o} WHERE _job_id = ${job.id}`), changed);
      assert.equal(
        await count('lake', `SELECT count(*) FROM raw.marketplace_${o} WHERE _job_id = ${job.id} AND sys_change_operation = 'D'`),
        deleted,
        `${o}: the deletes`,
      );
    }
    assert.ok(jobOf(run, 'vendas').rows_written >= burst.inserted + burst.deleted);
    // The sale inserted and updated in one transaction is one 'I' with its last values.
    const last = await lake.sql(
      `SELECT sys_change_operation, quantidade FROM raw.marketplace_vendas WHERE _job_id = ${jobOf(run, 'vendas').id} ` +
        `AND id = '${await src.sql('SELECT max(id) FROM vendas')}'`,
    );
    assert.equal(last, 'I|3');
    // The customer deleted before any load saw it is nowhere in TRUSTED.
    assert.equal(await count('lake', "SELECT count(*) FROM trusted.marketplace_clientes WHERE email = 'efemera@example.com'"), 0);
    await assertAllTrustedEqualSource(INCREMENTAL);
    // RAW holds every landed row, no more: each job's LAND partition, attached (LAND keeps none).
    for (const o of INCREMENTAL) {
      assert.equal(
        await count('lake', `SELECT count(*) FROM raw.marketplace_${o}`),
        await count('lake', `SELECT coalesce(sum((s->>'rows')::bigint), 0) FROM control.jobs j, jsonb_array_elements(j.steps) s ` +
          `WHERE j.source_id = (SELECT id FROM control.sources WHERE system = 'marketplace' AND object = '${o}') ` +
          `AND j.loaded_at IS NOT NULL AND s->>'name' = 'land'`),
        `raw.marketplace_${o} = the jobs' landed rows`,
      );
      assert.equal(await count('lake', `SELECT count(*) FROM land.marketplace_${o}`), 0, `land.marketplace_${o} handed its rows to RAW`);
    }
  });

  test('a long transaction that commits after a load started appears in the next incremental load, exactly once', async () => {
    const long = src.session();
    try {
      await long.exec('BEGIN');
      const lateId = await long.exec(
        'INSERT INTO vendas (produto_id, loja_id, cliente_id, data_venda, quantidade, preco_unitario, total) ' +
          "VALUES (2, 2, 2, now(), 2, 50.00, 100.00) RETURNING id",
      );
      const updated = await src.sql('SELECT min(id) FROM vendas');
      await long.exec(`UPDATE vendas SET quantidade = 9, total = 9 * preco_unitario WHERE id = ${updated}`);
      // A short transaction that commits while the long one is still open.
      const quickId = await src.sql(
        'INSERT INTO vendas (produto_id, loja_id, cliente_id, data_venda, quantidade, preco_unitario, total) ' +
          'VALUES (3, 3, 3, now(), 1, 20.00, 20.00) RETURNING id',
      );

      const j1 = await runLoad(srv, demo.vendas.id, 'incremental');
      const inRaw = (id, job) =>
        count('lake', `SELECT count(*) FROM raw.marketplace_vendas WHERE id = '${id}'${job ? ` AND _job_id = ${job}` : ''}`);
      assert.equal(await inRaw(quickId, j1.id), 1, 'the committed sale is in this load');
      assert.equal(await inRaw(lateId), 0, 'the uncommitted sale is not');
      assert.equal(await count('lake', `SELECT count(*) FROM trusted.marketplace_vendas WHERE id = ${lateId}`), 0);
      assert.notEqual(
        await lake.sql(`SELECT quantidade FROM trusted.marketplace_vendas WHERE id = ${updated}`),
        '9',
        'the uncommitted update is not in TRUSTED',
      );

      await long.exec('COMMIT');
      const j2 = await runLoad(srv, demo.vendas.id, 'incremental');
      assert.equal(await inRaw(lateId, j2.id), 1, 'the late sale is in the next load');
      assert.equal(await inRaw(lateId), 1, 'exactly once in LAND');
      assert.equal(await count('lake', `SELECT count(*) FROM raw.marketplace_vendas WHERE id = '${lateId}'`), 1, 'once in RAW');
      assert.equal(await inRaw(quickId), 1, 'the quick sale was not loaded again');
      assert.equal(j2.rows_written, 2, 'the late transaction\'s two rows, nothing else');
      assert.equal(await lake.sql(`SELECT quantidade FROM trusted.marketplace_vendas WHERE id = ${updated}`), '9');
      await assertTrustedEqualsSource(lake, src, defs.vendas);
    } finally {
      await long.end();
    }
  });

  test('a rerun changes nothing: incremental loads with no changes write no rows; a full reload gives the same TRUSTED', async () => {
    const before = {};
    const values = {}; // the definition's columns only
    for (const o of [...FULL, ...INCREMENTAL]) {
      before[o] = await trustedAll(`marketplace_${o}`);
      values[o] = await dumpRows(lake.db, `SELECT ${colList(defs[o])} FROM trusted."marketplace_${o}"`);
    }
    const run = await runPipeline(srv, 'marketplace_postgresql_incremental');
    assert.equal(run.jobs.length, INCREMENTAL.length);
    for (const j of run.jobs) assert.equal(j.rows_written, 0, `${j.name} wrote rows`);
    for (const o of INCREMENTAL) assertSameRows(await trustedAll(`marketplace_${o}`), before[o], `trusted.marketplace_${o} untouched`);

    // A full reload: the same values (only the bookkeeping columns move), and
    // the table swapped in has the same shape: columns in order, types, NOT
    // NULLs, defaults and key.
    const shape = (o) => lake.sql(`SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
        CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
        ', ' ORDER BY a.attnum) || ' / ' || (SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
          WHERE c.conrelid = a.attrelid AND c.contype = 'p')
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = 'trusted.marketplace_${o}'::regclass AND a.attnum > 0 AND NOT a.attisdropped GROUP BY a.attrelid`);
    const shapes = {};
    for (const o of FULL) shapes[o] = await shape(o);
    // an index an operator (or a report) added stays through the swap
    await lake.sql('CREATE INDEX lojas_por_uf ON trusted.marketplace_lojas (uf)');
    const full = await runPipeline(srv, 'marketplace_postgresql_full');
    for (const o of FULL) {
      assert.equal(jobOf(full, o).steps.find((s) => s.name === 'trusted').result.replaced, true, `${o}: the snapshot was swapped in`);
      assert.equal(await shape(o), shapes[o], `trusted.marketplace_${o} keeps its shape`);
      assert.match(shapes[o], /_deleted boolean not null default false/);
    }
    assert.equal(await lake.sql("SELECT indexdef FROM pg_indexes WHERE schemaname = 'trusted' AND indexname = 'lojas_por_uf'"),
      'CREATE INDEX lojas_por_uf ON trusted.marketplace_lojas USING btree (uf)');
    for (const o of FULL) {
      const now = await dumpRows(lake.db, `SELECT ${colList(defs[o])} FROM trusted."marketplace_${o}"`);
      assertSameRows(now, values[o], `trusted.marketplace_${o} after a full reload`);
    }
    await assertAllTrustedEqualSource(FULL);
  });

  test('a full load removes from TRUSTED the rows deleted in the source', async () => {
    await src.sql("INSERT INTO marcas (nome) VALUES ('Marca Passageira')");
    await runLoad(srv, demo.marcas.id, 'full');
    assert.equal(await count('lake', "SELECT count(*) FROM trusted.marketplace_marcas WHERE nome = 'Marca Passageira'"), 1);
    await src.sql("DELETE FROM marcas WHERE nome = 'Marca Passageira'");
    const job = await runLoad(srv, demo.marcas.id, 'full');
    assert.equal(job.steps.find((s) => s.name === 'trusted').result.deleted, 1);
    assert.equal(await count('lake', "SELECT count(*) FROM trusted.marketplace_marcas WHERE nome = 'Marca Passageira'"), 0);
    await assertTrustedEqualsSource(lake, src, defs.marcas);
  });
});

describe('RAW takes LAND\'s partition', () => {
  test('a load\'s LAND partition is attached to RAW\'s day; a day partition made before RAW was partitioned by job takes a copy, and LAND keeps its partition', async () => {
    const first = await runLoad(srv, demo.lojas.id, 'full');
    const raw = first.steps.find((s) => s.name === 'raw');
    assert.equal(raw.attached, true, JSON.stringify(raw));
    assert.equal(raw.rows, first.rows_written);
    const leaf = await lake.sql(`SELECT c.relname || '|' || (SELECT p.relname FROM pg_class p WHERE p.oid = i.inhparent)
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE c.relnamespace = 'raw'::regnamespace AND pg_get_expr(c.relpartbound, c.oid) LIKE '%(''${first.id}'')%'`);
    assert.match(leaf, new RegExp(`^j${first.id}_marketplace_lojas\\|marketplace_lojas_p\\d{8}$`), 'the job\'s partition, under its day');

    // a lake from before: today's RAW partition of lojas is a plain table
    const day = leaf.split('|')[1];
    await lake.sql(`ALTER TABLE raw.marketplace_lojas DETACH PARTITION raw."${day}";
      ALTER TABLE raw."${day}" RENAME TO "${day}_old";
      CREATE TABLE raw."${day}" PARTITION OF raw.marketplace_lojas
        FOR VALUES FROM (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
        TO ((date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC');
      ALTER TABLE raw."${day}" OWNER TO lake`);
    const second = await runLoad(srv, demo.lojas.id, 'full');
    const copied = second.steps.find((s) => s.name === 'raw');
    assert.equal(copied.attached, false);
    assert.match(copied.copied_because, /not partitioned by job/);
    assert.equal(copied.rows, second.rows_written);
    assert.equal(await count('lake', `SELECT count(*) FROM raw."${day}" WHERE _job_id = ${second.id}`), second.rows_written);
    assert.equal(await count('lake', `SELECT count(*) FROM land.marketplace_lojas WHERE _job_id = ${second.id}`), second.rows_written,
      'LAND keeps the copied partition for its retention');
    await assertTrustedEqualsSource(lake, src, defs.lojas);
    // (lojas keeps today's plain partition: its later loads copy, as such a lake's would)

  });
});

describe('bad data', () => {
  test('values the declared type cannot hold go to the quarantine with column, value and reason; the rest is typed', async () => {
    await src.sql(`
      CREATE TABLE eventos (id bigint PRIMARY KEY, dia text, qtd text, obs text);
      INSERT INTO eventos VALUES (1, '2024-01-05', '3', 'a'), (2, 'not a date', '4', 'b'),
        (3, '2024-03-01', 'x12', 'c'), (4, '2024-03-02', '7', NULL), (5, NULL, NULL, 'e');`);
    const def = {
      system: 'qa',
      source_type: 'postgresql',
      database: 'marketplace',
      object: 'eventos',
      load_type: 'full',
      connection_secret: 'env:LAKE_SECRET_MARKETPLACE_URL',
      columns: [
        { name: 'id', type: 'bigint', key: true },
        { name: 'dia', type: 'date' },
        { name: 'qtd', type: 'integer' },
        { name: 'obs', type: 'text' },
      ],
    };
    const source = (await srv.call('POST', '/v1/sources', 201, { body: def })).body;
    const job = await runLoad(srv, source.id, 'full');
    assert.equal(job.rows_written, 5, 'LAND takes every row as text');
    assert.equal(job.rows_quarantined, 2);
    assert.equal(job.steps.find((s) => s.name === 'trusted').result.quarantined, 2);

    const q = await lake.sql(
      `SELECT key->>'id', column_name, value, reason FROM trusted.qa_eventos_quarantine WHERE _job_id = ${job.id} ORDER BY 1`,
    );
    const rows = q.split('\n').map((l) => l.split('|'));
    assert.equal(rows.length, 2, q);
    assert.deepEqual(rows.map((r) => r.slice(0, 3)), [['2', 'dia', 'not a date'], ['3', 'qtd', 'x12']]);
    assert.match(rows[0][3], /date/);
    assert.match(rows[1][3], /integer/);

    assert.deepEqual(
      await dumpRows(lake.db, 'SELECT id, dia, qtd, obs FROM trusted.qa_eventos'),
      ['1\t2024-01-05\t3\ta', '4\t2024-03-02\t7\t\\N', '5\t\\N\t\\N\te'],
    );
    const types = await lake.sql(
      "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute " +
        "WHERE attrelid = 'trusted.qa_eventos'::regclass AND attname IN ('dia', 'qtd')",
    );
    assert.equal(types, 'dia date, qtd integer');

    // Fixed in the source, the row arrives at the next load; the other stays out.
    await src.sql("UPDATE eventos SET dia = '2024-02-02' WHERE id = 2");
    const job2 = await runLoad(srv, source.id, 'full');
    assert.equal(job2.rows_quarantined, 1);
    assert.equal(await lake.sql('SELECT dia FROM trusted.qa_eventos WHERE id = 2'), '2024-02-02');
    assert.equal(await count('lake', 'SELECT count(*) FROM trusted.qa_eventos'), 4);
  });

  test('a failing check fails the job naming the check, and the previous TRUSTED stays intact', async () => {
    await src.sql(`
      CREATE TABLE pessoas (id bigint PRIMARY KEY, nome text, uf text);
      INSERT INTO pessoas SELECT g, 'Pessoa ' || g, 'SP' FROM generate_series(1, 10) g;`);
    const def = {
      system: 'qa',
      source_type: 'postgresql',
      database: 'marketplace',
      object: 'pessoas',
      load_type: 'full',
      connection_secret: 'env:LAKE_SECRET_MARKETPLACE_URL',
      columns: [
        { name: 'id', type: 'bigint', key: true },
        { name: 'nome', type: 'text' },
        { name: 'uf', type: 'text' },
      ],
      options: { checks: [{ check: 'not_null', column: 'nome' }] },
    };
    const source = (await srv.call('POST', '/v1/sources', 201, { body: def })).body;
    await runLoad(srv, source.id, 'full');
    const good = await trustedAll('qa_pessoas');
    assert.equal(good.length, 10);

    await src.sql("UPDATE pessoas SET nome = NULL WHERE id = 3; INSERT INTO pessoas VALUES (11, 'Nova', 'RJ'); DELETE FROM pessoas WHERE id = 1");
    const failed = await runLoad(srv, source.id, 'full', { expect: 'JOB_STATE_FAILED' });
    assert.equal(failed.attempt, 1, 'not retried: the data would not change');
    assert.equal(failed.error_kind, 'permanent');
    assert.match(failed.error, /not_null/);
    assert.match(failed.error, /nome/);
    const checks = failed.steps.find((s) => s.name === 'checks');
    assert.equal(checks?.state, 'JOB_STATE_FAILED', JSON.stringify(failed.steps));
    assert.equal(checks.failed.length, 1);
    assert.equal(checks.failed[0].check.check, 'not_null');
    assert.equal(checks.failed[0].failing_rows, 1);
    assert.equal(failed.steps.find((s) => s.name === 'trusted').state, 'JOB_STATE_FAILED');
    assertSameRows(await trustedAll('qa_pessoas'), good, 'trusted.qa_pessoas after the failed check');

    // Repaired, the next load passes and TRUSTED follows the source.
    await src.sql("UPDATE pessoas SET nome = 'Pessoa 3' WHERE id = 3");
    await runLoad(srv, source.id, 'full');
    await assertTrustedEqualsSource(lake, src, def);
  });
});

describe('REFINED', () => {
  test('the reports exist and their numbers equal the same aggregates computed over the source', async () => {
    const reports = (await lake.sql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'refined'")).split(',');
    for (const r of ['catalogo_produtos', 'desempenho_promocoes', 'top_lojas', 'top_produtos', 'vendas_diarias']) {
      assert.ok(reports.includes(r), `refined.${r} exists (have ${reports})`);
    }
    const connections = await lake.sql(
      "SELECT DISTINCT s->>'connections' FROM control.jobs j, jsonb_array_elements(j.steps) s WHERE s->>'name' = 'refined' AND s ? 'connections'");
    assert.equal(connections, '1', 'SHOPPERLAKE_REFINED_CONNECTIONS=1: every refined step on one connection');

    // vendas_diarias: revenue, sales and items per day (Brasília time).
    assertSameRows(
      await dumpRows(lake.db, 'SELECT dia, sum(vendas), sum(itens), sum(receita) FROM refined.vendas_diarias GROUP BY dia'),
      await dumpRows(
        src.name,
        "SELECT (data_venda AT TIME ZONE 'America/Sao_Paulo')::date, count(*), sum(quantidade), sum(total) FROM vendas GROUP BY 1",
      ),
      'vendas_diarias per day vs the source',
    );

    // top_produtos: revenue ranking over the 30 days up to the last sale.
    assertSameRows(
      await dumpRows(lake.db, 'SELECT produto_id, vendas, receita, posicao FROM refined.top_produtos'),
      await dumpRows(
        src.name,
        "SELECT produto_id, count(*), sum(total), rank() OVER (ORDER BY sum(total) DESC) FROM vendas " +
          "WHERE data_venda > (SELECT max(data_venda) FROM vendas) - interval '30 days' GROUP BY produto_id",
      ),
      'top_produtos vs the source',
    );

    // desempenho_promocoes: the discount given in the most used promotion,
    // and the sales in every promotion.
    const promo = await src.sql(
      'SELECT promocao_id FROM vendas WHERE promocao_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1',
    );
    assert.ok(promo, 'some sale was made in a promotion');
    const want = await src.sql(
      'SELECT count(*), sum(v.quantidade * (p.preco - v.preco_unitario)) FROM vendas v ' +
        `JOIN promocoes pr ON pr.id = v.promocao_id JOIN produtos p ON p.id = pr.produto_id WHERE v.promocao_id = ${promo}`,
    );
    const got = await lake.sql(
      `SELECT vendas_na_promocao, desconto_concedido FROM refined.desempenho_promocoes WHERE promocao_id = ${promo}`,
    );
    assert.equal(got, want, `promotion ${promo}: sales and discount given`);
    assert.ok(Number(got.split('|')[1]) > 0, 'a discount was given');
    assertSameRows(
      await dumpRows(lake.db, 'SELECT promocao_id, vendas_na_promocao, receita_na_promocao FROM refined.desempenho_promocoes'),
      await dumpRows(
        src.name,
        'SELECT pr.id, count(v.id), coalesce(sum(v.total), 0) FROM promocoes pr LEFT JOIN vendas v ON v.promocao_id = pr.id GROUP BY pr.id',
      ),
      'desempenho_promocoes vs the source',
    );

    // top_lojas: revenue per store over the last 30 days.
    assertSameRows(
      await dumpRows(lake.db, 'SELECT loja_id, receita, posicao FROM refined.top_lojas'),
      await dumpRows(
        src.name,
        "SELECT loja_id, sum(total), rank() OVER (ORDER BY sum(total) DESC) FROM vendas " +
          "WHERE data_venda > (SELECT max(data_venda) FROM vendas) - interval '30 days' GROUP BY loja_id",
      ),
      'top_lojas vs the source',
    );
  });
});

describe('the server', () => {
  test('stops cleanly on SIGTERM after all of the above', async () => {
    await srv.stop();
  });
});
