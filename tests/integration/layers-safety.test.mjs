// Data-safety defects of the layer steps (issue 16, items 1, 6 and 7), each
// reproduced before its fix:
// 1. a watermark incremental load was merged into TRUSTED as a snapshot and
//    deleted every key it had not seen;
// 6. options.soft_delete was ignored for keys a full snapshot no longer has
//    (they were hard-deleted);
// 7. a null among accepted_values switched the check off;
// 13. (demo change tracking) a TRUNCATE while any long transaction was open
//    made every later incremental fail for good, although nothing was lost;
// 12. any error in a REFINED rebuild failed the job for good, even a
//    cancelled statement (a lock timeout, an admin's cancel).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { Lake, cluster, psqlBin } from './lib/harness.mjs';
import { SourceDb, marketplaceEnv, poll, registerDemoSources, runLoad, startLoad, waitJob } from './lib/marketplace.mjs';

let lake;
let src;
let srv;

before(async () => {
  lake = await Lake.create('laysafe');
  src = await SourceDb.create('laysafe', { sales: 100 });
  srv = await lake.startServer({ env: marketplaceEnv(src, { SHOPPERLAKE_JOB_MAX_ATTEMPTS: 3 }) });
  await src.sql(`
    CREATE TABLE itens (id bigint PRIMARY KEY, nome text NOT NULL, uf text,
                        updated_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO itens (id, nome, uf, updated_at)
      SELECT g, 'item ' || g, CASE WHEN g % 2 = 0 THEN 'SP' ELSE 'RJ' END, '2026-01-01'::timestamptz + g * interval '1 minute'
      FROM generate_series(1, 200) g;`);
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    await src?.drop();
  }
});

const COLUMNS = [
  { name: 'id', type: 'bigint', key: true },
  { name: 'nome', type: 'text' },
  { name: 'uf', type: 'text' },
  { name: 'updated_at', type: 'timestamptz' },
];

async function register(object, over = {}) {
  const res = await srv.call('POST', '/v1/sources', 201, {
    body: {
      system: object.replace(/[^a-z]/g, ''),
      source_type: 'postgresql',
      database: 'marketplace',
      object: 'itens',
      columns: COLUMNS,
      load_type: 'full',
      connection_secret: 'env:LAKE_SECRET_MARKETPLACE_URL',
      ...over,
    },
  });
  return res.body;
}

const trustedCount = async (table, where = 'true') => Number(await lake.sql(`SELECT count(*) FROM trusted."${table}" WHERE ${where}`));

describe('layers never delete what a load did not see', () => {
  test('a watermark incremental load keeps the keys it did not see (item 1)', async () => {
    const s = await register('wm', { load_type: 'incremental', offset_mode: 'watermark', offset_column: 'updated_at' });
    const first = await runLoad(srv, s.id, 'incremental');
    assert.equal(first.rows_written, 200, 'the first load is the snapshot');
    assert.equal(await trustedCount('wm_itens'), 200);
    await src.sql("UPDATE itens SET nome = 'mudou', updated_at = '2027-01-01' WHERE id = 7");
    const second = await runLoad(srv, s.id, 'incremental');
    assert.equal(second.rows_written, 1, 'the watermark load took the one changed row');
    assert.equal(await trustedCount('wm_itens'), 200, 'TRUSTED still has every key');
    assert.equal(await lake.sql('SELECT nome FROM trusted.wm_itens WHERE id = 7'), 'mudou');
    // and again: a later load with nothing new changes nothing
    await runLoad(srv, s.id, 'incremental');
    assert.equal(await trustedCount('wm_itens'), 200);
  });

  test('soft_delete marks the keys a full snapshot no longer has (item 6)', async () => {
    const s = await register('soft', { options: { soft_delete: true } });
    await runLoad(srv, s.id, 'full');
    assert.equal(await trustedCount('soft_itens'), 200);
    await src.sql('DELETE FROM itens WHERE id IN (198, 199, 200)');
    try {
      await runLoad(srv, s.id, 'full');
      assert.equal(await trustedCount('soft_itens'), 200, 'no row is removed');
      assert.equal(await trustedCount('soft_itens', '_deleted'), 3, 'the three gone keys are marked deleted');
      assert.equal(
        await lake.sql('SELECT string_agg(id::text, \',\' ORDER BY id) FROM trusted.soft_itens WHERE _deleted'),
        '198,199,200',
      );
    } finally {
      await src.sql(`INSERT INTO itens (id, nome, uf) VALUES (198, 'item 198', 'SP'), (199, 'item 199', 'RJ'), (200, 'item 200', 'SP')`);
    }
    await runLoad(srv, s.id, 'full');
    assert.equal(await trustedCount('soft_itens', '_deleted'), 0, 'keys that come back are live again');
  });

  test('a null among accepted_values does not switch the check off (item 7)', async () => {
    const s = await register('acc', { options: { checks: [{ check: 'accepted_values', column: 'uf', values: ['SP', 'MG'] }] } });
    // a definition stored before the API refused nulls there
    await lake.sql(`UPDATE control.sources SET options = jsonb_set(options, '{checks,0,values}', '["SP", null, "MG"]') WHERE id = ${s.id}`);
    const job = await runLoad(srv, s.id, 'full', { expect: 'JOB_STATE_FAILED' });
    assert.match(job.error, /accepted_values/);
  });
});

