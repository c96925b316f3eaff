/**
 * What the specs' leak checks compare: the tensors TF.js tracks, and the data the backends hold. A kernel that
 * allocates a buffer of its own (a WASM output, a GPU temporary, a TensorFlow intermediate) and never frees it leaks
 * no tensor: only the second count shows it. The data is summed over every backend started so far, because a tensor
 * made on one backend moves to another when a kernel there reads it.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface HeldMemory { tensors: number; backendData: number }

export function heldMemory(): HeldMemory {
  const backends = Object.values(tf.engine().registry);
  return { tensors: tf.memory().numTensors, backendData: backends.reduce((n, b) => n + b.numDataIds(), 0) };
}

/** `before` with `n` fewer tensors and as many fewer backend buffers (the test disposed `n` tensors it made before). */
export function lessHeld(before: HeldMemory, n: number): HeldMemory {
  return { tensors: before.tensors - n, backendData: before.backendData - n };
}
