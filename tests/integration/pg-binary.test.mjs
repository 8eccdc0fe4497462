// A PostgreSQL snapshot read in binary (jobs/sources/postgresql_binary.c)
// and TRUSTED built from the typed copy made while it landed
// (jobs/layers/trusted_stage.c). The same source table, of every type the
// binary path takes and their edge values (NaN and infinities, BC dates, the
// largest timestamps, escapes, Unicode, NULLs) plus random rows, is loaded
// twice: once in binary, once on the text path (one column declared with
// another type keeps it there). RAW's text must be byte for byte what
// PostgreSQL's own text COPY gave, and TRUSTED must equal RAW's rows typed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Lake } from './lib/harness.mjs';
import { SourceDb, assertSameRows, dumpRows, runLoad } from './lib/marketplace.mjs';

const COLUMNS = [
  ['id', 'bigint'], ['b', 'boolean'], ['i2', 'smallint'], ['i4', 'integer'], ['i8', 'bigint'],
  ['n', 'numeric'], ['n2', 'numeric(12,2)'], ['t', 'text'], ['v', 'varchar(20)'], ['c', 'char(5)'],
  ['d', 'date'], ['ts', 'timestamp'], ['tz', 'timestamptz'], ['tz3', 'timestamptz(3)'],
  ['j', 'json'], ['jb', 'jsonb'], ['u', 'uuid'],
];
const names = COLUMNS.map(([n]) => n);
const cols = names.map((n) => `"${n}"`).join(', ');

const EDGES = `
INSERT INTO tipos VALUES
 (1, true, -32768, -2147483648, -9223372036854775808, 0, 0, '', '', '', '2000-01-01', '2000-01-01 00:00:00',
  '2000-01-01 00:00:00+00', '2000-01-01 00:00:00.123+00', '{}', '{}', '00000000-0000-0000-0000-000000000000'),
 (2, false, 32767, 2147483647, 9223372036854775807, 'NaN', -0.01, E'tab\\there\\nnew\\\\back\\rcr\\bbell\\x01', 'x y',
  'ab', '1999-12-31', '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59.999999+00', '1999-12-31 23:59:59.9995+00',
  '[1,  "a\\tb", {"k": null}]', '{"b": [1, 2.50, "x\\ny"], "a": true}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, true, 0, 0, 0, 'Infinity', 9999999999.99, 'ção 日本 😀 \\N', 'ünï', 'é', '0001-01-01 BC',
  '0044-03-15 12:30:00.5 BC', '4713-01-01 00:00:00+00 BC', '0001-12-31 23:59:59.001+00 BC', '"s"', '"s"',
  'ffffffff-ffff-ffff-ffff-ffffffffffff'),
 (5, false, -1, -1, -1, '-Infinity', -9999999999.99, '\\', ' ', ' a', 'infinity', 'infinity', '-infinity', 'infinity',
  'null', 'null', '12345678-9abc-def0-1234-56789abcdef0'),
 (6, true, 1, 1, 1, -0.00001234, 0.5, E'\\t', E'\\n', E'\\r', '-infinity', '-infinity', 'infinity', '-infinity',
  '1.50', '1.50', '00000000-0000-0000-0000-000000000001'),
 (7, false, 100, 100000, 10000000000, '123456789012345678901234567890.123456789012345678901234567890', 1.5,
  repeat('long ', 2000), repeat('v', 20), 'abcde', '5874897-12-31', '294276-12-31 23:59:59.999999',
  '294276-12-31 23:59:59.999999+00', '2024-02-29 12:00:00+05:30', '{"a": {"b": {"c": [1, 2, 3]}}}',
  '{"a": {"b": {"c": [1, 2, 3]}}}', 'b1a2c3d4-0000-4000-8000-000000000000'),
 (8, true, 2, 2, 2, 1e-20, 10000.5, 'x', 'x', 'x', '1970-01-01', '1900-02-28 00:00:01', '1969-12-31 23:59:59.5+00',
  '1969-12-31 23:59:59.5+00', '[]', '[]', NULL),
 (9, NULL, 3, 3, 3, 100000000000000000000, 0.10, 'x', 'x', 'x', '4713-01-01 BC', '4713-01-01 00:00:00 BC',
  '2000-02-29 00:00:00.000001+00', NULL, '{"deep": "\\u00e9\\"q\\""}', '{"deep": "\\u00e9\\"q\\""}', NULL),
 (10, NULL, 4, 4, 4, 0.000, 0.00, 'x', 'x', 'x', '2400-02-29', '1600-02-29 23:59:59', '1582-10-04 12:00:00+00',
  '1582-10-15 12:00:00+00', NULL, NULL, NULL);
`;

