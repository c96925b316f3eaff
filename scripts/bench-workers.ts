/**
 * `npm run bench:workers [-- --processes=1,2 --backend=wasm --trials=16]`: what `npm run worker`'s one process per core buys.
 * For each count, starts `npm run worker` with LOPPER_WORKER_PROCESSES at that count on services of its own (a fresh data
 * directory, or DATABASE_URL and TEMPORAL_ADDRESS), submits the same MLP sweep through the API (concurrency = the largest
 * count; the baseline is trained once, by the first count's run, and reused), waits for it, and measures the trials'
 * phase from the database: from the first trial's start (finishedAt - durationMs) to the last trial's end. Prints a
 * table with trials per minute and the ratio to one process, measured in this run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LopperApi } from '../apps/cli/src/api-client.js';
import { createPrisma } from '../prisma/src/client.js';
import { applyMigrations } from '../prisma/src/engine.js';
import { startProcess, type Proc } from '../deploy/processes.js';
import { freePort, startServices } from '../deploy/services.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const counts = (args.get('processes') ?? [...new Set([1, availableParallelism()])].join(',')).split(',').map(Number);
if (!counts.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`--processes must be positive integers, got "${args.get('processes')}"`);
const backend = args.get('backend') ?? 'wasm';
const METHODS = ['l1-unstructured', 'global-l1-unstructured', 'random-unstructured', 'l1-structured'];
const trials = Number(args.get('trials') ?? 16);
if (!(trials >= METHODS.length && trials % METHODS.length === 0)) throw new Error(`--trials must be a multiple of ${METHODS.length}, got ${trials}`);
const amounts = Array.from({ length: trials / METHODS.length }, (_, i) => Number((0.3 + (0.6 * i) / Math.max(1, trials / METHODS.length - 1)).toFixed(3)));
const spec = {
  name: 'bench-workers', model: 'mlp', dataset: 'fashion-mnist', methods: METHODS, amounts, seeds: [1], baselineEpochs: 2, finetuneEpochs: 1,
  trainSubset: 10_000, testSubset: 2000, batchSize: 64, concurrency: Math.max(...counts), tags: ['bench-workers'],
};

// Services of its own (a fresh data directory unless LOPPER_DATA_DIR names one): sweeps left open in `npm run up`'s
// would resume on these workers and take their time.
const dataDir = process.env.LOPPER_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'lopper-bench-workers-'));
const services = await startServices({ dataDir, log: () => {} });
const procs: Proc[] = [];
try {
  await applyMigrations(services.databaseUrl);
  const env = { DATABASE_URL: services.databaseUrl, TEMPORAL_ADDRESS: services.temporalAddress };
  const port = await freePort();
  const start = async (script: string, extra: Record<string, string>, ready: RegExp, times = 1) => {
    const p = await startProcess(script, { ...env, ...extra }, ready, 120_000, times);
    procs.push(p);
    return p;
  };
  await start('apps/api/src/main.ts', { PORT: String(port) }, /listening on/);
  const api = new LopperApi(`http://127.0.0.1:${port}`);
  const prisma = createPrisma(services.databaseUrl);
  const rows: string[][] = [];
  let perMinute1: number | undefined;
  for (const n of counts) {
    const workers = await start('workers/src/main.ts', { LOPPER_WORKER_PROCESSES: String(n), LOPPER_BACKEND: backend, LOPPER_GPU: '0' }, /\[worker( \d+)?\] ready/, n);
    const { id } = await api.submit({ ...spec, name: `bench-workers-${n}` });
    process.stdout.write(`${n} process(es): sweep ${id} `);
    for (;;) {
      const s = await api.sweep(id);
      if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(s.status)) {
        if (s.status !== 'COMPLETED' || s.counts.failed) throw new Error(`sweep ${id} ended ${s.status} with ${s.counts.failed} failed trial(s)`);
        break;
      }
      process.stdout.write('.');
      await new Promise((r) => setTimeout(r, 2000));
    }
    console.log(' done');
    await workers.stop();
    const done = await prisma.trial.findMany({ where: { sweepId: id }, select: { durationMs: true, finishedAt: true, backend: true } });
    const starts = done.map((t) => t.finishedAt!.getTime() - t.durationMs!);
    const wallMs = Math.max(...done.map((t) => t.finishedAt!.getTime())) - Math.min(...starts);
    const perMinute = (done.length / wallMs) * 60_000;
    perMinute1 ??= n === 1 ? perMinute : undefined;
    const meanTrial = done.reduce((a, t) => a + t.durationMs!, 0) / done.length;
    rows.push([String(n), [...new Set(done.map((t) => t.backend))].join(','), String(done.length), (wallMs / 1000).toFixed(1), perMinute.toFixed(1), (meanTrial / 1000).toFixed(2), perMinute1 ? `${(perMinute / perMinute1).toFixed(2)}x` : '']);
  }
  await prisma.$disconnect();
  console.log(`\nMachine: ${cpus()[0]?.model?.trim()}, ${availableParallelism()} cores; MLP 784-300-100-10, ${spec.trainSubset} training images, 1 fine-tuning epoch per trial, batch ${spec.batchSize}; concurrency ${spec.concurrency}`);
  console.log('| worker processes | backend | trials | trials phase (s) | trials / min | mean trial (s) | vs 1 process |');
  console.log('| ---------------- | ------- | ------ | ---------------- | ------------ | -------------- | ------------ |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  await services.stop();
  if (!process.env.LOPPER_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
}
