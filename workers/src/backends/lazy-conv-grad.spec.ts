import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import { installLazyFusedConvGradient } from './lazy-conv-grad.js';
import { relErr } from './fused-ops.spec-helpers.js';
import { heldMemory } from './memory.spec-helpers.js';

type Case = [string, number[], number[], number, 'same' | 'valid', boolean];
const cases: Case[] = [
  ['5x5 same, bias', [2, 12, 12, 1], [5, 5, 1, 6], 1, 'same', true],
  ['5x5 valid, no bias', [2, 14, 14, 3], [5, 5, 3, 4], 1, 'valid', false],
  ['3x3 stride 2 same, bias', [2, 9, 9, 4], [3, 3, 4, 5], 2, 'same', true],
  ['3x3 stride 2 valid, bias', [2, 10, 11, 2], [3, 3, 2, 3], 2, 'valid', true],
];

/** Gradients of sum((fused conv)²) w.r.t. the filter, the bias and (when `withX`) the input, and the kernels the step ran. */
async function grads(c: Case, withX: boolean): Promise<{ values: Float32Array[]; kernels: string[] }> {
  const [, xShape, fShape, stride, pad, hasBias] = c;
  const [x, f, b] = tf.tidy(() => [
    tf.variable(tf.randomNormal(xShape, 0, 1, 'float32', 1), true, `x${Math.random()}`),
    tf.variable(tf.randomNormal(fShape, 0, 1, 'float32', 2), true, `f${Math.random()}`),
    tf.variable(tf.randomNormal([fShape[3]], 0, 1, 'float32', 3), true, `b${Math.random()}`),
  ]);
  const vars = [f, ...(hasBias ? [b] : []), ...(withX ? [x] : [])];
  let values: Float32Array[] = [];
  const profile = await tf.profile(async () => {
    const { grads: g, value } = tf.variableGrads(() => {
      const y = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: stride, pad, bias: hasBias ? b : undefined });
      return tf.sum(tf.square(y)) as tf.Scalar;
    }, vars);
    values = await Promise.all(vars.map(async (v) => (await g[v.name].data()) as Float32Array));
    tf.dispose([value, ...Object.values(g)]);
  });
  tf.dispose([x, f, b]);
  return { values, kernels: profile.kernelNames };
}

describe('lazy fused conv2d gradient', () => {
  // TF.js's own gradients, before the hook is installed, are the reference.
  const stock = new Map<string, { values: Float32Array[]; kernels: string[] }>();
  beforeAll(async () => {
    await tf.setBackend('cpu');
    for (const c of cases) for (const withX of [false, true]) stock.set(`${c[0]}:${withX}`, await grads(c, withX));
    expect(installLazyFusedConvGradient()).toBe(true);
    expect(installLazyFusedConvGradient()).toBe(true); // idempotent
  });

  it.each(cases)('gives the stock gradients and skips the unneeded input gradient (%s)', async (...c) => {
    const ref = stock.get(`${c[0]}:false`)!;
    expect(ref.kernels).toContain('Conv2DBackpropInput'); // TF.js computes it although x is not being differentiated
    const before = heldMemory();
    const lazy = await grads(c, false);
    expect(heldMemory()).toEqual(before);
    expect(lazy.kernels).not.toContain('Conv2DBackpropInput');
    expect(lazy.kernels).toContain('Conv2DBackpropFilter');
    expect(lazy.values.length).toBe(ref.values.length);
    lazy.values.forEach((v, i) => expect(relErr(v, ref.values[i])).toBeLessThan(1e-6));
  });

  it.each(cases)('still computes the input gradient when the input is differentiated (%s)', async (...c) => {
    const ref = stock.get(`${c[0]}:true`)!;
    const lazy = await grads(c, true);
    expect(lazy.kernels).toContain('Conv2DBackpropInput');
    lazy.values.forEach((v, i) => expect(relErr(v, ref.values[i])).toBeLessThan(1e-6));
  });

  it('leaves non-linear activations (unfused under a tape) and inference alone, and trains on one image without a batch axis', async () => {
    const x = tf.randomNormal([1, 6, 6, 2]);
    const f = tf.variable(tf.randomNormal([3, 3, 2, 2], 0, 1, 'float32', 4));
    const { grads: g, value } = tf.variableGrads(() => tf.sum(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', activation: 'relu' })) as tf.Scalar, [f]);
    expect(Array.from(g[f.name].shape)).toEqual([3, 3, 2, 2]);
    const y = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same' });
    expect(y.shape).toEqual([1, 6, 6, 2]);
    // One image without a batch axis (rank 3; TF.js 4.22's own gradient throws here): the same gradient as with the batch axis.
    const x3 = tf.reshape(x, [6, 6, 2]) as tf.Tensor3D;
    const g3 = tf.variableGrads(() => tf.sum(tf.square(tf.fused.conv2d({ x: x3, filter: f as tf.Tensor4D, strides: 1, pad: 'same' }))) as tf.Scalar, [f]);
    const g4 = tf.variableGrads(() => tf.sum(tf.square(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same' }))) as tf.Scalar, [f]);
    expect(relErr(g3.grads[f.name].dataSync() as Float32Array, g4.grads[f.name].dataSync() as Float32Array)).toBeLessThan(1e-6);
    tf.dispose([x, x3, f, value, y, g3.value, g4.value, ...Object.values(g), ...Object.values(g3.grads), ...Object.values(g4.grads)]);
  });
});
