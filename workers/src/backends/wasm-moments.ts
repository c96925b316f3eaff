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
 *
 * In training, tfjs-layers then normalises x with those statistics (batchNorm{2,3,4}d, also through the exports object).
 * `fusedBatchNorm` recognises x's own statistics and gives the normalisation one gradient, `LopperBatchNormTrainGrad`, that
 * includes the path through mean and variance: two passes instead of FusedBatchNorm's gradient, LopperMomentsGrad and an Add.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { batchNormGradSums, channelValues, columnSums, heapOffset, laneMultiple, perChannelPass, simdKernels, sizeOf, tiledVector } from './simd.js';

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

/** The batch statistics LopperMoments made, by their mean: what `fusedBatchNorm` needs to know that x's own statistics are used. */
const statsOf = new WeakMap<tf.Tensor, { x: tf.Tensor; variance: tf.Tensor }>();

/** tf.moments through LopperMoments where it applies (float32, rank >= 2, every axis but the last, the backend has the kernel). */
export function fusedMoments(original: Moments): Moments {
  const wrapped: Moments = (x, axis = null, keepDims = false) => {
    if (x instanceof tf.Tensor && x.dtype === 'float32' && x.rank >= 2 && x.size > 0 && tf.getKernel(MOMENTS_KERNEL, tf.getBackend())) {
      const axes = [...new Set(tf.util.parseAxisParam(axis ?? [], x.shape))].sort((a, b) => a - b);
      if (axes.length === x.rank - 1 && axes.every((a, i) => a === i)) {
        const [mean, variance] = tf.engine().runKernel(MOMENTS_KERNEL, { x }, {}) as tf.Tensor[];
        if (!keepDims) {
          statsOf.set(mean, { x, variance });
          return { mean, variance };
        }
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
 * `LopperBatchNormTrainGrad`: the whole gradient of BatchNorm in training, y = (x - mean(x)) / sqrt(var(x) + eps) * scale +
 * offset with the batch's own statistics, from one pass of sums (sum dy, sum dy (x - mean)) and one pass for dx:
 * dx = dy * A + x * B + D per channel, with A = scale rs, B = -scale rs^3 sum(dy (x - mean)) / N, D = -scale rs sum(dy) / N - B mean
 * (rs = 1 / sqrt(var + eps)). Through the statistics' own gradient TF.js needs three more passes (FusedBatchNorm's dx,
 * LopperMomentsGrad, and the Add of the two).
 */
export const BN_TRAIN_GRAD_KERNEL = 'LopperBatchNormTrainGrad';
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
    const m = wasm.typedArrayFromHeap(mean) as Float32Array;
    const v = wasm.typedArrayFromHeap(variance) as Float32Array;
    const g = wasm.typedArrayFromHeap(scale) as Float32Array;
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

/** Whether TF.js records gradients now (inside tf.grad / variableGrads, outside a kernel). False if the engine cannot say. */
function tapeOn(): boolean {
  const engine = tf.engine() as unknown as { isTapeOn?: () => boolean };
  return typeof engine.isTapeOn === 'function' && engine.isTapeOn();
}

type BatchNorm = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset?: tf.Tensor, scale?: tf.Tensor, varianceEpsilon?: number) => tf.Tensor;

/**
 * tf.batchNorm{2,3,4}d through one gradient (`LopperBatchNormTrainGrad`) when mean and variance are x's own batch statistics
 * from LopperMoments (tfjs-layers' BatchNormalization in training) and a gradient is being recorded: a custom gradient node
 * with inputs x, scale and offset whose dx includes the path through the statistics, so the statistics' own gradient never
 * runs for it. Their other uses (the moving averages) keep their own tape entries. Everything else calls `original`.
 */
export function fusedBatchNorm(original: BatchNorm): BatchNorm {
  const wrapped: BatchNorm = (x, mean, variance, offset, scale, varianceEpsilon = 0.001) => {
    const stats = mean instanceof tf.Tensor ? statsOf.get(mean) : undefined;
    const perChannel = (t: unknown): t is tf.Tensor => t instanceof tf.Tensor && t.dtype === 'float32' && t.rank === 1 && t.shape[0] === mean.shape[0];
    // Scale and offset present, as tfjs-layers trains them (TF.js's own gradient cannot do without them either).
    const fits = stats !== undefined && stats.x === x && stats.variance === variance && x.dtype === 'float32' && mean.rank === 1
      && perChannel(scale) && perChannel(offset)
      && tapeOn() && tf.getKernel(BN_TRAIN_GRAD_KERNEL, tf.getBackend()) !== undefined;
    if (!fits) return original(x, mean, variance, offset, scale, varianceEpsilon);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xx, gamma, beta] = args as tf.Tensor[];
      (args[3] as tf.GradSaveFunc)([xx, mean, variance, gamma]);
      return {
        value: original(xx, mean, variance, beta, gamma, varianceEpsilon),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sm, sv, ss] = saved;
          return tf.engine().runKernel(BN_TRAIN_GRAD_KERNEL, { x: sx, dy, mean: sm, variance: sv, scale: ss }, { varianceEpsilon }) as tf.Tensor[];
        },
      };
    });
    return op(x, scale!, offset!);
  };
  return Object.assign(wrapped, { [TAG]: original });
}

type CoreExports = { moments: Moments; batchNorm2d: BatchNorm; batchNorm3d: BatchNorm; batchNorm4d: BatchNorm };

/**
 * tfjs-core's CommonJS exports object, the one tfjs-layers calls into. Node (and Jest, and esbuild's bundles in Node mode)
 * hand it over as the namespace's `default`; a runtime require is the fallback, and it only works beside node_modules,
 * which a bundled script (scripts/pack-gpu-bench.sh) does not have.
 */
function coreExports(): CoreExports {
  const viaNamespace = (tf as unknown as { default?: { moments?: Moments } }).default;
  if (viaNamespace && typeof viaNamespace.moments === 'function') return viaNamespace as CoreExports;
  return createRequire(import.meta.url)('@tensorflow/tfjs-core') as CoreExports;
}

/**
 * Registers the kernels and their gradient on the WASM backend (when the SIMD module loads) and routes tfjs-core's
 * `moments` and `batchNorm{2,3,4}d` exports (what tfjs-layers calls) through `fusedMoments` and `fusedBatchNorm`.
 * Idempotent; false when nothing was installed.
 */
export function installFusedMoments(): boolean {
  if (!simdKernels(tf.findBackend('wasm') as BackendWasm | undefined)) return false;
  for (const k of [momentsKernel, momentsGradKernel, batchNormTrainGradKernel]) if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
  if (!tf.getGradient(MOMENTS_KERNEL)) tf.registerGradient(momentsGradient);
  const core = coreExports();
  if (!(TAG in core.moments)) core.moments = fusedMoments(core.moments);
  for (const name of ['batchNorm2d', 'batchNorm3d', 'batchNorm4d'] as const) if (!(TAG in core[name])) core[name] = fusedBatchNorm(core[name]);
  return true;
}
