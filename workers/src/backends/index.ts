/** Compute backend selection for a worker process. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { cpus } from 'node:os';
import { registerWasmKernels } from './wasm-kernels.js';

export const BACKEND_NAMES = ['wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo { backend: BackendName; device: string }

/** Kernels that training the model zoo needs on a backend. */
export const TRAINING_KERNELS = ['BatchMatMul', 'Relu', 'Softmax', 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'FusedBatchNorm', 'MaxPool', 'MaxPoolGrad', 'Sum', 'Mean', 'Rsqrt', 'Tile', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'Concat', 'Add'];

/** Training kernels that `backend` lacks. */
export function missingTrainingKernels(backend: string): string[] {
  return TRAINING_KERNELS.filter((k) => !tf.getKernel(k, backend));
}

/**
 * Selects the backend: `requested` (or LOPPER_BACKEND) wins; otherwise wasm, then cpu.
 * Fails with a clear message when an explicitly requested backend cannot start.
 */
export async function initBackend(requested = process.env.LOPPER_BACKEND): Promise<BackendInfo> {
  const order: BackendName[] = requested ? [requested as BackendName] : ['wasm', 'cpu'];
  for (const name of order) {
    if (!BACKEND_NAMES.includes(name)) throw new Error(`LOPPER_BACKEND="${name}" is not one of ${BACKEND_NAMES.join(', ')}`);
    let ok = false;
    try { ok = await tf.setBackend(name); } catch { ok = false; }
    if (ok) {
      await tf.ready();
      if (name === 'wasm') registerWasmKernels();
      const missing = missingTrainingKernels(name);
      if (missing.length) throw new Error(`backend ${name} lacks kernels that training needs: ${missing.join(', ')}`);
      return { backend: name, device: `${cpus()[0]?.model?.trim() ?? 'cpu'} (${name})` };
    }
    if (requested) throw new Error(`backend "${name}" failed to initialise`);
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}
