import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from './wasm-kernels.js';

async function on<T>(backend: string, f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return f();
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  registerWasmKernels();
  await tf.setBackend('cpu');
});

describe('WASM Conv2DBackpropFilter', () => {
  const cases: [string, number[], number[], number, 'same' | 'valid'][] = [
    ['5x5 same', [4, 12, 12, 3], [5, 5, 3, 6], 1, 'same'],
    ['5x5 valid', [3, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
    ['3x3 stride 2 same', [2, 9, 9, 4], [3, 3, 4, 5], 2, 'same'],
    ['3x3 stride 2 valid', [2, 10, 11, 2], [3, 3, 2, 3], 2, 'valid'],
  ];
  it.each(cases)('equals the cpu backend within 1e-5 relative error (%s)', async (_, xShape, fShape, stride, pad) => {
    const xv = tf.randomNormal(xShape, 0, 1, 'float32', 1).dataSync() as Float32Array;
    const grad = async () => {
      const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
      const f = tf.tensor4d(tf.randomNormal(fShape, 0, 1, 'float32', 2).dataSync() as Float32Array, fShape as [number, number, number, number]);
      const g = tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, w as tf.Tensor4D, stride, pad))))(f);
      const data = (await g.data()) as Float32Array;
      tf.dispose([x, f, g]);
      return data;
    };
    const cpu = await (await on('cpu', grad));
    const wasm = await (await on('wasm', grad));
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it.each([[false, false], [true, false], [false, true], [true, true]])('BatchMatMul transposeA=%s transposeB=%s equals the cpu backend', async (ta, tb) => {
    const av = tf.randomNormal([3, 7, 5], 0, 1, 'float32', 4).dataSync() as Float32Array;
    const bv = tf.randomNormal([3, 5, 6], 0, 1, 'float32', 5).dataSync() as Float32Array;
    const run = async () => {
      const a = ta ? tf.transpose(tf.tensor3d(av, [3, 7, 5]), [0, 2, 1]) : tf.tensor3d(av, [3, 7, 5]);
      const b = tb ? tf.transpose(tf.tensor3d(bv, [3, 5, 6]), [0, 2, 1]) : tf.tensor3d(bv, [3, 5, 6]);
      const before = tf.memory().numTensors;
      const c = tf.matMul(a, b, ta, tb);
      expect(c.shape).toEqual([3, 7, 6]);
      const data = (await c.data()) as Float32Array;
      tf.dispose([a, b, c]);
      expect(tf.memory().numTensors).toBe(before - 2);
      return data;
    };
    const cpu = await (await on('cpu', run));
    const wasm = await (await on('wasm', run));
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it.each(cases)('Conv2DBackpropInput equals the cpu backend within 1e-5 relative error (%s)', async (_, xShape, fShape, stride, pad) => {
    const xv = tf.randomNormal(xShape, 0, 1, 'float32', 6).dataSync() as Float32Array;
    const fv = tf.randomNormal(fShape, 0, 1, 'float32', 7).dataSync() as Float32Array;
    const grad = async () => {
      const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
      const f = tf.tensor4d(fv, fShape as [number, number, number, number]);
      const before = tf.memory().numTensors;
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, f, stride, pad))))(x);
      const data = (await g.data()) as Float32Array;
      g.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, f]);
      return data;
    };
    const cpu = await (await on('cpu', grad));
    const wasm = await (await on('wasm', grad));
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it.each([
    ['channel vector', [2, 3], [1, 1, 1, 3], [5, 4, 3, 1]],
    ['middle axis', [1, 4, 1], [1, 4, 1, 1], [3, 1, 2, 5]],
    ['scalar-like', [1], [1], [7]],
    ['identity', [2, 3], [2, 3], [1, 1]],
  ])('Tile (%s) equals the cpu backend', async (_, __, shape, reps) => {
    const v = tf.randomNormal(shape, 0, 1, 'float32', 8).dataSync();
    const run = async () => { const t = tf.tensor(v, shape); const r = tf.tile(t, reps); const d = await r.data(); tf.dispose([t, r]); return d as Float32Array; };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
    await tf.setBackend('cpu');
  });

  it.each([
    ['2x2 stride 2 valid', [3, 8, 8, 5], 2, 2, 'valid'],
    ['3x3 stride 2 same', [2, 9, 7, 3], 3, 2, 'same'],
    ['3x3 stride 1 same', [2, 6, 6, 4], 3, 1, 'same'],
  ] as const)('MaxPoolGrad (%s) equals the cpu backend', async (_, shape, size, stride, pad) => {
    const v = tf.randomNormal([...shape], 0, 1, 'float32', 9).dataSync();
    const run = async () => {
      const x = tf.tensor4d(v, [...shape] as [number, number, number, number]);
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.maxPool(xx as tf.Tensor4D, size, stride, pad))))(x);
      const d = await g.data(); tf.dispose([x, g]); return d as Float32Array;
    };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-6);
    await tf.setBackend('cpu');
  });

  it.each(['mul', 'add', 'sub', 'div'] as const)('broadcast %s over channels equals the cpu backend, either operand order', async (op) => {
    const xv = tf.randomNormal([4, 16, 16, 6], 0, 1, 'float32', 10).dataSync();
    const cv = tf.randomUniform([6], 0.5, 2, 'float32', 11).dataSync();
    const run = async () => {
      const x = tf.tensor4d(xv, [4, 16, 16, 6]);
      const c = tf.tensor1d(cv);
      const c4 = tf.reshape(c, [1, 1, 1, 6]);
      const rows = tf.reshape(tf.slice(x, [0, 0, 0, 0], [1, 16, 1, 6]), [16, 1, 6]);
      const outs = [tf[op](x, c), tf[op](c4, x), tf[op](x, rows)];
      const d = await Promise.all(outs.map((o) => o.data()));
      tf.dispose([x, c, c4, rows, ...outs]);
      return Float32Array.from(d.flatMap((a) => Array.from(a)));
    };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-6);
    await tf.setBackend('cpu');
  });

  it.each([
    ['3x3 same, multiplier 1', [2, 8, 8, 3], [3, 3, 3, 1], 1, 'same'],
    ['3x3 valid, multiplier 2', [2, 7, 9, 2], [3, 3, 2, 2], 1, 'valid'],
    ['5x5 stride 2 same, multiplier 3', [1, 11, 10, 4], [5, 5, 4, 3], 2, 'same'],
  ] as const)('depthwise conv backprops (%s) equal the cpu backend within 1e-5 relative error', async (_, xShape, fShape, stride, pad) => {
    const xv = tf.randomNormal([...xShape], 0, 1, 'float32', 12).dataSync();
    const fv = tf.randomNormal([...fShape], 0, 1, 'float32', 13).dataSync();
    const run = async () => {
      const x = tf.tensor4d(xv, [...xShape] as [number, number, number, number]);
      const f = tf.tensor4d(fv, [...fShape] as [number, number, number, number]);
      const before = tf.memory().numTensors;
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad))))([x, f]);
      const d = [...(await gx.data()), ...(await gf.data())];
      tf.dispose([gx, gf]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, f]);
      return Float32Array.from(d);
    };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it('lets a conv net train on WASM without leaking tensors', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([8, 10, 10, 1]) as tf.Tensor4D;
    const w0 = tf.randomNormal([3, 3, 1, 4]);
    const w = tf.variable(w0 as tf.Tensor4D);
    w0.dispose();
    const opt = tf.train.sgd(0.01);
    const loss0 = tf.tidy(() => tf.mean(tf.square(tf.conv2d(x, w, 1, "same"))).dataSync()[0]);
    for (let i = 0; i < 5; i++) opt.minimize(() => tf.mean(tf.square(tf.conv2d(x, w, 1, "same"))) as tf.Scalar);
    const loss1 = tf.tidy(() => tf.mean(tf.square(tf.conv2d(x, w, 1, "same"))).dataSync()[0]);
    expect(loss1).toBeLessThan(loss0);
    tf.dispose([x, w]);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
