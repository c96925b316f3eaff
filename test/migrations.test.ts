/** All migrations applied to an empty database give exactly schema.prisma (no drift). */
import pg from 'pg';
import { applyMigrations, driftSql, migrationsList } from '../prisma/src/engine.js';

const admin = process.env.DATABASE_URL!;
const dbName = `lopper_migrate_${process.pid}_${Date.now()}`;
const urlFor = (name: string) => { const u = new URL(admin); u.pathname = `/${name}`; return u.toString(); };

async function sql(q: string, url = admin) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return await c.query(q); } finally { await c.end(); }
}

beforeAll(async () => { await sql(`CREATE DATABASE "${dbName}"`); });
afterAll(async () => { await sql(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`); });

it('applies every migration folder to an empty database, with no drift from schema.prisma', async () => {
  const url = urlFor(dbName);
  const names = migrationsList().migrationDirectories.map((d) => d.path);
  expect(names.length).toBeGreaterThan(0);
  expect(await applyMigrations(url)).toEqual(names);
  expect(await driftSql(url)).toBe('');
  // Same bookkeeping as `prisma migrate deploy`.
  const rows = await sql('SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name', url);
  expect(rows.rows.map((r) => r.migration_name)).toEqual(names);
  expect(rows.rows.every((r) => r.finished_at !== null)).toBe(true);
  // Idempotent, like migrate deploy.
  expect(await applyMigrations(url)).toEqual([]);
});

it('leaves nothing that keeps the process alive once a migration run has finished', async () => {
  // The WASM engine arms 10 s timers it never clears; left referenced they held every CLI run and the test runner open.
  const real = globalThis.setTimeout;
  const engineTimers: NodeJS.Timeout[] = [];
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    const t = real(fn, ms);
    if (/schema_engine/.test(new Error().stack ?? '')) engineTimers.push(t);
    return t;
  }) as typeof setTimeout;
  try {
    expect(await applyMigrations(urlFor(dbName))).toEqual([]);
    expect(await driftSql(urlFor(dbName))).toBe('');
  } finally {
    globalThis.setTimeout = real;
  }
  expect(engineTimers.length).toBeGreaterThan(0);
  expect(engineTimers.filter((t) => t.hasRef()).length).toBe(0);
});

it('detects drift when the database differs from schema.prisma', async () => {
  const url = urlFor(dbName);
  await sql('ALTER TABLE "Trial" DROP COLUMN "device"', url);
  expect(await driftSql(url)).toMatch(/ADD COLUMN\s+"device"/);
});

it('gives rows written before the model axis their sweep\'s model', async () => {
  const name = `${dbName}_axis`;
  await sql(`CREATE DATABASE "${name}"`);
  try {
    const url = urlFor(name);
    const names = migrationsList().migrationDirectories.map((d) => d.path);
    const axis = names.find((n) => n.endsWith('_model_axis'))!;
    const before = names[names.indexOf(axis) - 1];
    expect(await applyMigrations(url, before)).toEqual(names.slice(0, names.indexOf(axis)));
    await sql(`INSERT INTO "Sweep" (id, name, model, dataset, spec, tags, "totalTrials", "updatedAt") VALUES ('sw-old', 'o', 'lenet5', 'fashion-mnist', '{}', '{}', 1, now());
      INSERT INTO "Trial" (id, "sweepId", method, amount, seed, config, "updatedAt") VALUES ('sw-old:l1-unstructured:0.5:1', 'sw-old', 'l1-unstructured', 0.5, 1, '{}', now());
      INSERT INTO "Baseline" (key, model, dataset, seed, config, accuracy, "totalParams", flops, "artifactUri", "durationMs", backend) VALUES ('k', 'lenet5', 'fashion-mnist', 1, '{}', 0.9, 100, 1, 'x', 1, 'wasm');
      INSERT INTO "SweepBaseline" ("sweepId", "baselineKey", seed) VALUES ('sw-old', 'k', 1);`, url);
    expect(await applyMigrations(url)).toEqual(names.slice(names.indexOf(axis)));
    const rows = await sql('SELECT t.model AS trial, t.finetune, sb.model AS baseline FROM "Trial" t, "SweepBaseline" sb', url);
    expect(rows.rows).toEqual([{ trial: 'lenet5', finetune: 'default', baseline: 'lenet5' }]);
    expect(await driftSql(url)).toBe('');
  } finally {
    await sql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
});
