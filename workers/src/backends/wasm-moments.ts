/**
 * BatchNorm's batch statistics on the WASM backend as one kernel with one-pass gradient.
 *
 * tfjs-layers' BatchNormalization in training calls `tf.moments(x, [0, 1, 2])`: Mean, Sub, Square, Mean forward and,
 * backward, the gradients of each (tiles, a scalar division per element, products, a reduction, an add): about a dozen
 * passes over the activations, ~8 ms of a ~78 ms LeNet-5 step for the first BatchNorm alone. `LopperMoments` computes
 * mean and variance in two SIMD passes (column sums, then centred squares: the same two-pass algorithm as tf.moments),
 * and its gradient is one per-channel affine pass, dx = dmean / N + 2 dvar (x - mean) / N.
 *
 * tfjs-layers reaches `moments` through tfjs-core's CommonJS exports object, which is writable: `installFusedMoments`
 * puts a wrapper there that takes the kernel for float32 reductions over every axis but the last on a backend that has
 * it (wasm with SIMD) and calls TF.js's own moments for everything else.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { columnSums, perChannelPass, simdKernels, sizeOf } from './simd.js';

export const MOMENTS_KERNEL = 'LopperMoments';
export const MOMENTS_GRAD_KERNEL = 'LopperMomentsGrad';
const TAG = Symbol.for('lopper.fusedMoments');

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
    const mean = wasm.makeOutput([C], 'float32');
    const variance = wasm.makeOutput([C], 'float32');
    const m = wasm.typedArrayFromHeap(mean) as Float32Array;
    const v = wasm.typedArrayFromHeap(variance) as Float32Array;
    columnSums(wasm, simd, x, C).forEach((sum, c) => { m[c] = sum / rows; });
    columnSums(wasm, simd, x, C, m).forEach((sum, c) => { v[c] = sum / rows; });
    return [mean, variance];
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
    const [m, dm, dv] = [mean, dMean, dVariance].map((t) => wasm.typedArrayFromHeap(t) as Float32Array);
    return perChannelPass(wasm, simd, x, C, (c) => {
      const s = (2 * dv[c]) / rows;
      return [s, dm[c] / rows - s * m[c]];
    });
  },
};

const momentsGradient: tf.GradConfig = {
  kernelName: MOMENTS_KERNEL,
  inputsToSave: ['x'],
  outputsToSave: [true, false],
  gradFunc: (dys, saved) => {
    const [dMean, dVariance] = dys as tf.Tensor[];
    const [x, mean] = saved;
    return { x: () => tf.engine().runKernel(MOMENTS_GRAD_KERNEL, { x, mean, dMean, dVariance }) as tf.Tensor };
  },
};

type Moments = (x: tf.Tensor | tf.TensorLike, axis?: number | number[] | null, keepDims?: boolean) => { mean: tf.Tensor; variance: tf.Tensor };

/** tf.moments through LopperMoments where it applies (float32, rank >= 2, every axis but the last, the backend has the kernel). */
export function fusedMoments(original: Moments): Moments {
  const wrapped: Moments = (x, axis = null, keepDims = false) => {
    if (x instanceof tf.Tensor && x.dtype === 'float32' && x.rank >= 2 && x.size > 0 && tf.getKernel(MOMENTS_KERNEL, tf.getBackend())) {
      const axes = [...new Set(tf.util.parseAxisParam(axis ?? [], x.shape))].sort((a, b) => a - b);
      if (axes.length === x.rank - 1 && axes.every((a, i) => a === i)) {
        const [mean, variance] = tf.engine().runKernel(MOMENTS_KERNEL, { x }, {}) as tf.Tensor[];
        if (!keepDims) return { mean, variance };
        const shape = x.shape.map((d, i) => (i < x.rank - 1 ? 1 : d));
        const out = { mean: tf.reshape(mean, shape), variance: tf.reshape(variance, shape) };
        tf.dispose([mean, variance]);
        return out;
      }
    }
    return original(x, axis, keepDims);
  };
  return Object.assign(wrapped, { [TAG]: original });
}

/**
 * tfjs-core's CommonJS exports object, the one tfjs-layers calls into. Node (and Jest, and esbuild's bundles in Node mode)
 * hand it over as the namespace's `default`; a runtime require is the fallback, and it only works beside node_modules,
 * which a bundled script (scripts/pack-bench.sh) does not have.
 */
function coreExports(): { moments: Moments } {
  const viaNamespace = (tf as unknown as { default?: { moments?: Moments } }).default;
  if (viaNamespace && typeof viaNamespace.moments === 'function') return viaNamespace as { moments: Moments };
  return createRequire(import.meta.url)('@tensorflow/tfjs-core') as { moments: Moments };
}

/**
 * Registers the kernels and their gradient on the WASM backend (when the SIMD module loads) and routes tfjs-core's
 * `moments` export (what tfjs-layers calls) through `fusedMoments`. Idempotent; false when nothing was installed.
 */
export function installFusedMoments(): boolean {
  if (!simdKernels(tf.findBackend('wasm') as BackendWasm | undefined)) return false;
  for (const k of [momentsKernel, momentsGradKernel]) if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
  if (!tf.getGradient(MOMENTS_KERNEL)) tf.registerGradient(momentsGradient);
  const core = coreExports();
  if (!(TAG in core.moments)) core.moments = fusedMoments(core.moments);
  return true;
}
