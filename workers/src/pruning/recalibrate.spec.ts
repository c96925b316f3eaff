import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../backends/index.js';
import { heldMemory } from '../backends/memory.spec-helpers.js';
import { buildModel } from './models.js';
import { computeMasks } from './prune.js';
import { batchNormLayers, recalibrateBatchNorm } from './recalibrate.js';
import { sliceBatch, train, type Dataset } from './train.js';

beforeAll(async () => { await initBackend('wasm'); });

/** n examples of shape [2, 2, 3], channel c around 10 * (c + 1) with spread c + 1. */
function data(n: number, seed = 5): Dataset {
  let s = seed;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
  const images = new Float32Array(n * 12).map((_, i) => 10 * ((i % 3) + 1) + 2 * ((i % 3) + 1) * r());
  return { images, labels: new Uint8Array(n).map((_, i) => i % 10), count: n, shape: [2, 2, 3], classes: 10 };
}

/** Per-channel mean and biased variance of all examples. */
function stats(d: Dataset): { mean: number[]; variance: number[] } {
  const mean = [0, 1, 2].map((c) => d.images.filter((_, i) => i % 3 === c).reduce((a, b) => a + b, 0) / (d.count * 4));
  const variance = [0, 1, 2].map((c) => d.images.filter((_, i) => i % 3 === c).reduce((a, b) => a + (b - mean[c]) ** 2, 0) / (d.count * 4));
  return { mean, variance };
}

const bnModel = () => tfl.sequential({ layers: [tfl.layers.batchNormalization({ inputShape: [2, 2, 3], momentum: 0.9 })] });
const moving = (m: tfl.LayersModel) => {
  const bn = m.layers[0] as unknown as { movingMean: tfl.LayerVariable; movingVariance: tfl.LayerVariable };
  return { mean: Array.from(bn.movingMean.read().dataSync()), variance: Array.from(bn.movingVariance.read().dataSync()) };
};

