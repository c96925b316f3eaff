/**
 * The worker's activities against the real Postgres: baselines, unstructured and structured trials
 * (physical channel removal), on small Fashion-MNIST subsets.
 *
 * @jest-environment ./test/native-realm-environment.mjs
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { WORKER_SHUTDOWN } from '../workflows/src/constants.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createPrisma, type PrismaClient } from '../prisma/src/client.js';
import { baselineKey, createActivities } from '../workers/src/activities.js';
import { PostgresArtifactStore } from '../workers/src/artifacts.js';
import { initBackend, optionalBindingProblem } from '../workers/src/backends/index.js';
import { WorkerRepository } from '../workers/src/repository.js';
import { deserializeModel } from '../workers/src/pruning/serialize.js';
import { randomGroupSeed } from '../workers/src/pruning/channels.js';
import { aliveChannels, lnStructured, randomStructured } from '../workers/src/pruning/structured.js';
import { OPTION_READERS, expandGrid, specForModel, type SweepSpec } from '../workflows/src/spec.js';
import { createSweepRows as writeSweepRows } from '../prisma/src/sweep-rows.js';
import type { BaselineRef, LopperActivities } from '../workflows/src/activity-types.js';
import { testSpec } from './helpers/spec.js';
import { createHash } from 'node:crypto';
import { USER_MODEL_KIND, userModelUri } from '../workflows/src/spec.js';
import { readSpecFile } from '../apps/cli/src/commands.js';
import { parseSweepSpec } from '../apps/api/src/sweeps/sweeps.dto.js';
import { heldMemory } from '../workers/src/backends/memory.spec-helpers.js';

let prisma: PrismaClient;
let acts: LopperActivities;
const env = new MockActivityEnvironment();

beforeAll(async () => {
  prisma = createPrisma(process.env.DATABASE_URL!);
  acts = createActivities({ repo: new WorkerRepository(prisma), artifacts: new PostgresArtifactStore(prisma), backend: await initBackend('wasm') });
});
afterAll(async () => { await prisma.$disconnect(); });

/** The rows the API writes for `spec`: the sweep and one PENDING trial per grid point. */
async function createSweepRows(spec: SweepSpec, prefix = 'act') {
  const sweepId = `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await writeSweepRows(prisma, sweepId, spec);
  return { sweepId, grid: expandGrid(sweepId, spec) };
}

async function runSweep(spec: SweepSpec, activities: LopperActivities = acts) {
  const { sweepId, grid } = await createSweepRows(spec);
  const baseline = (await env.run(activities.trainBaseline, { sweepId, spec, seed: spec.seeds[0] })) as BaselineRef;
  for (const t of grid) await env.run(activities.runTrial, { sweepId, trialId: t.trialId, spec, method: t.method, amount: t.amount, seed: t.seed, baseline });
  return { baseline, trials: await prisma.trial.findMany({ where: { sweepId }, orderBy: { amount: 'asc' } }) };
}

describe('gradual pruning and fine-tuning options', () => {
  it('gradual-l1-unstructured reaches exactly the target sparsity; distillation and cosine LR are recorded', async () => {
    const { trials } = await runSweep(testSpec({
      methods: ['gradual-l1-unstructured'], amounts: [0.8], trainSubset: 640, testSubset: 128, batchSize: 64, finetuneEpochs: 1,
      finetune: { lrSchedule: 'cosine', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: { temperature: 4, alpha: 0.7 } },
    }));
    const [t] = trials;
    expect(t.status).toBe('DONE');
    const kernels = 784 * 300 + 300 * 100 + 100 * 10;
    // Biases are not pruned; a dead unit's bias may be exactly 0, so compare within the bias count.
    expect(t.totalParams! - t.nonzeroParams!).toBeGreaterThanOrEqual(Math.round(0.8 * kernels));
    expect(t.totalParams! - t.nonzeroParams!).toBeLessThanOrEqual(Math.round(0.8 * kernels) + 410);
    const cfg = t.config as { schedule: { kind: string; final: number }; gradualSteps: { step: number; sparsity: number }[]; finetune: object };
    expect(cfg.schedule).toMatchObject({ kind: 'polynomial', final: 0.8 });
    expect(cfg.gradualSteps.length).toBeGreaterThan(3);
    expect(cfg.gradualSteps.at(-1)!.sparsity).toBeCloseTo(0.8, 12);
    expect(cfg.finetune).toEqual({ lrSchedule: 'cosine', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: { temperature: 4, alpha: 0.7 } });
  }, 300_000);
});

describe('the fine-tuning axis', () => {
  it('runs each setting of a grid point with its own fine-tuning, from one baseline, and records which', async () => {
    const spec = testSpec({
      methods: ['l1-unstructured'], amounts: [0.5], trainSubset: 640, testSubset: 256, batchSize: 64, finetuneEpochs: 1,
      finetuneSettings: [{ name: 'none', finetuneEpochs: 0 }, { name: 'kd2', finetuneEpochs: 2, finetuneLearningRate: 5e-4, finetune: { distill: { temperature: 2, alpha: 0.5 } } }],
    });
    const { sweepId, grid } = await createSweepRows(spec);
    expect(grid.map((t) => t.finetune)).toEqual(['none', 'kd2']);
    const baseline = (await env.run(acts.trainBaseline, { sweepId, spec, seed: 1 })) as BaselineRef;
    for (const t of grid) await env.run(acts.runTrial, { sweepId, trialId: t.trialId, spec, method: t.method, amount: t.amount, seed: t.seed, finetune: t.finetune, baseline });
    const rows = await prisma.trial.findMany({ where: { sweepId }, orderBy: { finetune: 'desc' } });
    expect(rows.map((t) => [t.id, t.finetune, t.status])).toEqual([[`${sweepId}:l1-unstructured:0.5:1:none`, 'none', 'DONE'], [`${sweepId}:l1-unstructured:0.5:1:kd2`, 'kd2', 'DONE']]);
    const cfg = rows.map((t) => t.config as { finetuneSetting: string; finetuneEpochs: number; finetuneLearningRate: number; finetune: { distill: unknown; lrSchedule: string }; baselineKey: string });
    expect(cfg.map((c) => [c.finetuneSetting, c.finetuneEpochs, c.finetuneLearningRate, c.finetune.distill, c.finetune.lrSchedule, c.baselineKey])).toEqual([
      ['none', 0, 1e-4, null, 'cosine', baseline.key], // learningRate / 10: the sweep gives no finetuneLearningRate
      ['kd2', 2, 5e-4, { temperature: 2, alpha: 0.5 }, 'cosine', baseline.key],
    ]);
    // Same pruning (same masks), different fine-tuning: the weights that stayed moved in one trial only.
    expect(rows[0].nonzeroParams).toBe(rows[1].nonzeroParams);
    expect(rows[0].accuracy).not.toBe(rows[1].accuracy);
    // A setting the sweep does not have: refused without retrying, before anything runs.
    await prisma.trial.update({ where: { id: grid[0].trialId }, data: { status: 'PENDING' } });
    await expect(env.run(acts.runTrial, { sweepId, trialId: grid[0].trialId, spec: { ...spec, finetuneSettings: [{ name: 'other' }] }, method: 'l1-unstructured' as const, amount: 0.5, seed: 1, finetune: 'none', baseline }))
      .rejects.toMatchObject({ nonRetryable: true, message: 'the sweep has no fine-tuning setting "none" (it has other)' });
    expect((await prisma.trial.findUniqueOrThrow({ where: { id: grid[0].trialId } })).status).toBe('PENDING');
  }, 300_000);
});

describe('the model axis', () => {
  it('trains and links a baseline per model, runs each trial on its model, and records it', async () => {
    const spec = testSpec({ model: 'mlp', models: ['mlp', 'lenet5'], methods: ['l1-structured'], amounts: [0.5], trainSubset: 256, testSubset: 128, batchSize: 64 });
    const { sweepId, grid } = await createSweepRows(spec);
    expect(grid.map((t) => [t.trialId, t.model])).toEqual([[`${sweepId}:mlp:l1-structured:0.5:1`, 'mlp'], [`${sweepId}:lenet5:l1-structured:0.5:1`, 'lenet5']]);
    expect((await prisma.sweep.findUniqueOrThrow({ where: { id: sweepId } })).model).toBe('mlp,lenet5');
    const baselines = new Map<string, BaselineRef>();
    for (const model of ['mlp', 'lenet5']) baselines.set(model, (await env.run(acts.trainBaseline, { sweepId, spec: specForModel(spec, model), seed: 1 })) as BaselineRef);
    expect([...baselines.values()].map((b) => [b.model, b.totalParams])).toEqual([['mlp', 266_610], ['lenet5', expect.any(Number)]]);
    expect(baselines.get('lenet5')!.totalParams).not.toBe(266_610);
    const links = await prisma.sweepBaseline.findMany({ where: { sweepId }, orderBy: { model: 'asc' } });
    expect(links.map((l) => [l.model, l.seed, l.baselineKey])).toEqual([['lenet5', 1, baselines.get('lenet5')!.key], ['mlp', 1, baselines.get('mlp')!.key]]);
    for (const t of grid) await env.run(acts.runTrial, { sweepId, trialId: t.trialId, spec, model: t.model, method: t.method, amount: t.amount, seed: t.seed, finetune: t.finetune, baseline: baselines.get(t.model)! });
    const rows = await prisma.trial.findMany({ where: { sweepId }, orderBy: { model: 'asc' } });
    expect(rows.map((t) => [t.model, t.status, t.baselineParams, (t.config as { model: string }).model])).toEqual([
      ['lenet5', 'DONE', baselines.get('lenet5')!.totalParams, 'lenet5'], ['mlp', 'DONE', 266_610, 'mlp'],
    ]);
    expect(rows.every((t) => t.totalParams! < t.baselineParams!)).toBe(true); // channels removed from each model's own baseline
  }, 300_000);
});

describe('BatchNorm recalibration', () => {
  it('recomputes the moving statistics of the baseline and of each trial before they are evaluated, and records it', async () => {
    // 8 training steps: the moving averages still hold much of their initial 0 and 1. A fresh baseline (the jittered rate).
    const plain = testSpec({ model: 'lenet5', methods: ['l1-structured'], amounts: [0.5], trainSubset: 512, testSubset: 512, batchSize: 64, baselineEpochs: 1, finetuneEpochs: 0, learningRate: 2e-3 + Math.random() * 1e-6 });
    const spec = { ...plain, batchNormRecalibration: 4 };
    // Off (0, or absent in sweeps stored before the option) keeps the baseline's address as it was; on gives it a new one.
    expect(baselineKey({ ...plain, batchNormRecalibration: 0 }, 1)).toBe(baselineKey(plain, 1));
    expect(baselineKey(spec, 1)).not.toBe(baselineKey(plain, 1));
    const off = await runSweep(plain);
    const on = await runSweep(spec);
    const lenet5BatchNorms = 4;
    const row = await prisma.baseline.findUniqueOrThrow({ where: { key: on.baseline.key } });
    expect((row.config as { recalibration: unknown }).recalibration).toEqual({ layers: lenet5BatchNorms, batches: 4, examples: 256 });
    expect((await prisma.baseline.findUniqueOrThrow({ where: { key: off.baseline.key } })).config).not.toHaveProperty('recalibration');
    expect(on.trials.map((t) => [t.status, (t.config as { batchNormRecalibration: unknown }).batchNormRecalibration])).toEqual([['DONE', { layers: lenet5BatchNorms, batches: 4, examples: 256 }]]);
    expect(off.trials[0].config).not.toHaveProperty('batchNormRecalibration');
    // The same trained weights, evaluated with statistics that describe them: the baseline and the pruned model both gain
    // (measured: baseline 36.1% -> 71.3%, half the channels removed and not fine-tuned 11.9% -> 25.8%).
    expect(on.baseline.accuracy).toBeGreaterThan(off.baseline.accuracy + 0.05);
    expect(on.trials[0].accuracy!).toBeGreaterThan(off.trials[0].accuracy! + 0.05);
  }, 300_000);
});

describe('baselines kept in memory between trials', () => {
  /** Activities over a store that counts the baseline reads; trials alternate between two seeds' baselines. */
  async function baselineReads(baselineCacheBytes?: number): Promise<number> {
    const store = new PostgresArtifactStore(prisma);
    let reads = 0;
    const counting = { put: store.put.bind(store), get: (uri: string) => { reads++; return store.get(uri); } };
    const a = createActivities({ repo: new WorkerRepository(prisma), artifacts: counting, backend: await initBackend('wasm'), baselineCacheBytes, storePrunedModels: false });
    const spec = testSpec({ seeds: [1, 2], methods: ['l1-unstructured'], amounts: [0.3, 0.6], trainSubset: 128, testSubset: 64, baselineEpochs: 1, finetuneEpochs: 1 });
    const { sweepId, grid } = await createSweepRows(spec, 'act-lru');
    const baselines = new Map<number, BaselineRef>();
    for (const seed of spec.seeds) baselines.set(seed, (await env.run(a.trainBaseline, { sweepId, spec, seed })) as BaselineRef);
    const readsAfterBaselines = reads;
    const bySeed = [...grid].sort((x, y) => x.amount - y.amount || x.seed - y.seed); // seed 1, 2, 1, 2
    expect(bySeed.map((t) => t.seed)).toEqual([1, 2, 1, 2]);
    for (const t of bySeed) await env.run(a.runTrial, { sweepId, trialId: t.trialId, spec, method: t.method, amount: t.amount, seed: t.seed, baseline: baselines.get(t.seed)! });
    const trials = await prisma.trial.findMany({ where: { sweepId } });
    expect(trials.map((t) => t.status)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);
    return reads - readsAfterBaselines;
  }

  it('reads each baseline from the artifact store at most once while they fit, and again after the cache let it go', async () => {
    expect(await baselineReads()).toBeLessThanOrEqual(2); // 0 when this run trained them, 2 when an earlier run had
    expect(await baselineReads(0)).toBe(4); // only the newest stays: every switch of seed reads the store
  }, 300_000);
});

describe('heartbeats', () => {
  it('come after every training batch and in every phase of a trial, from a timer between batches of evaluation and measurement', async () => {
    const a = createActivities({ repo: new WorkerRepository(prisma), artifacts: new PostgresArtifactStore(prisma), backend: await initBackend('wasm'), heartbeatIntervalMs: 1, storePrunedModels: false });
    const beats: Record<string, unknown>[] = [];
    const mock = new MockActivityEnvironment();
    mock.on('heartbeat', (d: Record<string, unknown>) => beats.push(d));
    // A baseline no earlier run trained (a learning rate of its own), so that its training runs here too.
    const spec = testSpec({ methods: ['network-slimming'], model: 'lenet5', amounts: [0.3], trainSubset: 256, testSubset: 1200, batchSize: 64, baselineEpochs: 1, finetuneEpochs: 1, learningRate: 1e-3 + Math.random() * 1e-6 });
    const { sweepId, grid: [t] } = await createSweepRows(spec, 'act-hb');
    const baseline = (await mock.run(a.trainBaseline, { sweepId, spec, seed: 1 })) as BaselineRef;
    const baselineBeats = beats.splice(0);
    await mock.run(a.runTrial, { sweepId, trialId: t.trialId, spec, method: t.method, amount: t.amount, seed: t.seed, baseline });
    const batchesOf = (phase: string, from: Record<string, unknown>[]) => new Set(from.filter((b) => b.phase === phase).map((b) => `${b.epoch}:${b.batch}`));
    expect([...batchesOf('baseline', baselineBeats)]).toEqual(['0:1', '0:2', '0:3', '0:4']); // 256 / 64: every batch, not every fifth
    expect([...batchesOf('sparsity', beats)]).toEqual(['0:1', '0:2', '0:3', '0:4']);
    expect([...batchesOf('finetune', beats)]).toEqual(['0:1', '0:2', '0:3', '0:4']);
    const phases = beats.map((b) => b.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(['load', 'measure baseline latency', 'prune', 'sparsity', 'prune', 'finetune', 'evaluate', 'measure', 'store']);
    // Evaluation (3 batches of 500) and the latency passes leave the event loop free between batches: the timer beats there.
    expect(beats.filter((b) => b.phase === 'evaluate').length).toBeGreaterThan(1);
    expect(beats.filter((b) => b.phase === 'measure baseline latency').length).toBeGreaterThan(1);
    // Each names what it computes (GET /sweeps/:id/progress reads them from Temporal).
    expect(new Set(baselineBeats.map((b) => JSON.stringify([b.kind, b.model, b.seed, b.trialId])))).toEqual(new Set([JSON.stringify(['baseline', 'lenet5', 1, undefined])]));
    expect(new Set(beats.map((b) => JSON.stringify([b.kind, b.model, b.seed, b.trialId])))).toEqual(new Set([JSON.stringify(['trial', 'lenet5', 1, t.trialId])]));
  }, 300_000);
});

describe('cancellation', () => {
  it('stops a baseline at the next phase boundary, not only between training batches: nothing evaluated, nothing stored', async () => {
    const a = createActivities({ repo: new WorkerRepository(prisma), artifacts: new PostgresArtifactStore(prisma), backend: await initBackend('wasm') });
    const mock = new MockActivityEnvironment();
    const phases: unknown[] = [];
    // The cancellation reaches the activity with the heartbeat that says evaluation starts (after the training loop).
    mock.on('heartbeat', (d: { phase: string }) => {
      phases.push(d.phase);
      if (d.phase === 'evaluate') mock.cancel('CANCELLED');
    });
    const spec = testSpec({ model: 'mlp', trainSubset: 128, testSubset: 64, batchSize: 64, baselineEpochs: 1, learningRate: 2e-3 + Math.random() * 1e-6 });
    const before = await prisma.baseline.count();
    const err = await mock.run(a.trainBaseline, { sweepId: 'act-cancel', spec, seed: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(phases.filter((p, i, all) => p !== all[i - 1])).toEqual(['load', 'baseline', 'evaluate']);
    expect(await prisma.baseline.count()).toBe(before);
  });
});

describe('a stopping worker', () => {
  it('hands a trial back at the next training batch: a non-retryable failure of type WORKER_SHUTDOWN naming the phase, nothing stored', async () => {
    const a = createActivities({ repo: new WorkerRepository(prisma), artifacts: new PostgresArtifactStore(prisma), backend: await initBackend('wasm') });
    const spec = testSpec({ methods: ['l1-unstructured'], amounts: [0.5], trainSubset: 256, testSubset: 64, batchSize: 64, finetuneEpochs: 2 });
    const { sweepId, grid: [t] } = await createSweepRows(spec, 'act-stop');
    const baseline = (await env.run(acts.trainBaseline, { sweepId, spec, seed: 1 })) as BaselineRef;
    const mock = new MockActivityEnvironment();
    const batches: number[] = [];
    // The worker's shutdown cancels its activities with reason WORKER_SHUTDOWN (the SDK's Worker.shutdown); here after a fine-tuning batch.
    mock.on('heartbeat', (d: { phase: string; batch?: number }) => {
      if (d.phase !== 'finetune') return;
      batches.push(d.batch!);
      if (batches.length === 2) mock.cancel('WORKER_SHUTDOWN');
    });
    const err = await mock.run(a.runTrial, { sweepId, trialId: t.trialId, spec, method: t.method, amount: t.amount, seed: t.seed, baseline }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect([f.type, f.nonRetryable, f.category]).toEqual([WORKER_SHUTDOWN, true, 'BENIGN']); // BENIGN: not logged or counted as a failure
    expect(f.message).toMatch(/^the worker on .+ \(pid \d+\) stopped during phase "finetune"; the work was handed back$/);
    expect(batches).toEqual([1, 2]); // it stopped at the heartbeat after the batch that brought the stop
    const row = await prisma.trial.findUniqueOrThrow({ where: { id: t.trialId } });
    expect([row.status, row.accuracy, row.artifactUri]).toEqual(['RUNNING', null, null]); // the workflow schedules it again

    // A cancel from the workflow (the sweep was cancelled) stays a cancellation.
    const cancelled = new MockActivityEnvironment();
    cancelled.on('heartbeat', (d: { phase: string }) => { if (d.phase === 'finetune') cancelled.cancel('CANCELLED'); });
    const c = await cancelled.run(a.runTrial, { sweepId, trialId: t.trialId, spec, method: t.method, amount: t.amount, seed: t.seed, baseline }).catch((e: unknown) => e);
    expect(c).toBeInstanceOf(CancelledFailure);
  }, 120_000);
});

describe('sweep-configured schedules and the torch structured criteria', () => {
  it('gradual-l1-unstructured on the tutorial\'s linear step: +increment per update between begin and end, up to the amount', async () => {
    // 640 images at batch 64: 10 fine-tuning steps; end = floor(0.5 x 10) = 5; ceil(0.5 / 0.2) = 3 updates, one per step.
    const { trials } = await runSweep(testSpec({
      methods: ['gradual-l1-unstructured'], amounts: [0.5], trainSubset: 640, testSubset: 128, batchSize: 64, finetuneEpochs: 1,
      gradual: { schedule: 'linear-step', begin: 0, end: 0.5, updates: 10, power: 3, increment: 0.2 },
    }));
    const [t] = trials;
    expect(t.status).toBe('DONE');
    const cfg = t.config as { gradual: object; schedule: object; gradualSteps: { step: number; sparsity: number }[] };
    expect(cfg.gradual).toEqual({ schedule: 'linear-step', begin: 0, end: 0.5, updates: 10, power: 3, increment: 0.2 });
    expect(cfg.schedule).toEqual({ kind: 'linear-step', initial: 0, final: 0.5, increment: 0.2, begin: 0, frequency: 1 });
    expect(cfg.gradualSteps.map((g) => [g.step, +g.sparsity.toFixed(12)])).toEqual([[0, 0.2], [1, 0.4], [2, 0.5]]);
    const kernels = 784 * 300 + 300 * 100 + 100 * 10;
    expect(t.totalParams! - t.nonzeroParams!).toBeGreaterThanOrEqual(Math.round(0.5 * kernels));
    expect(t.totalParams! - t.nonzeroParams!).toBeLessThanOrEqual(Math.round(0.5 * kernels) + 410);
  }, 300_000);

  it('ln-structured (n = inf) and random-structured keep exactly the channels torch\'s criteria keep on the baseline, and record them', async () => {
    const spec = testSpec({ methods: ['ln-structured', 'random-structured'], amounts: [0.5], trainSubset: 256, testSubset: 128, structured: { minKeepFraction: 0.1, importanceBatches: 10, hybridChannelFraction: 0.5, norm: 'inf' } });
    const { trials } = await runSweep(spec);
    const again = await runSweep({ ...spec, methods: ['random-structured'], seeds: [2] });
    expect(trials.map((t) => t.method).sort()).toEqual(['ln-structured', 'random-structured']);
    const store = new PostgresArtifactStore(prisma);
    const baselineRow = await prisma.baseline.findUniqueOrThrow({ where: { key: (trials[0].config as { baselineKey: string }).baselineKey } });
    const base = await deserializeModel(await store.get(baselineRow.artifactUri));
    const expected = (method: string, seed: number) => ['fc1', 'fc2'].map((layer, i) => {
      const k = base.getLayer(layer).getWeights()[0];
      const mask = method === 'ln-structured'
        ? lnStructured(k.dataSync(), k.shape, 0.5, Infinity, 'out', { layout: 'dense' })
        : randomStructured(k.shape, 0.5, 'out', randomGroupSeed(seed, i), { layout: 'dense' });
      return [layer, aliveChannels(mask, k.shape, 1)];
    });
    for (const t of [...trials, ...again.trials]) {
      expect(t.status).toBe('DONE');
      const cfg = t.config as { channels: object; keptChannels: Record<string, number[]>; scope: string; norm?: unknown };
      expect(cfg.channels).toEqual({ fc1: '150/300', fc2: '50/100' });
      expect(cfg.scope).toBe('per-layer');
      expect(cfg.norm).toEqual(t.method === 'ln-structured' ? 'inf' : undefined);
      expect(Object.entries(cfg.keptChannels)).toEqual(expected(t.method, t.seed));
      expect(t.totalParams).toBe(784 * 150 + 150 + 150 * 50 + 50 + 50 * 10 + 10);
    }
    // Another seed draws other channels.
    const keptOf = (t: { config: unknown }) => (t.config as { keptChannels: object }).keptChannels;
    expect(keptOf(again.trials[0])).not.toEqual(keptOf(trials.find((t) => t.method === 'random-structured')!));
    base.dispose();
  }, 300_000);
});

describe('every method of the tutorial example', () => {
  it('runs each method of examples/tutorial-sweep.yaml as a trial on LeNet-5 (a small subset), with the example\'s options', async () => {
    const example = parseSweepSpec(readSpecFile('examples/tutorial-sweep.yaml'), 10_000);
    const { trials } = await runSweep({ ...example, amounts: [0.5], trainSubset: 256, testSubset: 128, baselineEpochs: 1, finetuneEpochs: 1, batchSize: 64 });
    expect(trials.map((t) => t.method).sort()).toEqual([...example.methods].sort());
    for (const t of trials) {
      expect([t.method, t.status, t.error]).toEqual([t.method, 'DONE', null]);
      expect(t.compressionRate).toBeGreaterThan(0.3);
      expect((t.config as { finetune: object }).finetune).toEqual(example.finetune);
      // Each option the API lets through for this method (OPTION_READERS) is what the trial used and recorded.
      const cfg = t.config as Record<string, unknown>;
      const recorded: Record<string, [string, unknown]> = {
        slimming: ['slimming', example.slimming],
        'structured.minKeepFraction': ['minKeepFraction', example.structured.minKeepFraction],
        'structured.importanceBatches': ['importanceBatches', Math.min(example.structured.importanceBatches, Math.ceil(256 / 64))],
        'structured.hybridChannelFraction': ['channelAmount', example.structured.hybridChannelFraction],
        'structured.norm': ['norm', example.structured.norm],
        'structured.flopsPenalty': ['flopsPenalty', example.structured.flopsPenalty],
        gradual: ['gradual', example.gradual],
      };
      expect(Object.keys(recorded).sort()).toEqual(Object.keys(OPTION_READERS).sort());
      for (const [option, readers] of Object.entries(OPTION_READERS)) {
        const [key, value] = recorded[option];
        expect([option, cfg[key]]).toEqual([option, readers.includes(t.method) ? value : undefined]);
      }
    }
  }, 600_000);
});

describe('user models', () => {
  it('refuses, without retrying, an uploaded model the data cannot feed or an id that names nothing', async () => {
    const { serializeModel } = await import('../workers/src/pruning/serialize.js');
    const five = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: 5 })] });
    const bytes = await serializeModel(five);
    five.dispose();
    const sha = createHash('sha256').update(bytes).digest('hex');
    await prisma.artifact.upsert({ where: { uri: userModelUri(`um-${sha}`) }, create: { uri: userModelUri(`um-${sha}`), kind: USER_MODEL_KIND, bytes: new Uint8Array(bytes), sizeBytes: bytes.length, sha256: sha }, update: {} });
    const before = heldMemory();
    for (const [userModel, message] of [
      [`um-${sha}`, `userModel um-${sha}: user model outputs [null,5], the data have 10 classes ([null,10])`],
      [`um-${'0'.repeat(64)}`, `userModel: no uploaded model um-${'0'.repeat(64)}`],
    ]) {
      const spec = testSpec({ model: 'user', userModel, baselineEpochs: 0 });
      const err = await env.run(acts.trainBaseline, { sweepId: 'none', spec, seed: 1 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ message, type: 'InvalidConfig', nonRetryable: true });
    }
    expect(heldMemory()).toEqual(before);
    // A schedule's run on a model deleted since (its UserModel row gone): no sweep written, no retry.
    const missing = `um-${'0'.repeat(64)}`;
    const err = await env.run(acts.createSweep, { sweepId: 'act-no-model', spec: testSpec({ model: 'user', userModel: missing, baselineEpochs: 0 }) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: `userModel: no uploaded model ${missing} (POST /models first)`, type: 'InvalidConfig', nonRetryable: true });
    expect(await prisma.sweep.count({ where: { id: 'act-no-model' } })).toBe(0);
  });
});

describe('a diverging training run', () => {
  it('fails the baseline without retrying, naming the step and the rate, and stores nothing', async () => {
    // A model whose weights hold a NaN (stored before uploads were checked for them): its first training step's loss is NaN.
    const { serializeModel } = await import('../workers/src/pruning/serialize.js');
    const net = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: 10 })] });
    const [kernel, bias] = net.getWeights();
    const poisoned = tf.tidy(() => tf.where(tf.equal(tf.reshape(tf.range(0, 7840), [784, 10]), 123), tf.fill([784, 10], NaN), kernel));
    net.setWeights([poisoned, bias]);
    const bytes = await serializeModel(net);
    poisoned.dispose();
    net.dispose();
    const sha = createHash('sha256').update(bytes).digest('hex');
    await prisma.artifact.upsert({ where: { uri: userModelUri(`um-${sha}`) }, create: { uri: userModelUri(`um-${sha}`), kind: USER_MODEL_KIND, bytes: new Uint8Array(bytes), sizeBytes: bytes.length, sha256: sha }, update: {} });
    const spec = testSpec({ model: 'user', userModel: `um-${sha}`, learningRate: 0.01 });
    const before = heldMemory();
    const err = await env.run(acts.trainBaseline, { sweepId: 'none', spec, seed: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: 'baseline: training diverged: the loss is NaN at epoch 1, batch 1 of 4 (learning rate 0.01); a lower learningRate may avoid it', type: 'TrainingDiverged', nonRetryable: true });
    expect(heldMemory()).toEqual(before);
    expect(await prisma.baseline.count({ where: { key: baselineKey(specForModel(spec), 1) } })).toBe(0);
  });
});

describe('knowledge distillation', () => {
  it('distils from an untouched copy of the baseline (pure KD still moves the pruned student)', async () => {
    const { trials } = await runSweep(testSpec({
      methods: ['l1-unstructured'], amounts: [0.5], trainSubset: 256, testSubset: 128,
      finetune: { lrSchedule: 'constant', minLearningRate: 0, unprunedLrMultiplier: 1, distill: { temperature: 4, alpha: 1 } },
    }));
    const [t] = trials;
    const store = new PostgresArtifactStore(prisma);
    const baselineRow = await prisma.baseline.findUniqueOrThrow({ where: { key: (t.config as { baselineKey: string }).baselineKey } });
    const [base, student] = await Promise.all([deserializeModel(await store.get(baselineRow.artifactUri)), deserializeModel(await store.get(t.artifactUri!))]);
    const b = base.getLayer('fc1').getWeights()[0].dataSync();
    const s = student.getLayer('fc1').getWeights()[0].dataSync();
    // With the student as its own teacher the KL term and its gradient would be 0 and no surviving weight would move.
    const moved = Array.from(s).reduce((n, v, i) => n + (v !== 0 && v !== b[i] ? 1 : 0), 0);
    expect(moved).toBeGreaterThan(1000);
    base.dispose();
    student.dispose();
  }, 300_000);
});

describe('structured pruning trials remove channels physically', () => {
  it('l1-structured on the MLP: half of each hidden layer removed, the model really smaller', async () => {
    const before = heldMemory();
    const { baseline, trials } = await runSweep(testSpec({ methods: ['l1-structured'], amounts: [0.5], trainSubset: 512, testSubset: 256 }));
    const [t] = trials;
    expect(t.status).toBe('DONE');
    expect(t.totalParams).toBe(784 * 150 + 150 + 150 * 50 + 50 + 50 * 10 + 10);
    expect(t.totalParams).toBeLessThan(baseline.totalParams);
    expect(t.compressionRate).toBeCloseTo(1 - t.nonzeroParams! / baseline.totalParams, 12);
    expect((t.config as { channels: object }).channels).toEqual({ fc1: '150/300', fc2: '50/100' });
    expect(Number(t.flops)).toBeLessThan(2 * (784 * 300 + 300 * 100 + 1000));
    expect(t.latencyMs).toBeGreaterThan(0);
    expect(t.baselineLatencyMs).toBeGreaterThan(0);
    expect(t.sizeBytes).toBeGreaterThan(t.gzipBytes!);
    expect(heldMemory()).toEqual(before);
  }, 300_000);

  it('taylor-structured and gradient-structured on LeNet-5: gradient importance, physical removal', async () => {
    const { baseline, trials } = await runSweep(testSpec({
      finetune: { lrSchedule: 'constant', minLearningRate: 0, unprunedLrMultiplier: 0.1, distill: null },
      model: 'lenet5', methods: ['taylor-structured', 'gradient-structured'], amounts: [0.5], trainSubset: 256, testSubset: 128,
      structured: { minKeepFraction: 0.1, importanceBatches: 2, hybridChannelFraction: 0.5 },
    }));
    expect(trials).toHaveLength(2);
    for (const t of trials) {
      expect(t.status).toBe('DONE');
      const cfg = t.config as { scope: string; channels: Record<string, string> };
      expect(cfg.scope).toBe(t.method === 'taylor-structured' ? 'global' : 'per-layer');
      // Every hidden group lost channels: its producer, BatchNorm and consumer count as pruned layers.
      expect((t.config as { prunedLayers: string[] }).prunedLayers.sort()).toEqual(['bn1', 'bn2', 'bn3', 'bn4', 'conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
      const kept = Object.values(cfg.channels).map((s) => s.split('/').map(Number));
      expect(kept.reduce((n, [k, c]) => n + c - k, 0)).toBe(Math.round(0.5 * (6 + 16 + 120 + 84))); // per layer: 3+8+60+42; global: the same total
      expect(t.totalParams).toBeLessThan(baseline.totalParams);
    }
  }, 300_000);

  it('taylor-structured with a FLOPs penalty removes convolution filters before dense units, and records the penalty', async () => {
    const { trials } = await runSweep(testSpec({
      model: 'lenet5', methods: ['taylor-structured'], amounts: [0.03], trainSubset: 256, testSubset: 128, finetuneEpochs: 0,
      structured: { minKeepFraction: 0.1, importanceBatches: 2, hybridChannelFraction: 0.5, flopsPenalty: 1 },
    }));
    const [t] = trials;
    expect(t.status).toBe('DONE');
    const cfg = t.config as { flopsPenalty: number; channels: Record<string, string> };
    expect(cfg.flopsPenalty).toBe(1);
    // round(0.03 x 226) = 7 channels. Normalised Taylor scores are <= 1, so every conv1 filter (the costliest channels, penalty 1)
    // scores <= 0 and at least 4 of conv2's 16 (each 0.3 of conv1's FLOPs) score below any dense unit (FLOPs share < 0.01).
    const removed = Object.fromEntries(Object.entries(cfg.channels).map(([k, v]) => { const [kept, all] = v.split('/').map(Number); return [k, all - kept]; }));
    expect(removed.fc1 + removed.fc2).toBe(0);
    expect(removed.conv1 + removed.conv2).toBe(7);
  }, 300_000);

  it('hybrid: channels removed first, then the smaller model pruned gradually to the amount', async () => {
    const { trials } = await runSweep(testSpec({ methods: ['hybrid'], amounts: [0.6], trainSubset: 640, testSubset: 128, structured: { minKeepFraction: 0.1, importanceBatches: 10, hybridChannelFraction: 0.5 } }));
    const [t] = trials;
    expect(t.status).toBe('DONE');
    expect((t.config as { channels: object }).channels).toEqual({ fc1: '150/300', fc2: '50/100' });
    const smallKernels = 784 * 150 + 150 * 50 + 50 * 10;
    const small = smallKernels + 150 + 50 + 10;
    expect(t.totalParams).toBe(small);
    // Exactly round(0.6 x kernels) of the smaller model are zero (a dead unit may add a zero bias).
    expect(t.totalParams! - t.nonzeroParams!).toBeGreaterThanOrEqual(Math.round(0.6 * smallKernels));
    expect(t.totalParams! - t.nonzeroParams!).toBeLessThanOrEqual(Math.round(0.6 * smallKernels) + 210);
  }, 300_000);

  it('network-slimming on LeNet-5: sparsity training, one global gamma threshold, no empty layer', async () => {
    const { baseline, trials } = await runSweep(testSpec({
      model: 'lenet5', methods: ['network-slimming'], amounts: [0.6], trainSubset: 256, testSubset: 128, finetuneEpochs: 1,
      slimming: { lambda: 1e-3, sparsityEpochs: 1 },
    }));
    const [t] = trials;
    expect(t.status).toBe('DONE');
    const channels = (t.config as { channels: Record<string, string> }).channels;
    const kept = Object.values(channels).map((s) => s.split('/').map(Number));
    const totalKept = kept.reduce((n, [k]) => n + k, 0);
    const total = kept.reduce((n, [, c]) => n + c, 0);
    expect(total).toBe(6 + 16 + 120 + 84);
    expect(total - totalKept).toBe(Math.round(0.6 * total)); // round(135.6) = 136 channels removed
    for (const [k, c] of kept) expect(k).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(0.1 * c)));
    expect(t.totalParams).toBeLessThan(baseline.totalParams);
    expect((t.config as { slimming: object }).slimming).toEqual({ lambda: 1e-3, sparsityEpochs: 1 });
  }, 300_000);

  it('network-slimming and l1-structured on resnet-small: coupled residual channels removed together, the model still runs', async () => {
    const { baseline, trials } = await runSweep(testSpec({
      model: 'resnet-small', methods: ['network-slimming', 'l1-structured'], amounts: [0.5], trainSubset: 128, testSubset: 64, finetuneEpochs: 1, baselineEpochs: 1,
      slimming: { lambda: 1e-4, sparsityEpochs: 1 },
    }));
    expect(trials).toHaveLength(2);
    for (const t of trials) {
      expect(t.status).toBe('DONE');
      const channels = (t.config as { channels: Record<string, string> }).channels;
      // One entry per dependency group: stem + res1_b (identity shortcut) and res2_b + res2_proj are coupled.
      expect(Object.keys(channels).sort()).toEqual(['res1_a', 'res2_a', 'res2_b', 'stem']);
      expect(t.totalParams).toBeLessThan(baseline.totalParams);
      const row = await prisma.trial.findUnique({ where: { id: t.id } });
      const model = await deserializeModel(await new PostgresArtifactStore(prisma).get(row!.artifactUri!));
      const stemOut = model.getLayer('stem').getWeights()[0].shape[3];
      expect(model.getLayer('res1_b').getWeights()[0].shape[3]).toBe(stemOut);
      expect(model.getLayer('res2_proj').getWeights()[0].shape[3]).toBe(model.getLayer('res2_b').getWeights()[0].shape[3]);
      const y = tf.tidy(() => (model.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor).shape);
      expect(y).toEqual([2, 10]);
      model.dispose();
    }
  }, 300_000);
});

describe("a user's own functional model (residual add, concatenate, depthwise conv, global pooling)", () => {
  it('prunes it with every structured method and a mask method: groups removed together, the small model still runs', async () => {
    const { serializeModel } = await import('../workers/src/pruning/serialize.js');
    const input = tfl.input({ shape: [28, 28, 1] });
    const bnRelu = (x: tfl.SymbolicTensor, name: string) =>
      tfl.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(tfl.layers.batchNormalization({ name: `${name}_bn` }).apply(x)) as tfl.SymbolicTensor;
    const stem = bnRelu(tfl.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'same', name: 'stem' }).apply(input) as tfl.SymbolicTensor, 'stem');
    const branch = tfl.layers.batchNormalization({ name: 'b_bn' }).apply(tfl.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'same', name: 'b_conv' }).apply(stem)) as tfl.SymbolicTensor;
    const res = tfl.layers.activation({ activation: 'relu', name: 'res_relu' }).apply(tfl.layers.add({ name: 'res_add' }).apply([stem, branch])) as tfl.SymbolicTensor;
    const pooled = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(res) as tfl.SymbolicTensor;
    const dw = bnRelu(tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(pooled) as tfl.SymbolicTensor, 'dw');
    const side = bnRelu(tfl.layers.conv2d({ filters: 8, kernelSize: 1, name: 'side' }).apply(pooled) as tfl.SymbolicTensor, 'side');
    const cat = tfl.layers.concatenate({ name: 'cat' }).apply([dw, side]) as tfl.SymbolicTensor;
    const gap = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(cat) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 10, activation: 'softmax', name: 'out' }).apply(tfl.layers.dropout({ rate: 0.1, name: 'drop' }).apply(gap)) as tfl.SymbolicTensor;
    const user = tfl.model({ inputs: input, outputs: out });
    const bytes = await serializeModel(user);
    // Parameters as PyTorch counts them (and Lopper reports): the trainable ones, BatchNorm's moving statistics not.
    const params = user.trainableWeights.reduce((n, w) => n + tf.util.sizeFromShape(w.shape as number[]), 0);
    user.dispose();
    const sha = createHash('sha256').update(bytes).digest('hex');
    const id = `um-${sha}`;
    await prisma.artifact.upsert({ where: { uri: userModelUri(id) }, create: { uri: userModelUri(id), kind: USER_MODEL_KIND, bytes: new Uint8Array(bytes), sizeBytes: bytes.length, sha256: sha }, update: {} });
    await prisma.userModel.upsert({ where: { id }, create: { id, name: 'functional', params, inputShape: [null, 28, 28, 1], sizeBytes: bytes.length, artifactUri: userModelUri(id) }, update: {} });

    const { baseline, trials } = await runSweep(testSpec({
      model: 'user', userModel: id, methods: ['network-slimming', 'l1-structured', 'taylor-structured', 'hybrid', 'l1-unstructured'], amounts: [0.5],
      trainSubset: 128, testSubset: 64, batchSize: 64, baselineEpochs: 1, finetuneEpochs: 1, slimming: { lambda: 1e-4, sparsityEpochs: 1 },
    }));
    expect(baseline.totalParams).toBe(params);
    for (const t of trials) {
      expect({ method: t.method, status: t.status, error: t.error }).toEqual({ method: t.method, status: 'DONE', error: null });
      const model = await deserializeModel(await new PostgresArtifactStore(prisma).get(t.artifactUri!));
      expect(tf.tidy(() => (model.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor).shape)).toEqual([2, 10]);
      if (t.method !== 'l1-unstructured') {
        expect(t.totalParams).toBeLessThan(params);
        // The residual add couples stem and b_conv; the depthwise conv keeps its input's channels (pool <- res <- stem).
        const widths = (name: string) => model.getLayer(name).getWeights()[0].shape as number[];
        expect(widths('b_conv')[3]).toBe(widths('stem')[3]);
        expect(widths('dw')[2]).toBe(widths('stem')[3]);
        expect(widths('out')[0]).toBe(widths('dw')[2] + widths('side')[3]);
      } else {
        expect(t.totalParams).toBe(params);
      }
      model.dispose();
    }
  }, 600_000);
});

/** A baseline and a trial of each method family through `activities`, on the MLP and (Network Slimming) LeNet-5. */
async function runEachFamily(activities: LopperActivities, backend: string): Promise<void> {
  // the MLP for speed; Network Slimming needs BatchNorm: LeNet-5
  const small = { amounts: [0.5], trainSubset: 128, testSubset: 64, batchSize: 64, baselineEpochs: 1, finetuneEpochs: 1 };
  const mlp = await runSweep(testSpec({ ...small, model: 'mlp', methods: ['l1-unstructured', 'gradual-lamp-unstructured', 'ln-structured', 'taylor-structured', 'hybrid'] }), activities);
  const lenet = await runSweep(testSpec({ ...small, model: 'lenet5', methods: ['network-slimming'] }), activities);
  for (const { baseline, trials } of [mlp, lenet]) {
    for (const t of trials) {
      expect({ method: t.method, status: t.status, error: t.error }).toEqual({ method: t.method, status: 'DONE', error: null });
      expect(t.backend).toBe(backend);
      expect(t.nonzeroParams).toBeLessThan(baseline.totalParams);
    }
  }
  expect(mlp.trials.length + lenet.trials.length).toBe(6);
}

describe('on the webgpu backend (Dawn on llvmpipe)', () => {
  // TF.js's WebGPU backend cannot read synchronously in Node (its readSync draws through OffscreenCanvas): every value the
  // pruning code reads on the host must have been fetched with an awaited read first (workers/src/pruning/host.ts). Each
  // method family reads weights, masks, importances or metrics on the host.
  let gpuActs: LopperActivities;
  beforeAll(async () => {
    process.env.LOPPER_WEBGPU_FLAGS ??= 'backend=opengles';
    gpuActs = createActivities({ repo: new WorkerRepository(prisma), artifacts: new PostgresArtifactStore(prisma), backend: await initBackend('webgpu') });
  });
  afterAll(async () => { await initBackend('wasm'); });

  it('runs a baseline and a trial of each method family, recording the backend', async () => {
    await runEachFamily(gpuActs, 'webgpu');
  }, 600_000);
});

// The optional tensorflow backend (tfjs-node), where scripts/install-tfjs-node.sh installed it; CI installs without it
// (workers/src/backends/tensorflow.spec.ts checks what asking for it then says).
if (optionalBindingProblem('@tensorflow/tfjs-node') === null) {
  describe('on the tensorflow backend (tfjs-node, installed here)', () => {
    let tfActs: LopperActivities;
    beforeAll(async () => {
      tfActs = createActivities({ repo: new WorkerRepository(prisma), artifacts: new PostgresArtifactStore(prisma), backend: await initBackend('tensorflow') });
    });
    afterAll(async () => { await initBackend('wasm'); });

    it('runs a baseline and a trial of each method family, recording the backend', async () => {
      await runEachFamily(tfActs, 'tensorflow');
    }, 600_000);
  });
}
