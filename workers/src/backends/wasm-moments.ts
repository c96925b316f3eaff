/**
 * BatchNorm's batch statistics on the WASM backend: the kernels behind fused-ops.ts's routes (`LopperMoments`,
 * `LopperMomentsGrad`, `LopperBatchNormTrainGrad`; see there for what each computes and why).
 *
 * In a LeNet-5 step tf.moments' dozen passes over the activations took ~8 ms of ~78 ms for the first BatchNorm alone.
 * `LopperMoments` computes mean and variance in two SIMD passes (column sums, then centred squares), its gradient is one
 * per-channel affine pass, and BatchNorm's whole training gradient is one pass of sums and one pass for dx.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { batchNormGradSums, channelValues, columnSums, heapFloats, heapOffset, laneMultiple, perChannelPass, simdKernels, sizeOf, tiledVector } from './simd.js';
import { BN_TRAIN_GRAD_KERNEL, MOMENTS_GRAD_KERNEL, MOMENTS_KERNEL, installMomentsRouting } from './fused-ops.js';

/** Per-channel mean and (biased) variance over every axis but the last: outputs [C] and [C]. */
const momentsKernel: tf.KernelConfig = {
  kernelName: MOMENTS_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    if (!simd) throw new Error(`${MOMENTS_KERNEL} needs the SIMD kernels`);
    const C = x.shape[x.shape.length - 1];
    const rows = sizeOf(x) / C;
    // the statistics first, in JS arrays: columnSums allocates, which may grow the heap and detach views of it
    const m = Float32Array.from(columnSums(wasm, simd, x, C), (sum) => sum / rows);
    const v = Float32Array.from(columnSums(wasm, simd, x, C, m), (sum) => sum / rows);
    return [m, v].map((values) => channelValues(wasm, [C], C, (c) => values[c]));
  },
};

/** dx = x * (2 dvar / N) + (dmean / N - 2 dvar mean / N), per channel, in one SIMD pass. */
const momentsGradKernel: tf.KernelConfig = {
  kernelName: MOMENTS_GRAD_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x, mean, dMean, dVariance } = inputs as Record<'x' | 'mean' | 'dMean' | 'dVariance', tf.TensorInfo>;
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm)!;
    const C = x.shape[x.shape.length - 1];
    const rows = sizeOf(x) / C;
    const [m, dm, dv] = [mean, dMean, dVariance].map((t) => heapFloats(wasm, t));
    return perChannelPass(wasm, simd, x, C, (c) => {
      const s = (2 * dv[c]) / rows;
      return [s, dm[c] / rows - s * m[c]];
    });
  },
};

/** `LopperBatchNormTrainGrad` (fused-ops.ts): one SIMD pass of sums, one affine pass for dx. */
const batchNormTrainGradKernel: tf.KernelConfig = {
  kernelName: BN_TRAIN_GRAD_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy, mean, variance, scale } = inputs as Record<'x' | 'dy' | 'mean' | 'variance' | 'scale', tf.TensorInfo>;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm)!;
    const C = x.shape[x.shape.length - 1];
    const N = sizeOf(x) / C;
    // copies: everything below allocates, which may grow the heap and detach views of it
    const [m, v, g] = [mean, variance, scale].map((t) => heapFloats(wasm, t));
    const { sumDy, sumDyXm } = batchNormGradSums(wasm, simd, x, dy, m, C);
    const f = Math.fround;
    const rs = Array.from({ length: C }, (_, c) => f(1 / Math.sqrt(f(v[c] + varianceEpsilon))));
    const A = rs.map((r, c) => r * g[c]);
    const B = A.map((a, c) => (-a * rs[c] * rs[c] * sumDyXm[c]) / N);
    const D = A.map((a, c) => (-a * sumDy[c]) / N - B[c] * m[c]);
    const [aT, bT, dT] = [A, B, D].map((vec) => tiledVector(wasm, C, (c) => vec[c]));
    const dx = wasm.makeOutput(x.shape, 'float32');
    simd.affine2(heapOffset(wasm, dy), heapOffset(wasm, x), heapOffset(wasm, aT), heapOffset(wasm, bT), heapOffset(wasm, dT), heapOffset(wasm, dx), sizeOf(x), laneMultiple(C));
    for (const t of [aT, bT, dT]) wasm.disposeData(t.dataId);
    return [dx, channelValues(wasm, [C], C, (c) => rs[c] * sumDyXm[c]), channelValues(wasm, [C], C, (c) => sumDy[c])];
  },
};

/**
 * Registers the kernels on the WASM backend (when the SIMD module loads) and installs fused-ops.ts's routes to them.
 * Idempotent; false when nothing was installed.
 */
export function installFusedMoments(): boolean {
  if (!simdKernels(tf.findBackend('wasm') as BackendWasm | undefined)) return false;
  for (const k of [momentsKernel, momentsGradKernel, batchNormTrainGradKernel]) if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
  installMomentsRouting();
  return true;
}
