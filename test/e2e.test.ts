/**
 * End to end: the real API and worker processes against the real Postgres and Temporal dev server.
 * A grid of 4 trials on a Fashion-MNIST subset (2,000 train / 1,000 test images).
 */
import { Client, Connection } from '@temporalio/client';
import { createPrisma, type PrismaClient } from '../prisma/src/client.js';
import { LopperApi, ApiError } from '../apps/cli/src/api-client.js';
import type { ParetoView, SweepView, TrialView } from '../apps/api/src/sweeps/sweeps.dto.js';
import { computeCount } from '../workers/src/pruning/amount.js';
import { createActivities } from '../workers/src/activities.js';
import { PostgresArtifactStore } from '../workers/src/artifacts.js';
import { WorkerRepository } from '../workers/src/repository.js';
import { startProcess, type Proc } from '../deploy/processes.js';
import { REPEAT_SIGNAL_MS } from '../workers/src/supervisor.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { countNonzero } from '../workers/src/pruning/masks.js';
import { nonzeroParams } from '../workers/src/pruning/metrics.js';
import { loadUserModel, prunableWeights } from '../workers/src/pruning/models.js';
import { deserializeModel } from '../workers/src/pruning/serialize.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { records } from '../apps/api/src/csv.spec-helpers.js';
import { compare as printComparison, downloadTrialModel, plan as planSweep, readModelUpload, status as printStatus, summary as printSummary, trials as printTrials } from '../apps/cli/src/commands.js';
import type { RunningWorkView } from '../apps/api/src/progress.js';
import { defaultLoadData } from '../workers/src/activities.js';
import { saveUserModel } from './helpers/user-model.js';
import { createSweepRows, UnknownUserModel } from '../prisma/src/sweep-rows.js';
import { ModelsRepository } from '../apps/api/src/models/models.repository.js';
import { STALE_SCHEDULE_REF_MS } from '../apps/api/src/models/models.service.js';
import { SweepsRepository } from '../apps/api/src/sweeps/sweeps.repository.js';

const MLP_KERNELS = [784 * 300, 300 * 100, 100 * 10];
const MLP_OTHER = 300 + 100 + 10; // biases are not pruned
const MLP_TOTAL = MLP_KERNELS.reduce((a, b) => a + b, 0) + MLP_OTHER;

const grid = {
  name: 'e2e', model: 'mlp', dataset: 'fashion-mnist', methods: ['l1-unstructured', 'global-l1-unstructured'], amounts: [0.5, 0.9],
  seeds: [7], baselineEpochs: 3, finetuneEpochs: 1, trainSubset: 2000, testSubset: 1000, batchSize: 64, concurrency: 2, tags: ['e2e'],
};

let api: LopperApi;
/** The backend the worker process chose by itself: wasm here and in CI; tensorflow where scripts/install-tfjs-node.sh ran. */
let workerBackend: string;
let temporal: Client;
let prisma: PrismaClient;
const procs: Proc[] = [];

beforeAll(async () => {
  // One worker process (not one per core): the tests below count the workers on a queue.
  const env = { DATABASE_URL: process.env.DATABASE_URL!, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, LOPPER_MAX_TRIALS: '100', LOPPER_WORKER_PROCESSES: '1' };
  const [a, w] = await Promise.all([
    startProcess('apps/api/src/main.ts', { ...env, PORT: '0' }, /listening on (http:\/\/\S+)/),
    startProcess('workers/src/main.ts', env, /\[worker\] ready \((\w+) on /),
  ]);
  procs.push(a, w);
  workerBackend = w.match[1];
  api = new LopperApi(a.match[1]);
  prisma = createPrisma(process.env.DATABASE_URL!);
  temporal = new Client({ connection: await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! }) });
}, 180_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await prisma?.$disconnect();
  await temporal?.connection.close();
});