// Random rows: numbers at every scale, text of any character but NUL (tabs,
// newlines, backslashes, Unicode), dates and times across millennia, BC too.
const RANDOM = `
INSERT INTO tipos
SELECT g, random() < 0.5,
       (random() * 65534 - 32767)::int, (random() * 4e9 - 2e9)::bigint::int, (random() * 1e18 - 5e17)::bigint,
       CASE WHEN g % 17 = 0 THEN NULL ELSE round(((random() - 0.5) * 10 ^ (g % 25))::numeric, g % 15) END,
       round((random() * 1e9)::numeric, 2),
       (SELECT string_agg(chr(s - s + 1 + (random() * CASE WHEN g % 3 = 0 THEN 130 ELSE 1200 END)::int), '') FROM generate_series(1, g % 40 + 1) s),
       left(md5(g::text), g % 20), left(md5(g::text), g % 5),
       date '2000-01-01' + ((random() - 0.5) * 2400000)::int,
       timestamp '2000-01-01' + (random() - 0.5) * interval '2400000 days' + (random() * 1e6)::int * interval '1 microsecond',
       timestamptz '2000-01-01 00:00:00+00' + (random() - 0.5) * interval '1000000 days',
       timestamptz '2000-01-01 00:00:00+00' + (random() - 0.5) * interval '100000 days',
       json_build_object('g', g, 's', chr(1 + (random() * 200)::int), 'f', random()),
       jsonb_build_object('g', g, 's', chr(1 + (random() * 200)::int), 'n', round(random()::numeric, g % 7)),
       md5(g::text || 'u')::uuid
  FROM generate_series(100, 3099) g;
ANALYZE tipos;
`;

let lake;
let src;
let srv;
let bin; // the source read in binary
let txt; // the same table, kept on the text path

function definition(system, object, override = {}) {
  return {
    system,
    source_type: 'postgresql',
    database: 'tipos',
    object,
    load_type: 'full',
    connection_secret: 'env:LAKE_SECRET_TIPOS_URL',
    columns: COLUMNS.map(([name, type]) => ({ name, type: override[name] ?? type, ...(name === 'id' ? { key: true } : {}) })),
  };
}

const trustedStep = (job) => job.steps.find((s) => s.name === 'trusted');
const stages = () => lake.sql(`SELECT count(*) FROM pg_class WHERE relnamespace = 'land'::regnamespace AND relname LIKE 'stage-%'`);

before(async () => {
  lake = await Lake.create('pgbinary');
  src = await SourceDb.create('pgbinary', { sales: 0 });
  await src.sql(`CREATE TABLE tipos (${COLUMNS.map(([n, t]) => `"${n}" ${t}`).join(', ')}, PRIMARY KEY (id))`);
  await src.sql(EDGES);
  await src.sql(RANDOM);
  srv = await lake.startServer({ env: { LAKE_SECRET_TIPOS_URL: src.url, SHOPPERLAKE_WORKERS: 2 } });
  bin = (await srv.call('POST', '/v1/sources', 201, { body: definition('bin', 'tipos') })).body;
  // an integer declared bigint: binary values would be read as another type, so this one stays text
  txt = (await srv.call('POST', '/v1/sources', 201, { body: definition('txt', 'tipos', { i4: 'bigint' }) })).body;
});

after(async () => {
  try {
    if (srv && !srv.exit) await srv.stop();
    await lake?.close();
  } finally {
    await src?.drop();
  }
});

