/**
 * The Grafana dashboards' SQL against the real Postgres, as Grafana would run it: every variable query and every panel
 * target of both provisioned files, interpolated (deploy/grafana/interpolate.ts), as the read-only role that
 * deploy/grafana/grafana-role.sql makes, in a session time zone far from UTC. The Pareto front and the per-cell summary
 * must equal what the API computes (SweepsService.pareto / summary) from the same rows.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { applyMigrations } from '../prisma/src/engine.js';
import { createPrisma, type PrismaClient } from '../prisma/src/client.js';
import { SweepsRepository } from '../apps/api/src/sweeps/sweeps.repository.js';
import { SweepsService } from '../apps/api/src/sweeps/sweeps.service.js';
import { paretoFront } from '../apps/api/src/pareto.js';
import { interpolate, type GrafanaContext } from '../deploy/grafana/interpolate.js';

const admin = process.env.DATABASE_URL!;
const dbName = `lopper_grafana_${process.pid}_${Date.now()}`;
const url = (() => { const u = new URL(admin); u.pathname = `/${dbName}`; return u.toString(); })();
let prisma: PrismaClient;
let grafana: pg.Client;

async function adminSql(q: string, at = admin) {
  const c = new pg.Client({ connectionString: at });
  await c.connect();
  try { return await c.query(q); } finally { await c.end(); }
}

interface Dash { panels: { title: string; targets: { refId: string; rawSql: string; format: string }[] }[]; templating: { list: { name: string; type: string; query: string }[] } }
const dash = (file: string) => JSON.parse(readFileSync(new URL(`../deploy/grafana/dashboards/${file}`, import.meta.url), 'utf8')) as Dash;
const SWEEP = dash('lopper-sweep.json');
const TEAM = dash('lopper-team.json');
const target = (d: Dash, refId: string, title?: RegExp) => {
  const found = d.panels.flatMap((p) => p.targets.filter((t) => t.refId === refId && (!title || title.test(p.title))));
  if (found.length !== 1) throw new Error(`${found.length} targets ${refId} ${title ?? ''}`);
  return found[0].rawSql;
};
const variable = (d: Dash, name: string) => d.templating.list.find((v) => v.name === name)!.query;

/** Runs one dashboard query as Grafana's read-only login would. */
async function run(sql: string, ctx: GrafanaContext): Promise<Record<string, unknown>[]> {
  return (await grafana.query(interpolate(sql, ctx))).rows;
}

// A fixed, seeded data set: three sweeps (one outside the time range), ties and duplicates on purpose.
const T0 = Date.parse('2026-11-20T01:00:00Z');
const RANGE = { from: new Date(T0 - 86_400_000), to: new Date(T0 + 3 * 86_400_000) };
const METHODS = ['l1-unstructured', 'network-slimming', 'taylor-structured'];
function rng(seed: number) { let s = seed >>> 0; return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32); }

