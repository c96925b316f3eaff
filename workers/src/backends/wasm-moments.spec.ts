import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRequire } from 'node:module';
import { configureSimd, type SimdFmaSetting } from './simd.js';
import { registerWasmKernels } from './wasm-kernels.js';
import { MOMENTS_KERNEL, fusedMoments } from './wasm-moments.js';

type MomentsFn = (x: tf.Tensor, axis?: number | number[] | null, keepDims?: boolean) => { mean: tf.Tensor; variance: tf.Tensor };
const original = tf.moments as unknown as MomentsFn;
const moments = fusedMoments(original as Parameters<typeof fusedMoments>[0]) as MomentsFn;

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** mean, variance and the gradient of sum(mean * u) + sum(variance * v) w.r.t. x, on `backend`, with `f` as tf.moments. */
async function run(backend: string, f: MomentsFn, shape: number[], axis: number[] | null, keepDims: boolean): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 11), 2), 3)); // mean 3, std 2: a centred sum matters
  const out = tf.tidy(() => {
    const { mean, variance } = f(x, axis, keepDims);
    const u = tf.randomNormal(mean.shape, 0, 1, 'float32', 12);
    const v = tf.randomNormal(variance.shape, 0, 1, 'float32', 13);
    const g = tf.grad((xx: tf.Tensor) => { const m = f(xx, axis, keepDims); return tf.add(tf.sum(tf.mul(m.mean, u)), tf.sum(tf.mul(m.variance, v))); })(x);
    return [mean, variance, g];
  });
  const data = await Promise.all(out.map(async (t) => (await t.data()) as Float32Array));
  expect(out[0].shape).toEqual(keepDims ? shape.map((d, i) => (i < shape.length - 1 ? 1 : d)) : [shape[shape.length - 1]]);
  tf.dispose([x, ...out]);
  expect(tf.memory().numTensors).toBe(before);
  return data;
}

beforeAll(async () => {
  configureSimd((process.env.LOPPER_WASM_FMA || 'auto') as SimdFmaSetting); // `unit-simd128` runs this file with LOPPER_WASM_FMA=off
  await tf.setBackend('wasm');
  registerWasmKernels();
});

describe('LopperMoments (tf.moments over every axis but the last, WASM)', () => {
  it.each([
    ['BatchNorm of a conv layer', [16, 7, 7, 6], [0, 1, 2], false],
    ['keepDims', [8, 5, 5, 16], [0, 1, 2], true],
    ['dense BatchNorm', [64, 84], [0], false],
    ['channel count not a multiple of 4', [9, 3, 3, 5], [0, 1, 2], false],
  ] as [string, number[], number[], boolean][])('equals the cpu backend within 1e-5 relative error, values and gradient (%s)', async (_, shape, axis, keepDims) => {
    const cpu = await run('cpu', original, shape, axis, keepDims);
    const wasm = await run('wasm', moments, shape, axis, keepDims);
    wasm.forEach((w, i) => expect(relErr(w, cpu[i])).toBeLessThan(1e-5));
  });

  it('runs the fused kernel, and TF.js moments for other axes', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([4, 3, 3, 8]);
    const fused = await tf.profile(() => tf.dispose(Object.values(moments(x, [0, 1, 2]))));
    expect(fused.kernelNames).toEqual([MOMENTS_KERNEL]);
    const other = await tf.profile(() => tf.dispose(Object.values(moments(x, [1, 2]))));
    expect(other.kernelNames).not.toContain(MOMENTS_KERNEL);
    const [a, b] = [moments(x, [1, 2]), original(x, [1, 2])];
    expect(a.mean.shape).toEqual([4, 8]);
    expect(relErr(a.variance.dataSync() as Float32Array, b.variance.dataSync() as Float32Array)).toBe(0);
    tf.dispose([a.mean, a.variance, b.mean, b.variance]);
    x.dispose();
  });

  it('is what tfjs-layers BatchNormalization trains through', async () => {
    await tf.setBackend('wasm');
    const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as { moments: unknown };
    expect(core.moments).not.toBe(original);
    const bn = tfl.layers.batchNormalization({ inputShape: [5, 5, 4] });
    const model = tfl.sequential({ layers: [bn] });
    const x = tf.randomNormal([6, 5, 5, 4]);
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
      tf.dispose([value, ...Object.values(grads)]);
    });
    expect(profile.kernelNames).toContain(MOMENTS_KERNEL);
    tf.dispose(x);
    model.dispose();
  });
});

