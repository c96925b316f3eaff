/**
 * The `tensorflow` backend (@tensorflow/tfjs-node on libtensorflow), an optional dependency: `npm ci` leaves it out where
 * its install script cannot download libtensorflow (as in CI), and `bash scripts/install-tfjs-node.sh` installs it from
 * registries only. Where it is installed, a worker uses it and it trains as the cpu backend does; where it is not, asking
 * for it says why and how to install it. Each environment runs the half that applies to it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { initBackend, missingTrainingKernels, optionalBindingProblem } from './index.js';
import { BATCH_NORM_CASES, MOMENTS_CASES, expectBatchNormTrainGradLikeCpu, expectFusedMomentsLikeCpu, reluGradOn } from './fused-ops.spec-helpers.js';
import { registerTensorflowKernels, unregisterTensorflowKernels } from './tensorflow-kernels.js';
import { expectSameFineTuning, expectSameTraining, fineTuneOn, trainSteps } from './backend-training.spec-helpers.js';

const problem = optionalBindingProblem('@tensorflow/tfjs-node');
const gpuProblem = optionalBindingProblem('@tensorflow/tfjs-node-gpu');

describe('tensorflow backend (optional @tensorflow/tfjs-node)', () => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  if (problem !== null) {
    it('is not installed here: asking for it names the package and the install script', async () => {
      await expect(initBackend('tensorflow')).rejects.toThrow(/backend "tensorflow" failed to initialise: @tensorflow\/tfjs-node is (not installed|installed without its addon|installed but does not load).*scripts\/install-tfjs-node\.sh/);
      const auto = await initBackend();
      expect(auto.backend).not.toBe('tensorflow');
      expect(auto.skipped).toEqual(expect.arrayContaining([expect.stringMatching(/^tensorflow: @tensorflow\/tfjs-node is/)]));
    });
  } else {
    it('is installed here: starts, names libtensorflow and its one thread, has every training kernel, and comes first automatically', async () => {
      const info = await initBackend('tensorflow');
      expect(info).toEqual({ backend: 'tensorflow', device: expect.stringMatching(/\(libtensorflow \d+\.\d+\.\d+, 1 thread\(s\)\)$/) });
      expect(tf.getBackend()).toBe('tensorflow');
      expect(missingTrainingKernels('tensorflow')).toEqual([]);
      const auto = await initBackend();
      expect(auto.backend).toBe('tensorflow'); // before webgpu and wasm, as the selection order says
      expect(auto.skipped).toEqual([expect.stringMatching(/^cuda: @tensorflow\/tfjs-node-gpu/)]);
    });

    it.each(MOMENTS_CASES)('LopperMoments and LopperMomentsGrad: within 1e-5 relative error of the cpu backend, values and gradient (%s)', async (_, shape, axis, keepDims) => {
      await expectFusedMomentsLikeCpu('tensorflow', shape, axis, keepDims);
    });

    it.each(BATCH_NORM_CASES)('LopperBatchNormTrainGrad: loss, dx, dgamma, dbeta within 1e-5 relative error of the cpu backend (%s)', async (_, shape) => {
      await expectBatchNormTrainGradLikeCpu('tensorflow', shape);
    });

    it("LopperReluGrad (TensorFlow's ReluGrad, NaN kept) equals TF.js's Relu gradient on the cpu backend exactly", async () => {
      const cpu = await reluGradOn('cpu');
      const native = await reluGradOn('tensorflow');
      expect(native.values).toEqual(cpu.values); // NaN, infinities and signed zeros included
      expect(native.kernels).toContain('LopperReluGrad');
      expect(native.kernels).not.toContain('Step');
      unregisterTensorflowKernels(); // TF.js's own gradient again, the same values
      try {
        const stock = await reluGradOn('tensorflow');
        expect(stock.values).toEqual(cpu.values);
        expect(stock.kernels).toContain('Step');
      } finally {
        registerTensorflowKernels();
      }
    });

    it('trains LeNet-5 (BatchNorm) with SGD and with Adam as the cpu backend does', async () => {
      expectSameTraining(await trainSteps('tensorflow', 'sgd'), await trainSteps('cpu', 'sgd'));
      expectSameTraining(await trainSteps('tensorflow', 'adam', 3), await trainSteps('cpu', 'adam', 3));
    });

    it("runs the worker's fine-tuning loop (masks, per-layer learning rates, distillation, cosine) as the cpu backend does", async () => {
      expectSameFineTuning(await fineTuneOn('tensorflow'), await fineTuneOn('cpu'));
    });
  }

  // No machine that runs these tests has a CUDA device with tfjs-node-gpu's libtensorflow.
  it('cuda (tfjs-node-gpu) fails loudly when asked for and cannot start', async () => {
    expect(gpuProblem).not.toBeNull();
    await expect(initBackend('cuda')).rejects.toThrow(/backend "cuda" failed to initialise: @tensorflow\/tfjs-node-gpu is (not installed|installed without its addon|installed but does not load)/);
  });
});
