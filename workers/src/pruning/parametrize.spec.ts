import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel, prunableWeights } from './models.js';
import { PruningRegistry } from './parametrize.js';
import { train, type Dataset } from './train.js';

const zeros = (v: { read(): tf.Tensor }) => Array.from(v.read().dataSync()).filter((x) => x === 0).length;

beforeAll(async () => { await tf.setBackend('cpu'); });

describe('PruningRegistry (torch.nn.utils.prune module API)', () => {
  it('composes repeated pruning on survivors (0.5 twice = 75%) and never un-prunes', () => {
    const model = buildModel('mlp', 1);
    const [fc1] = prunableWeights(model);
    const r = new PruningRegistry();
    expect(r.isPruned(fc1)).toBe(false);
    r.l1Unstructured(fc1, 0.5);
    r.l1Unstructured(fc1, 0.5);
    expect(zeros(fc1)).toBe(784 * 300 * 0.75);
    r.identity(fc1);
    expect(zeros(fc1)).toBe(784 * 300 * 0.75);
    model.dispose();
  });

  it('prunes whole channels on named axes, custom masks compose, global spans tensors', () => {
    const model = buildModel('lenet5', 1);
    const [conv1, conv2, fc1] = prunableWeights(model);
    const r = new PruningRegistry();
    r.lnStructured(conv1, 0.5, 2, 'out'); // 3 of 6 filters
    const k = conv1.read().arraySync() as number[][][][];
    const deadFilters = [0, 1, 2, 3, 4, 5].filter((o) => k.every((a) => a.every((b) => b.every((c) => c[o] === 0))));
    expect(deadFilters).toHaveLength(3);
    r.randomStructured(conv2, { count: 4 }, 'in', 7); // 4 of 6 input channels
    expect(zeros(conv2)).toBe(5 * 5 * 4 * 16);
    const custom = new Float32Array(fc1.read().size).fill(1).map((_, i) => (i % 2 ? 1 : 0));
    r.customFromMask(fc1, custom);
    expect(zeros(fc1)).toBe(custom.length / 2);
    const total = conv1.read().size + conv2.read().size + fc1.read().size;
    const prior = zeros(conv1) + zeros(conv2) + zeros(fc1);
    r.globalUnstructured([conv1, conv2, fc1], 0.8); // like PyTorch: 80% of what still survives
    expect(zeros(conv1) + zeros(conv2) + zeros(fc1)).toBe(prior + Math.round(0.8 * (total - prior)));
    model.dispose();
  });

  it('keeps pruned weights at zero through training, and remove() bakes them in', async () => {
    const model = buildModel('mlp', 2);
    const vars = prunableWeights(model);
    const r = new PruningRegistry();
    r.globalUnstructured(vars, 0.6);
    const n = vars.reduce((a, v) => a + zeros(v), 0);
    const data: Dataset = { images: new Float32Array(64 * 784).map((_, i) => (i % 7) / 7), labels: new Uint8Array(64).map((_, i) => i % 10), count: 64, shape: [28, 28, 1], classes: 10 };
    await train(model, data, { epochs: 2, batchSize: 16, learningRate: 1e-2, seed: 1, masks: r.maskSet() });
    expect(vars.reduce((a, v) => a + zeros(v), 0)).toBeGreaterThanOrEqual(n);
    for (const v of vars) r.remove(v);
    expect(vars.some((v) => r.isPruned(v))).toBe(false);
    expect(vars.reduce((a, v) => a + zeros(v), 0)).toBeGreaterThanOrEqual(n);
    expect(() => r.remove(vars[0])).toThrow(/not pruned/);
    model.dispose();
  });
});