describe('BatchNorm in training through one gradient (LopperBatchNormTrainGrad, WASM)', () => {
  /** Loss, dx, dgamma, dbeta of sum(u * BN(x)) for a tfjs-layers BatchNormalization in training, on `backend`. */
  async function layerGrads(backend: string, shape: number[], center: boolean, scale: boolean): Promise<{ values: Float32Array[]; kernels: string[] }> {
    await tf.setBackend(backend);
    const C = shape[shape.length - 1];
    const bn = tfl.layers.batchNormalization({ inputShape: shape.slice(1), center, scale });
    const model = tfl.sequential({ layers: [bn] });
    const params = [...(scale ? [tf.add(tf.randomNormal([C], 0, 1, 'float32', 21), 1)] : []), ...(center ? [tf.randomNormal([C], 0, 1, 'float32', 22)] : [])];
    bn.setWeights([...params, tf.zeros([C]), tf.ones([C])]);
    tf.dispose(params);
    const before = tf.memory().numTensors;
    const x0 = tf.tidy(() => tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 23), 2), 3));
    const x = tf.variable(x0);
    x0.dispose();
    const u = tf.randomNormal(shape, 0, 1, 'float32', 24);
    let out: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
    const profile = await tf.profile(() => {
      out = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, u)) as tf.Scalar);
    });
    const { value, grads } = out!;
    const trainable = bn.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]);
    const values = await Promise.all([value, grads[x.name], ...trainable].map(async (t) => (await t.data()) as Float32Array));
    tf.dispose([value, ...Object.values(grads), x, u]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    return { values, kernels: profile.kernelNames };
  }

  // (tfjs-layers 4.22 cannot train a BatchNormalization without center or scale: it reads the missing weight.)
  it.each([
    ['conv BatchNorm', [16, 7, 7, 6], true, true],
    ['dense BatchNorm', [32, 84], true, true],
    ['5 channels', [8, 5, 5, 5], true, true],
    ['rank 3', [6, 9, 3], true, true],
  ] as [string, number[], boolean, boolean][])('equals the cpu backend within 1e-5 relative error: loss, dx, dgamma, dbeta (%s)', async (_, shape, center, scale) => {
    const cpu = await layerGrads('cpu', shape, center, scale);
    const wasm = await layerGrads('wasm', shape, center, scale);
    expect(wasm.values.length).toBe(2 + Number(center) + Number(scale));
    wasm.values.forEach((w, i) => expect(relErr(w, cpu.values[i])).toBeLessThan(1e-5));
    expect(wasm.kernels).toContain('LopperBatchNormTrainGrad');
    // The statistics' own gradient, FusedBatchNorm's gradient and the Add of the two paths do not run.
    expect(wasm.kernels).not.toContain('LopperMomentsGrad');
    expect(wasm.kernels).not.toContain('LopperBatchNormGrad');
    expect(cpu.kernels).not.toContain('LopperBatchNormTrainGrad');
  });

  it('keeps the gradient of other uses of the batch statistics', async () => {
    const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof tf;
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal([8, 3, 3, 6], 0, 1, 'float32', 31), 2), 3));
      const u = tf.randomNormal([8, 3, 3, 6], 0, 1, 'float32', 32);
      const w = tf.randomNormal([6], 0, 1, 'float32', 33);
      const [offset, scale] = [tf.randomNormal([6], 0, 1, 'float32', 34), tf.randomNormal([6], 1, 1, 'float32', 35)] as tf.Tensor1D[];
      const g = tf.grad((xx: tf.Tensor) => {
        const { mean, variance } = core.moments(xx, [0, 1, 2]);
        const y = core.batchNorm4d(xx as tf.Tensor4D, mean as tf.Tensor1D, variance as tf.Tensor1D, offset, scale, 1e-3);
        return tf.add(tf.sum(tf.mul(y, u)), tf.sum(tf.mul(tf.add(mean, variance), w)));
      })(x);
      const data = (await g.data()) as Float32Array;
      tf.dispose([x, u, w, g, offset, scale]);
      return data;
    };
    const cpu = await grad('cpu');
    expect(relErr(await grad('wasm'), cpu)).toBeLessThan(1e-5);
  });
});