describe('a PostgreSQL snapshot read in binary', () => {
  let binJob;
  let txtJob;

  test('LAND keeps the text PostgreSQL gives, TRUSTED is built from the typed copy and equals RAW typed', async () => {
    binJob = await runLoad(srv, bin.id, 'full');
    txtJob = await runLoad(srv, txt.id, 'full');
    assert.equal(binJob.rows_written, 3010);
    assert.equal(trustedStep(binJob).result.typed_while_landing, true, 'the binary load took the typed copy');
    assert.notEqual(trustedStep(txtJob).result.typed_while_landing, true, 'the text load typed RAW');

    // RAW: byte for byte the same text on both paths (COPY's text output of RAW's text columns)
    const rawBin = await dumpRows(lake.db, `SELECT ${cols} FROM raw.bin_tipos WHERE _job_id = ${binJob.id}`);
    const rawTxt = await dumpRows(lake.db, `SELECT ${cols} FROM raw.txt_tipos WHERE _job_id = ${txtJob.id}`);
    assert.equal(rawBin.length, 3010);
    assertSameRows(rawBin, rawTxt, 'RAW read in binary vs RAW read as text');

    // TRUSTED equals RAW's rows cast to the declared types, and the text path's TRUSTED
    const typed = COLUMNS.map(([n, t]) => `"${n}"::${t}`).join(', ');
    const trustedBin = await dumpRows(lake.db, `SELECT ${cols} FROM trusted.bin_tipos`);
    assertSameRows(trustedBin, await dumpRows(lake.db, `SELECT ${typed} FROM raw.bin_tipos WHERE _job_id = ${binJob.id}`),
      'TRUSTED vs RAW typed');
    assertSameRows(trustedBin, await dumpRows(lake.db, `SELECT ${cols} FROM trusted.txt_tipos`), 'TRUSTED of both paths');
    // and the source itself
    assertSameRows(trustedBin, await dumpRows(src.name, `SELECT ${cols} FROM tipos`), 'TRUSTED vs the source');

    // the bookkeeping columns are those a merge writes
    const meta = await lake.sql(`SELECT count(*) FILTER (WHERE _job_id = ${binJob.id} AND _change_version IS NULL AND NOT _deleted
                                   AND _merged_at IS NOT NULL), count(*) FROM trusted.bin_tipos`);
    assert.equal(meta, '3010|3010');
    const layout = await lake.sql(`SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull, ', ' ORDER BY attnum)
                                     FROM pg_attribute WHERE attrelid = 'trusted.bin_tipos'::regclass AND attnum > 0 AND NOT attisdropped`);
    const txtLayout = await lake.sql(`SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull, ', ' ORDER BY attnum)
                                        FROM pg_attribute WHERE attrelid = 'trusted.txt_tipos'::regclass AND attnum > 0 AND NOT attisdropped`);
    assert.equal(layout, txtLayout.replace('i4 bigint', 'i4 integer'), 'the same columns, types and NOT NULLs as a typed RAW');
    // the key the typed copy built as it committed, under the name a merge gives it
    assert.equal(await lake.sql(`SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
                                  WHERE conrelid = 'trusted.bin_tipos'::regclass AND contype = 'p'`),
      'bin_tipos_pkey PRIMARY KEY (id)');
    assert.equal(await lake.sql(`SELECT coalesce(obj_description('trusted.bin_tipos'::regclass, 'pg_class'), 'none')`), 'none');
    assert.equal(await stages(), '0', 'no typed copy is left in LAND');
  });

  test('a reload into the filled table: deleted and changed rows, the same answer as the text path', async () => {
    await src.sql(`DELETE FROM tipos WHERE id BETWEEN 200 AND 249;
                   UPDATE tipos SET t = t || E'\\tchanged', tz = tz + interval '1 second' WHERE id % 10 = 3;
                   INSERT INTO tipos (id, n, d) VALUES (5000, 42.4200, '2026-12-02')`);
    const again = await runLoad(srv, bin.id, 'full');
    const againTxt = await runLoad(srv, txt.id, 'full');
    assert.equal(trustedStep(again).result.typed_while_landing, true);
    assert.equal(trustedStep(again).result.deleted, 50);
    assert.equal(trustedStep(againTxt).result.deleted, 50);
    const trustedBin = await dumpRows(lake.db, `SELECT ${cols} FROM trusted.bin_tipos`);
    assertSameRows(trustedBin, await dumpRows(src.name, `SELECT ${cols} FROM tipos`), 'TRUSTED vs the source after changes');
    assertSameRows(trustedBin, await dumpRows(lake.db, `SELECT ${cols} FROM trusted.txt_tipos`), 'TRUSTED of both paths');
    assert.equal(await stages(), '0');
  });

  test('duplicate keys: the typed copy is not taken, the newest row per key is picked from RAW as before', async () => {
    await src.sql(`CREATE TABLE dups (id bigint, v text); INSERT INTO dups VALUES (1, 'a'), (1, 'a'), (2, 'b')`);
    const dups = (await srv.call('POST', '/v1/sources', 201, {
      body: { ...definition('bin', 'dups'), columns: [{ name: 'id', type: 'bigint', key: true }, { name: 'v', type: 'text' }] },
    })).body;
    const job = await runLoad(srv, dups.id, 'full');
    assert.notEqual(trustedStep(job).result.typed_while_landing, true);
    assert.equal(await lake.sql('SELECT string_agg(id || v, \',\' ORDER BY id) FROM trusted.bin_dups'), '1a,2b');
    assert.equal(await stages(), '0', 'the unused copy was dropped');
  });

  test('a typed copy that does not match the job is never taken: dropped instead', async () => {
    const next = binJob.id + 100000;
    // one of an earlier job (a load that failed after it committed), one whose LAND partition is another
    await lake.sql(`CREATE TABLE land."stage-s${bin.id}-j1" (id bigint);
                    CREATE TABLE land."stage-s${bin.id}-j${next}" (id bigint);
                    COMMENT ON TABLE land."stage-s${bin.id}-j${next}" IS '{"land": 1, "columns": "x", "rows": 0}'`);
    assert.equal(await lake.sql(`SELECT layers.trusted_stage(${bin.id}, ${next}) IS NULL`), 't');
    assert.equal(await stages(), '0');
    // the right LAND partition but columns changed since
    const [oid] = (await lake.sql(`SELECT tableoid::oid FROM raw.bin_tipos WHERE _job_id = ${binJob.id} LIMIT 1`)).split('\n');
    await lake.sql(`CREATE TABLE land."stage-s${bin.id}-j${binJob.id}" (id bigint);
                    COMMENT ON TABLE land."stage-s${bin.id}-j${binJob.id}" IS '{"land": ${oid}, "columns": "changed", "rows": 1}'`);
    assert.equal(await lake.sql(`SELECT layers.trusted_stage(${bin.id}, ${binJob.id}) IS NULL`), 't');
    // and the same with the definition's columns: taken
    await lake.sql(`CREATE TABLE land."stage-s${bin.id}-j${binJob.id}" (id bigint);
                    SELECT set_config('x.c', md5(columns::text), false) FROM control.sources WHERE id = ${bin.id};
                    DO $$ BEGIN EXECUTE format('COMMENT ON TABLE land."stage-s${bin.id}-j${binJob.id}" IS %L',
                      jsonb_build_object('land', ${oid}, 'columns', current_setting('x.c'), 'rows', 1)); END $$`);
    assert.equal(await lake.sql(`SELECT layers.trusted_stage(${bin.id}, ${binJob.id})::text`), `land."stage-s${bin.id}-j${binJob.id}"`);
    // one no merge will ever look at (its job has ended): retention drops it, and only it
    await lake.sql(`CREATE TABLE land."stage-s${txt.id}-j${txtJob.id}" (id bigint)`);
    const kept = await lake.sql(`SELECT layers.retention(now(), 0)->'dropped'`);
    assert.match(kept, new RegExp(`stage-s${bin.id}-j${binJob.id}`));
    assert.match(kept, new RegExp(`stage-s${txt.id}-j${txtJob.id}`));
    assert.equal(await stages(), '0');
    assert.equal(await lake.sql(`SELECT count(*) FROM raw.bin_tipos`), String(3010 + 2961), 'RAW keeps its rows');
  });
});