async function waitDone(id: string, timeoutMs = 600_000): Promise<SweepView> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await api.sweep(id);
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(s.status)) return s;
    if (Date.now() > end) throw new Error(`sweep ${id} still ${s.status} after ${timeoutMs} ms: ${JSON.stringify(s.counts)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function rejected(body: unknown): Promise<ApiError> {
  const err = await api.submit(body).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

/** GET `path` (a `?format=csv` one): checks it is a CSV download named `file`, returns its text. */
async function csvBody(path: string, file: string): Promise<string> {
  const res = await fetch(`${api.baseUrl}${path}`);
  expect([path, res.status, res.headers.get('content-type'), res.headers.get('content-disposition')]).toEqual([path, 200, 'text/csv; charset=utf-8', `attachment; filename="${file}"`]);
  return res.text();
}

describe('a pruning sweep from the HTTP API to the Pareto front', () => {
  let sweepId: string;
  let trials: TrialView[];
  let sweep: SweepView;

  it('runs every trial of the grid exactly once', async () => {
    const created = await api.submit(grid);
    expect(created.totalTrials).toBe(4);
    sweepId = created.id;
    sweep = await waitDone(sweepId);
    expect(sweep.status).toBe('COMPLETED');
    expect(sweep.counts).toEqual({ pending: 0, running: 0, done: 4, failed: 0 });
    trials = await api.trials(sweepId);
    expect(trials).toHaveLength(4);
    expect(new Set(trials.map((t) => `${t.method}/${t.amount}/${t.seed}`)).size).toBe(4);
    expect(await prisma.trial.count({ where: { sweepId } })).toBe(4);
    for (const t of trials) {
      expect(t.status).toBe('DONE');
      expect(t.backend).toBe(workerBackend);
      expect(t.backend).toMatch(/^(wasm|tensorflow)$/); // no GPU here, webgpu is not chosen on llvmpipe
      expect(t.durationMs).toBeGreaterThan(0);
      expect(t.attempts).toBe(1);
    }
    // What the progress view's estimate of the time left rests on, from Postgres: the DONE trials' mean duration.
    const durations = trials.map((t) => t.durationMs!);
    const repo = new SweepsRepository(prisma);
    const done = await repo.doneDurations(sweepId);
    expect(done.count).toBe(4);
    expect(done.meanMs).toBeCloseTo(durations.reduce((a, b) => a + b, 0) / 4, 6);
    // The rows it reads for the trials in flight: only those asked for, in the listing's order.
    const some = [trials[3].id, trials[1].id, 'not-a-trial'];
    expect((await repo.trialsByIds(sweepId, some)).map((t) => t.id)).toEqual([trials[1].id, trials[3].id]);
  }, 600_000);

  it('trains a real baseline (accuracy above 0.7 on the subset)', () => {
    expect(sweep.baselineAccuracy).toBeGreaterThan(0.7);
    expect(sweep.baselineParams).toBe(MLP_TOTAL);
    expect([sweep.models, sweep.baselines.map((b) => [b.model, b.totalParams, b.accuracy])]).toEqual([['mlp'], [['mlp', MLP_TOTAL, sweep.baselineAccuracy]]]);
  });

  it('filters and pages the trial listing, and refuses a bad query parameter by name', async () => {
    const key = (t: TrialView) => `${t.method}/${t.amount}`;
    expect((await api.trials(sweepId, { method: 'global-l1-unstructured' })).map(key)).toEqual(['global-l1-unstructured/0.5', 'global-l1-unstructured/0.9']);
    expect(await api.trials(sweepId, { status: 'FAILED' })).toEqual([]);
    expect((await api.trials(sweepId, { status: 'DONE' })).map(key)).toEqual(trials.map(key));
    // Pages in the listing's fixed order (seed, method, amount) add up to the whole listing.
    const pages = [await api.trials(sweepId, { limit: 3 }), await api.trials(sweepId, { limit: 3, offset: 3 }), await api.trials(sweepId, { offset: 4 })];
    expect(pages.map((p) => p.length)).toEqual([3, 1, 0]);
    expect(pages.flat().map(key)).toEqual(trials.map(key));
    // ?format=csv: the same trials as a CSV download, numbers as in the JSON.
    const fromCsv = records(await csvBody(`/sweeps/${sweepId}/trials?format=csv&method=l1-unstructured`, `${sweepId}-trials.csv`));
    const l1 = trials.filter((t) => t.method === 'l1-unstructured');
    expect(fromCsv.map((r) => [r.id, Number(r.accuracy), Number(r.compressionRate), Number(r.speedup)])).toEqual(l1.map((t) => [t.id, t.accuracy, t.compressionRate, t.speedup]));
    expect(JSON.parse(fromCsv[0].config)).toEqual(l1[0].config);
    for (const [qs, field] of [['status=done', 'status'], ['limit=0', 'limit'], ['limit=x', 'limit'], ['offset=-2', 'offset'], ['sort=accuracy', 'sort'], ['format=xml', 'format']]) {
      const res = await fetch(`${api.baseUrl}/sweeps/${sweepId}/trials?${qs}`);
      expect([qs, res.status]).toEqual([qs, 400]);
      expect(((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([field]);
    }
    // The CLI's table of them.
    const out: string[] = [];
    await printTrials(api, sweepId, { method: 'l1-unstructured' }, (line) => out.push(line));
    expect(out.join('\n').split('\n').slice(2).map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual(['l1-unstructured 0.5 7 DONE', 'l1-unstructured 0.9 7 DONE']);
  });

  it("prunes exactly the amount's share of the weights (PyTorch counts; biases are not pruned)", async () => {
    await tf.setBackend('cpu');
    for (const t of trials) {
      const pruned = t.method === 'global-l1-unstructured'
        ? computeCount(t.amount, MLP_KERNELS.reduce((a, b) => a + b, 0))
        : MLP_KERNELS.reduce((n, k) => n + computeCount(t.amount, k), 0);
      expect(t.totalParams).toBe(MLP_TOTAL);
      // The stored pruned model has exactly `pruned` zero kernel entries...
      const row = await prisma.trial.findUniqueOrThrow({ where: { id: t.id } });
      const model = await deserializeModel(await new PostgresArtifactStore(prisma).get(row.artifactUri!));
      const zeroKernel = prunableWeights(model).reduce((n, v) => n + v.read().size - countNonzero(v.read().dataSync()), 0);
      expect(zeroKernel).toBe(pruned);
      // ...and the reported count is what that model holds (a dead ReLU unit can keep a bias of exactly 0).
      expect(t.nonzeroParams).toBe(nonzeroParams(model));
      expect(t.nonzeroParams).toBeGreaterThan(MLP_TOTAL - pruned - MLP_OTHER);
      expect(t.nonzeroParams).toBeLessThanOrEqual(MLP_TOTAL - pruned);
      model.dispose();
      expect(t.compressionRate).toBeCloseTo(1 - t.nonzeroParams! / MLP_TOTAL, 12);
      expect(t.accuracyDrop).toBeCloseTo(sweep.baselineAccuracy! - t.accuracy!, 12);
      expect(t.effectiveFlops).toBeLessThan(t.flops!);
      expect(t.speedup).toBeCloseTo(t.baselineLatencyMs! / t.latencyMs!, 12);
      expect(t.gzipBytes).toBeLessThan(t.sizeBytes!);
    }
  });

  it("serves a trial and its model as TF.js files that load, hold the trial's weights and upload back", async () => {
    await tf.setBackend('cpu');
    const t = trials.find((x) => x.method === 'l1-unstructured' && x.amount === 0.9)!;
    expect(await api.trial(t.id)).toEqual(t);
    const dir = mkdtempSync(join(tmpdir(), 'lopper-e2e-dl-'));
    const out: string[] = [];
    const paths = await downloadTrialModel(api, t.id, join(dir, 'm'), {}, (l) => out.push(l));
    expect(paths).toEqual([join(dir, 'm', 'weights.bin'), join(dir, 'm', 'model.json')]);
    expect(out).toEqual([`wrote ${paths[1]} and ${4 * MLP_TOTAL} bytes of weights (l1-unstructured 0.9 seed 7 (${sweepId}); it outputs logits)`]);
    const model = await loadUserModel(paths[1]);
    expect(model.countParams()).toBe(t.totalParams);
    expect(nonzeroParams(model)).toBe(t.nonzeroParams); // the zeros of the masks are in the file
    const meta = (JSON.parse(readFileSync(paths[1], 'utf8')) as { userDefinedMetadata: { lopper: object } }).userDefinedMetadata.lopper;
    expect(meta).toEqual({ trialId: t.id, sweepId, method: 'l1-unstructured', amount: 0.9, seed: 7, outputs: 'logits' });
    // The same function as the stored model the worker measured.
    const row = await prisma.trial.findUniqueOrThrow({ where: { id: t.id } });
    const stored = await deserializeModel(await new PostgresArtifactStore(prisma).get(row.artifactUri!));
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 5);
    expect(tf.tidy(() => (model.predict(x) as tf.Tensor).arraySync())).toEqual(tf.tidy(() => (stored.predict(x) as tf.Tensor).arraySync()));
    tf.dispose([x]);
    model.dispose();
    stored.dispose();
    // Files already there are kept unless forced.
    await expect(downloadTrialModel(api, t.id, join(dir, 'm'), {}, () => {})).rejects.toThrow(`${paths[0]}, ${paths[1]} already exist(s)`);
    expect((await downloadTrialModel(api, t.id, join(dir, 'm'), { force: true }, () => {})).length).toBe(2);
    // What Lopper hands out, it takes back: prune the pruned model further in a later sweep.
    const back = await api.uploadModel(readModelUpload(paths[1], 'pruned-again'));
    expect([back.params, back.inputShape]).toEqual([MLP_TOTAL, [null, 28, 28, 1]]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 404 for an unknown trial and 409 for the model of a trial that is not DONE', async () => {
    const missing = await api.trialModel(`${sweepId}:magic:0.5:7`).catch((e: unknown) => e);
    expect([(missing as ApiError).status, (missing as ApiError).body.message]).toEqual([404, `trial ${sweepId}:magic:0.5:7 not found`]);
    expect(((await api.trial('nope').catch((e: unknown) => e)) as ApiError).status).toBe(404);
    const id = 'sw-e2e-not-done';
    await prisma.sweep.create({ data: { id, name: 'not done', model: 'mlp', dataset: 'fashion-mnist', spec: grid, tags: [], totalTrials: 1 } });
    await prisma.trial.create({ data: { id: `${id}:l1-unstructured:0.5:1`, sweepId: id, model: 'mlp', method: 'l1-unstructured', amount: 0.5, seed: 1, config: {}, status: 'RUNNING' } });
    const busy = await api.trialModel(`${id}:l1-unstructured:0.5:1`).catch((e: unknown) => e);
    expect([(busy as ApiError).status, (busy as ApiError).body.message]).toEqual([409, `trial ${id}:l1-unstructured:0.5:1 is RUNNING: its model is stored when the trial is DONE`]);
    await prisma.sweep.delete({ where: { id } });
  });

  it('returns exactly the nondominated trials as the Pareto front', async () => {
    const p: ParetoView = await api.pareto(sweepId);
    const beats = (a: TrialView, b: TrialView) => a.accuracy! >= b.accuracy! && a.compressionRate! >= b.compressionRate! && (a.accuracy! > b.accuracy! || a.compressionRate! > b.compressionRate!);
    const expected = trials.filter((t) => !trials.some((o) => o !== t && beats(o, t))).map((t) => t.id).sort();
    expect(p.front.map((f) => f.trialId).sort()).toEqual(expected);
    expect(p.front.length + p.dominated.length).toBe(4);
    // Against the stored model's gzip size instead (smaller is better).
    const byGzip = await api.pareto(sweepId, 'gzip-size');
    const smaller = (a: TrialView, b: TrialView) => a.accuracy! >= b.accuracy! && a.gzipBytes! <= b.gzipBytes! && (a.accuracy! > b.accuracy! || a.gzipBytes! < b.gzipBytes!);
    expect([byGzip.objective, byGzip.objectives]).toEqual(['gzip-size', { accuracy: 'max', gzipBytes: 'min' }]);
    expect(byGzip.front.map((f) => f.trialId).sort()).toEqual(trials.filter((t) => !trials.some((o) => o !== t && smaller(o, t))).map((t) => t.id).sort());
    expect(((await api.pareto(sweepId, 'size').catch((e: unknown) => e)) as ApiError).body.errors?.map((e) => e.field)).toEqual(['objective']);
    // ?format=csv: every finished trial, the front's first, in the API's order.
    const gz = records(await csvBody(`/sweeps/${sweepId}/pareto?objective=gzip-size&format=csv`, `${sweepId}-pareto-gzip-size.csv`));
    expect(gz.map((r) => [r.trialId, r.onFront, r.dominatedBy])).toEqual([
      ...byGzip.front.map((f) => [f.trialId, 'true', '']), ...byGzip.dominated.map((d) => [d.trialId, 'false', d.dominatedBy.join(';')]),
    ]);
    for (const d of p.dominated) {
      const t = trials.find((x) => x.id === d.trialId)!;
      expect(d.dominatedBy.length).toBeGreaterThan(0);
      for (const id of d.dominatedBy) expect(beats(trials.find((x) => x.id === id)!, t)).toBe(true);
    }
  });

  it('summarises the sweep per method x amount, with the front of the means (one seed: the trials\' front)', async () => {
    const s = await api.summary(sweepId);
    const front = (await api.pareto(sweepId)).front.map((p) => `${p.method}/${p.amount}`).sort();
    expect(s.cells.map((c) => `${c.method}/${c.amount}`)).toEqual(['global-l1-unstructured/0.5', 'global-l1-unstructured/0.9', 'l1-unstructured/0.5', 'l1-unstructured/0.9']);
    for (const c of s.cells) {
      const t = trials.find((x) => x.method === c.method && x.amount === c.amount)!;
      expect([c.seeds, c.failed, c.unfinished]).toEqual([[7], 0, 0]);
      expect(c.accuracy).toEqual({ mean: t.accuracy, sd: 0, n: 1 });
      expect(c.compressionRate!.mean).toBe(t.compressionRate);
      expect(c.paramsRemoved!.mean).toBe(0); // masks: nothing physically gone
      expect(c.speedup!.mean).toBeCloseTo(t.speedup!, 12);
    }
    expect(s.cells.filter((c) => c.pareto).map((c) => `${c.method}/${c.amount}`).sort()).toEqual(front);
    const out: string[] = [];
    await printSummary(api, sweepId, (l) => out.push(l));
    expect(out.join('\n')).toContain('l1-unstructured');
    // `lopper sweep trials --format csv`: every trial, every number as the API has it.
    const csv: string[] = [];
    await printTrials(api, sweepId, {}, (l) => csv.push(l), 'csv');
    const rows = records(csv.join('\n'));
    expect(rows.map((r) => r.id)).toEqual(trials.map((t) => t.id));
    for (const [i, t] of trials.entries()) {
      for (const k of ['accuracy', 'compressionRate', 'nonzeroParams', 'speedup', 'gzipBytes', 'latencyMs'] as const) expect([t.id, k, Number(rows[i][k])]).toEqual([t.id, k, t[k]]);
      expect(JSON.parse(rows[i].config)).toEqual(t.config);
    }
    expect(((await api.summary('nope').catch((e: unknown) => e)) as ApiError).status).toBe(404);
    // ?format=csv: the cells, each metric as .mean/.sd/.n.
    const cells = records(await csvBody(`/sweeps/${sweepId}/summary?format=csv`, `${sweepId}-summary.csv`));
    expect(cells.map((r) => [r.method, Number(r.amount), Number(r['accuracy.mean']), Number(r['speedup.mean']), r.pareto]))
      .toEqual(s.cells.map((c) => [c.method, c.amount, c.accuracy!.mean, c.speedup!.mean, String(c.pareto)]));
    expect((await fetch(`${api.baseUrl}/sweeps/${sweepId}/summary?by=seed`)).status).toBe(400);
  });

  it('never writes a second row when a trial is retried', async () => {
    const acts = createActivities({ repo: new WorkerRepository(prisma), artifacts: new PostgresArtifactStore(prisma), backend: { backend: 'cpu', device: 'test' } });
    const t = trials[0];
    const baseline = await prisma.sweepBaseline.findFirstOrThrow({ where: { sweepId }, include: { baseline: true } });
    const again = await acts.runTrial({
      sweepId, trialId: t.id, spec: sweep.spec, method: t.method as 'l1-unstructured', amount: t.amount, seed: t.seed,
      baseline: { seed: t.seed, key: baseline.baselineKey, accuracy: baseline.baseline.accuracy, totalParams: baseline.baseline.totalParams },
    });
    expect(again.skipped).toBe(true);
    expect(await prisma.trial.count({ where: { sweepId } })).toBe(4);
    expect((await api.trials(sweepId)).find((x) => x.id === t.id)).toEqual(t);
  });

  it('reuses the trained baseline in a later sweep with the same model, data, seed and hyperparameters', async () => {
    const before = await prisma.baseline.count();
    const { id } = await api.submit({ ...grid, name: 'e2e-reuse', methods: ['random-unstructured'], amounts: [0.3] });
    const s = await waitDone(id);
    expect(s.status).toBe('COMPLETED');
    expect(s.baselineAccuracy).toBe(sweep.baselineAccuracy);
    expect(await prisma.baseline.count()).toBe(before);
    const [t] = await api.trials(id);
    expect(t.nonzeroParams).toBe(MLP_TOTAL - MLP_KERNELS.reduce((n, k) => n + computeCount(0.3, k), 0));
  }, 300_000);

  let cancelledId: string;
  it('cancels a running sweep', async () => {
    const { id } = await api.submit({ ...grid, name: 'e2e-cancel', seeds: [99], baselineEpochs: 50 });
    cancelledId = id;
    // GET /progress while the baseline trains: its model and seed, the phase, epoch and batch from the worker's heartbeats.
    let work: RunningWorkView[] = [];
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
      work = (await api.progress(id)).running;
      if (work.some((w) => w.kind === 'baseline' && w.phase === 'baseline' && w.batch !== null)) break;
    }
    expect((await api.progress(id)).queue).toEqual({ name: 'lopper-cpu', workers: [expect.any(String)] }); // this test's one worker
    const b = work.find((w) => w.kind === 'baseline')!;
    expect([b.model, b.seed, b.phase, b.waiting, b.attempt, typeof b.worker]).toEqual(['mlp', 99, 'baseline', false, 1, 'string']);
    expect(b.epoch).toBeGreaterThanOrEqual(1);
    expect(b.batch).toBeGreaterThanOrEqual(1);
    expect(b.batch).toBeLessThanOrEqual(b.batches!);
    // `lopper sweep status` shows it under the bar.
    const shown: string[] = [];
    await printStatus(api, id, { follow: false, stream: { isTTY: false, write: (x: string) => shown.push(x) } as unknown as NodeJS.WriteStream });
    expect(shown.join('')).toContain('  baseline mlp seed 99: baseline');
    const r = await api.cancel(id);
    expect(r.cancelled).toBe(true);
    const s = await waitDone(id, 60_000);
    expect(s.status).toBe('CANCELLED');
    // The workflow itself ends cancelled (its clean-up activity ran on the worker).
    const handle = temporal.workflow.getHandle(id);
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect((await api.cancel(id)).cancelled).toBe(false);
    expect(await api.progress(id)).toMatchObject({ status: 'CANCELLED', running: [] });
  }, 180_000);

  it('shows a GPU sweep with no GPU worker waiting for one (its bookkeeping done beside the workflow), and cancels it at once', async () => {
    const { id } = await api.submit({ ...grid, name: 'e2e-gpu-wait', requireGpu: true });
    let p = await api.progress(id);
    for (const end = Date.now() + 30_000; Date.now() < end && !(p.status === 'RUNNING' && p.running.length); await new Promise((r) => setTimeout(r, 250))) p = await api.progress(id);
    expect(p.queue).toEqual({ name: 'lopper-gpu', workers: [] });
    expect(p.status).toBe('RUNNING');
    expect(p.running.map((w) => [w.kind, w.activity, w.waiting, w.attempt])).toEqual([['baseline', 'trainBaseline', true, 1]]);
    const shown: string[] = [];
    await printStatus(api, id, { follow: false, stream: { isTTY: false, write: (x: string) => shown.push(x) } as unknown as NodeJS.WriteStream });
    expect(shown.join('')).toContain('  no worker polls lopper-gpu: nothing runs until one does');
    expect(shown.join('')).toContain('  a baseline: waiting for a worker');
    expect((await api.cancel(id)).cancelled).toBe(true);
    expect((await waitDone(id, 60_000)).status).toBe('CANCELLED');
    // The workflow ends too (its clean-up ran beside it, not on the unserved GPU queue), so the sweep can be resumed.
    const handle = temporal.workflow.getHandle(id);
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await api.progress(id)).toMatchObject({ status: 'CANCELLED', running: [], queue: null });
    expect(await api.resume(id)).toEqual({ id, resumedTrials: 4, status: 'PENDING' });
    expect((await api.cancel(id)).cancelled).toBe(true);
    expect((await waitDone(id, 60_000)).status).toBe('CANCELLED');
  }, 120_000);

  it('dry-runs a sweep: the grid it would run, validated as a submit is, with nothing written or started', async () => {
    const [sweeps, trialRows] = [await prisma.sweep.count(), await prisma.trial.count()];
    const p = await api.validateSweep(grid);
    expect([p.valid, p.totalTrials, p.baselines, p.axes]).toEqual([true, 4, 1, { models: ['mlp'], seeds: [7], methods: grid.methods, amounts: grid.amounts, finetuneSettings: ['default'] }]);
    expect(p.spec).toMatchObject({ ...grid, learningRate: 1e-3, requireGpu: false });
    const bad = (await api.validateSweep({ ...grid, amounts: [2] }).catch((e: unknown) => e)) as ApiError;
    expect([bad.status, bad.body.errors]).toEqual([400, [{ field: 'amounts.0', message: 'must be in [0, 1)' }]]);
    const dir = mkdtempSync(join(tmpdir(), 'lopper-e2e-plan-'));
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify(grid));
    const out: string[] = [];
    expect(await planSweep(api, join(dir, 'sweep.json'), (l) => out.push(l))).toBe(4);
    expect(out[0]).toBe('valid: 4 trial(s) and 1 baseline(s); nothing submitted');
    expect(out[1]).toBe('  models mlp x seeds 7 x methods l1-unstructured, global-l1-unstructured x amounts 0.5, 0.9 x fine-tuning default');
    rmSync(dir, { recursive: true, force: true });
    expect([await prisma.sweep.count(), await prisma.trial.count()]).toEqual([sweeps, trialRows]);
  });

  it('rejects bad input with a 400 naming each bad field, and writes nothing', async () => {
    const sweeps = await prisma.sweep.count();
    const trialRows = await prisma.trial.count();

    const malformed = await fetch(`${api.baseUrl}/sweeps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "x",' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { errors: unknown }).errors).toEqual([{ field: 'body', message: expect.stringMatching(/^is not valid JSON \(.+\)$/) }]);
    // Not sent as JSON: Express leaves the body unread, and the error says how to send it.
    const plain = await fetch(`${api.baseUrl}/sweeps`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(grid) });
    expect([plain.status, ((await plain.json()) as { errors: unknown }).errors]).toEqual([400, [{ field: 'body', message: 'is required: a JSON object, sent with content-type: application/json' }]]);

    const cases: [unknown, string][] = [
      [{ ...grid, methods: ['l1-unstructured', 'magic'] }, 'methods.1'],
      [{ ...grid, model: 'gpt5' }, 'model'],
      [{ ...grid, amounts: [0.5, 1] }, 'amounts.1'],
      [{ ...grid, amounts: [-0.1] }, 'amounts.0'],
      [{ ...grid, methods: [] }, 'methods'],
      [{ ...grid, seeds: [] }, 'seeds'],
      [{ ...grid, amounts: Array.from({ length: 51 }, (_, i) => i / 100) }, 'methods x amounts x seeds'],
      [{ ...grid, name: undefined }, 'name'],
      [{ ...grid, baselineEpochs: 0 }, 'baselineEpochs'],
      [{ ...grid, colour: 'red' }, 'body'],
      [[1, 2], 'body'],
    ];
    for (const [body, field] of cases) {
      const e = await rejected(body);
      expect(e.status).toBe(400);
      expect(e.body.errors?.map((x) => x.field)).toContain(field);
    }
    // List limits are checked too, not clamped.
    for (const [path, field] of [['/sweeps?limit=0', 'limit'], ['/sweeps?limit=many', 'limit'], ['/models?limit=501', 'limit'], ['/sweeps?before=2026-02-31T99', 'before'], ['/sweeps?status=done', 'status']]) {
      const res = await fetch(`${api.baseUrl}${path}`);
      expect([path, res.status, ((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)]).toEqual([path, 400, [field]]);
    }
    expect(await prisma.sweep.count()).toBe(sweeps);
    expect(await prisma.trial.count()).toBe(trialRows);
  });

  it('answers 404 for unknown ids and serves the OpenAPI document', async () => {
    for (const call of [() => api.sweep('nope'), () => api.trials('nope'), () => api.pareto('nope'), () => api.cancel('nope')]) {
      const e = await call().catch((x: unknown) => x);
      expect((e as ApiError).status).toBe(404);
    }
    const doc = (await (await fetch(`${api.baseUrl}/docs`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/sweeps', '/sweeps/{id}', '/sweeps/{id}/trials', '/sweeps/{id}/pareto', '/sweeps/{id}/summary', '/compare', '/sweeps/{id}/cancel', '/sweeps/{id}/resume', '/trials/{id}', '/trials/{id}/model', '/schedules', '/schedules/{id}', '/schedules/{id}/trigger', '/models', '/models/{id}']));
  });

  it('resumes an ended sweep: only its trials that are not DONE run again; DONE trials and the baseline are reused; compares sweeps', async () => {
    const status = async (id: string) => {
      const e = (await api.resume(id).catch((x: unknown) => x)) as ApiError;
      return [e.status, e.body.message];
    };
    expect(await status(sweepId)).toEqual([409, `sweep ${sweepId} has nothing to resume: all 4 trials are DONE`]);
    expect((await status('sw-nope'))[0]).toBe(404);
    // A trial that failed (as if its worker had run out of memory three times).
    const victim = trials.find((t) => t.method === 'global-l1-unstructured' && t.amount === 0.5)!;
    await prisma.trial.update({ where: { id: victim.id }, data: { status: 'FAILED', error: 'out of memory' } });
    await prisma.sweep.update({ where: { id: sweepId }, data: { error: '1 of 4 trials failed' } });
    // This sweep's model and seed only: the cancelled sweep's baseline (seed 99) may still be stored meanwhile, by an
    // activity that finished its training before its next heartbeat brought the cancellation.
    const ownBaselines = () => prisma.baseline.count({ where: { model: grid.model, seed: grid.seeds[0] } });
    const baselines = await ownBaselines();
    expect(baselines).toBe(1);
    expect(await api.resume(sweepId)).toEqual({ id: sweepId, resumedTrials: 1, status: 'PENDING' });
    expect((await status(sweepId))[0]).toBe(409); // running again
    const done = await waitDone(sweepId);
    expect([done.status, done.error, done.counts]).toEqual(['COMPLETED', null, { pending: 0, running: 0, done: 4, failed: 0 }]);
    const after = await api.trials(sweepId);
    expect(after.map((t) => [t.id, t.attempts])).toEqual(trials.map((t) => [t.id, t.id === victim.id ? 2 : 1]));
    expect(after.find((t) => t.id === victim.id)!.accuracy).toBe(victim.accuracy); // the same training, deterministic per seed
    expect(await ownBaselines()).toBe(baselines);

    // A cancelled sweep runs to the end; of two resumes at once, one does it and the other is told.
    const both = await Promise.allSettled([api.resume(cancelledId), api.resume(cancelledId)]);
    expect(both.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
    const r = (both.find((x) => x.status === 'fulfilled') as PromiseFulfilledResult<{ resumedTrials: number }>).value;
    expect(((both.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason as ApiError).status).toBe(409);
    expect(r.resumedTrials).toBe(4);
    const s = await waitDone(cancelledId);
    expect([s.status, s.counts.done]).toEqual(['COMPLETED', 4]);

    // The two side by side: every cell of each, the front over all eight.
    const c = await api.compare([sweepId, cancelledId]);
    const cmpCsv = records(await csvBody(`/compare?sweeps=${sweepId},${cancelledId}&format=csv`, 'compare.csv'));
    expect(cmpCsv.map((r) => [r.sweepId, r.method, Number(r.amount), r.pareto])).toEqual(c.cells.map((x) => [x.sweepId, x.method, x.amount, String(x.pareto)]));
    expect(c.sweeps.map((x) => [x.id, x.name, x.status])).toEqual([[sweepId, 'e2e', 'COMPLETED'], [cancelledId, 'e2e-cancel', 'COMPLETED']]);
    expect(c.cells.map((x) => x.sweepId)).toEqual([sweepId, sweepId, sweepId, sweepId, cancelledId, cancelledId, cancelledId, cancelledId]);
    const all = [...(await api.trials(sweepId)), ...(await api.trials(cancelledId))];
    const beats = (a: TrialView, b: TrialView) => a.accuracy! >= b.accuracy! && a.compressionRate! >= b.compressionRate! && (a.accuracy! > b.accuracy! || a.compressionRate! > b.compressionRate!);
    expect(c.cells.filter((x) => x.pareto).length).toBe(all.filter((t) => !all.some((o) => o !== t && beats(o, t))).length); // one seed each
    const out: string[] = [];
    await printComparison(api, [sweepId, cancelledId], (l) => out.push(l));
    expect(out.join('\n')).toContain('e2e-cancel');
    expect(((await api.compare([sweepId, 'sw-nope']).catch((e: unknown) => e)) as ApiError).body.message).toBe('sweep sw-nope not found');
    expect(((await api.compare([]).catch((e: unknown) => e)) as ApiError).body.errors).toEqual([{ field: 'sweeps', message: 'must list 1 to 20 sweep ids, comma-separated (got 0)' }]);
  }, 300_000);
});

describe('the sweep list', () => {
  it('pages newest first (before = the last id of the previous page), filtered by tag and status', async () => {
    const all = await api.sweeps({ limit: 500 });
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all.map((s) => s.createdAt)).toEqual([...all.map((s) => s.createdAt)].sort().reverse());
    const pages: SweepView[] = [];
    for (let before: string | undefined; ;) {
      const page = await api.sweeps({ limit: 2, before });
      pages.push(...page);
      if (page.length < 2) break;
      before = page[page.length - 1].id;
    }
    expect(pages.map((s) => s.id)).toEqual(all.map((s) => s.id));
    // Sweeps created in the same millisecond: an id cursor neither skips nor repeats them (a time cursor would skip).
    const at = new Date(Date.parse(all[all.length - 1].createdAt) - 60_000);
    await prisma.sweep.createMany({ data: ['sw-tie-a', 'sw-tie-b', 'sw-tie-c'].map((id) => ({ id, name: id, model: 'mlp', dataset: 'fashion-mnist', spec: {}, tags: ['tie'], totalTrials: 0, status: 'COMPLETED' as const, createdAt: at })) });
    const ties: string[] = [];
    for (let before: string | undefined; ;) {
      const page = await api.sweeps({ tag: 'tie', limit: 2, before });
      ties.push(...page.map((s) => s.id));
      if (page.length < 2) break;
      before = page[page.length - 1].id;
    }
    expect(ties).toEqual(['sw-tie-a', 'sw-tie-b', 'sw-tie-c']);
    expect((await api.sweeps({ tag: 'tie', before: at.toISOString() })).map((s) => s.id)).toEqual([]); // strictly before
    expect(((await api.sweeps({ before: 'sw-nope' }).catch((e: unknown) => e)) as ApiError).body.errors)
      .toEqual([{ field: 'before', message: 'no sweep sw-nope: give the id of the last sweep of the previous page, or an ISO 8601 time' }]);
    await prisma.sweep.deleteMany({ where: { tags: { has: 'tie' } } });
    expect((await api.sweeps({ status: 'CANCELLED' })).every((s) => s.status === 'CANCELLED')).toBe(true);
    expect((await api.sweeps({ tag: 'e2e', limit: 500 })).map((s) => s.id)).toEqual(all.filter((s) => s.tags.includes('e2e')).map((s) => s.id));
  });
});

describe("a sweep over a user's own uploaded model", () => {
  it('uploads model.json + weights, prunes that model (its own weights, softmax dropped) and reports its accuracy as the baseline', async () => {
    await tf.setBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'lopper-e2e-um-'));
    // A trained user model: a few steps of plain TF.js training, ending in a softmax as users' models do.
    const user = tfl.sequential({ layers: [
      tfl.layers.flatten({ inputShape: [28, 28, 1], name: 'flat' }), tfl.layers.dense({ units: 64, activation: 'relu', name: 'd1' }),
      tfl.layers.dense({ units: 32, activation: 'relu', name: 'd2' }), tfl.layers.dense({ units: 10, activation: 'softmax', name: 'out' }),
    ] });
    const spec = { name: 'e2e-user', model: 'user', dataset: 'fashion-mnist', methods: ['l1-structured'], amounts: [0.5], seeds: [3], baselineEpochs: 0, finetuneEpochs: 1, trainSubset: 600, testSubset: 300, batchSize: 100 };
    const { train: trainSet, test } = defaultLoadData(spec as never, 3);
    const xs = tf.tensor4d(trainSet.images, [trainSet.count, 28, 28, 1]);
    const ys = tf.oneHot(tf.tensor1d(Array.from(trainSet.labels), 'int32'), 10);
    user.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    await user.fit(xs, ys, { epochs: 5, batchSize: 100, verbose: 0 });
    tf.dispose([xs, ys]);
    const path = await saveUserModel(user, join(dir, 'fashion-cnn'));
    const uploaded = await api.uploadModel(readModelUpload(path));
    expect(uploaded).toMatchObject({ name: 'fashion-cnn', params: user.countParams(), inputShape: [null, 28, 28, 1] });
    expect(uploaded.id).toMatch(/^um-[0-9a-f]{64}$/);
    expect((await api.uploadModel(readModelUpload(path))).id).toBe(uploaded.id); // content-addressed
    expect(await api.model(uploaded.id)).toEqual(uploaded); // the first upload's description, re-uploading changed nothing
    expect((await api.models()).filter((m) => m.id === uploaded.id)).toEqual([uploaded]);

    // What the uploaded model scores on the sweep's test subset, computed here.
    const xt = tf.tensor4d(test.images, [test.count, 28, 28, 1]);
    const pred = tf.argMax(user.predict(xt) as tf.Tensor, 1);
    const labels = await pred.data();
    const expected = Array.from(labels).filter((l, i) => l === test.labels[i]).length / test.count;
    tf.dispose([xt, pred]);
    user.dispose();

    const { id } = await api.submit({ ...spec, userModel: uploaded.id });
    const sweep = await waitDone(id);
    expect(sweep.status).toBe('COMPLETED');
    expect(sweep.baselineAccuracy).toBeCloseTo(expected, 6);
    expect(expected).toBeGreaterThan(0.5); // the user's training, not a fresh initialisation
    const [t] = await api.trials(id);
    expect(t.status).toBe('DONE');
    expect((t.config as { channels: object }).channels).toEqual({ d1: '32/64', d2: '16/32' });
    expect(t.totalParams).toBeLessThan(uploaded.params);
    // The user gets the smaller model back: channels gone from the file, not zeroed.
    const dl = await downloadTrialModel(api, t.id, join(dir, 'pruned'), {}, () => {});
    const small = await loadUserModel(dl[1]);
    expect(small.countParams()).toBe(t.totalParams);
    expect(small.layers.map((l) => (l.getWeights()[0]?.shape ?? []).join('x'))).toEqual(['', '784x32', '32x16', '16x10']);
    small.dispose();
    const baseline = await prisma.baseline.findUniqueOrThrow({ where: { key: (t.config as { baselineKey: string }).baselineKey } });
    expect((baseline.config as { notes: string[]; userModel: string }).notes).toEqual(['the softmax of output layer "out" is dropped: Lopper trains on logits']);
    expect((baseline.config as { userModel: string }).userModel).toBe(uploaded.id);
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('refuses a sweep naming no stored model, and an upload the data cannot feed, naming the field', async () => {
    const rows = await prisma.sweep.count();
    expect((await rejected({ ...grid, model: 'user', userModel: `um-${'0'.repeat(64)}` })).body.errors).toEqual([{ field: 'userModel', message: `no uploaded model um-${'0'.repeat(64)} (POST /models first)` }]);
    expect((await rejected({ ...grid, model: 'user' })).body.errors!.map((e) => e.field)).toEqual(['userModel']);
    expect(await prisma.sweep.count()).toBe(rows);
    const missing = await api.model(`um-${'0'.repeat(64)}`).catch((e: unknown) => e);
    expect([(missing as ApiError).status, (missing as ApiError).body.message]).toEqual([404, `model um-${'0'.repeat(64)} not found`]);
    const models = await prisma.userModel.count();
    const rgb = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [32, 32, 3] }), tfl.layers.dense({ units: 10 })] });
    const dir = mkdtempSync(join(tmpdir(), 'lopper-e2e-um-'));
    const err = await api.uploadModel(readModelUpload(await saveUserModel(rgb, dir))).catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).body.errors).toEqual([{ field: 'modelJson.modelTopology', message: "input shape [null,32,32,3]: Lopper's datasets feed [null,28,28,1]" }]);
    expect(await prisma.userModel.count()).toBe(models); // nothing half-written
    rgb.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes an uploaded model once no schedule and no sweep names it (409 naming them before), with its stored bytes', async () => {
    const small = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: 10, name: 'out' })] });
    const dir = mkdtempSync(join(tmpdir(), 'lopper-e2e-um-'));
    const m = await api.uploadModel(readModelUpload(await saveUserModel(small, join(dir, 'to-delete'))));
    small.dispose();
    const spec = { name: 'e2e-user-delete', model: 'user', userModel: m.id, dataset: 'fashion-mnist', methods: ['l1-unstructured'], amounts: [0.5], seeds: [4], baselineEpochs: 0, finetuneEpochs: 1, trainSubset: 300, testSubset: 100, batchSize: 100 };
    const conflict = async () => { const e = (await api.deleteModel(m.id).catch((x: unknown) => x)) as ApiError; return [e.status, e.body.message]; };

    // Refused at once after the schedule's create (recorded in Postgres; Temporal's list may not show it yet), and free
    // again once it is deleted.
    const sc = await api.createSchedule({ name: 'uses the model', cron: '0 3 * * *', paused: true, sweep: spec });
    expect(await prisma.scheduleModelRef.findMany({ where: { modelId: m.id }, select: { scheduleId: true } })).toEqual([{ scheduleId: sc.id }]);
    expect(await conflict()).toEqual([409, `model ${m.id} is named by schedule(s) ${sc.id}: delete them first`]);
    await api.deleteSchedule(sc.id);
    expect(await prisma.scheduleModelRef.count({ where: { modelId: m.id } })).toBe(0);
    // A record left by an API stopped between its two writes (no such schedule in Temporal): counted while young, as a
    // schedule being created; dropped once stale.
    await prisma.scheduleModelRef.create({ data: { scheduleId: 'sc-never-created', modelId: m.id } });
    expect(await conflict()).toEqual([409, `model ${m.id} is named by schedule(s) sc-never-created: delete them first`]);
    await prisma.scheduleModelRef.update({ where: { scheduleId: 'sc-never-created' }, data: { createdAt: new Date(Date.now() - STALE_SCHEDULE_REF_MS - 1000) } });

    const { id } = await api.submit(spec);
    expect(await conflict()).toEqual([409, `model ${m.id} is used by 1 sweep(s): ${id}; delete them first`]);
    await api.cancel(id);
    expect(['CANCELLED', 'COMPLETED']).toContain((await waitDone(id, 120_000)).status);
    await temporal.workflow.getHandle(id).result().catch(() => undefined); // until then DELETE answers 409 (winding down)
    await api.deleteSweep(id);

    expect(await api.deleteModel(m.id)).toEqual({ id: m.id, deleted: true, freedBytes: m.sizeBytes });
    expect(await prisma.userModel.count({ where: { id: m.id } })).toBe(0);
    expect(await prisma.artifact.count({ where: { uri: { contains: m.id } } })).toBe(0);
    const gone = (await api.model(m.id).catch((x: unknown) => x)) as ApiError;
    expect([gone.status, gone.body.message]).toEqual([404, `model ${m.id} not found`]);
    expect((await api.deleteModel(m.id).catch((x: unknown) => x) as ApiError).status).toBe(404);
    expect((await rejected(spec)).body.errors).toEqual([{ field: 'userModel', message: `no uploaded model ${m.id} (POST /models first)` }]);
    // The write itself checks, under a lock on the model's row (a delete racing the API's check): nothing is written.
    const rows = await prisma.sweep.count();
    await expect(createSweepRows(prisma, 'sw-raced', { ...grid, model: 'user', userModel: m.id } as never)).rejects.toBeInstanceOf(UnknownUserModel);
    expect(await prisma.sweep.count()).toBe(rows);
    // So does a schedule's record, and the schedule's create then answers 400 on the field, creating nothing.
    expect(await new ModelsRepository(prisma).addScheduleRef('sc-raced', m.id)).toBe(false);
    expect(await prisma.scheduleModelRef.count({ where: { modelId: m.id } })).toBe(0); // the stale record went at the next DELETE
    const schedules = (await api.schedules()).length;
    const noModel = (await api.createSchedule({ name: 'gone', cron: '0 3 * * *', paused: true, sweep: spec }).catch((x: unknown) => x)) as ApiError;
    expect([noModel.status, noModel.body.errors]).toEqual([400, [{ field: 'sweep.userModel', message: `no uploaded model ${m.id} (POST /models first)` }]]);
    expect((await api.schedules()).length).toBe(schedules);
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});

