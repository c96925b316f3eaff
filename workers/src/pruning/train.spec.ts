import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { buildModel, prunableWeights } from './models.js';
import { computeMasks } from './prune.js';
import { evaluate, train, type Dataset } from './train.js';
import { nonzeroParams, totalParams, flops, effectiveFlops } from './metrics.js';
import { deserializeModel, serializeModel } from './serialize.js';

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
    const before = tf.memory().numTensors;
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
    expect(tf.memory().numTensors).toBe(before);
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
