/** Training, masked fine-tuning and evaluation loops. Every function leaves tf.memory().numTensors unchanged. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { seededPermutation } from './rng.js';
import type { MaskSet } from './prune.js';

export interface Dataset { images: Float32Array; labels: Uint8Array; count: number; shape: [number, number, number]; classes: number }

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Masks enforced after every optimizer step: pruned entries stay exactly zero. */
  masks?: MaskSet;
  /** Extra loss term added at every step (e.g. Network Slimming's L1 penalty on BatchNorm gamma). */
  penalty?: () => tf.Scalar;
  onProgress?: (p: { epoch: number; batch: number; batches: number; loss: number }) => void;
}

function batchTensors(data: Dataset, idx: Int32Array, from: number, to: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const [h, w, c] = data.shape;
  const px = h * w * c;
  const n = to - from;
  const xs = new Float32Array(n * px);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = idx[from + i];
    xs.set(data.images.subarray(j * px, (j + 1) * px), i * px);
    ys[i] = data.labels[j];
  }
  return tf.tidy(() => ({ x: tf.tensor4d(xs, [n, h, w, c]), y: tf.oneHot(tf.tensor1d(ys, 'int32'), data.classes) as tf.Tensor2D }));
}

export function applyMasks(masks: MaskSet | undefined): void {
  if (!masks) return;
  for (const { variable, mask } of masks) {
    tf.tidy(() => { variable.write(tf.mul(variable.read(), tf.tensor(mask, variable.shape as number[]))); });
  }
}

/** Trains with Adam and softmax cross-entropy; returns the mean loss of the last epoch. */
export async function train(model: tfl.LayersModel, data: Dataset, opts: TrainOptions): Promise<number> {
  const optimizer = tf.train.adam(opts.learningRate);
  const batches = Math.ceil(data.count / opts.batchSize);
  // Masks as tensors once, not per step.
  const maskTensors = (opts.masks ?? []).map(({ variable, mask }) => ({ variable, t: tf.keep(tf.tensor(mask, variable.shape as number[])) }));
  const varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let lastEpochLoss = NaN;
  try {
    applyMasks(opts.masks);
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const order = seededPermutation(data.count, opts.seed * 7919 + epoch);
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        const { x, y } = batchTensors(data, order, b * opts.batchSize, Math.min(data.count, (b + 1) * opts.batchSize));
        const lossT = optimizer.minimize(() => {
          const ce = tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
          return opts.penalty ? tf.add(ce, opts.penalty()) : ce;
        }, true, varList);
        tf.dispose([x, y]);
        for (const { variable, t } of maskTensors) tf.tidy(() => { variable.write(tf.mul(variable.read(), t)); });
        const loss = (await lossT!.data())[0];
        lossT!.dispose();
        sum += loss;
        opts.onProgress?.({ epoch, batch: b + 1, batches, loss });
        await new Promise((r) => setImmediate(r)); // let heartbeats and cancellation run
      }
      lastEpochLoss = sum / batches;
    }
  } finally {
    tf.dispose(maskTensors.map((m) => m.t));
    optimizer.dispose();
  }
  return lastEpochLoss;
}

/** Top-1 accuracy on a dataset. */
export async function evaluate(model: tfl.LayersModel, data: Dataset, batchSize = 500): Promise<number> {
  const idx = new Int32Array(data.count);
  for (let i = 0; i < data.count; i++) idx[i] = i;
  let correct = 0;
  for (let from = 0; from < data.count; from += batchSize) {
    const to = Math.min(data.count, from + batchSize);
    const { x, y } = batchTensors(data, idx, from, to);
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(model.predict(x) as tf.Tensor, 1), tf.argMax(y, 1)), 'int32')));
    correct += (await hits.data())[0];
    tf.dispose([x, y, hits]);
  }
  return correct / data.count;
}