async function seed() {
  const r = rng(7);
  const sweeps = [
    // A has a model axis (two models, each with its baselines); B and the old one have one model.
    { id: 'sw-g-a', name: "nightly lenet's", models: ['lenet5', 'mlp'], tags: ['nightly', "it's"], createdAt: new Date(T0) },
    { id: 'sw-g-b', name: 'mlp run', models: ['mlp'], tags: ['nightly'], createdAt: new Date(T0 + 86_400_000) },
    { id: 'sw-g-old', name: 'old', models: ['mlp'], tags: [], createdAt: new Date(T0 - 30 * 86_400_000) },
  ];
  for (const { models, ...s } of sweeps) {
    await prisma.sweep.create({ data: { ...s, model: models.join(','), dataset: 'fashion-mnist', spec: {}, totalTrials: 0, status: 'COMPLETED' } });
    for (const model of models) {
      for (const seedNo of [1, 2]) {
        const key = `bl-${s.id}-${model}-${seedNo}`;
        await prisma.baseline.create({ data: { key, model, dataset: 'fashion-mnist', seed: seedNo, config: {}, accuracy: 0.9 + seedNo / 100 + (model === 'mlp' ? 0.005 : 0), totalParams: model === 'mlp' ? 2000 : 1000, flops: 1n, artifactUri: `pg:artifact/${key}`, durationMs: 1, backend: 'wasm' } });
        await prisma.sweepBaseline.create({ data: { sweepId: s.id, model, baselineKey: key, seed: seedNo } });
      }
    }
  }
  const rows = [];
  for (const s of sweeps) for (const model of s.models) {
    for (const method of s.id === 'sw-g-a' ? METHODS : ['l1-unstructured']) {
      for (const amount of [0.5, 0.8]) {
        for (const [seedNo, finetune] of [1, 2, 3].flatMap((x) => (s.id === 'sw-g-a' ? ['ft1', 'kd'] : ['default']).map((f) => [x, f] as const))) {
          const i: number = rows.length;
          const status: string = i === 4 ? 'FAILED' : i === 7 ? 'PENDING' : i === 9 ? 'RUNNING' : 'DONE';
          const done = status === 'DONE';
          // The MLP twice LeNet-5's size: the nonzero-parameter front (absolute) is not the compression front (relative).
          const base = model === 'mlp' ? 2000 : 1000;
          const totalParams = method === 'l1-unstructured' ? base : Math.round(base * (1 - amount * (0.8 + r() * 0.2)));
          const nonzero = method === 'l1-unstructured' ? Math.round(base * (1 - amount)) : totalParams;
          rows.push({
            id: `${s.id}:${s.id === 'sw-g-a' ? `${model}:` : ''}${method}:${amount}:${seedNo}${finetune === 'default' ? '' : `:${finetune}`}`, sweepId: s.id, model, method, amount, seed: seedNo, finetune, config: {}, status,
            // Accuracy on a 0.5-point grid: ties in accuracy between trials, as real test sets (10,000 images) make them.
            accuracy: done ? 0.85 + Math.floor(r() * 12) * 0.005 : null, baselineParams: base, totalParams: done ? totalParams : null,
            nonzeroParams: done ? nonzero : null, compressionRate: done ? 1 - nonzero / base : null, accuracyDrop: done ? r() / 50 : null,
            latencyMs: done ? (i === 5 ? 0 : 1 + r()) : null, baselineLatencyMs: done ? 2 : null, gzipBytes: done ? Math.round(1e5 * (1 - amount) + r() * 1000) : null,
            durationMs: done ? 1000 + i * 100 : null, backend: done ? 'wasm' : null, device: done ? 'cpu x2' : null, attempts: status === 'PENDING' ? 0 : 1,
            error: status === 'FAILED' ? "gradual: end must be > begin\n  at stack 'x'" : null,
            finishedAt: done || status === 'FAILED' ? new Date(s.createdAt.getTime() + (i % 5) * 1_800_000) : null,
          });
        }
      }
    }
  }
  // Two trials on the same point, the most accurate of all: the front keeps both (neither beats the other).
  const a = rows.find((t) => t.sweepId === 'sw-g-a' && t.method === 'taylor-structured' && t.amount === 0.8 && t.status === 'DONE')!;
  const b = rows.find((t) => t.sweepId === 'sw-g-a' && t.method === 'network-slimming' && t.amount === 0.8 && t.status === 'DONE')!;
  a.accuracy = 0.95;
  Object.assign(b, { accuracy: a.accuracy, compressionRate: a.compressionRate, nonzeroParams: a.nonzeroParams, totalParams: a.totalParams });
  await prisma.trial.createMany({ data: rows as never });
  return rows;
}

let rows: Awaited<ReturnType<typeof seed>>;
let service: SweepsService;

beforeAll(async () => {
  await adminSql(`CREATE DATABASE "${dbName}"`);
  await applyMigrations(url);
  prisma = createPrisma(url);
  rows = await seed();
  await adminSql(readFileSync(new URL('../deploy/grafana/grafana-role.sql', import.meta.url), 'utf8'), url);
  grafana = new pg.Client({ connectionString: url });
  await grafana.connect();
  await grafana.query(`SET ROLE lopper_grafana; SET TIME ZONE 'Pacific/Auckland'`);
  service = new SweepsService(new SweepsRepository(prisma), {} as never, {} as never, {} as never);
}, 60_000);

