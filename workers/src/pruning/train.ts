/** Training, masked fine-tuning and evaluation loops. Every function leaves tf.memory().numTensors unchanged. */
import { adam } from './adam.js';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { yieldToEventLoop } from './host.js';
import { seededPermutation } from './rng.js';
import type { MaskSet } from './prune.js';
import { cosineLearningRate } from './schedules.js';

export interface Dataset { images: Float32Array; labels: Uint8Array; count: number; shape: [number, number, number]; classes: number }

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Masks enforced after every optimizer step: pruned entries stay exactly zero. */
  masks?: MaskSet;
  /** Gradual pruning: called after every optimizer step (global step count from 0); new masks apply at once. */
  gradual?: { update(step: number): Promise<boolean>; masks(): MaskSet | undefined };
  /** Cosine annealing of the learning rate, per step, from learningRate to minLearningRate over the run. */
  cosine?: { minLearningRate: number };
  /**
   * Knowledge distillation from `teacher` (e.g. the unpruned baseline): loss = alpha * T^2 * KL(softmax(t/T) || softmax(s/T))
   * + (1 - alpha) * cross-entropy with the labels (Hinton et al. 2015).
   */
  distill?: { teacher: tfl.LayersModel; temperature: number; alpha: number };
  /**
   * Per-layer learning rates: layer name -> multiplier of learningRate (e.g. 0.1 for the layers that were not
   * pruned, as in the tutorial's param groups). Layers not listed use learningRate. One Adam per multiplier.
   */
  layerLrMultipliers?: Map<string, number>;
  /** Extra loss term added at every step (e.g. Network Slimming's L1 penalty on BatchNorm gamma). */
  penalty?: () => tf.Scalar;
  onProgress?: (p: { epoch: number; batch: number; batches: number; loss: number }) => void;
}

/**
 * The loss stopped being a finite number: training diverged (typically a learning rate too high for the model), and
 * every weight the step touched is now NaN or infinite. train() throws it at the step where it happens.
 */
export class TrainingDiverged extends Error {
  constructor(readonly epoch: number, readonly batch: number, readonly batches: number, readonly loss: number, readonly learningRate: number) {
    super(`training diverged: the loss is ${loss} at epoch ${epoch + 1}, batch ${batch} of ${batches} (learning rate ${learningRate})`);
    this.name = 'TrainingDiverged';
  }
}

