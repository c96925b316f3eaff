/**
 * Lopper's fused kernels on the `tensorflow` backend (tfjs-node, libtensorflow), as TensorFlow's own ops through the
 * backend's eager executor. tfjs-node runs each TF.js kernel as one or more eager TensorFlow ops, each with a fixed cost
 * on the host (a LeNet-5 training step: about 700 ops), and composes some in JavaScript: its Step, the core of Relu's
 * gradient in TF.js, builds a tensor of ones and one of alpha on the host for every call (about 3 ms per call on a
 * [128, 28, 28, 6] activation). Registered at worker start on that backend (`registerTensorflowKernels`); the routes in
 * fused-ops.ts reach them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RELU_GRAD_KERNEL, registerReluGradient } from './fused-ops.js';

/** The slice of tfjs-node's NodeJSKernelBackend these kernels call. */
interface NativeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[]): tf.Tensor;
}

const floatType = (b: NativeBackend) => [{ name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT }];

/**
 * dy * (x > 0) by TensorFlow's ReluGrad, and x where x is NaN (TF.js's Step gives NaN there, so its gradient is NaN;
 * ReluGrad's would be 0): three ops where TF.js runs about eight.
 */
const reluGrad: tf.KernelConfig = {
  kernelName: RELU_GRAD_KERNEL,
  backendName: 'tensorflow',
  kernelFunc: ({ inputs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const b = backend as unknown as NativeBackend;
    const g = b.executeSingleOutput('ReluGrad', floatType(b), [dy, x]);
    const nan = b.executeSingleOutput('IsNan', floatType(b), [x]);
    const out = b.executeSingleOutput('Select', floatType(b), [nan, x, g]);
    tf.dispose([g, nan]);
    return out;
  },
};

export const TENSORFLOW_KERNELS: tf.KernelConfig[] = [reluGrad];

/** Registers Lopper's kernels for the `tensorflow` backend (tfjs-node or tfjs-node-gpu). Idempotent. */
export function registerTensorflowKernels(): void {
  for (const k of TENSORFLOW_KERNELS) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  registerReluGradient();
}

/** Unregisters them: TF.js's own ops again (benchmarks compare both). */
export function unregisterTensorflowKernels(): void {
  for (const k of TENSORFLOW_KERNELS) if (tf.getKernel(k.kernelName, k.backendName)) tf.unregisterKernel(k.kernelName, k.backendName);
}
