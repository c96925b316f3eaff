import { compareTable, paretoTable, progressLine, summaryTable, sweepsTable, table, trialsTable, workLine, duration, estimateLine } from './format.js';
import type { RunningWorkView } from '../../api/src/progress.js';
import { compare, summarize } from '../../api/src/summary.js';
import type { ParetoObjective, ParetoView, SweepView, TrialView } from '../../api/src/sweeps/sweeps.dto.js';

const sweep = (over: Partial<SweepView>): SweepView => ({
  id: 's', name: 'n', model: 'mlp', models: ['mlp'], dataset: 'fashion-mnist', status: 'RUNNING', tags: [], totalTrials: 4, baselines: [],
  counts: { pending: 1, running: 1, done: 1, failed: 1 }, baselineAccuracy: 0.8512, baselineParams: 1, error: null,
  createdAt: '', finishedAt: null, spec: {} as SweepView['spec'], ...over,
});

describe('CLI formatting', () => {
  it('draws the progress bar from finished (done + failed) trials', () => {
    expect(progressLine(sweep({}), 10)).toBe('[#####-----] 2/4 trials (1 running, 1 failed) baseline 85.12% RUNNING');
    expect(progressLine(sweep({ baselineAccuracy: null, counts: { pending: 4, running: 0, done: 0, failed: 0 } }), 4)).toBe('[----] 0/4 trials (0 running, 0 failed) baseline training RUNNING');
    const two = sweep({ models: ['mlp', 'lenet5'], baselines: [{ model: 'lenet5', seed: 1, accuracy: 0.9, totalParams: 1 }, { model: 'lenet5', seed: 2, accuracy: 0.88, totalParams: 1 }, { model: 'mlp', seed: 1, accuracy: 0.85, totalParams: 2 }] });
    expect(progressLine(two, 10)).toBe('[#####-----] 2/4 trials (1 running, 1 failed) baselines lenet5 89.00%, mlp 85.00% RUNNING');
  });
  it('lists sweeps: trials done of all, failed, baseline accuracy (a dash before it is measured), creation time', () => {
    const lines = sweepsTable([
      sweep({ id: 'sw-1', name: 'nightly', createdAt: '2026-11-29T02:00:01.123Z' }),
      sweep({ id: 'sw-2', name: 'new', status: 'PENDING', baselineAccuracy: null, createdAt: '2026-11-29T01:00:00.000Z', counts: { pending: 4, running: 0, done: 0, failed: 0 } }),
    ]).split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['id', 'status', 'model', 'done', 'failed', 'baseline', 'created (UTC)', 'name']);
    expect(lines[2].split(/\s{2,}/)).toEqual(['sw-1', 'RUNNING', 'mlp', '1/4', '1', '85.12%', '2026-11-29 02:00:01', 'nightly']);
    expect(lines[3].split(/\s{2,}/)).toEqual(['sw-2', 'PENDING', 'mlp', '0/4', '0', '-', '2026-11-29 01:00:00', 'new']);
  });
  it('aligns tables', () => {
    expect(table(['a', 'bb'], [['xyz', 1], ['q', 22]])).toBe('a    bb\n---  --\nxyz   1\nq    22');
  });
  it('prints the Pareto front, with the objective\'s column when it is not compression', () => {
    const point = { trialId: 't', model: 'mlp', method: 'l1-unstructured', amount: 0.5, seed: 1, finetune: 'default', accuracy: 0.8, compressionRate: 0.49, nonzeroParams: 1200, gzipBytes: 2048, speedup: 1.5 };
    const view = (objective: ParetoObjective, front = [point]): ParetoView => ({ sweepId: 's', objective, objectives: { accuracy: 'max' }, dominated: [], front });
    const out = paretoTable(view('compression')).split('\n');
    expect(out[0].split(/\s{2,}/)).toEqual(['method', 'amount', 'seed', 'accuracy', 'compression']);
    expect(out[2].split(/\s+/)).toEqual(['l1-unstructured', '0.5', '1', '80.00%', '49.00%']);
    expect(paretoTable(view('gzip-size')).split('\n')[2].split(/\s{2,}/).slice(-1)).toEqual(['2.0 KiB']);
    expect(paretoTable(view('nonzero-params')).split('\n')[0].split(/\s{2,}/).slice(-1)).toEqual(['nonzero params']);
    expect(paretoTable(view('speedup')).split('\n')[2].split(/\s{2,}/).slice(-1)).toEqual(['1.50x']);
    expect(paretoTable(view('compression', []))).toBe('(no finished trials yet)');
  });
  it('prints trials: metrics of finished ones, the first line of a failed one\'s error, dashes for what is not measured yet', () => {
    const base: TrialView = {
      id: 't', method: 'l1-structured', amount: 0.5, seed: 1, model: 'mlp', finetune: 'default', status: 'DONE', accuracy: 0.8834, accuracyDrop: 0.0051, totalParams: 1, nonzeroParams: 1, baselineParams: 2,
      compressionRate: 0.744, flops: 1, effectiveFlops: 1, latencyMs: 1, baselineLatencyMs: 2.1, speedup: 2.1, sizeBytes: 70_758, gzipBytes: 1,
      durationMs: 1, backend: 'wasm', device: 'x', attempts: 1, error: null, config: {},
    };
    const lines = trialsTable([
      base,
      { ...base, method: 'hybrid', status: 'FAILED', error: 'gradual: end must be > begin\n  at stack', accuracy: null, accuracyDrop: null, compressionRate: null, speedup: null, sizeBytes: null },
      { ...base, method: 'taylor-structured', status: 'PENDING', accuracy: null, accuracyDrop: null, compressionRate: null, speedup: null, sizeBytes: null, backend: null },
    ]).split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['method', 'amount', 'seed', 'status', 'accuracy', 'drop (pts)', 'compression', 'speedup', 'size', 'backend']);
    expect(lines[2].split(/\s+/)).toEqual(['l1-structured', '0.5', '1', 'DONE', '88.34%', '0.51', '74.40%', '2.10x', '69.1', 'KiB', 'wasm']);
    expect(lines[3]).toMatch(/^hybrid\s+0\.5\s+1\s+FAILED\s+error: gradual: end must be > begin\s*$/);
    expect(lines[4].split(/\s+/)).toEqual(['taylor-structured', '0.5', '1', 'PENDING', '-', '-', '-', '-', '-', '-']);
    expect(trialsTable([])).toBe('(no trials match)');
  });
  it('names each row\'s fine-tuning setting where the sweep has a fine-tuning axis, and only there', () => {
    const t: TrialView = {
      id: 't', method: 'l1-structured', amount: 0.5, seed: 1, model: 'mlp', finetune: 'kd', status: 'DONE', accuracy: 0.9, accuracyDrop: 0.01, totalParams: 50, nonzeroParams: 50, baselineParams: 100,
      compressionRate: 0.5, flops: 1, effectiveFlops: 1, latencyMs: 1, baselineLatencyMs: 2, speedup: 2, sizeBytes: 1024, gzipBytes: 1024, durationMs: 1, backend: 'wasm', device: 'x', attempts: 1, error: null, config: {},
    };
    const lines = trialsTable([t, { ...t, finetune: 'none', status: 'FAILED', error: 'x' }]).split('\n');
    expect(lines[0].split(/\s{2,}/).slice(0, 5)).toEqual(['method', 'amount', 'seed', 'fine-tuning', 'status']);
    expect(lines[2].split(/\s+/).slice(0, 5)).toEqual(['l1-structured', '0.5', '1', 'kd', 'DONE']);
    expect(lines[3].split(/\s+/).slice(0, 6)).toEqual(['l1-structured', '0.5', '1', 'none', 'FAILED', 'error:']);
    expect(trialsTable([{ ...t, finetune: 'default' }]).split('\n')[0]).not.toContain('fine-tuning');
    const summary = summaryTable(summarize('s', [t, { ...t, finetune: 'none', accuracy: 0.8 }])).split('\n');
    expect(summary[0].trim().split(/\s{2,}/).slice(0, 4)).toEqual(['method', 'amount', 'fine-tuning', 'seeds done']);
    expect(summary.slice(2).map((l) => l.trim().split(/\s{2,}/).slice(0, 3))).toEqual([['* l1-structured', '0.5', 'kd'], ['l1-structured', '0.5', 'none']]);
  });
  it('names each row\'s model where the rows are of more than one model', () => {
    const t: TrialView = {
      id: 't', model: 'mlp', method: 'l1-structured', amount: 0.5, seed: 1, finetune: 'default', status: 'DONE', accuracy: 0.9, accuracyDrop: 0.01, totalParams: 50, nonzeroParams: 50, baselineParams: 100,
      compressionRate: 0.5, flops: 1, effectiveFlops: 1, latencyMs: 1, baselineLatencyMs: 2, speedup: 2, sizeBytes: 1024, gzipBytes: 1024, durationMs: 1, backend: 'wasm', device: 'x', attempts: 1, error: null, config: {},
    };
    const lines = trialsTable([t, { ...t, model: 'lenet5', finetune: 'kd' }]).split('\n');
    expect(lines[0].split(/\s{2,}/).slice(0, 6)).toEqual(['model', 'method', 'amount', 'seed', 'fine-tuning', 'status']);
    expect(lines[3].split(/\s+/).slice(0, 6)).toEqual(['lenet5', 'l1-structured', '0.5', '1', 'kd', 'DONE']);
    const summary = summaryTable(summarize('s', [t, { ...t, model: 'lenet5' }])).split('\n');
    expect(summary[0].trim().split(/\s{2,}/).slice(0, 4)).toEqual(['method', 'model', 'amount', 'seeds done']);
    expect(summary.slice(2).map((l) => l.trim().split(/\s{2,}/).slice(1, 2))).toEqual([['lenet5'], ['mlp']]);
  });
  it('prints the summary: mean ± sd over the seeds done, one value for one seed, and marks the front', () => {
    const t = (seed: number, over: Partial<TrialView>): TrialView => ({
      id: `t${seed}`, method: 'taylor-structured', amount: 0.5, seed, model: 'mlp', finetune: 'default', status: 'DONE', accuracy: 0.9, accuracyDrop: 0.001, totalParams: 25, nonzeroParams: 25,
      baselineParams: 100, compressionRate: 0.75, flops: 1, effectiveFlops: 1, latencyMs: 1, baselineLatencyMs: 2, speedup: 2, sizeBytes: 1, gzipBytes: 2048,
      durationMs: 1, backend: 'wasm', device: 'x', attempts: 1, error: null, config: {}, ...over,
    });
    const lines = summaryTable(summarize('s', [
      t(1, { accuracy: 0.90, accuracyDrop: 0.002, speedup: 2.0 }), t(2, { accuracy: 0.88, accuracyDrop: 0.004, speedup: 2.2 }), t(3, { status: 'FAILED' }),
      t(1, { method: 'l1-unstructured', totalParams: 100, compressionRate: 0.5, accuracy: 0.8 }),
    ])).split('\n');
    expect(lines[0].trim().split(/\s{2,}/)).toEqual(['method', 'amount', 'seeds done', 'accuracy %', 'drop (pts)', 'compression', 'params removed', 'speedup', 'gzip size']);
    expect(lines[2].split(/\s{2,}/)).toEqual(['', 'l1-unstructured', '0.5', '1', '80.00', '0.10', '50.0%', '0.0%', '2.00x', '2.0 KiB']);
    expect(lines[3].split(/\s{2,}/)).toEqual(['* taylor-structured', '0.5', '2 (1 failed)', '89.00 ± 1.41', '0.30 ± 0.14', '75.0% ± 0.0%', '75.0% ± 0.0%', '2.10x ± 0.14x', '2.0 KiB ± 0.0 KiB']);
  });
  it('prints a comparison: each row names its sweep (name and creation time)', () => {
    const t: TrialView = {
      id: 't', method: 'l1-structured', amount: 0.5, seed: 1, model: 'mlp', finetune: 'default', status: 'DONE', accuracy: 0.9, accuracyDrop: 0.01, totalParams: 50, nonzeroParams: 50, baselineParams: 100,
      compressionRate: 0.5, flops: 1, effectiveFlops: 1, latencyMs: 1, baselineLatencyMs: 2, speedup: 2, sizeBytes: 1, gzipBytes: 1024, durationMs: 1, backend: 'wasm', device: 'x', attempts: 1, error: null, config: {},
    };
    const sweeps = [{ id: 'a', name: 'nightly', model: 'mlp', status: 'COMPLETED', createdAt: '2026-11-28T02:00:05.000Z' }, { id: 'b', name: 'nightly', model: 'mlp', status: 'COMPLETED', createdAt: '2026-11-29T02:00:04.000Z' }];
    const lines = compareTable(compare(sweeps, new Map([['a', [t]], ['b', [{ ...t, accuracy: 0.92 }]]]))).split('\n');
    expect(lines[0].trim().split(/\s{2,}/).slice(0, 3)).toEqual(['sweep', 'method', 'amount']);
    expect(lines[2].split(/\s{2,}/).slice(0, 5)).toEqual(['', 'nightly 2026-11-28 02:00', 'l1-structured', '0.5', '1']);
    expect(lines[3].split(/\s{2,}/).slice(0, 4)).toEqual(['* nightly 2026-11-29 02:00', 'l1-structured', '0.5', '1']);
  });
});