/** Examples idx[from..to) of a dataset as tensors (x NHWC, y one-hot). The caller disposes them. */
export function batchTensors(data: Dataset, idx: Int32Array, from: number, to: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
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

/** Examples [from, to) of a dataset as tensors (x NHWC, y one-hot). The caller disposes them. */
export function sliceBatch(data: Dataset, from: number, to: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const idx = new Int32Array(to - from);
  for (let i = 0; i < idx.length; i++) idx[i] = from + i;
  return batchTensors(data, idx, 0, idx.length);
}

/**
 * Trains with Adam and softmax cross-entropy; returns the mean loss of the last epoch. Throws TrainingDiverged as soon
 * as a step's loss is NaN or infinite (the weights are then lost: nothing evaluated after it would mean anything).
 */
export async function train(model: tfl.LayersModel, data: Dataset, opts: TrainOptions): Promise<number> {
  const batches = Math.ceil(data.count / opts.batchSize);
  const totalSteps = opts.epochs * batches;
  // Masks as tensors once, not per step (rebuilt only when gradual pruning changes them).
  const toTensors = (ms: MaskSet | undefined) => (ms ?? []).map(({ variable, mask }) => ({ variable, t: tf.keep(tf.tensor(mask, variable.shape as number[])) }));
  let maskTensors = toTensors(opts.masks);
  let step = 0;
  // Parameter groups: one optimizer per learning-rate multiplier.
  const groups = new Map<number, tf.Variable[]>();
  for (const layer of model.layers) {
    const mult = opts.layerLrMultipliers?.get(layer.name) ?? 1;
    if (!(mult > 0)) throw new RangeError(`learning-rate multiplier of ${layer.name} must be > 0, got ${mult}`);
    for (const w of layer.trainableWeights) groups.set(mult, [...(groups.get(mult) ?? []), w.read() as tf.Variable]);
  }
  const optimizers = [...groups].map(([mult, vars]) => ({ mult, vars, opt: adam(opts.learningRate * mult) }));
  const varList = optimizers.flatMap((o) => o.vars);
  let lastEpochLoss = NaN;
  const enforceMasks = () => { for (const { variable, t } of maskTensors) tf.tidy(() => { variable.write(tf.mul(variable.read(), t)); }); };
  try {
    enforceMasks();
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const order = seededPermutation(data.count, opts.seed * 7919 + epoch);
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        // Cosine annealing (SGDR without restarts), per step, scaling every group alike.
        const lr = opts.cosine ? cosineLearningRate(opts.learningRate, opts.cosine.minLearningRate, step, totalSteps) : opts.learningRate;
        for (const o of optimizers) (o.opt as unknown as { learningRate: number }).learningRate = lr * o.mult;
        const { x, y } = batchTensors(data, order, b * opts.batchSize, Math.min(data.count, (b + 1) * opts.batchSize));
        // The teacher's logits are constants of the step: computed outside the gradient tape, in one batch.
        const teacherLogits = opts.distill ? (opts.distill.teacher.predict(x, { batchSize: x.shape[0] }) as tf.Tensor) : null;
        const lossFn = (): tf.Scalar => {
          const logits = model.apply(x, { training: true }) as tf.Tensor;
          let loss = tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
          if (opts.distill && teacherLogits) loss = distillationLoss(loss, logits, teacherLogits, opts.distill);
          return opts.penalty ? (tf.add(loss, opts.penalty()) as tf.Scalar) : loss;
        };
        let lossT: tf.Scalar;
        if (optimizers.length === 1) {
          lossT = optimizers[0].opt.minimize(lossFn, true, varList)!;
        } else {
          const { value, grads } = tf.variableGrads(lossFn, varList);
          for (const o of optimizers) o.opt.applyGradients(o.vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
          tf.dispose(grads);
          lossT = value;
        }
        tf.dispose([x, y]);
        teacherLogits?.dispose();
        if (opts.gradual && (await opts.gradual.update(step))) {
          tf.dispose(maskTensors.map((m) => m.t));
          maskTensors = toTensors(opts.gradual.masks());
        }
        step++;
        enforceMasks();
        const loss = (await lossT.data())[0];
        lossT.dispose();
        if (!Number.isFinite(loss)) throw new TrainingDiverged(epoch, b + 1, batches, loss, lr);
        sum += loss;
        opts.onProgress?.({ epoch, batch: b + 1, batches, loss });
        await yieldToEventLoop(); // let heartbeats and cancellation run
      }
      lastEpochLoss = sum / batches;
    }
  } finally {
    tf.dispose(maskTensors.map((m) => m.t));
    for (const o of optimizers) o.opt.dispose();
  }
  return lastEpochLoss;
}

/** alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * hard-label loss, averaged over the batch. */
export function distillationLoss(hard: tf.Scalar, studentLogits: tf.Tensor, teacherLogits: tf.Tensor, o: { temperature: number; alpha: number }): tf.Scalar {
  return tf.tidy(() => {
    const T = o.temperature;
    // The teacher's logits carry no gradient to the student's variables (only those are optimised).
    const pT = tf.softmax(tf.div(teacherLogits, T));
    const logPT = tf.logSoftmax(tf.div(teacherLogits, T));
    const logPS = tf.logSoftmax(tf.div(studentLogits, T));
    const kl = tf.mean(tf.sum(tf.mul(pT, tf.sub(logPT, logPS)), -1));
    return tf.add(tf.mul(o.alpha * T * T, kl), tf.mul(1 - o.alpha, hard)) as tf.Scalar;
  });
}

/** Top-1 accuracy on a dataset. */
export async function evaluate(model: tfl.LayersModel, data: Dataset, batchSize = 500): Promise<number> {
  let correct = 0;
  for (let from = 0; from < data.count; from += batchSize) {
    const { x, y } = sliceBatch(data, from, Math.min(data.count, from + batchSize));
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(model.predict(x, { batchSize: x.shape[0] }) as tf.Tensor, 1), tf.argMax(y, 1)), 'int32')));
    correct += (await hits.data())[0];
    tf.dispose([x, y, hits]);
    await yieldToEventLoop();
  }
  return correct / data.count;
}
