import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { lampScores } from './lamp.js';
import { computeMasks } from './prune.js';
import { buildModel, prunableWeights } from './models.js';
import { GradualPruner } from './gradual.js';

describe('LAMP scores', () => {
  it('are w^2 over the sum of w^2 of the entries at least as large (Lee et al. 2021, eq. 2)', () => {
    const w = [0.5, -2, 1, 0, 3];
    // by |w|: 0 (i=3), 0.5 (0), 1 (2), 2 (1), 3 (4); suffix sums of squares: 14.25, 14.25, 14, 13, 9
    const expected = [0.25 / 14.25, 4 / 13, 1 / 14, 0, 1];
    lampScores(w).forEach((s, i) => expect(s).toBeCloseTo(expected[i], 6));
  });

  it('are invariant to the scale of the tensor and give its largest entry 1', () => {
    const w = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7) * (i + 1));
    const a = lampScores(w);
    const b = lampScores(w.map((x) => x * 1e-3));
    a.forEach((s, i) => expect(b[i]).toBeCloseTo(s, 5));
    expect(Math.max(...a)).toBe(1);
  });

  it('one-shot lamp-unstructured keeps every layer alive where global magnitude empties the down-scaled one', async () => {
    await tf.setBackend('cpu');
    const model = buildModel('lenet5', 3);
    const fc1 = prunableWeights(model)[2];
    fc1.write(tf.tidy(() => tf.mul(fc1.read(), 1e-3))); // a layer whose scale BatchNorm would make arbitrary
    const global = computeMasks(model, 'global-l1-unstructured', 0.9, 0);
    const lamp = computeMasks(model, 'lamp-unstructured', 0.9, 0);
    const kept = (m: Float32Array) => m.reduce((n, v) => n + v, 0);
    expect(kept(global[2].mask)).toBe(0);
    for (const { mask } of lamp) expect(kept(mask)).toBeGreaterThan(0);
    const total = lamp.reduce((n, m) => n + m.mask.length, 0);
    expect(lamp.reduce((n, m) => n + m.mask.length - kept(m.mask), 0)).toBe(Math.round(0.9 * total));
    model.dispose();
  });

  it('gradual pruning on LAMP reaches round(target x size) and composes (never un-prunes)', async () => {
    await tf.setBackend('cpu');
    const model = buildModel('lenet5', 5);
    const pruner = new GradualPruner(model, { kind: 'polynomial', initial: 0, final: 0.9, begin: 0, end: 4, frequency: 2 }, 'lamp');
    expect(await pruner.update(0)).toBe(false); // sparsity 0 at the first step: nothing to prune
    expect(await pruner.update(2)).toBe(true);
    const first = pruner.masks()!.map((m) => m.mask.slice());
    expect(await pruner.update(4)).toBe(true);
    const last = pruner.masks()!.map((m) => m.mask);
    first.forEach((m, t) => expect(m.some((v, i) => v === 0 && last[t][i] !== 0)).toBe(false));
    const total = last.reduce((n, m) => n + m.length, 0);
    expect(last.reduce((n, m) => n + m.filter((v) => v === 0).length, 0)).toBe(Math.round(0.9 * total));
    model.dispose();
  });
});