describe('workLine (lopper sweep status, under the bar)', () => {
  const w = (over: Partial<RunningWorkView>): RunningWorkView => ({
    kind: 'trial', activity: 'runTrial', trialId: 's:t', model: 'lenet5', seed: 1, method: 'l1-structured', amount: 0.5, finetune: 'default', phase: 'finetune', epoch: 2, batch: 140, batches: 469,
    attempt: 1, waiting: false, lastHeartbeatAt: null, worker: null, lastFailure: null, ...over,
  });
  it('names the trial (its setting where not the default) or the baseline, the phase, and where training is', () => {
    expect(workLine(w({}))).toBe('  lenet5 l1-structured 0.5 seed 1: finetune epoch 2, batch 140/469');
    expect(workLine(w({ finetune: 'kd', attempt: 2 }))).toBe('  lenet5 l1-structured 0.5 seed 1 kd: finetune epoch 2, batch 140/469 (attempt 2)');
    expect(workLine(w({ phase: 'evaluate', epoch: null, batch: null, batches: null }))).toBe('  lenet5 l1-structured 0.5 seed 1: evaluate');
    expect(workLine(w({ kind: 'baseline', trialId: null, method: null, amount: null, model: 'mlp', seed: 3, phase: 'baseline' }))).toBe('  baseline mlp seed 3: baseline epoch 2, batch 140/469');
    expect(workLine(w({}), false)).toBe('  lenet5 l1-structured 0.5 seed 1: finetune');
  });
  it('says when one waits for a worker, and why its last attempt failed', () => {
    expect(workLine(w({ trialId: null, model: null, seed: null, method: null, amount: null, finetune: null, phase: null, epoch: null, batch: null, waiting: true, attempt: 2, lastFailure: 'no heartbeat for 1 minute\nstack' })))
      .toBe('  a trial: waiting for a worker (attempt 2); last attempt: no heartbeat for 1 minute');
    expect(workLine(w({ kind: 'step', activity: 'markSweepRunning', trialId: null, phase: null, epoch: null, batch: null, waiting: true }))).toBe('  markSweepRunning: waiting for a worker');
    expect(workLine(w({ kind: 'baseline', activity: 'trainBaseline', trialId: null, model: null, seed: null, phase: null, epoch: null, batch: null, waiting: true }))).toBe('  a baseline: waiting for a worker');
  });
});

describe('estimate', () => {
  it('writes durations in seconds, minutes, or hours and minutes', () => {
    expect([duration(0), duration(44_600), duration(89_000), duration(90_000), duration(12 * 60_000), duration(89 * 60_000), duration(185 * 60_000)])
      .toEqual(['0 s', '45 s', '89 s', '2 min', '12 min', '89 min', '3 h 05 min']);
  });

  it('says how long, and what it rests on', () => {
    expect(estimateLine({ remainingMs: 160_000, remainingTrials: 10, meanTrialMs: 40_000, finishedTrials: 6, parallel: 3 }))
      .toBe('  about 3 min left: 10 trial(s) to go at 40 s each (mean of 6 finished), 3 at a time');
  });
});
