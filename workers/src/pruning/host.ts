/**
 * Tensor values on the host, on every backend. TF.js's WebGPU backend cannot read a GPU-resident tensor synchronously in
 * Node (its readSync draws through OffscreenCanvas, which Node lacks: `dataSync` throws); an awaited `data()` maps the
 * buffer asynchronously and leaves the values cached on the host, so synchronous reads of the same tensor then work. On the
 * CPU backends (wasm, cpu, tfjs-node) the values are already there and this costs nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Fetches the values of `tensors` to the host (awaited reads), so that `dataSync` of each works on every backend. */
export async function toHost(tensors: readonly tf.Tensor[]): Promise<void> {
  await Promise.all(tensors.map((t) => t.data()));
}

/**
 * Every weight of `model` (trainable or not) on the host: what the synchronous readers of a model's weights need first
 * (computeMasks, the filter-norm and BatchNorm-gamma importances, nonzeroParams, effectiveFlops, the prune.* API) on a
 * backend that cannot read synchronously.
 */
export async function weightsToHost(model: tfl.LayersModel): Promise<void> {
  await toHost(model.weights.map((w) => w.read()));
}

/**
 * `t.dataSync()` for the library's synchronous readers, with the remedy in the error where the backend cannot read
 * synchronously (WebGPU in Node, before `toHost` / `weightsToHost`).
 */
export function hostValues(t: tf.Tensor, what = 'a tensor'): Float32Array {
  try {
    return t.dataSync() as Float32Array;
  } catch (e) {
    throw new Error(`cannot read ${what} synchronously on the ${tf.getBackend()} backend (${(e as Error).message}): `
      + 'await weightsToHost(model) or toHost(tensors) (workers/src/pruning/host.ts) before calling this');
  }
}

/**
 * Lets timers and I/O run (the worker's heartbeats, cancellation): an awaited read on a CPU backend resolves as a
 * microtask, so a loop of them never leaves the event loop free. The long loops (training, evaluation, latency
 * measurement) call this once per batch.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