describe('a transient error in a layer step retries', () => {
  test('a REFINED rebuild whose statement is cancelled is retried, not failed (item 12)', async () => {
    const demo = await registerDemoSources(srv, ['lojas', 'vendas']);
    await runLoad(srv, demo.lojas.id, 'full');
    await runLoad(srv, demo.vendas.id, 'full');
    assert.ok(Number(await lake.sql('SELECT count(*) FROM refined.top_lojas')) > 0);

    // hold the report's table, so the next rebuild waits on its lock
    const c = await cluster();
    const holder = spawn(psqlBin(), ['-X', '-q', '-v', 'ON_ERROR_STOP=1',
      `postgresql:///${lake.db}?host=${encodeURIComponent(c.socketDir)}&port=${c.port}&user=postgres`],
    { stdio: ['pipe', 'ignore', 'inherit'] });
    holder.stdin.write('BEGIN; LOCK TABLE refined.top_lojas IN ACCESS EXCLUSIVE MODE; SELECT 1;\n');
    try {
      await poll(async () => (await lake.sql("SELECT count(*) FROM pg_locks WHERE relation = 'refined.top_lojas'::regclass AND granted")) === '1',
        { what: 'the lock is held' });
      const job = await startLoad(srv, demo.vendas.id, 'full');
      // the rebuild waits on the lock: cancel its statement as an admin would
      const waiting = await poll(async () => {
        const pid = await lake.sql(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                                      AND wait_event_type = 'Lock'
                                      AND (query ILIKE '%top_lojas%' OR query ILIKE '%refined_replace%') LIMIT 1`);
        return pid || null;
      }, { what: 'the rebuild waits on the lock', timeoutMs: 30_000 });
      await lake.sql(`SELECT pg_cancel_backend(${waiting})`);
      holder.stdin.end('COMMIT;\n');
      const done = await waitJob(srv, job.id, { timeoutMs: 60_000 });
      assert.equal(done.state, 'JOB_STATE_DONE', `the job was retried: ${done.error ?? ''}`);
      assert.ok(done.attempt >= 2, 'a second attempt ran');
    } finally {
      if (holder.exitCode === null) holder.kill();
    }
  });
});

describe('demo change tracking', () => {
  test('a TRUNCATE during a long transaction does not block incremental loads for good (item 13)', async () => {
    await src.sql(`CREATE TABLE itens_ct (id bigint PRIMARY KEY, nome text NOT NULL, uf text,
                                          updated_at timestamptz NOT NULL DEFAULT now());
                   SELECT ct.enable('itens_ct');
                   INSERT INTO itens_ct (id, nome) SELECT g, 'antes ' || g FROM generate_series(1, 50) g;`);
    const c = await cluster();
    // a long transaction elsewhere in the cluster keeps every snapshot's xmin low
    const holder = spawn(psqlBin(), ['-X', '-q', '-v', 'ON_ERROR_STOP=1',
      `postgresql:///postgres?host=${encodeURIComponent(c.socketDir)}&port=${c.port}&user=postgres`],
    { stdio: ['pipe', 'ignore', 'inherit'] });
    holder.stdin.write('BEGIN; SELECT pg_current_xact_id();\n');
    try {
      await poll(async () => Number(await lake.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'postgres' AND state = 'idle in transaction' AND backend_xid IS NOT NULL")) > 0,
        { what: 'the long transaction is open' });
      await src.sql(`TRUNCATE itens_ct;
                     INSERT INTO itens_ct (id, nome) SELECT g, 'depois ' || g FROM generate_series(1, 40) g;`);
      const s = await register('ctt', { object: 'itens_ct', load_type: 'incremental' });
      const first = await runLoad(srv, s.id, 'incremental');
      assert.equal(first.rows_written, 40);
      await src.sql("UPDATE itens_ct SET nome = 'mudou' WHERE id = 3");
      const second = await runLoad(srv, s.id, 'incremental');
      assert.equal(second.rows_written, 1, 'the change after the full load, once');
      assert.equal(await lake.sql('SELECT nome FROM trusted.ctt_itens_ct WHERE id = 3'), 'mudou');
      assert.equal(await trustedCount('ctt_itens_ct'), 40);
    } finally {
      holder.stdin.end('COMMIT;\n');
    }
  });

  test('an offset taken before a TRUNCATE still asks for a full load', async () => {
    const s = await register('ctu', { object: 'itens_ct', load_type: 'incremental' });
    await runLoad(srv, s.id, 'incremental');
    await src.sql("TRUNCATE itens_ct; INSERT INTO itens_ct (id, nome) VALUES (1, 'só')");
    const job = await runLoad(srv, s.id, 'incremental', { expect: 'JOB_STATE_FAILED' });
    assert.match(job.error, /run a full load/);
  });
});

describe('a first load of changes into an empty TRUSTED (built aside, not merged row by row)', () => {
  // RAW rows as an extractor of changes lands them: every row I, U or D.
  async function landChanges(system, job, rows) {
    const s = await register(system, { load_type: 'incremental', offset_mode: 'watermark', offset_column: 'updated_at' });
    const t = `${system}_itens`;
    const values = rows.map(([id, nome, v, op]) =>
      `('${id}', ${nome === null ? 'NULL' : `'${nome}'`}, 'SP', '2026-01-01', ${v}, '${op}')`).join(', ');
    await lake.sql(`SET ROLE lake;
      CREATE TABLE land."${t}" (id text, nome text, uf text, updated_at text, sys_change_version bigint,
        sys_change_operation char(1), _job_id bigint NOT NULL, _partitiontime timestamptz NOT NULL) PARTITION BY LIST (_job_id);
      CREATE TABLE land."j${job}_${t}" PARTITION OF land."${t}" FOR VALUES IN (${job});
      INSERT INTO land."j${job}_${t}" (id, nome, uf, updated_at, sys_change_version, sys_change_operation, _job_id, _partitiontime)
        SELECT v.*, ${job}, now() FROM (VALUES ${values}) v;
      SELECT layers.raw_append(${s.id}, ${job});`);
    return { s, t };
  }
  const merge = async (s) => JSON.parse(await lake.sql(`SET ROLE lake; SELECT layers.trusted_merge(${s.id})`));
  const rowsOf = (t) => lake.sql(`SELECT string_agg(id || '=' || nome, ',' ORDER BY id) FROM trusted."${t}"`);

  test('a key twice: the newest row wins; a key inserted then deleted in the same load is not there', async () => {
    const { s, t } = await landChanges('swdup', 9001,
      [[1, 'um', 1, 'I'], [2, 'dois', 2, 'I'], [2, 'dois bis', 3, 'U'], [3, 'tres', 4, 'I'], [3, null, 5, 'D']]);
    const res = await merge(s);
    assert.equal(res.replaced, true, JSON.stringify(res));
    assert.equal(await rowsOf(t), '1=um,2=dois bis');
  });

  test('unique keys without deletes: typed as they lie, every row', async () => {
    const { s, t } = await landChanges('swuniq', 9002, [[1, 'um', 1, 'I'], [2, 'dois', 2, 'U'], [3, 'tres', 3, 'I']]);
    const res = await merge(s);
    assert.equal(res.replaced, true, JSON.stringify(res));
    assert.equal(res.merged, 3);
    assert.equal(await rowsOf(t), '1=um,2=dois,3=tres');
  });

  test('a later batch that repeats rows unchanged writes only what changed', async () => {
    const { s, t } = await landChanges('swsame', 9011, [[1, 'um', 1, 'U'], [2, 'dois', 2, 'U'], [3, 'tres', 3, 'U']]);
    await merge(s);
    await lake.sql(`SET ROLE lake; UPDATE trusted."${t}" SET _deleted = true WHERE id = 3;
      CREATE TABLE land."j9012_${t}" PARTITION OF land."${t}" FOR VALUES IN (9012);
      INSERT INTO land."j9012_${t}" (id, nome, uf, updated_at, sys_change_version, sys_change_operation, _job_id, _partitiontime)
        VALUES ('1', 'um', 'SP', '2026-01-01', 11, 'U', 9012, now()), ('2', 'DOIS', 'SP', '2026-01-01', 12, 'U', 9012, now()),
               ('3', 'tres', 'SP', '2026-01-01', 13, 'U', 9012, now()), ('4', 'quatro', 'SP', '2026-01-01', 14, 'U', 9012, now());
      SELECT layers.raw_append(${s.id}, 9012);`);
    const res = await merge(s);
    assert.equal(res.merged, 3, `changed 2, revived 3, new 4; 1 left alone: ${JSON.stringify(res)}`);
    assert.equal(await rowsOf(t), '1=um,2=DOIS,3=tres,4=quatro');
    assert.equal(await lake.sql(`SELECT string_agg(id || ':' || _job_id || ':' || _deleted, ',' ORDER BY id) FROM trusted."${t}"`),
      '1:9011:false,2:9012:false,3:9012:false,4:9012:false', 'the unchanged row keeps the job that brought it');
  });

  test('a batch changing a quarter of a filled table or more is built aside, with the same rows as the merge', async () => {
    // two sources fed the same rows; a view on the second keeps it merged in place
    const land = (t, job, sql) => lake.sql(`SET ROLE lake;
      CREATE TABLE land."j${job}_${t}" PARTITION OF land."${t}" FOR VALUES IN (${job});
      INSERT INTO land."j${job}_${t}" (id, nome, uf, updated_at, sys_change_version, sys_change_operation, _job_id, _partitiontime)
        SELECT id::text, nome, 'SP', '2026-01-01', v, op, ${job}, now() FROM (${sql}) x;`);
    const first = 'SELECT g AS id, \'item \' || g AS nome, g AS v, \'U\' AS op FROM generate_series(1, 120000) g';
    const second = `SELECT g AS id, CASE WHEN g > 5000 THEN 'novo ' || g ELSE 'item ' || g END AS nome, 200000 + g AS v,
                           CASE WHEN g BETWEEN 100001 AND 105000 THEN 'D' ELSE 'U' END AS op
                      FROM generate_series(1, 105000) g
                    UNION ALL SELECT g, 'chegou ' || g, 400000 + g, 'U' FROM generate_series(200001, 205000) g`;
    const results = [];
    for (const [system, view] of [['rbaside', false], ['rbmerge', true]]) {
      const { s, t } = await landChanges(system, 9031, [[999999, 'x', 1, 'D']]);
      await merge(s);
      await land(t, 9032, first);
      await lake.sql(`SET ROLE lake; SELECT layers.raw_append(${s.id}, 9032)`);
      await merge(s);
      if (view) await lake.sql(`SET ROLE lake; CREATE VIEW public.${t}_v AS SELECT * FROM trusted."${t}"`);
      await lake.sql(`SET ROLE lake; ANALYZE trusted."${t}"`);
      await land(t, 9033, second);
      await lake.sql(`SET ROLE lake; SELECT layers.raw_append(${s.id}, 9033)`);
      const res = await merge(s);
      results.push({ res, rows: await lake.sql(`SELECT md5(string_agg(concat_ws('|', id, nome, uf, updated_at, _job_id, _change_version, _deleted), ',' ORDER BY id)) FROM trusted."${t}"`),
        jobs: await lake.sql(`SELECT string_agg(_job_id || ':' || n, ',' ORDER BY _job_id) FROM (SELECT _job_id, count(*) n FROM trusted."${t}" GROUP BY 1) x`) });
      if (view) await lake.sql(`SET ROLE lake; DROP VIEW public.${t}_v`);
    }
    const [aside, merged] = results;
    assert.equal(aside.res.replaced, true, `built aside: ${JSON.stringify(aside.res)}`);
    assert.ok(merged.res.not_swapped_because, `merged in place: ${JSON.stringify(merged.res)}`);
    assert.equal(aside.jobs, '9032:20000,9033:100000', 'unchanged and untouched rows keep the job that brought them; 5 000 deleted, 5 000 new');
    assert.equal(aside.rows, merged.rows, 'the same rows either way');
    for (const k of ['merged', 'deleted', 'batch']) assert.equal(aside.res[k], merged.res[k], k);
    assert.equal(aside.res.merged, 100000, '95 000 changed, 5 000 new');
    assert.equal(aside.res.deleted, 5000);
  });

  test('a key written two ways (7 and 07) is one key: the newest row wins, first load or not', async () => {
    const { s, t } = await landChanges('swzero', 9041, [[7, 'sete', 1, 'U'], ['07', 'sete bis', 2, 'U'], [8, 'oito', 3, 'U']]);
    await merge(s);
    assert.equal(await rowsOf(t), '7=sete bis,8=oito');
    await lake.sql(`SET ROLE lake;
      CREATE TABLE land."j9042_${t}" PARTITION OF land."${t}" FOR VALUES IN (9042);
      INSERT INTO land."j9042_${t}" (id, nome, uf, updated_at, sys_change_version, sys_change_operation, _job_id, _partitiontime)
        VALUES ('008', 'oito bis', 'SP', '2026-01-01', 4, 'U', 9042, now()), ('8', 'oito ter', 'SP', '2026-01-01', 5, 'U', 9042, now());
      SELECT layers.raw_append(${s.id}, 9042);`);
    const res = await merge(s);
    assert.equal(res.merged, 1, JSON.stringify(res));
    assert.equal(await rowsOf(t), '7=sete bis,8=oito ter');
  });

  test('a first big batch into an empty table a foreign key points at keeps its key constraint', async () => {
    const { s, t } = await landChanges('fkempty', 9051, [[1, 'x', 1, 'D']]);
    await merge(s);
    assert.equal(await trustedCount(t), 0, 'made, empty');
    await lake.sql(`SET ROLE lake; CREATE TABLE public.fk_child (item_id bigint REFERENCES trusted."${t}" (id))`);
    await lake.sql(`SET ROLE lake;
      CREATE TABLE land."j9052_${t}" PARTITION OF land."${t}" FOR VALUES IN (9052);
      INSERT INTO land."j9052_${t}" (id, nome, uf, updated_at, sys_change_version, sys_change_operation, _job_id, _partitiontime)
        SELECT g::text, 'item ' || g, 'SP', '2026-01-01', g, 'U', 9052, now() FROM generate_series(1, 12000) g;
      SELECT layers.raw_append(${s.id}, 9052);`);
    const res = await merge(s);
    assert.equal(res.merged, 12000, JSON.stringify(res));
    assert.match(res.not_swapped_because, /foreign key/);
    await lake.sql('SET ROLE lake; DROP TABLE public.fk_child');
  });

  test('a key twice whose newest row comes first in the file still wins', async () => {
    const { s, t } = await landChanges('swlate', 9003, [[7, 'novo', 9, 'U'], [7, 'velho', 2, 'I']]);
    await merge(s);
    assert.equal(await rowsOf(t), '7=novo');
  });
});

describe('a TRUSTED table others depend on is merged in place, never swapped', () => {
  // A swap drops the live table and renames the new one in: what hangs on
  // the live table (an analyst's view, a foreign key, a trigger) would stop
  // the swap or be lost with it.
  test('a view, a trigger and a foreign key on TRUSTED survive a snapshot load', async () => {
    const s = await register('dep');
    await runLoad(srv, s.id, 'full');
    assert.equal(await trustedCount('dep_itens'), 200);
    await lake.sql(`SET ROLE lake;
      CREATE TABLE public.dep_log (id bigint, at timestamptz DEFAULT now());
      CREATE FUNCTION public.dep_log_row() RETURNS trigger LANGUAGE plpgsql AS
        'BEGIN INSERT INTO public.dep_log (id) VALUES (NEW.id); RETURN NEW; END';
      CREATE TRIGGER dep_log AFTER UPDATE ON trusted.dep_itens FOR EACH ROW EXECUTE FUNCTION public.dep_log_row();
      CREATE VIEW public.dep_sp AS SELECT id, nome FROM trusted.dep_itens WHERE uf = 'SP';
      CREATE TABLE public.dep_child (item_id bigint REFERENCES trusted.dep_itens (id));
      INSERT INTO public.dep_child VALUES (4);`);
    await src.sql("UPDATE itens SET nome = 'mudou' WHERE id = 4");
    const job = await runLoad(srv, s.id, 'full');
    const step = job.steps.find((x) => x.name === 'trusted');
    assert.equal(step.state, 'JOB_STATE_DONE', JSON.stringify(step));
    assert.notEqual(step.result.replaced, true, 'not swapped: others depend on the table');
    assert.equal(await lake.sql('SELECT nome FROM public.dep_sp WHERE id = 4'), 'mudou', 'the view reads the new rows');
    assert.ok(Number(await lake.sql('SELECT count(*) FROM public.dep_log WHERE id = 4')) >= 1, 'the trigger fired');
    assert.equal(await lake.sql("SELECT count(*) FROM pg_constraint WHERE confrelid = 'trusted.dep_itens'::regclass"), '1',
      'the foreign key still points at TRUSTED');
    await src.sql("UPDATE itens SET nome = 'item 4' WHERE id = 4");
    await lake.sql('SET ROLE lake; DROP VIEW public.dep_sp; DROP TABLE public.dep_child, public.dep_log; DROP FUNCTION public.dep_log_row() CASCADE');
    // with nothing hanging on it any more, the next snapshot is swapped in again
    const again = await runLoad(srv, s.id, 'full');
    assert.equal(again.steps.find((x) => x.name === 'trusted').result.replaced, true);
  });

  test('a swapped-in table keeps the live one\'s grants, storage options and comments', async () => {
    const s = await register('acl');
    await runLoad(srv, s.id, 'full');
    const role = `acl_analyst_${process.pid}`;
    await lake.sql(`SET ROLE lake; CREATE ROLE ${role} NOLOGIN;
      GRANT SELECT, INSERT ON trusted.acl_itens TO ${role};
      REVOKE SELECT ON trusted.acl_itens FROM lake_reader;
      ALTER TABLE trusted.acl_itens SET (autovacuum_vacuum_scale_factor = 0.05);
      COMMENT ON TABLE trusted.acl_itens IS 'itens, do marketplace';
      COMMENT ON COLUMN trusted.acl_itens.nome IS 'o nome que o cliente vê'`);
    const job = await runLoad(srv, s.id, 'full');
    assert.equal(job.steps.find((x) => x.name === 'trusted').result.replaced, true, 'swapped');
    const privs = (r) => lake.sql(`SELECT string_agg(p, ',' ORDER BY p) FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE']) p
                                    WHERE has_table_privilege('${r}', 'trusted.acl_itens', p)`);
    assert.equal(await privs(role), 'INSERT,SELECT', 'the analyst keeps what was granted');
    assert.equal(await privs('lake_reader'), '', 'a revoked privilege stays revoked');
    assert.equal(await lake.sql("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'trusted.acl_itens'::regclass"),
      'autovacuum_vacuum_scale_factor=0.05');
    assert.equal(await lake.sql("SELECT obj_description('trusted.acl_itens'::regclass, 'pg_class')"), 'itens, do marketplace');
    assert.equal(await lake.sql("SELECT col_description('trusted.acl_itens'::regclass, 2)"), 'o nome que o cliente vê');
    await lake.sql(`REVOKE ALL ON trusted.acl_itens FROM ${role}; DROP ROLE ${role}`);
  });
});