afterAll(async () => {
  await grafana?.end();
  await prisma?.$disconnect();
  await adminSql(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await adminSql('DROP ROLE IF EXISTS lopper_grafana').catch(() => {}); // still granted in another test database: leave it
});

const allMethods = async () => (await run(variable(SWEEP, 'method'), { vars: { sweep: ['sw-g-a'] }, ...RANGE })).map((r) => r.method as string);
const allModels = async () => (await run(variable(SWEEP, 'model'), { vars: { sweep: ['sw-g-a'] }, ...RANGE })).map((r) => r.model as string);
const allSettings = async () => (await run(variable(SWEEP, 'finetune'), { vars: { sweep: ['sw-g-a'] }, ...RANGE })).map((r) => r.finetune as string);
const sweepCtx = async (methods?: string[], settings?: string[]): Promise<GrafanaContext> =>
  ({ vars: { sweep: ['sw-g-a'], model: await allModels(), method: methods ?? (await allMethods()), finetune: settings ?? (await allSettings()) }, ...RANGE });
const teamCtx = (tag = '(any)', minCompression = '0.8'): GrafanaContext => ({ vars: { tag: [tag], min_compression: [minCompression] }, ...RANGE });

describe('Grafana dashboards on Postgres, as the read-only role', () => {
  it('runs every variable query and every panel target of both files', async () => {
    const count = async (d: Dash, ctx: GrafanaContext) => {
      let n = 0;
      for (const v of d.templating.list.filter((x) => x.type === 'query')) { await run(v.query, ctx); n++; }
      for (const p of d.panels) for (const t of p.targets) { await run(t.rawSql, ctx); n++; }
      return n;
    };
    expect(await count(SWEEP, await sweepCtx())).toBe(19);
    expect(await count(TEAM, teamCtx())).toBe(6);
    await expect(grafana.query('SELECT count(*) FROM "Artifact"')).rejects.toThrow('permission denied for table Artifact');
    await expect(grafana.query('SELECT count(*) FROM "UserModel"')).rejects.toThrow('permission denied for table UserModel');
    await expect(grafana.query(`UPDATE "Trial" SET accuracy = 1`)).rejects.toThrow('permission denied for table Trial');
  });

  it('lists the sweeps newest first and the methods of the chosen one', async () => {
    const sweeps = await run(variable(SWEEP, 'sweep'), teamCtx());
    expect(sweeps.map((s) => s.__value)).toEqual(['sw-g-b', 'sw-g-a', 'sw-g-old']);
    expect(sweeps[1].__text).toBe("nightly lenet's · 2026-11-20 01:00 UTC · COMPLETED"); // UTC although the session is in Auckland
    expect(await allMethods()).toEqual(METHODS);
    expect(await allSettings()).toEqual(['ft1', 'kd']);
    expect(await allModels()).toEqual(['lenet5', 'mlp']);
    expect((await run(variable(TEAM, 'tag'), teamCtx())).map((r) => Object.values(r)[0])).toEqual(['(any)', "it's", 'nightly']);
  });

  it('puts on the front exactly the trials the API puts on GET /sweeps/:id/pareto, duplicates included', async () => {
    const ctx = await sweepCtx();
    const api = await service.pareto('sw-g-a');
    const front = await run(target(SWEEP, 'front', /^Accuracy vs compression/), ctx);
    expect(front.map((r) => r['trial id']).sort()).toEqual(api.front.map((p) => p.trialId).sort());
    expect(front.length).toBeGreaterThanOrEqual(3);
    const compression = front.map((r) => r.compression as number);
    expect(compression).toEqual([...compression].sort((x, y) => x - y));
    expect(await run(target(SWEEP, 'A', /^Pareto front$/), ctx)).toEqual(front); // the table shows the same rows
    const points = await run(target(SWEEP, 'points', /^Accuracy vs compression/), ctx);
    expect(points.length).toBe(api.front.length + api.dominated.length);
    // The duplicate point: both trials.
    const dup = rows.filter((t) => t.sweepId === 'sw-g-a' && t.accuracy === 0.95).map((t) => t.id);
    expect(dup.length).toBe(2);
    expect(front.filter((f) => dup.includes(f['trial id'] as string)).length).toBe(2);
  });

  it.each([
    ['gzip-size', /^Accuracy vs stored size/, /^Pareto front by gzip size$/],
    ['nonzero-params', /^Accuracy vs nonzero parameters/, /^Pareto front by nonzero parameters$/],
    ['speedup', /^Accuracy vs measured inference speedup/, /^Pareto front by speedup$/],
  ] as const)('puts on the %s front exactly the trials GET /sweeps/:id/pareto?objective= does, in its order', async (objective, scatter, table) => {
    const ctx = await sweepCtx();
    const api = await service.pareto('sw-g-a', objective);
    const front = await run(target(SWEEP, 'front', scatter), ctx);
    const ids = front.map((r) => r['trial id'] as string);
    expect(ids.sort()).toEqual(api.front.map((p) => p.trialId).sort());
    // The API's order (most accurate first) up to exact duplicates, which neither orders.
    const key = (p: { accuracy: number }) => p.accuracy;
    expect(front.map((r) => r.accuracy)).toEqual(api.front.map(key).sort((x, y) => y - x));
    expect(api.front.map(key)).toEqual(api.front.map(key).sort((x, y) => y - x));
    expect(front.length).toBeGreaterThanOrEqual(2);
    expect(ids.sort()).not.toEqual((await service.pareto('sw-g-a')).front.map((p) => p.trialId).sort()); // a front of its own
    expect(await run(target(SWEEP, 'A', table), ctx)).toEqual(front);
    expect((await run(target(SWEEP, 'points', scatter), ctx)).length).toBe(api.front.length + api.dominated.length);
  });

  it('takes the front over the selected methods and fine-tuning settings only', async () => {
    for (const [methods, settings] of [[['l1-unstructured', 'network-slimming'], ['ft1', 'kd']], [METHODS, ['kd']], [['taylor-structured'], ['ft1']]]) {
      const sql = await run(target(SWEEP, 'front', /^Accuracy vs compression/), await sweepCtx(methods, settings));
      const done = rows.filter((t) => t.sweepId === 'sw-g-a' && t.status === 'DONE' && methods.includes(t.method) && settings.includes(t.finetune));
      const expected = paretoFront(done.map((t) => ({ id: t.id, objectives: [t.accuracy!, t.compressionRate!] }))).front.map((p) => p.id);
      expect(sql.map((r) => r['trial id']).sort()).toEqual(expected.sort());
      expect(sql.every((r) => settings.includes(r['fine-tuning'] as string))).toBe(true);
    }
  });

  it('summarises each model x method x amount x fine-tuning as GET /sweeps/:id/summary does: seeds, mean, sample sd, the front of the means', async () => {
    const api = (await service.summary('sw-g-a')).cells;
    const sql = await run(target(SWEEP, 'A', /^Per model x method x amount/), await sweepCtx());
    expect(sql.map((r) => [r.method, r.amount, r['fine-tuning']])).toEqual(api.map((c) => [c.method, c.amount, c.finetune]));
    expect(api.length).toBe(24); // 2 models x 3 methods x 2 amounts x 2 settings
    expect(sql.map((r) => r.model)).toEqual(api.map((c) => c.model));
    const close = (got: unknown, want: number | null | undefined) => (want === null || want === undefined ? got === null : Math.abs(Number(got) - want) < 1e-9);
    for (const [i, c] of api.entries()) {
      const r = sql[i];
      expect([c.method, c.amount, Number(r['seeds done']), Number(r.failed), Number(r['to run']), r['on front']]).toEqual([c.method, c.amount, c.seeds.length, c.failed, c.unfinished, c.pareto]);
      for (const [col, spread] of [['accuracy', c.accuracy], ['drop', c.accuracyDrop], ['compression', c.compressionRate], ['params removed', c.paramsRemoved], ['speedup', c.speedup], ['gzip size', c.gzipBytes]] as const) {
        expect([c.method, c.amount, col, close(r[col], spread?.mean), close(r[`${col} sd`], spread?.sd)]).toEqual([c.method, c.amount, col, true, true]);
      }
    }
    expect(api.some((c) => c.failed > 0) && api.some((c) => c.unfinished > 0) && api.some((c) => c.pareto) && api.some((c) => !c.pareto)).toBe(true);
  });

  it('counts progress and the baseline accuracy as the API does', async () => {
    const [p] = await run(target(SWEEP, 'A', /^Progress$/), await sweepCtx());
    const v = await service.get('sw-g-a');
    expect([Number(p.done), Number(p.running), Number(p.pending), Number(p.failed)]).toEqual([v.counts.done, v.counts.running, v.counts.pending, v.counts.failed]);
    expect(p['baseline accuracy']).toBeCloseTo(v.baselineAccuracy!, 12);
  });

  it('lists the sweeps in the time range, by tag (quotes and all), with the best accuracy at the chosen compression', async () => {
    const sql = target(TEAM, 'A', /^Sweeps created/);
    expect((await run(sql, teamCtx())).map((r) => r.id)).toEqual(['sw-g-b', 'sw-g-a']);
    expect((await run(sql, teamCtx("it's"))).map((r) => r.id)).toEqual(['sw-g-a']);
    expect(await run(sql, teamCtx('nope'))).toEqual([]);
    for (const min of ['0.5', '0.8', '0.95']) {
      const [a] = await run(sql, teamCtx("it's", min));
      const best = rows.filter((t) => t.sweepId === 'sw-g-a' && t.status === 'DONE' && t.compressionRate! >= Number(min)).map((t) => t.accuracy!);
      expect(a['best accuracy at min. compression']).toBe(best.length ? Math.max(...best) : null);
      expect((a.created as Date).toISOString()).toBe('2026-11-20T01:00:00.000Z');
    }
  });

  it('counts trials finished per hour in UTC buckets, whatever the session time zone', async () => {
    const sql = target(TEAM, 'A', /^Trials finished per hour/);
    const got = await run(sql, teamCtx());
    const buckets = new Map<number, { done: number; failed: number }>();
    for (const t of rows.filter((x) => x.finishedAt && x.finishedAt >= RANGE.from && x.finishedAt <= RANGE.to)) {
      const h = Math.floor(t.finishedAt!.getTime() / 3_600_000) * 3600;
      const b = buckets.get(h) ?? { done: 0, failed: 0 };
      b[t.status === 'DONE' ? 'done' : 'failed'] += 1;
      buckets.set(h, b);
    }
    expect(got.map((r) => [Number(r.time), Number(r.done), Number(r.failed)])).toEqual([...buckets].sort((x, y) => x[0] - y[0]).map(([h, b]) => [h, b.done, b.failed]));
    await grafana.query(`SET TIME ZONE 'UTC'`);
    try { expect(await run(sql, teamCtx())).toEqual(got); } finally { await grafana.query(`SET TIME ZONE 'Pacific/Auckland'`); }
  });

  it('shows the median time per trial by backend and the recent failures, first line of each error', async () => {
    const backends = await run(target(TEAM, 'A', /^Time per finished trial/), teamCtx());
    const durations = (model: string) => rows.filter((t) => t.status === 'DONE' && t.sweepId !== 'sw-g-old' && t.model === model).map((t) => t.durationMs!).sort((x, y) => x - y);
    const median = (xs: number[]) => (xs.length % 2 ? xs[(xs.length - 1) / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2);
    expect(backends.map((r) => [r.backend, r.model, Number(r.trials), r['median s per trial']])).toEqual(
      ['lenet5', 'mlp'].map((m) => ['wasm', m, durations(m).length, median(durations(m)) / 1000]),
    );
    const failures = await run(target(TEAM, 'A', /^Recent failures/), teamCtx());
    expect(failures.map((r) => [r['sweep id'], r.error])).toEqual(
      rows.filter((t) => t.status === 'FAILED' && t.sweepId !== 'sw-g-old').map((t) => [t.sweepId, 'gradual: end must be > begin']),
    );
  });
});
