/**
 * WebGPU through Dawn (npm `webgpu`) on Mesa's llvmpipe (OpenGL ES, EGL surfaceless): what CI can run without a GPU.
 * A short LeNet-5 training run matches the cpu backend. CI installs Mesa's EGL/GLES (see .ci/run); jest.config.js sets
 * EGL_PLATFORM=surfaceless in the real environment, where Mesa reads it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { initBackend } from './index.js';
import { buildModel } from '../pruning/models.js';

process.env.LOPPER_WEBGPU_FLAGS ??= 'backend=opengles';

async function trainSteps(backend: string): Promise<{ losses: number[]; weights: Float32Array; info: { backend: string; device: string } }> {
  const info = await initBackend(backend);
  const before = tf.memory().numTensors;
  const model = buildModel('lenet5', 1);
  const x = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32'), 10));
  const opt = tf.train.sgd(0.05);
  const losses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
    losses.push((await l.data())[0]);
    l.dispose();
  }
  const weights = (await model.getLayer('conv2').getWeights()[0].data()) as Float32Array;
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return { losses, weights, info };
}

describe('webgpu backend (Dawn on llvmpipe)', () => {
  it('starts when asked for explicitly, names its adapter, and a short training run matches the cpu backend', async () => {
    const gpu = await trainSteps('webgpu');
    expect(gpu.info.backend).toBe('webgpu');
    expect(gpu.info.device).toMatch(/llvmpipe|Mesa|OpenGL/i);
    const cpu = await trainSteps('cpu');
    gpu.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]) / cpu.losses[i]).toBeLessThan(1e-3));
    let num = 0, den = 0;
    gpu.weights.forEach((w, i) => { num += (w - cpu.weights[i]) ** 2; den += cpu.weights[i] ** 2; });
    expect(Math.sqrt(num / den)).toBeLessThan(1e-3);
    expect(cpu.losses[3]).toBeLessThan(cpu.losses[0]);
  });

  it('is not picked automatically on a software rasteriser', async () => {
    const auto = await initBackend();
    expect(auto.backend).not.toBe('webgpu');
    // each backend tried before the chosen one is reported with its reason, the webgpu probe among them
    expect(auto.skipped).toEqual(expect.arrayContaining([expect.stringMatching(/^cuda: .*tfjs-node-gpu/), expect.stringMatching(/^webgpu: (no WebGPU adapter|WebGPU adapter ".*" is a software rasteriser)/)]));
    await expect(initBackend('tensorflow')).rejects.toThrow(/tfjs-node/);
  });
});
