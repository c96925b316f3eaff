/**
 * One Adam training step of a zoo model on a fixed random batch, and one inference pass of that batch: what
 * bench-backends times and profile-step profiles. `prune` (a fraction) first removes that fraction of every layer's
 * channels by L1 norm (torch ln_structured's criterion, n = 1), for real: the smaller model is the one stepped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adam } from '../workers/src/pruning/adam.js';
import { keepPlan, l1FilterImportance } from '../workers/src/pruning/channels.js';
import { buildModel, type ModelName } from '../workers/src/pruning/models.js';
import { removeChannels } from '../workers/src/pruning/surgery.js';

export function syntheticTrainStep(name: ModelName, batch: number, opts: { prune?: number } = {}) {
  let model = buildModel(name, 1);
  if (opts.prune) {
    const base = model;
    model = removeChannels(base, keepPlan(l1FilterImportance(base), opts.prune, { scope: 'per-layer' }));
    base.dispose();
  }
  const opt = adam(1e-3); // the product's optimizer (workers/src/pruning/adam.ts)
  const x = tf.randomNormal([batch, 28, 28, 1]);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10));
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = async () => {
    const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true, vars)!;
    await l.data();
    l.dispose();
  };
  const infer = async () => {
    const p = model.predict(x, { batchSize: batch }) as tf.Tensor; // one forward pass of the whole batch
    await p.data();
    p.dispose();
  };
  const dispose = () => { tf.dispose([x, y]); opt.dispose(); model.dispose(); };
  return { model, x, step, infer, dispose };
}
