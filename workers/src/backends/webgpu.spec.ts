/**
 * WebGPU through Dawn (npm `webgpu`) on Mesa's llvmpipe (OpenGL ES, EGL surfaceless): what CI can run without a GPU.
 * A short LeNet-5 training run matches the cpu backend, and so does each of Lopper's WebGPU kernels (webgpu-kernels.ts).
 * CI installs Mesa's EGL/GLES (see .ci/run); jest.config.js sets EGL_PLATFORM=surfaceless in the real environment, where
 * Mesa reads it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { initBackend, optionalBindingProblem } from './index.js';
import { buildModel } from '../pruning/models.js';
import { adam } from '../pruning/adam.js';
import { computeMasks } from '../pruning/prune.js';
import { weightsToHost } from '../pruning/host.js';
import { nonzeroParams } from '../pruning/metrics.js';
import { BATCH_NORM_CASES, MOMENTS_CASES, expectBatchNormTrainGradLikeCpu, expectFusedMomentsLikeCpu, relErr, reluGradOn } from './fused-ops.spec-helpers.js';
import { batch, expectSameFineTuning, expectSameTraining, fineTuneOn, trainSteps } from './backend-training.spec-helpers.js';
import { WEBGPU_KERNELS, countWebGpuPrograms, registerWebGpuKernels, unregisterWebGpuKernels } from './webgpu-kernels.js';
import { heldMemory } from './memory.spec-helpers.js';

process.env.LOPPER_WEBGPU_FLAGS ??= 'backend=opengles';

describe('webgpu backend (Dawn on llvmpipe)', () => {
  it('starts when asked for explicitly, names its adapter, and a short training run matches the cpu backend', async () => {
    const gpu = await trainSteps('webgpu', 'sgd');
    expect(gpu.info.backend).toBe('webgpu');
    expect(gpu.info.device).toMatch(/llvmpipe|Mesa|OpenGL/i);
    expectSameTraining(gpu, await trainSteps('cpu', 'sgd'));
  });

  it('trains with Adam through the fused kernels and matches tf.train.adam on the cpu backend', async () => {
    const gpu = await trainSteps('webgpu', 'adam', 3);
    expectSameTraining(gpu, await trainSteps('cpu', 'adam', 3));
  });

  it("runs the worker's fine-tuning loop (masks, per-layer learning rates, distillation, cosine) as the cpu backend does", async () => {
    expectSameFineTuning(await fineTuneOn('webgpu'), await fineTuneOn('cpu'));
  });

  it('reads weights the GPU made only after weightsToHost, and says so otherwise', async () => {
    await initBackend('webgpu');
    const model = buildModel('mlp', 6);
    const { x, y } = batch();
    const opt = adam(0.01);
    opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar); // weights now GPU-made
    expect(() => computeMasks(model, 'l1-unstructured', 0.5, 1)).toThrow(/cannot read fc1\/kernel.* synchronously on the webgpu backend.*weightsToHost/);
    await weightsToHost(model);
    const masks = computeMasks(model, 'l1-unstructured', 0.5, 1);
    expect(masks.length).toBeGreaterThan(0);
    expect(nonzeroParams(model)).toBeGreaterThan(0);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });

  it('is not picked automatically on a software rasteriser', async () => {
    const auto = await initBackend();
    expect(auto.backend).not.toBe('webgpu');
    // each backend tried before the chosen one is reported with its reason
    expect(auto.skipped).toEqual(expect.arrayContaining([expect.stringMatching(/^cuda: .*tfjs-node-gpu/)]));
    // with tfjs-node installed (scripts/install-tfjs-node.sh) the tensorflow backend comes first and webgpu is never
    // probed: tensorflow.spec.ts checks that case. Without it (CI), the webgpu probe is among the reasons.
    if (optionalBindingProblem('@tensorflow/tfjs-node') === null) expect(auto.backend).toBe('tensorflow');
    else expect(auto.skipped).toEqual(expect.arrayContaining([expect.stringMatching(/^webgpu: (no WebGPU adapter|WebGPU adapter ".*" is a software rasteriser)/)]));
  });
});

describe("Lopper's WebGPU kernels (llvmpipe), each against the cpu backend", () => {
  beforeAll(async () => {
    await initBackend('webgpu');
    expect(WEBGPU_KERNELS.every((k) => tf.getKernel(k.kernelName, 'webgpu'))).toBe(true);
  });
  afterAll(async () => { await tf.setBackend('cpu'); });

  it.each(MOMENTS_CASES)('LopperMoments and LopperMomentsGrad: within 1e-5 relative error, values and gradient (%s)', async (_, shape, axis, keepDims) => {
    await expectFusedMomentsLikeCpu('webgpu', shape, axis, keepDims);
  });

  it.each(BATCH_NORM_CASES)('LopperBatchNormTrainGrad: loss, dx, dgamma, dbeta within 1e-5 relative error (%s)', async (_, shape) => {
    await expectBatchNormTrainGradLikeCpu('webgpu', shape);
  });

  it("LopperReluGrad equals TF.js's Relu gradient exactly, NaN, zeros and negatives included", async () => {
    const cpu = await reluGradOn('cpu');
    const gpu = await reluGradOn('webgpu');
    expect(gpu.values).toEqual(cpu.values);
    expect(gpu.kernels).toContain('LopperReluGrad');
    expect(cpu.kernels).not.toContain('LopperReluGrad');
  });

  it('LopperAdam: 10 steps within 1e-5 of tf.train.adam on the cpu backend, three programs per variable, no leaks', async () => {
    const train = async (backend: string, make: () => tf.Optimizer) => {
      await tf.setBackend(backend);
      const before = heldMemory();
      const w = tf.tidy(() => [tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 1)), tf.variable(tf.randomNormal([5], 0, 1, 'float32', 2))]);
      const x = tf.randomNormal([16, 7], 0, 1, 'float32', 3);
      const y = tf.randomNormal([16, 5], 0, 1, 'float32', 4);
      const opt = make();
      const loss = () => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w[0]), w[1]), y))) as tf.Scalar;
      const programs: number[] = [];
      for (let i = 0; i < 10; i++) {
        const { grads, value } = tf.variableGrads(loss, w);
        if (backend === 'webgpu') programs.push(await countWebGpuPrograms(() => opt.applyGradients(grads)));
        else opt.applyGradients(grads);
        tf.dispose([value, ...Object.values(grads)]);
      }
      const out = await Promise.all(w.map(async (v) => (await v.data()) as Float32Array));
      opt.dispose();
      tf.dispose([...w, x, y]);
      expect(heldMemory()).toEqual(before);
      return { out, programs };
    };
    const cpu = await train('cpu', () => tf.train.adam(0.01));
    const gpu = await train('webgpu', () => adam(0.01));
    gpu.out.forEach((g, i) => expect(relErr(g, cpu.out[i])).toBeLessThan(1e-5));
    // two variables, x', m' and v' each (the scalar accBeta products run on the CPU: TF.js's WebGPU backend keeps
    // tensors that small there); the first step also fills each variable's m and v with zeros
    expect(gpu.programs).toEqual([2 * 3 + 2 * 2, ...Array(9).fill(2 * 3)]);
    const init = tf.tidy(() => tf.randomNormal([7, 5], 0, 1, 'float32', 1).dataSync() as Float32Array);
    expect(relErr(gpu.out[0], init)).toBeGreaterThan(1e-3); // the weights moved
  });

  it('dispatch fewer GPU programs per LeNet-5 Adam training step than TF.js alone', async () => {
    await tf.setBackend('webgpu');
    const model = buildModel('lenet5', 1);
    const { x, y } = batch();
    const opt = adam(0.002);
    const step = () => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!.dispose();
    step(); // creates Adam's moments
    const fused = await countWebGpuPrograms(step);
    unregisterWebGpuKernels();
    let stock: number;
    try {
      step();
      stock = await countWebGpuPrograms(step);
    } finally {
      registerWebGpuKernels();
    }
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
    expect(fused).toBeLessThan(stock * 0.7);
  });
});