describe('nightly sweeps on a schedule', () => {
  const nightly = { name: 'e2e-nightly', model: 'mlp', methods: ['l1-unstructured'], amounts: [0.5], seeds: [11], baselineEpochs: 1, finetuneEpochs: 1, trainSubset: 500, testSubset: 200, batchSize: 100, tags: ['nightly'] };

  it('refuses a bad schedule by field, creating nothing', async () => {
    const before = (await api.schedules()).length;
    const bad = async (body: unknown) => ((await api.createSchedule(body).catch((e: unknown) => e)) as ApiError);
    const e1 = await bad({ name: 'x', cron: '61 2 * * *', sweep: nightly });
    expect([e1.status, e1.body.errors]).toEqual([400, [{ field: 'cron', message: 'Minute is not in range [0-59] ("61 2 * * *")' }]]);
    const e2 = await bad({ name: 'x', cron: '0 2 * * *', timezone: 'Mars/Olympus', sweep: { ...nightly, methods: ['magic'] } });
    expect(e2.body.errors!.map((e) => e.field)).toEqual(['timezone', 'sweep.methods.0']);
    const e3 = await bad({ name: 'x', cron: '0 2 * * *', sweep: { ...nightly, model: 'user', userModel: `um-${'0'.repeat(64)}` } });
    expect(e3.body.errors).toEqual([{ field: 'sweep.userModel', message: `no uploaded model um-${'0'.repeat(64)} (POST /models first)` }]);
    expect((await api.schedules()).length).toBe(before);
  });

  it('runs the sweep at each cron time (here: triggered), tagged with the schedule; pauses, lists and deletes', async () => {
    const s = await api.createSchedule({ name: 'lenet nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', sweep: nightly });
    expect(s).toMatchObject({ name: 'lenet nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', paused: false, recentRuns: [], sweepTag: `schedule:${s.id}` });
    expect(s.id).toMatch(/^sc-[0-9a-f-]{36}$/);
    // The next five 02:00s in Paris (01:00 or 00:00 UTC), a day apart, the first within a day.
    expect(s.nextRuns).toHaveLength(5);
    const next = s.nextRuns.map((t) => new Date(t));
    expect(next.map((d) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }).format(d))).toEqual(Array(5).fill('02:00'));
    expect(next[0].getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600e3 + 3600e3);
    expect(s.sweep).toMatchObject({ name: 'e2e-nightly', model: 'mlp', tags: ['nightly'] });
    // Listed (Temporal's schedule list is eventually consistent: wait for it).
    for (let i = 0; i < 50 && !(await api.schedules()).some((x) => x.id === s.id); i++) await new Promise((r) => setTimeout(r, 200));
    expect((await api.schedules()).find((x) => x.id === s.id)).toMatchObject({ name: 'lenet nightly', cron: '0 2 * * *', paused: false });

    // A run: a new sweep with the schedule's tag, run to the end like any other.
    expect(await api.triggerSchedule(s.id)).toEqual({ id: s.id, triggered: true, sweepTag: s.sweepTag });
    let runs: SweepView[] = [];
    for (let i = 0; i < 100 && !runs.length; i++) {
      runs = await api.sweeps({ tag: s.sweepTag });
      if (!runs.length) await new Promise((r) => setTimeout(r, 200));
    }
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ name: 'e2e-nightly', tags: ['nightly', s.sweepTag], totalTrials: 1 });
    const done = await waitDone(runs[0].id, 300_000);
    expect([done.status, done.counts.done]).toEqual(['COMPLETED', 1]);
    const [t] = await api.trials(runs[0].id);
    expect([t.status, t.backend]).toEqual(['DONE', workerBackend]);
    const described = await api.schedule(s.id);
    expect(described.recentRuns).toHaveLength(1);
    expect(described.recentRuns[0].workflowId).toMatch(new RegExp(`^${s.id}-run-`));
    // The sweep is the scheduled run's child, under the sweep's id.
    expect((await temporal.workflow.getHandle(runs[0].id).describe()).parentExecution?.workflowId).toBe(described.recentRuns[0].workflowId);

    const paused = await api.pauseSchedule(s.id, true);
    expect(paused.paused).toBe(true);
    expect((await api.pauseSchedule(s.id, false)).paused).toBe(false);
    expect(await api.deleteSchedule(s.id)).toEqual({ id: s.id, deleted: true });
    for (const call of [() => api.schedule(s.id), () => api.triggerSchedule(s.id), () => api.deleteSchedule(s.id)]) {
      expect(((await call().catch((e: unknown) => e)) as ApiError).status).toBe(404);
    }
    expect((await api.sweep(runs[0].id)).status).toBe('COMPLETED'); // its sweeps stay
  }, 360_000);
});

