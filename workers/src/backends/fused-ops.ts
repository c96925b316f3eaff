/**
 * Backend-agnostic routing of TF.js ops and gradients to Lopper's fused kernels, wherever the current backend registers
 * them (the WASM backend: wasm-moments.ts, wasm-kernels.ts; WebGPU: webgpu-kernels.ts). Each route asks the kernel
 * registry at call time and otherwise calls TF.js's own op or gradient, unchanged.
 *
 * BatchNorm's batch statistics: tfjs-layers' BatchNormalization in training calls `tf.moments(x, [0, 1, 2])`: Mean, Sub,
 * Square, Mean forward and, backward, the gradients of each (tiles, a scalar division per element, products, a reduction,
 * an add): about a dozen passes over the activations. `LopperMoments` computes mean and variance (two passes, the same
 * two-pass algorithm as tf.moments) and its gradient `LopperMomentsGrad` is one per-channel affine pass,
 * dx = dmean / N + 2 dvar (x - mean) / N.
 *
 * tfjs-layers reaches `moments` through tfjs-core's CommonJS exports object, which is writable: `installMomentsRouting`
 * puts a wrapper there that takes the kernel for float32 reductions over every axis but the last on a backend that has it
 * and calls TF.js's own moments for everything else. In training, tfjs-layers then normalises x with those statistics
 * (batchNorm{2,3,4}d, also through the exports object). `fusedBatchNorm` recognises x's own statistics and gives the
 * normalisation one gradient, `LopperBatchNormTrainGrad`, that includes the path through mean and variance.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';

export const MOMENTS_KERNEL = 'LopperMoments';
export const MOMENTS_GRAD_KERNEL = 'LopperMomentsGrad';
/**
 * The whole gradient of BatchNorm in training, y = (x - mean(x)) / sqrt(var(x) + eps) * scale + offset with the batch's own
 * statistics: inputs x, dy, mean, variance, scale; attrs { varianceEpsilon }; outputs [dx, dScale, dOffset], from the sums
 * sum dy and sum dy (x - mean) per channel and one pass for dx = dy * A + x * B + D, with A = scale rs,
 * B = -scale rs^3 sum(dy (x - mean)) / N, D = -scale rs sum(dy) / N - B mean (rs = 1 / sqrt(var + eps)). Through the
 * statistics' own gradient TF.js needs three more passes (FusedBatchNorm's dx, LopperMomentsGrad, and the Add of the two).
 */
export const BN_TRAIN_GRAD_KERNEL = 'LopperBatchNormTrainGrad';
/** Inputs x, dy; output dy * (x > 0), Relu's gradient in one pass. */
export const RELU_GRAD_KERNEL = 'LopperReluGrad';
/** Throws, naming the kernel, the backend and the input, unless every given input is float32 (Lopper's fused kernels are float32 only). */
export function float32Only(kernel: string, inputs: Record<string, tf.TensorInfo | undefined>): void {
  for (const [name, t] of Object.entries(inputs)) if (t && t.dtype !== 'float32') throw new Error(`${kernel} on ${tf.getBackend()} takes float32 tensors; ${name} is ${t.dtype}`);
}
const TAG = Symbol.for('lopper.fusedMoments');
const GRADIENT_TAG = Symbol.for('lopper.gradient');

/**
 * Replaces TF.js's gradient of `kernelName` (a global registry) with `fast` where the current backend has `lopperKernel`
 * and `fast` accepts the tensors (it returns null otherwise); everything else goes to TF.js's own gradient, unchanged.
 * Idempotent.
 */
export function overrideGradient(kernelName: string, lopperKernel: string, fast: (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Record<string, () => tf.Tensor> | null): void {
  const original = tf.getGradient(kernelName);
  if (!original || GRADIENT_TAG in original.gradFunc) return;
  const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) =>
    (tf.getKernel(lopperKernel, tf.getBackend()) ? fast(dy as tf.Tensor, saved, attrs) : null) ?? original.gradFunc(dy, saved, attrs);
  tf.registerGradient({ ...original, gradFunc: Object.assign(gradFunc, { [GRADIENT_TAG]: true }) });
}

/** Relu's gradient through LopperReluGrad (float32, dy of x's shape); TF.js's own runs Step, Cast and Multiply. */
export function registerReluGradient(): void {
  overrideGradient('Relu', RELU_GRAD_KERNEL, (g, [x]) =>
    x.dtype === 'float32' && g.dtype === 'float32' && tf.util.arraysEqual(x.shape, g.shape)
      ? { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { x, dy: g }) as tf.Tensor }
      : null);
}

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
 * Registers LopperMoments' gradient and routes tfjs-core's `moments` and `batchNorm{2,3,4}d` exports (what tfjs-layers
 * calls) through `fusedMoments` and `fusedBatchNorm`. Idempotent; the routes take the fused kernels only on a backend
 * that registers them.
 */
export function installMomentsRouting(): void {
  if (!tf.getGradient(MOMENTS_KERNEL)) tf.registerGradient(momentsGradient);
  const core = coreExports();
  if (!(TAG in core.moments)) core.moments = fusedMoments(core.moments);
  for (const name of ['batchNorm2d', 'batchNorm3d', 'batchNorm4d'] as const) if (!(TAG in core[name])) core[name] = fusedBatchNorm(core[name]);
}

/**
 * Registers a backend's Lopper kernels (those not registered yet) and installs the routes that reach them: Relu's
 * gradient override and the moments / batchNorm routing. What the WebGPU and tensorflow backends do at start. Idempotent.
 */
export function registerFusedKernels(kernels: readonly tf.KernelConfig[]): void {
  for (const k of kernels) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  registerReluGradient();
  installMomentsRouting();
}

/** Unregisters them; the routes stay and fall back to TF.js's own ops (A/B measurements and tests). */
export function unregisterFusedKernels(kernels: readonly tf.KernelConfig[]): void {
  for (const k of kernels) if (tf.getKernel(k.kernelName, k.backendName)) tf.unregisterKernel(k.kernelName, k.backendName);
}
