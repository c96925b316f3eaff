/**
 * Checks shared by the fused kernels' specs (wasm-moments.spec.ts, webgpu.spec.ts): each runs the same computation on a
 * backend and returns its values, which the spec compares with the cpu backend's.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fusedMoments } from './fused-ops.js';
import { heldMemory } from './memory.spec-helpers.js';

export type MomentsFn = (x: tf.Tensor, axis?: number | number[] | null, keepDims?: boolean) => { mean: tf.Tensor; variance: tf.Tensor };

/** ||a - b|| / ||b||. */
export function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** mean, variance and the gradient of sum(mean * u) + sum(variance * v) w.r.t. x, on `backend`, with `f` as tf.moments. */
export async function momentsAndGradient(backend: string, f: MomentsFn, shape: number[], axis: number[] | null, keepDims: boolean): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const before = heldMemory();
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
  expect(heldMemory()).toEqual(before);
  return data;
}

/** Loss, dx, dgamma, dbeta of sum(u * BN(x)) for a tfjs-layers BatchNormalization in training, on `backend`. */
export async function batchNormLayerGrads(backend: string, shape: number[], center: boolean, scale: boolean): Promise<{ values: Float32Array[]; kernels: string[] }> {
  await tf.setBackend(backend);
  const C = shape[shape.length - 1];
  const bn = tfl.layers.batchNormalization({ inputShape: shape.slice(1), center, scale });
  const model = tfl.sequential({ layers: [bn] });
  const params = [...(scale ? [tf.add(tf.randomNormal([C], 0, 1, 'float32', 21), 1)] : []), ...(center ? [tf.randomNormal([C], 0, 1, 'float32', 22)] : [])];
  const initial = [...params, tf.zeros([C]), tf.ones([C])]; // gamma, beta, moving mean, moving variance
  bn.setWeights(initial);
  tf.dispose(initial);
  const before = heldMemory();
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
  expect(heldMemory()).toEqual(before);
  model.dispose();
  return { values, kernels: profile.kernelNames };
}


/** Relu's gradient on `backend` for x and dy that hold NaN, infinities and signed zeros, and the kernels it ran. */
export async function reluGradOn(backend: string): Promise<{ values: number[]; kernels: string[] }> {
  const xs = [-2, -0, 0, 1e-30, 3, NaN, -Infinity, Infinity, 0.5, -0.5, -1, -0];
  const dys = [1, 2, 3, 4, -5, 6, 7, 8, Infinity, NaN, -3, -4];
  await tf.setBackend(backend);
  const [x, dy] = [tf.tensor2d(xs, [2, 6]), tf.tensor2d(dys, [2, 6])];
  let g: tf.Tensor | undefined;
  const profile = await tf.profile(() => { g = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy); });
  const values = Array.from(await g!.data());
  tf.dispose([x, dy, g!]);
  return { values, kernels: profile.kernelNames };
}

/** Shapes for the fused statistics: [name, x's shape, axes, keepDims]. */
export const MOMENTS_CASES: [string, number[], number[], boolean][] = [
  ['BatchNorm of a conv layer', [16, 7, 7, 6], [0, 1, 2], false],
  ['keepDims', [8, 5, 5, 16], [0, 1, 2], true],
  ['more rows than a workgroup has threads', [600, 7], [0], false],
  ['one row', [1, 12], [0], false],
];

/** LopperMoments and LopperMomentsGrad on `backend` (through fusedMoments) within 1e-5 of TF.js's moments on the cpu backend. */
export async function expectFusedMomentsLikeCpu(backend: string, shape: number[], axis: number[], keepDims: boolean): Promise<void> {
  const original = tf.moments as unknown as MomentsFn;
  const fused = fusedMoments(original as Parameters<typeof fusedMoments>[0]) as MomentsFn;
  const cpu = await momentsAndGradient('cpu', original, shape, axis, keepDims);
  const got = await momentsAndGradient(backend, fused, shape, axis, keepDims);
  got.forEach((g, i) => expect(relErr(g, cpu[i])).toBeLessThan(1e-5));
  await tf.setBackend(backend);
  const x = tf.randomNormal(shape);
  const profile = await tf.profile(() => tf.dispose(tf.grad((xx: tf.Tensor) => tf.sum(fused(xx, axis, keepDims).variance))(x)));
  expect(profile.kernelNames).toEqual(expect.arrayContaining(['LopperMoments', 'LopperMomentsGrad']));
  x.dispose();
}

/** Shapes for BatchNorm's training gradient: [name, x's shape]. */
export const BATCH_NORM_CASES: [string, number[]][] = [
  ['conv BatchNorm', [16, 7, 7, 6]],
  ['dense BatchNorm', [300, 84]],
  ['rank 3', [6, 9, 3]],
];

/** A BatchNormalization layer's loss, dx, dgamma, dbeta on `backend` within 1e-5 of the cpu backend's, through LopperBatchNormTrainGrad. */
export async function expectBatchNormTrainGradLikeCpu(backend: string, shape: number[]): Promise<void> {
  const cpu = await batchNormLayerGrads('cpu', shape, true, true);
  const got = await batchNormLayerGrads(backend, shape, true, true);
  expect(got.values.length).toBe(4);
  got.values.forEach((g, i) => expect(relErr(g, cpu.values[i])).toBeLessThan(1e-5));
  expect(got.kernels).toContain('LopperBatchNormTrainGrad');
  expect(got.kernels).not.toContain('LopperMomentsGrad');
}
