/**
 * The WASM heap-view rule (simd.ts, heapFloats): a view from typedArrayFromHeap is valid only until the next allocation,
 * because an allocation may grow the WASM memory, which detaches every view of it. A kernel that breaks the rule works
 * while the heap has room and silently turns a whole training run into NaN once it must grow (resnet-small's first
 * batch-128 step did: the stride-2 input gradient read its filter through a view taken before its allocations).
 * Whether the heap grows depends on what ran before, so these tests do not wait for it: while `strictHeapViews` runs,
 * every view handed out throws when used after any later allocation, whether or not the heap moved.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from './index.js';
import { buildModel, MODEL_NAMES } from '../pruning/models.js';
import { adam } from '../pruning/adam.js';

class StaleHeapView extends Error {}

/** Runs f with every WASM heap view checked against later allocations (makeOutput, a tensor's upload). */
async function strictHeapViews<T>(f: () => Promise<T>): Promise<{ result: T; views: number; allocations: number }> {
  const wasm = tf.findBackend('wasm') as BackendWasm;
  const patched = wasm as unknown as Record<'makeOutput' | 'move' | 'typedArrayFromHeap', (...a: unknown[]) => unknown>;
  const original = { makeOutput: patched.makeOutput, move: patched.move, typedArrayFromHeap: patched.typedArrayFromHeap };
  let allocations = 0;
  let views = 0;
  patched.makeOutput = (...a) => { allocations++; return original.makeOutput.apply(wasm, a); };
  patched.move = (...a) => { allocations++; return original.move.apply(wasm, a); };
  patched.typedArrayFromHeap = (...a) => {
    const view = original.typedArrayFromHeap.apply(wasm, a) as Float32Array;
    const born = allocations;
    views++;
    const check = (prop: string | symbol) => {
      if (allocations !== born) throw new StaleHeapView(`a WASM heap view (${view.length} elements) was used (${String(prop)}) after ${allocations - born} later allocation(s): an allocation may grow the heap and detach it`);
    };
    return new Proxy(view, {
      get(target, prop) {
        check(prop);
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...x: unknown[]) => unknown).bind(target) : value;
      },
      set(target, prop, value) {
        check(prop);
        return Reflect.set(target, prop, value, target);
      },
    });
  };
  try {
    return { result: await f(), views, allocations };
  } finally {
    for (const k of Object.keys(original)) delete patched[k as keyof typeof original]; // the prototype's methods again
  }
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('the WASM heap-view check itself', () => {
  it('throws when a view is used after an allocation, and not before', async () => {
    const wasm = tf.findBackend('wasm') as BackendWasm;
    const t = tf.tensor1d([1, 2, 3]);
    const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
    await strictHeapViews(async () => {
      const view = wasm.typedArrayFromHeap(info) as Float32Array;
      expect(view[1]).toBe(2); // fresh: fine
      const out = wasm.makeOutput([3], 'float32');
      expect(() => view[1]).toThrow(StaleHeapView);
      expect(() => { view[0] = 5; }).toThrow(StaleHeapView);
      expect(Array.from(wasm.typedArrayFromHeap(info) as Float32Array)).toEqual([1, 2, 3]); // a new view: fine
      wasm.disposeData(out.dataId);
    });
    t.dispose();
  });
});

describe('Lopper\'s WASM kernels never use a heap view after an allocation', () => {
  // One training step (forward, every gradient, Adam) and one inference pass of each zoo model: conv1's single-channel
  // kernels, Winograd, the direct convolution, the stride-2 input gradient phase by phase (resnet-small), BatchNorm's
  // fused statistics and gradients, pooling and its gradient, GEMM with transposes, Tile, Slice, Adam.
  it.each(MODEL_NAMES)('%s: a training step and an inference pass', async (name) => {
    const model = buildModel(name, 3);
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 5);
    const y = tf.oneHot(tf.tensor1d([0, 3, 7, 9], 'int32'), 10);
    const opt = adam(1e-3);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { result, views } = await strictHeapViews(async () => {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true, vars)!;
      const p = model.predict(x) as tf.Tensor;
      const values = [(await loss.data())[0], ...(await p.data())];
      tf.dispose([loss, p]);
      return values;
    });
    expect(views).toBeGreaterThan(0);
    expect(result.every(Number.isFinite)).toBe(true);
    const weights = await Promise.all(vars.map((v) => v.data()));
    expect(weights.every((w) => (w as Float32Array).every(Number.isFinite))).toBe(true);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });

  it.each([
    ['3x3 stride 2 same (phase by phase)', [2, 10, 10, 12], [3, 3, 12, 16], 2, 'same'],
    ['1x1 stride 2 (phases no tap reaches)', [2, 9, 10, 12], [1, 1, 12, 16], 2, 'same'],
    ['2x2 stride 2, padding before (dilated dy)', [2, 9, 9, 12], [2, 2, 12, 5], 2, [[0, 0], [1, 0], [1, 0], [0, 0]]],
    ['5x5, 6 input channels (rows of the transposed convolution)', [2, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
  ] as const)('the gradients of a conv2d, %s', async (_, xShape, fShape, stride, pad) => {
    const x = tf.randomNormal([...xShape], 0, 1, 'float32', 7);
    const w = tf.randomNormal([...fShape], 0, 0.3, 'float32', 8);
    const { result } = await strictHeapViews(async () => {
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad as never))))([x, w]);
      const values = [...(await dx.data()), ...(await dw.data())];
      tf.dispose([dx, dw]);
      return values;
    });
    expect(result.every(Number.isFinite)).toBe(true);
    tf.dispose([x, w]);
  });

  it('the gradients of a depthwise conv2d and of a per-channel product', async () => {
    const x = tf.randomNormal([2, 9, 9, 4], 0, 1, 'float32', 9);
    const w = tf.randomNormal([3, 3, 4, 2], 0, 0.3, 'float32', 10);
    const s = tf.randomNormal([8], 1, 0.1, 'float32', 11);
    const { result } = await strictHeapViews(async () => {
      const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), c))))([x, w, s]);
      const values = (await Promise.all(gs.map((g) => g.data()))).flatMap((d) => [...d]);
      tf.dispose(gs);
      return values;
    });
    expect(result.every(Number.isFinite)).toBe(true);
    tf.dispose([x, w, s]);
  });
});

describe('a model trained with tfjs-layers\' own fit on WASM', () => {
  it('keeps its heap views fresh too (BatchNorm through the fused routes)', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same' }), tfl.layers.batchNormalization(), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 12);
    const y = tf.randomNormal([4, 2], 0, 1, 'float32', 13);
    const { result } = await strictHeapViews(async () => (await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 })).history.loss as number[]);
    expect(result.every(Number.isFinite)).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });
});
