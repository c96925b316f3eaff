import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../backends/wasm-kernels.js';
import { adam } from './adam.js';

/** Trains a small quadratic model for `steps` Adam steps with the given optimizer; returns the final weights. */
async function train(make: (lr: number) => tf.Optimizer, steps: number): Promise<Float32Array[]> {
  const before = tf.memory().numTensors;
  const w = tf.tidy(() => [tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 1)), tf.variable(tf.randomNormal([5], 0, 1, 'float32', 2))]);
  const x = tf.randomNormal([16, 7], 0, 1, 'float32', 3);
  const y = tf.randomNormal([16, 5], 0, 1, 'float32', 4);
  const opt = make(0.01);
  for (let i = 0; i < steps; i++) opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w[0]), w[1]), y))) as tf.Scalar, false, w);
  const out = w.map((v) => v.dataSync().slice() as Float32Array);
  opt.dispose();
  tf.dispose([...w, x, y]);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe('adam (fused Adam update)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmKernels();
  });
  afterAll(async () => { await tf.setBackend('cpu'); });

  it.each(['wasm', 'cpu'])('is bit-identical to tf.train.adam on %s over 25 steps, without leaks', async (backend) => {
    await tf.setBackend(backend);
    const ref = await train((lr) => tf.train.adam(lr), 25);
    const fused = await train((lr) => adam(lr), 25);
    for (let i = 0; i < ref.length; i++) expect(Array.from(fused[i])).toEqual(Array.from(ref[i]));
    // and it moved the weights: the comparison is not between two untouched initialisations
    const init = tf.tidy(() => tf.randomNormal([7, 5], 0, 1, 'float32', 1).dataSync());
    expect(Array.from(fused[0])).not.toEqual(Array.from(init));
  });

  it('runs one LopperAdam kernel per variable on wasm (none of the fourteen elementwise kernels)', async () => {
    await tf.setBackend('wasm');
    const w = tf.tidy(() => tf.variable(tf.ones([3, 3])));
    const opt = adam(0.1);
    const loss = () => tf.sum(tf.square(w)) as tf.Scalar;
    opt.minimize(loss); // creates the moments
    const grads = tf.variableGrads(loss);
    const info = await tf.profile(() => opt.applyGradients(grads.grads as Parameters<typeof opt.applyGradients>[0]));
    expect(info.kernelNames).toContain('LopperAdam');
    expect(info.kernelNames).not.toContain('Sqrt');
    tf.dispose([grads.value, ...Object.values(grads.grads), w]);
    opt.dispose();
  });
});
