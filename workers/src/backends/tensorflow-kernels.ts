/**
 * Lopper's fused kernels on the `tensorflow` backend (tfjs-node, libtensorflow), as short sequences of TensorFlow's own ops
 * through the backend's eager executor. tfjs-node runs each TF.js kernel as one or more eager TensorFlow ops, each with a
 * fixed cost on the host (a LeNet-5 training step: about 700 kernels), and composes some in JavaScript: its Step, the core of
 * Relu's gradient in TF.js, builds a tensor of ones and one of alpha on the host for every call (about 3 ms per call on a
 * [128, 28, 28, 6] activation). BatchNorm's statistics and training gradient go the way the WASM and WebGPU kernels go
 * (fused-ops.ts): eight passes over the activations for the whole gradient. With all four, a LeNet-5 training step runs
 * 431 TF.js kernels here instead of 696 (scripts/profile-step.ts, with and without --stock).
 * Registered at worker start on that backend (`registerTensorflowKernels`); the routes in fused-ops.ts reach them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BN_TRAIN_GRAD_KERNEL, MOMENTS_GRAD_KERNEL, MOMENTS_KERNEL, RELU_GRAD_KERNEL, float32Only, registerFusedKernels, unregisterFusedKernels } from './fused-ops.js';

/** The slice of tfjs-node's NodeJSKernelBackend these kernels call. */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number; TF_INT32: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[]): tf.Tensor;
}

/** TensorFlow ops on float32 tensors; call inside tf.tidy (every result is a tracked tensor). */
function nativeOps(backend: unknown) {
  const b = backend as NativeBackend;
  const T = { name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT };
  const op = (name: string, ...inputs: (tf.TensorInfo | number)[]) =>
    b.executeSingleOutput(name, [T], inputs.map((t) => (typeof t === 'number' ? tf.scalar(t, 'float32') : t)));
  /** Sum or Mean over every axis but the last: per-channel, shape [C]. */
  const perChannel = (name: 'Sum' | 'Mean', x: tf.TensorInfo) => {
    const axes = tf.tensor1d(x.shape.slice(0, -1).map((_, i) => i), 'int32');
    return b.executeSingleOutput(name, [{ name: 'keep_dims', type: b.binding.TF_ATTR_BOOL, value: false }, T, { name: 'Tidx', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_INT32 }], [x, axes]);
  };
  return { op, perChannel };
}

/** Rows of x as [rows, C]: the count each per-channel statistic is over. */
const rowsOf = (x: tf.TensorInfo) => x.shape.slice(0, -1).reduce((a, d) => a * d, 1);

/** Per-channel mean and variance over every axis but the last, two passes as tf.moments: Mean, SquaredDifference, Mean. */
const moments: tf.KernelConfig = {
  kernelName: MOMENTS_KERNEL,
  backendName: 'tensorflow',
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    float32Only(MOMENTS_KERNEL, { x });
    return tf.tidy(() => {
      const { op, perChannel } = nativeOps(backend);
      const mean = perChannel('Mean', x);
      return [mean, perChannel('Mean', op('SquaredDifference', x, mean))];
    });
  },
};

/** dx = dmean / N + 2 dvar (x - mean) / N, as the WASM kernel computes it: x * s + (dmean / N - s mean), s = 2 dvar / N. */
const momentsGrad: tf.KernelConfig = {
  kernelName: MOMENTS_GRAD_KERNEL,
  backendName: 'tensorflow',
  kernelFunc: ({ inputs, backend }) => {
    const { x, mean, dMean, dVariance } = inputs as Record<'x' | 'mean' | 'dMean' | 'dVariance', tf.TensorInfo>;
    float32Only(MOMENTS_GRAD_KERNEL, { x, mean, dMean, dVariance });
    return tf.tidy(() => {
      const { op } = nativeOps(backend);
      const n = rowsOf(x);
      const s = op('RealDiv', op('Mul', dVariance, 2), n);
      return op('AddV2', op('Mul', x, s), op('Sub', op('RealDiv', dMean, n), op('Mul', s, mean)));
    });
  },
};

/**
 * BatchNorm's training gradient (fused-ops.ts), as on WASM and WebGPU: dOffset = sum dy, dScale = rs sum dy (x - mean), then
 * dx = dy A + x B + D with A = scale rs, B = -A rs dScale / N, D = -A dOffset / N - B mean (rs = 1 / sqrt(var + eps)).
 */
const batchNormTrainGrad: tf.KernelConfig = {
  kernelName: BN_TRAIN_GRAD_KERNEL,
  backendName: 'tensorflow',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy, mean, variance, scale } = inputs as Record<'x' | 'dy' | 'mean' | 'variance' | 'scale', tf.TensorInfo>;
    float32Only(BN_TRAIN_GRAD_KERNEL, { x, dy, mean, variance, scale });
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    return tf.tidy(() => {
      const { op, perChannel } = nativeOps(backend);
      const n = rowsOf(x);
      const rs = op('Rsqrt', op('AddV2', variance, varianceEpsilon));
      const dOffset = perChannel('Sum', dy);
      const dScale = op('Mul', perChannel('Sum', op('Mul', dy, op('Sub', x, mean))), rs);
      const a = op('Mul', scale, rs);
      const b = op('RealDiv', op('Neg', op('Mul', op('Mul', a, rs), dScale)), n);
      const d = op('Sub', op('RealDiv', op('Neg', op('Mul', a, dOffset)), n), op('Mul', b, mean));
      const dx = op('AddV2', op('AddV2', op('Mul', dy, a), op('Mul', x, b)), d);
      return [dx, dScale, dOffset];
    });
  },
};

/**
 * dy * (x > 0) by TensorFlow's ReluGrad, and x where x is NaN (TF.js's Step gives NaN there, so its gradient is NaN;
 * ReluGrad's would be 0): three ops where TF.js runs about eight.
 */
const reluGrad: tf.KernelConfig = {
  kernelName: RELU_GRAD_KERNEL,
  backendName: 'tensorflow',
  kernelFunc: ({ inputs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    float32Only(RELU_GRAD_KERNEL, { x, dy });
    return tf.tidy(() => {
      const { op } = nativeOps(backend);
      return op('Select', op('IsNan', x), x, op('ReluGrad', dy, x));
    });
  },
};

export const TENSORFLOW_KERNELS: tf.KernelConfig[] = [moments, momentsGrad, batchNormTrainGrad, reluGrad];

/** Registers Lopper's kernels for the `tensorflow` backend (tfjs-node or tfjs-node-gpu). Idempotent. */
export function registerTensorflowKernels(): void {
  registerFusedKernels(TENSORFLOW_KERNELS);
}

/** Unregisters them: TF.js's own ops again (benchmarks compare both). */
export function unregisterTensorflowKernels(): void {
  unregisterFusedKernels(TENSORFLOW_KERNELS);
}
