import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../backends/wasm-kernels.js';
import { adam } from './adam.js';
import { heldMemory } from '../backends/memory.spec-helpers.js';

/** Trains a small quadratic model for `steps` Adam steps with the given optimizer; returns the final weights. */
async function train(make: (lr: number) => tf.Optimizer, steps: number): Promise<Float32Array[]> {
  const before = heldMemory();
  const w = tf.tidy(() => [tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 1)), tf.variable(tf.randomNormal([5], 0, 1, 'float32', 2))]);
  const x = tf.randomNormal([16, 7], 0, 1, 'float32', 3);
  const y = tf.randomNormal([16, 5], 0, 1, 'float32', 4);
  const opt = make(0.01);
  for (let i = 0; i < steps; i++) opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w[0]), w[1]), y))) as tf.Scalar, false, w);
  const out = w.map((v) => v.dataSync().slice() as Float32Array);
  opt.dispose();
  tf.dispose([...w, x, y]);
  expect(heldMemory()).toEqual(before);
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

  it('continues bit-identically after its state is restored (setWeights), in a new optimizer or rolled back in the same one', async () => {
    await tf.setBackend('wasm');
    const run = async (make: () => tf.AdamOptimizer) => {
      const w = tf.tidy(() => tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', 5)));
      const x = tf.randomNormal([8, 6], 0, 1, 'float32', 6);
      const loss = () => tf.mean(tf.square(tf.matMul(x, w))) as tf.Scalar;
      const copies: tf.Tensor[] = [];
      const copy = (state: { name: string; tensor: tf.Tensor }[]) => state.map(({ name, tensor }) => {
        copies.push(tensor.clone());
        return { name, tensor: copies[copies.length - 1] };
      });
      const first = make();
      for (let i = 0; i < 5; i++) first.minimize(loss, false, [w]);
      const saved = copy(await first.getWeights()); // the optimizer's own variables change (and die with it)
      const w5 = w.clone();
      for (let i = 0; i < 3; i++) first.minimize(loss, false, [w]);
      // rolled back: the same optimizer, its state and the weights as they were after 5 steps (bias corrections from beta^6)
      await first.setWeights(copy(saved));
      w.assign(w5);
      for (let i = 0; i < 4; i++) first.minimize(loss, false, [w]);
      const rolledBack = Array.from(await w.data());
      // a new optimizer given the saved state
      w.assign(w5);
      const second = make();
      await second.setWeights(copy(saved));
      for (let i = 0; i < 4; i++) second.minimize(loss, false, [w]);
      const restored = Array.from(await w.data());
      first.dispose();
      second.dispose();
      tf.dispose([w, w5, x, ...copies]);
      return { rolledBack, restored };
    };
    const fused = await run(() => adam(0.05));
    const ref = await run(() => tf.train.adam(0.05));
    expect(fused.rolledBack).toEqual(ref.rolledBack);
    expect(fused.restored).toEqual(ref.restored);
    expect(ref.restored).toEqual(ref.rolledBack);
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