describe('deleting sweeps', () => {
  it('deletes an ended sweep and its trials, then frees the stored models nothing references (and no worker stored lately)', async () => {
    // A running sweep is refused.
    const { id: running } = await api.submit({ ...grid, name: 'e2e-delete-running', seeds: [98], baselineEpochs: 50 });
    const busy = (await api.deleteSweep(running).catch((e: unknown) => e)) as ApiError;
    expect([busy.status, busy.body.message]).toEqual([409, `sweep ${running} is ${(await api.sweep(running)).status}: cancel it before deleting it`]);
    await api.cancel(running);
    await waitDone(running, 60_000);
    // Its workflow ends once its baseline activity has stopped: from then on nothing of it stores anything.
    await temporal.workflow.getHandle(running).result().catch(() => undefined);

    // The sweep that reused a baseline: one DONE trial with its stored model.
    const reuse = await prisma.sweep.findFirstOrThrow({ where: { name: 'e2e-reuse' }, include: { trials: true, baselines: true } });
    const uri = reuse.trials[0].artifactUri!;
    const others = await prisma.trial.count({ where: { artifactUri: uri, sweepId: { not: reuse.id } } });
    expect(others).toBe(0); // its model is its own
    const r = await api.deleteSweep(reuse.id);
    expect([r.id, r.deleted, r.trials]).toEqual([reuse.id, true, 1]);
    expect(((await api.sweep(reuse.id).catch((e: unknown) => e)) as ApiError).status).toBe(404);
    expect(await prisma.trial.count({ where: { sweepId: reuse.id } })).toBe(0);
    // Stored minutes ago: kept (a worker may be about to reference the same bytes).
    expect(await prisma.artifact.count({ where: { uri } })).toBe(1);

    // Three hours later (aged here), the next delete frees it; everything still referenced stays.
    await prisma.artifact.updateMany({ data: { storedAt: new Date(Date.now() - 4 * 3600e3) } });
    const referenced = async () => {
      const uris = [
        ...(await prisma.trial.findMany({ where: { artifactUri: { not: null } }, select: { artifactUri: true } })).map((t) => t.artifactUri!),
        ...(await prisma.baseline.findMany({ select: { artifactUri: true } })).map((b) => b.artifactUri),
        ...(await prisma.userModel.findMany({ select: { artifactUri: true } })).map((u) => u.artifactUri),
      ];
      return new Set(uris);
    };
    const before = await referenced();
    const unreferenced = (await prisma.artifact.findMany({ select: { uri: true, sizeBytes: true } })).filter((a) => !before.has(a.uri));
    expect(unreferenced.map((a) => a.uri)).toContain(uri);
    const d = await api.deleteSweep(running);
    expect([d.trials, d.freedArtifacts, d.freedBytes]).toEqual([4, unreferenced.length, unreferenced.reduce((n, a) => n + a.sizeBytes, 0)]);
    expect(await prisma.artifact.count({ where: { uri } })).toBe(0);
    const left = new Set((await prisma.artifact.findMany({ select: { uri: true } })).map((a) => a.uri));
    for (const u of before) expect(left.has(u)).toBe(true); // baselines, user models, other trials' models
    expect(((await api.deleteSweep(running).catch((e: unknown) => e)) as ApiError).status).toBe(404);
  }, 120_000);
});

