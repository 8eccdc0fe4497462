// Honest commits: a statement that fails inside a job's transaction (the
// load, the TRUSTED merge, the report swap) or inside a migration must fail
// the job or the start-up, never be recorded as done. PostgreSQL answers the
// COMMIT of a transaction in which a statement failed with the tag ROLLBACK
// and no error; each case below injects such a failure with a trigger that
// raises (or a migration that does) and checks what the lake recorded.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Lake, ROOT } from './lib/harness.mjs';
import { SourceDb, marketplaceEnv, registerDemoSources, runLoad } from './lib/marketplace.mjs';

let lake;
let src;
let srv;
let demo;

before(async () => {
  lake = await Lake.create('commits');
  src = await SourceDb.create('commits', { sales: 500 });
  srv = await lake.startServer({ env: marketplaceEnv(src, { SHOPPERLAKE_JOB_MAX_ATTEMPTS: 1 }) });
  demo = await registerDemoSources(srv, ['lojas', 'vendas', 'categorias']);
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    await src?.drop();
  }
});

// A trigger on `table` that raises for rows matching `when` (SQL on NEW).
async function injectFailure(name, table, when) {
  await lake.sql(`
    CREATE FUNCTION public.${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF ${when} THEN RAISE EXCEPTION 'injected failure ${name}'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION public.${name}();`);
  return async () => lake.sql(`DROP TRIGGER ${name} ON ${table}; DROP FUNCTION public.${name}();`);
}

const count = async (sql) => Number(await lake.sql(sql));

describe('a failed statement inside a transaction fails the job', () => {
  test('TRUSTED merge: the job FAILS and TRUSTED keeps nothing of it', async () => {
    const undo = await injectFailure('fail_trusted_mark', 'control.table_refresh', "NEW.layer = 'trusted'");
    try {
      const job = await runLoad(srv, demo.categorias.id, 'full', { expect: 'JOB_STATE_FAILED' });
      assert.match(job.error, /injected failure fail_trusted_mark/);
      const trusted = job.steps.find((s) => s.name === 'trusted');
      assert.notEqual(trusted?.state, 'JOB_STATE_DONE', 'the trusted step is not recorded as done');
      assert.equal(
        await count("SELECT count(*) FROM pg_tables WHERE schemaname = 'trusted' AND tablename = 'marketplace_categorias'"),
        0,
        'the merge that made TRUSTED was rolled back',
      );
    } finally {
      await undo();
    }
    const job = await runLoad(srv, demo.categorias.id, 'full');
    assert.ok(job.rows_written > 0);
    assert.ok((await count('SELECT count(*) FROM trusted.marketplace_categorias')) > 0);
  });

  test('report swap: the job FAILS and the previous report stays', async () => {
    await runLoad(srv, demo.lojas.id, 'full');
    await runLoad(srv, demo.vendas.id, 'full');
    const before = await lake.sql("SELECT count(*) || ':' || sum(receita)::text FROM refined.top_lojas");
    assert.ok(before.length > 0);
    await src.sql('UPDATE vendas SET total = total + 1000 WHERE id IN (SELECT id FROM vendas ORDER BY id LIMIT 50)');
    const undo = await injectFailure('fail_refined_mark', 'control.table_refresh', "NEW.layer = 'refined'");
    try {
      const job = await runLoad(srv, demo.vendas.id, 'full', { expect: 'JOB_STATE_FAILED' });
      assert.match(job.error, /injected failure fail_refined_mark/);
      const refined = job.steps.find((s) => s.name === 'refined');
      assert.notEqual(refined?.state, 'JOB_STATE_DONE', 'the refined step is not recorded as done');
    } finally {
      await undo();
    }
    assert.equal(
      await lake.sql("SELECT count(*) || ':' || sum(receita)::text FROM refined.top_lojas"),
      before,
      'the report was not swapped',
    );
  });

  test('load: the job FAILS and LAND and RAW keep nothing of it', async () => {
    const undo = await injectFailure('fail_loaded', 'control.jobs', 'NEW.loaded_at IS NOT NULL AND OLD.loaded_at IS NULL');
    const landBefore = await count('SELECT count(*) FROM land.marketplace_lojas');
    const rawBefore = await count('SELECT count(*) FROM raw.marketplace_lojas');
    try {
      const job = await runLoad(srv, demo.lojas.id, 'full', { expect: 'JOB_STATE_FAILED' });
      assert.ok(job.error, 'the job says why');
      for (const s of job.steps.filter((st) => ['extract', 'land', 'raw'].includes(st.name)))
        assert.notEqual(s.state, 'JOB_STATE_DONE', `step ${s.name} is not recorded as done`);
    } finally {
      await undo();
    }
    assert.equal(await count('SELECT count(*) FROM land.marketplace_lojas'), landBefore, 'LAND kept nothing of it');
    assert.equal(await count('SELECT count(*) FROM raw.marketplace_lojas'), rawBefore, 'RAW kept nothing of it');
  });
});

describe('a failed migration stops the start', () => {
  test('the server refuses to start and the migration is not recorded', async () => {
    const home = path.join(lake.tmp, 'home');
    mkdirSync(home, { recursive: true });
    for (const d of ['sql', 'openapi']) cpSync(path.join(ROOT, d), path.join(home, d), { recursive: true });
    writeFileSync(
      path.join(home, 'sql/migrations/9999_fails.sql'),
      'CREATE TABLE control.should_not_exist (x int);\nSELECT 1/0;\n',
    );
    const fresh = await Lake.create('commits-mig');
    try {
      const res = await fresh.run({ env: { SHOPPERLAKE_HOME: home } });
      assert.notEqual(res.code, 0, 'the server did not start');
      assert.match(res.stderr, /9999_fails/);
      assert.equal(Number(await fresh.sql("SELECT count(*) FROM control.schema_migrations WHERE version = '9999_fails.sql'")), 0);
      assert.equal(Number(await fresh.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'should_not_exist'")), 0);
    } finally {
      await fresh.close();
    }
  });
});
