import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { buildModel, prunableWeights } from './models.js';
import { computeMasks } from './prune.js';
import { evaluate, train, TrainingDiverged, type Dataset } from './train.js';
import { nonzeroParams, totalParams, flops, effectiveFlops } from './metrics.js';
import { deserializeModel, serializeModel } from './serialize.js';
import { heldMemory } from '../backends/memory.spec-helpers.js';

function toyData(n: number, seed: number): Dataset {
  let s = seed;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const images = new Float32Array(n * 28 * 28).map(() => r());
  const labels = new Uint8Array(n).map((_, i) => i % 10);
  // Make the label learnable: brighten a class-specific stripe.
  for (let i = 0; i < n; i++) for (let p = 0; p < 28; p++) images[i * 784 + labels[i] * 28 + p] += 2;
  return { images, labels, count: n, shape: [28, 28, 1], classes: 10 };
}

beforeAll(async () => { expect(await tf.setBackend('wasm')).toBe(true); });

describe('masked training', () => {
  it('keeps pruned entries exactly zero through many optimizer steps, and leaks no tensors', async () => {
    const model = buildModel('mlp', 3);
    const before = heldMemory();
    const masks = computeMasks(model, 'l1-unstructured', 0.7, 3);
    await train(model, toyData(256, 1), { epochs: 3, batchSize: 32, learningRate: 1e-2, seed: 1, masks });
    for (const { variable, mask } of masks) {
      const w = variable.read().dataSync();
      expect(mask.filter((m, i) => m === 0 && w[i] !== 0).length).toBe(0); // pruned entries are 0 (or -0)
      // surviving weights did train (not all frozen)
      expect(w.some((x, i) => mask[i] === 1 && x !== 0)).toBe(true);
    }
    const kernels = prunableWeights(model).reduce((n, v) => n + v.read().size, 0);
    const zeroKernel = prunableWeights(model).reduce((n, v) => n + v.read().dataSync().filter((x) => x === 0).length, 0);
    expect(zeroKernel).toBe(masks.reduce((n, m) => n + m.mask.filter((x) => x === 0).length, 0));
    expect(nonzeroParams(model)).toBeLessThanOrEqual(totalParams(model) - zeroKernel);
    expect(kernels).toBe(784 * 300 + 300 * 100 + 100 * 10);
    expect(heldMemory()).toEqual(before);
    model.dispose();
  });

  it('stops at the step whose loss is not finite (TrainingDiverged, with where and at which rate), leaking nothing', async () => {
    const model = buildModel('mlp', 4);
    const before = heldMemory();
    let steps = 0;
    // A penalty that turns NaN at the third step stands in for a divergence (deterministic, whatever the backend).
    const penalty = () => tf.scalar(++steps >= 3 ? NaN : 0);
    const seen: number[] = [];
    const err = await train(model, toyData(128, 3), { epochs: 2, batchSize: 32, learningRate: 1e-3, seed: 3, penalty, onProgress: (p) => seen.push(p.batch) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDiverged);
    expect((err as TrainingDiverged).message).toBe('training diverged: the loss is NaN at epoch 1, batch 3 of 4 (learning rate 0.001)');
    expect(seen).toEqual([1, 2]); // no progress reported for the diverged step, none after it
    expect(heldMemory()).toEqual(before);
    model.dispose();
  });

  it('learns a learnable task and evaluates top-1 accuracy', async () => {
    const model = buildModel('mlp', 1);
    const data = toyData(500, 2);
    await train(model, data, { epochs: 4, batchSize: 50, learningRate: 1e-2, seed: 2 });
    expect(await evaluate(model, data)).toBeGreaterThan(0.9);
    model.dispose();
  });

  it('round-trips a model through bytes and counts FLOPs', async () => {
    const model = buildModel('mlp', 5);
    const masks = computeMasks(model, 'global-l1-unstructured', 0.5, 5);
    await train(model, toyData(64, 3), { epochs: 1, batchSize: 64, learningRate: 1e-3, seed: 1, masks });
    const copy = await deserializeModel(await serializeModel(model));
    const x = tf.randomNormal([4, 28, 28, 1]);
    const [a, b] = [model.predict(x) as tf.Tensor, copy.predict(x) as tf.Tensor];
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    expect(flops(model)).toBe(2 * (784 * 300 + 300 * 100 + 100 * 10) + 410);
    const biases = model.layers.flatMap((l) => l.getWeights().filter((w) => w.rank === 1));
    const nonzeroBiases = biases.reduce((n, b) => n + b.dataSync().filter((v) => v !== 0).length, 0);
    expect(effectiveFlops(model)).toBe(2 * (784 * 300 + 300 * 100 + 100 * 10) / 2 + nonzeroBiases);
    tf.dispose([x, a, b]);
    model.dispose();
    copy.dispose();
  });
});

describe('gradual pruning during training', () => {
  it('raises sparsity at the scheduled steps to exactly round(target x size), never un-pruning', async () => {
    const { GradualPruner } = await import('./gradual.js');
    const model = buildModel('mlp', 4);
    const before = heldMemory();
    const pruner = new GradualPruner(model, { kind: 'polynomial', initial: 0.2, final: 0.8, begin: 0, end: 8, frequency: 4 }, 'global');
    const seen: Float32Array[] = [];
    const origUpdate = pruner.update.bind(pruner);
    pruner.update = async (step: number) => {
      const changed = await origUpdate(step);
      if (changed) seen.push(...pruner.masks()!.map((m) => m.mask));
      return changed;
    };
    await train(model, toyData(320, 5), { epochs: 1, batchSize: 32, learningRate: 1e-3, seed: 1, gradual: pruner, cosine: { minLearningRate: 1e-5 } });
    expect(pruner.history.map((h) => h.step)).toEqual([0, 4, 8]);
    const kernels = prunableWeights(model);
    const N = kernels.reduce((n, v) => n + v.read().size, 0);
    const zero = kernels.reduce((n, v) => n + v.read().dataSync().filter((x) => x === 0).length, 0);
    expect(zero).toBe(Math.round(0.8 * N));
    // Later masks contain every zero of earlier masks (3 tensors per update).
    for (let u = 1; u < seen.length / 3; u++) {
      for (let t = 0; t < 3; t++) {
        const prev = seen[(u - 1) * 3 + t], next = seen[u * 3 + t];
        expect(prev.some((m, i) => m === 0 && next[i] !== 0)).toBe(false);
      }
    }
    expect(heldMemory()).toEqual(before);
    model.dispose();
  });
});

describe('knowledge distillation', () => {
  it('is alpha T^2 KL + (1 - alpha) CE, and zero KL when student = teacher', async () => {
    const { distillationLoss } = await import('./train.js');
    const s = tf.tensor2d([[1, 2, 3], [0, 0, 1]]);
    const t = tf.tensor2d([[3, 2, 1], [1, 0, 0]]);
    const hard = tf.scalar(0.7);
    const T = 2, alpha = 0.6;
    const got = distillationLoss(hard, s, t, { temperature: T, alpha }).dataSync()[0];
    const sm = (r: number[]) => { const e = r.map((v) => Math.exp(v / T)); const z = e.reduce((a, b) => a + b); return e.map((v) => v / z); };
    const kl = [[1, 2, 3, 3, 2, 1], [0, 0, 1, 1, 0, 0]].map((r) => { const ps = sm(r.slice(0, 3)), pt = sm(r.slice(3)); return pt.reduce((n, p, i) => n + p * Math.log(p / ps[i]), 0); });
    expect(got).toBeCloseTo(alpha * T * T * ((kl[0] + kl[1]) / 2) + (1 - alpha) * 0.7, 5);
    expect(distillationLoss(hard, s, s, { temperature: T, alpha: 1 }).dataSync()[0]).toBeCloseTo(0, 6);
    tf.dispose([s, t, hard]);
  });

  it('fine-tunes a pruned student against its unpruned teacher', async () => {
    const teacher = buildModel('mlp', 8);
    const data = toyData(500, 9);
    await train(teacher, data, { epochs: 4, batchSize: 50, learningRate: 1e-2, seed: 1 });
    expect(await evaluate(teacher, data)).toBeGreaterThan(0.9);
    const student = await deserializeModel(await serializeModel(teacher));
    const masks = computeMasks(student, 'global-l1-unstructured', 0.5, 1);
    const loss = await train(student, data, { epochs: 2, batchSize: 50, learningRate: 1e-3, seed: 2, masks, distill: { teacher, temperature: 4, alpha: 0.7 } });
    expect(Number.isFinite(loss)).toBe(true);
    expect(await evaluate(student, data)).toBeGreaterThan(0.85);
    teacher.dispose();
    student.dispose();
  });
});

describe('per-layer learning rates', () => {
  it('moves layers with a smaller multiplier proportionally less (Adam step ~ lr), and leaks nothing', async () => {
    const model = buildModel('mlp', 11);
    const before = heldMemory();
    const w0 = model.layers.map((l) => l.getWeights().map((w) => w.dataSync().slice()));
    await train(model, toyData(64, 4), { epochs: 1, batchSize: 64, learningRate: 1e-3, seed: 1, layerLrMultipliers: new Map([['fc1', 0.1]]) });
    const delta = (name: string) => {
      const i = model.layers.findIndex((l) => l.name === name);
      const now = Array.from(model.layers[i].getWeights()[0].dataSync());
      return now.reduce((m, v, j) => Math.max(m, Math.abs(v - w0[i][0][j])), 0);
    };
    // One Adam step moves each weight by about lr: 1e-4 for fc1, 1e-3 for fc2.
    expect(delta('fc1')).toBeLessThan(1.5e-4);
    expect(delta('fc2')).toBeGreaterThan(5e-4);
    expect(heldMemory()).toEqual(before);
    model.dispose();
  });
});