describe('worker processes: stopped under running work (SIGTERM: a deploy, a restart), and supervised', () => {
  // GPU-queue workers of these tests only (compute activities; the workflows stay on the suite's worker).
  const env = () => ({ DATABASE_URL: process.env.DATABASE_URL!, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, LOPPER_GPU: '1', LOPPER_RUN_WORKFLOWS: '0', LOPPER_WORKER_PROCESSES: '1' });
  /** A sweep with a baseline of its own (no earlier sweep trained this learning rate), long enough to stop a worker in the middle. */
  const submitLong = (name: string) => api.submit({ ...grid, name, requireGpu: true, methods: ['l1-unstructured'], amounts: [0.5], seeds: [11], baselineEpochs: 60, learningRate: 1e-3 + Math.random() * 1e-6 });
  /** The baseline while a worker trains it (after its first batch). */
  async function heldBaseline(id: string): Promise<RunningWorkView> {
    let held: RunningWorkView | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end && !held; await new Promise((r) => setTimeout(r, 200))) {
      held = (await api.progress(id)).running.find((w) => w.kind === 'baseline' && w.phase === 'baseline' && w.batch !== null && w.worker !== null);
    }
    expect(held).toBeDefined();
    return held!;
  }
  /** The compute activities that ran, in order: type, attempt, worker identity; and the failures' types. */
  async function computeHistory(id: string) {
    const events = (await temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
    const typeOf = new Map(events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [[String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name]] : [])));
    const started = events.flatMap((e) => {
      const a = e.activityTaskStartedEventAttributes;
      return a ? [{ type: typeOf.get(String(a.scheduledEventId)), attempt: a.attempt, identity: a.identity }] : [];
    }).filter((a) => a.type === 'trainBaseline' || a.type === 'runTrial');
    const failures = events.flatMap((e) => (e.activityTaskFailedEventAttributes ? [e.activityTaskFailedEventAttributes.failure?.applicationFailureInfo] : []));
    return { started, failures: failures.map((f) => [f?.type, f?.nonRetryable]) };
  }

  it('hands its baseline back at once: another worker trains it on a fresh first attempt, and the sweep completes with nothing failed', async () => {
    const pair = await Promise.all([1, 2].map(() => startProcess('workers/src/main.ts', env(), /\[worker\] ready \(/)));
    procs.push(...pair);
    const { id } = await submitLong('e2e-worker-stop');
    const held = await heldBaseline(id);
    const pid = Number(held.worker!.split('@')[0]);
    const [stopping, other] = pair[0].child.pid === pid ? pair : [pair[1], pair[0]];
    expect(stopping.child.pid).toBe(pid);
    const stoppedAt = Date.now();
    await stopping.stop(); // SIGTERM; SIGKILL after 15 s
    const stopMs = Date.now() - stoppedAt;
    expect([stopping.child.exitCode, stopping.child.signalCode]).toEqual([0, null]); // a clean exit, not the SIGKILL
    expect(stopping.output()).toContain('[worker] stopped');
    expect(stopMs).toBeLessThan(10_000); // within a training batch, not after the baseline

    const s = await waitDone(id, 300_000);
    expect([s.status, s.counts.done, s.counts.failed]).toEqual(['COMPLETED', 1, 0]);
    const { started, failures } = await computeHistory(id);
    expect(failures).toEqual([['WorkerShutdown', true]]);
    // The workflow scheduled the baseline a second time; every compute activity ran as attempt 1 (the stop spent no retry attempt).
    expect(started.map((a) => [a.type, a.attempt])).toEqual([['trainBaseline', 1], ['trainBaseline', 1], ['runTrial', 1]]);
    // The second run was the other worker's.
    expect(started.slice(0, 2).map((a) => Number(a.identity!.split('@')[0]))).toEqual([stopping.child.pid, other.child.pid]);
    const links = await prisma.sweepBaseline.findMany({ where: { sweepId: id }, include: { baseline: true } });
    expect(links.map((l) => [l.baseline.backend, l.baseline.accuracy > 0.5])).toEqual([[workerBackend, true]]);
    await other.stop();
  }, 420_000);

  it('with LOPPER_SHUTDOWN_GRACE, lets its running baseline finish before it exits: nothing handed back', async () => {
    const w = await startProcess('workers/src/main.ts', { ...env(), LOPPER_SHUTDOWN_GRACE: '300' }, /\[worker\] ready \(/);
    procs.push(w);
    const { id } = await submitLong('e2e-worker-drain');
    const held = await heldBaseline(id);
    expect(Number(held.worker!.split('@')[0])).toBe(w.child.pid);
    const exited = new Promise<number | null>((res) => w.child.once('exit', (code) => res(code)));
    w.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(w.output()).toContain('[worker] stopped');
    // The baseline ran to its end on that worker; the trial waits for a GPU worker (none left) until the sweep is cancelled.
    const { started, failures } = await computeHistory(id);
    expect([started.map((a) => [a.type, a.attempt, Number(a.identity!.split('@')[0])]), failures]).toEqual([[['trainBaseline', 1, w.child.pid]], []]);
    expect(await prisma.sweepBaseline.count({ where: { sweepId: id } })).toBe(1);
    const waiting = async () => (await api.progress(id)).running.map((r) => [r.kind, r.waiting]);
    for (const end = Date.now() + 15_000; Date.now() < end && !(await waiting()).length;) await new Promise((r) => setTimeout(r, 200));
    expect(await waiting()).toEqual([['trial', true]]);
    await api.cancel(id);
    expect((await waitDone(id, 60_000)).status).toBe('CANCELLED');
  }, 300_000);

  it('npm run worker runs several worker processes on the queue, supervised: SIGTERM stops them all; each stops by itself when the supervisor dies', async () => {
    const startSupervised = async () => {
      const sup = await startProcess('workers/src/main.ts', { ...env(), LOPPER_WORKER_PROCESSES: '2' }, /\[worker \d\] ready/, 120_000, 2);
      procs.push(sup);
      expect(sup.output()).toContain(`[workers] 2 worker process(es) on ${workerBackend} (LOPPER_WORKER_PROCESSES)`);
      const pids = [...sup.output().matchAll(/\[worker \d\] ready \(\w+ on .*, pid (\d+)\)/g)].map((m) => Number(m[1]));
      expect(pids.length).toBe(2);
      return { sup, pids };
    };
    const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
    const gone = async (pids: number[]) => {
      for (const end = Date.now() + 20_000; Date.now() < end && pids.some(alive);) await new Promise((r) => setTimeout(r, 250));
      return pids.map(alive);
    };

    const a = await startSupervised();
    // Both poll the GPU queue (a stopped worker of an earlier test may still be listed for a while).
    const pollers = async () => ((await temporal.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: 'lopper-gpu' }, taskQueueType: 2 })).pollers ?? []).map((p) => Number(String(p.identity).split('@')[0]));
    let listed = await pollers();
    for (const end = Date.now() + 20_000; Date.now() < end && !a.pids.every((p) => listed.includes(p)); listed = await pollers()) await new Promise((r) => setTimeout(r, 250));
    expect(a.pids.every((p) => listed.includes(p))).toBe(true);
    const exited = new Promise<number | null>((res) => a.sup.child.once('exit', (code) => res(code)));
    a.sup.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(a.sup.output()).toMatch(/\[worker 1\] stopped/);
    expect(a.sup.output()).toMatch(/\[worker 2\] stopped/);
    expect(await gone(a.pids)).toEqual([false, false]);

    const b = await startSupervised();
    expect(b.pids.map(alive)).toEqual([true, true]);
    b.sup.child.kill('SIGKILL'); // no signal reaches the workers: they see their IPC channel close
    expect(await gone(b.pids)).toEqual([false, false]);
  }, 120_000);

  it('a supervised worker process killed under its baseline (SIGKILL, out of memory): the supervisor fails it at once, and it is retried long before the heartbeat timeout', async () => {
    const sup = await startProcess('workers/src/main.ts', { ...env(), LOPPER_WORKER_PROCESSES: '2' }, /\[worker \d\] ready/, 120_000, 2);
    procs.push(sup);
    const { id } = await submitLong('e2e-worker-killed');
    const held = await heldBaseline(id);
    const pid = Number(held.worker!.split('@')[0]);
    const index = sup.output().match(new RegExp(`\\[worker (\\d)\\] ready \\(.*, pid ${pid}\\)`))?.[1];
    expect(index).toBeDefined(); // one of this supervisor's processes
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    type Pending = NonNullable<Awaited<ReturnType<ReturnType<typeof temporal.workflow.getHandle>['describe']>>['raw']['pendingActivities']>[number];
    let retry: Pending | undefined;
    for (const end = Date.now() + 45_000; Date.now() < end && !retry; await new Promise((r) => setTimeout(r, 100))) {
      const pending = (await temporal.workflow.getHandle(id).describe()).raw.pendingActivities ?? [];
      retry = pending.find((a) => a.activityType?.name === 'trainBaseline' && Number(a.attempt) >= 2);
    }
    const retriedMs = Date.now() - killedAt;
    expect(retry).toBeDefined();
    expect([retry!.attempt, retry!.lastFailure?.applicationFailureInfo?.type, retry!.lastFailure?.applicationFailureInfo?.nonRetryable ?? false]).toEqual([2, 'WorkerProcessDied', false]);
    expect(retry!.lastFailure?.message).toBe(`worker process ${index} (pid ${pid}) on ${hostname()} exited with signal SIGKILL while running this activity (attempt 1)`);
    expect(retriedMs).toBeLessThan(20_000); // COMPUTE_HEARTBEAT_TIMEOUT is a minute
    expect(sup.output()).toContain(`[workers] worker process ${index}'s trainBaseline of ${id} (attempt 1): failed, to be retried now`);
    expect(sup.output()).toContain(`[workers] worker process ${index} (pid ${pid}) exited with signal SIGKILL; starting it again in`);
    // Trained again by a live process of the same supervisor.
    const worker = async () => (await api.progress(id)).running.find((w) => w.kind === 'baseline')?.worker ?? null;
    let by = await worker();
    for (const end = Date.now() + 60_000; Date.now() < end && (by === null || by.startsWith(`${pid}@`)); by = await worker()) await new Promise((r) => setTimeout(r, 200));
    expect(by).toMatch(/^\d+@/);
    expect(by!.startsWith(`${pid}@`)).toBe(false);
    await api.cancel(id);
    expect((await waitDone(id, 60_000)).status).toBe('CANCELLED');
    await sup.stop();
  }, 180_000);

  it('an impatient second SIGTERM kills a supervised worker process still finishing its baseline: the supervisor hands the baseline back (no attempt spent)', async () => {
    const sup = await startProcess('workers/src/main.ts', { ...env(), LOPPER_WORKER_PROCESSES: '2', LOPPER_SHUTDOWN_GRACE: '300' }, /\[worker \d\] ready/, 120_000, 2);
    procs.push(sup);
    const { id } = await submitLong('e2e-worker-second-signal');
    const pid = Number((await heldBaseline(id)).worker!.split('@')[0]);
    const index = sup.output().match(new RegExp(`\\[worker (\\d)\\] ready \\(.*, pid ${pid}\\)`))?.[1];
    expect(index).toBeDefined();
    const exited = new Promise<number | null>((res) => sup.child.once('exit', (code) => res(code)));
    sup.child.kill('SIGTERM'); // the processes stop polling and let the baseline run (LOPPER_SHUTDOWN_GRACE)
    await new Promise((r) => setTimeout(r, REPEAT_SIGNAL_MS + 1000));
    expect(sup.child.exitCode).toBeNull();
    sup.child.kill('SIGTERM'); // passed on: the processes die of it
    expect(await exited).toBe(0);
    expect(sup.output()).toContain(`[workers] worker process ${index}'s trainBaseline of ${id} (attempt 1): handed back`);
    // The workflow schedules the baseline again as a fresh first attempt (no GPU worker is left to take it).
    let failures: unknown[] = [];
    let again: { attempt?: number | null } | undefined;
    for (const end = Date.now() + 20_000; Date.now() < end && !again; await new Promise((r) => setTimeout(r, 200))) {
      failures = (await computeHistory(id)).failures;
      const pending = (await temporal.workflow.getHandle(id).describe()).raw.pendingActivities ?? [];
      again = failures.length ? pending.find((a) => a.activityType?.name === 'trainBaseline') : undefined;
    }
    expect(failures).toEqual([['WorkerShutdown', true]]);
    expect(again?.attempt).toBe(1);
    await api.cancel(id);
    expect((await waitDone(id, 60_000)).status).toBe('CANCELLED');
  }, 180_000);

  it('says in one line why a worker cannot start, and its supervisor stops with it', async () => {
    const err = await startProcess('workers/src/main.ts', { ...env(), TEMPORAL_ADDRESS: '127.0.0.1:1', LOPPER_WORKER_PROCESSES: '2' }, /\[worker \d\] ready/).catch((e: Error) => e.message);
    expect(err).toMatch(/^workers\/src\/main.ts exited with 1:/);
    expect(err).toContain('[worker 1] cannot start: cannot reach Temporal at TEMPORAL_ADDRESS=127.0.0.1:1: ');
    expect(err).toContain('[workers] worker process 1 exited with code 1 before it was ready: stopping');
    expect(err).not.toContain('WasmBackendModule'); // not TF.js's WASM module rethrowing it with its minified source
  }, 60_000);

  it('stops, worker processes and all, when a process manager sends SIGTERM to `npm run worker` itself', async () => {
    const npm = spawn('npm', ['run', 'worker'], { env: { ...process.env, ...env(), LOPPER_WORKER_PROCESSES: '2' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((res) => npm.once('exit', (code) => res(code)));
    npm.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    npm.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const pids = () => [...out.matchAll(/\[worker \d\] ready \(\w+ on .*, pid (\d+)\)/g)].map((m) => Number(m[1]));
    for (const end = Date.now() + 90_000; Date.now() < end && pids().length < 2;) await new Promise((r) => setTimeout(r, 250));
    expect(pids().length).toBe(2);
    const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
    try {
      npm.kill('SIGTERM'); // npm passes it on to its script, `exec node --import tsx …` (no shell or tsx CLI in between)
      await exited;
      for (const end = Date.now() + 20_000; Date.now() < end && pids().some(alive);) await new Promise((r) => setTimeout(r, 250));
      expect(pids().map(alive)).toEqual([false, false]);
      expect(out).toMatch(/\[worker 1\] stopped/);
      expect(out).toMatch(/\[worker 2\] stopped/);
      expect(out).not.toContain('No workflows registered'); // the SDK's warning for a compute-only worker, left out
    } finally {
      // Left running (the test failed): kill their supervisor; they stop when its IPC channel closes.
      for (const pid of pids().filter(alive)) {
        const parent = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
        try { process.kill(parent, 'SIGKILL'); } catch { /* gone already */ }
      }
    }
  }, 120_000);
});