describe('recalibrateBatchNorm', () => {
  it('sets the moving statistics to the batch statistics: one batch of all the data gives its mean and variance exactly', async () => {
    const m = bnModel();
    const d = data(20);
    const before = heldMemory();
    const r = await recalibrateBatchNorm(m, d, { batches: 5, batchSize: 64, seed: 1 });
    expect(r).toEqual({ layers: 1, batches: 1, examples: 20 }); // capped at one pass
    const want = stats(d);
    const got = moving(m);
    got.mean.forEach((v, c) => expect(v).toBeCloseTo(want.mean[c], 4));
    got.variance.forEach((v, c) => expect(v / want.variance[c]).toBeCloseTo(1, 4));
    // Inference now normalises as training mode does on that batch.
    const { x, y } = sliceBatch(d, 0, 20);
    const [inf, trn] = [m.predict(x) as tf.Tensor, m.apply(x, { training: false }) as tf.Tensor];
    const train_ = tf.tidy(() => (m.layers[0].apply(x, { training: true }) as tf.Tensor));
    const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    expect(maxDiff(inf, trn)).toBe(0);
    expect(maxDiff(inf, train_)).toBeLessThan(1e-3);
    tf.dispose([x, y, inf, trn, train_]);
    expect(heldMemory()).toEqual(before);
    m.dispose();
  });

  it('weights uneven batches by their examples: the moving mean is the mean of all examples, whatever the split', async () => {
    const m = bnModel();
    const d = data(10);
    const r = await recalibrateBatchNorm(m, d, { batches: 3, batchSize: 4, seed: 2 }); // 4 + 4 + 2 examples
    expect(r).toEqual({ layers: 1, batches: 3, examples: 10 });
    moving(m).mean.forEach((v, c) => expect(v).toBeCloseTo(stats(d).mean[c], 4));
    // The mean of within-batch variances leaves out the spread between batch means: at most the overall variance.
    moving(m).variance.forEach((v, c) => expect(v).toBeLessThanOrEqual(stats(d).variance[c] * (1 + 1e-5)));
    expect((m.layers[0] as unknown as { momentum: number }).momentum).toBe(0.9); // restored
    m.dispose();
  });

  it('changes no weight, keeps pruned entries zero, finds nested BatchNorm layers, and does nothing to a model without one', async () => {
    const model = buildModel('lenet5', 3);
    const d: Dataset = { images: new Float32Array(64 * 784).map((_, i) => (i * 7919) % 255 / 255), labels: new Uint8Array(64).map((_, i) => i % 10), count: 64, shape: [28, 28, 1], classes: 10 };
    await train(model, d, { epochs: 1, batchSize: 32, learningRate: 1e-2, seed: 1 });
    computeMasks(model, 'l1-unstructured', 0.5, 3);
    const trainable = () => model.trainableWeights.map((w) => Array.from(w.read().dataSync()));
    const weights = trainable();
    const before = heldMemory();
    const r = await recalibrateBatchNorm(model, d, { batches: 2, batchSize: 32, seed: 3 });
    expect(r).toEqual({ layers: batchNormLayers(model).length, batches: 2, examples: 64 });
    expect(r.layers).toBeGreaterThanOrEqual(3);
    expect(trainable()).toEqual(weights); // gamma, beta, kernels (their zeros too) as they were
    expect(heldMemory()).toEqual(before);

    // A BatchNorm layer inside a nested model counts.
    const inner = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [12], units: 4 }), tfl.layers.batchNormalization({})] });
    const outer = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2, 3] }), inner] });
    expect(batchNormLayers(outer)).toHaveLength(1);
    expect((await recalibrateBatchNorm(outer, data(8), { batches: 1, batchSize: 8, seed: 1 })).layers).toBe(1);

    const mlp = buildModel('mlp', 3);
    const mlpWeights = mlp.getWeights().map((w) => Array.from(w.dataSync()));
    expect(await recalibrateBatchNorm(mlp, d, { batches: 2, batchSize: 32, seed: 3 })).toEqual({ layers: 0, batches: 0, examples: 0 });
    expect(mlp.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(mlpWeights);
    for (const x of [model, outer, mlp]) x.dispose();
  });

  it('repairs what a short training leaves: inference accuracy on the training data rises, and bad options are refused', async () => {
    const model = buildModel('lenet5', 4);
    // A learnable toy (a class-specific bright row) far from zero mean, which the initial moving mean (0) assumes.
    let s = 9;
    const r = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    const n = 256;
    const images = new Float32Array(n * 784).map(() => 5 + r());
    const labels = new Uint8Array(n).map((_, i) => i % 10);
    for (let i = 0; i < n; i++) for (let p = 0; p < 28; p++) images[i * 784 + labels[i] * 2 * 28 + p] += 3;
    const d: Dataset = { images, labels, count: n, shape: [28, 28, 1], classes: 10 };
    await train(model, d, { epochs: 1, batchSize: 32, learningRate: 3e-3, seed: 1 }); // 8 steps: the moving statistics lag
    const accuracy = async () => {
      const { x, y } = sliceBatch(d, 0, n);
      const hits = tf.tidy(() => tf.sum(tf.equal(tf.argMax(model.predict(x) as tf.Tensor, -1), tf.argMax(y, -1))).dataSync()[0]);
      tf.dispose([x, y]);
      return hits / n;
    };
    const stale = await accuracy();
    await recalibrateBatchNorm(model, d, { batches: 8, batchSize: 32, seed: 1 });
    const fresh = await accuracy();
    expect(stale).toBeLessThan(0.8); // 0.58 here
    expect(fresh).toBeGreaterThan(stale + 0.2); // 1.0 here
    await expect(recalibrateBatchNorm(model, d, { batches: 0, batchSize: 32, seed: 1 })).rejects.toThrow('batches must be a positive integer, got 0');
    await expect(recalibrateBatchNorm(model, d, { batches: 1, batchSize: 1.5, seed: 1 })).rejects.toThrow('batchSize must be a positive integer, got 1.5');
    model.dispose();
  });
});
