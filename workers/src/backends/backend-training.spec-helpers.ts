/**
 * Training runs shared by the backend specs (webgpu.spec.ts, tensorflow.spec.ts): the same short run on a backend and on
 * the cpu backend, compared within a tolerance.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendInfo } from './index.js';
import { buildModel } from '../pruning/models.js';
import { adam } from '../pruning/adam.js';
import { computeMasks } from '../pruning/prune.js';
import { train, type Dataset } from '../pruning/train.js';
import { relErr } from './fused-ops.spec-helpers.js';
import { heldMemory } from './memory.spec-helpers.js';

/** One batch of 16 images and one-hot labels. */
export const batch = (): { x: tf.Tensor; y: tf.Tensor } => ({
  x: tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 1),
  y: tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32'), 10)),
});

export interface TrainRun { losses: number[]; weights: Float32Array; info: BackendInfo }

/** LeNet-5 (with BatchNorm) trained for `steps` steps of `optimizer` on one batch: losses and conv2's kernel. */
export async function trainSteps(backend: string, optimizer: 'sgd' | 'adam', steps = 4): Promise<TrainRun> {
  const info = await initBackend(backend);
  const before = heldMemory();
  const model = buildModel('lenet5', 1);
  const { x, y } = batch();
  const opt = optimizer === 'sgd' ? tf.train.sgd(0.05) : adam(0.002);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
    losses.push((await l.data())[0]);
    l.dispose();
  }
  const weights = (await model.getLayer('conv2').getWeights()[0].data()) as Float32Array;
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  expect(heldMemory()).toEqual(before);
  return { losses, weights, info };
}

/** Same losses and weights within 1e-3 relative error, and the reference's loss fell. */
export function expectSameTraining(run: Pick<TrainRun, 'losses' | 'weights'>, cpu: Pick<TrainRun, 'losses' | 'weights'>): void {
  run.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]) / cpu.losses[i]).toBeLessThan(1e-3));
  expect(relErr(run.weights, cpu.weights)).toBeLessThan(1e-3);
  expect(cpu.losses[cpu.losses.length - 1]).toBeLessThan(cpu.losses[0]);
}

export interface FineTuneRun { loss: number; fc1: Float32Array; fc2: Float32Array; zeros: boolean[] }

/** The worker's fine-tuning loop on an MLP (masks, per-layer learning rates, distillation, cosine annealing) on `backend`. */
export async function fineTuneOn(backend: string): Promise<FineTuneRun> {
  const count = 48;
  const data: Dataset = {
    images: Float32Array.from({ length: count * 784 }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5),
    labels: Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10), count, shape: [28, 28, 1], classes: 10,
  };
  await initBackend(backend);
  const before = heldMemory();
  const [model, teacher] = [buildModel('mlp', 3), buildModel('mlp', 4)]; // the cpu backend trains an MLP in seconds
  const masks = computeMasks(model, 'l1-unstructured', 0.6, 3);
  const loss = await train(model, data, {
    epochs: 1, batchSize: 16, learningRate: 0.002, seed: 5, masks, cosine: { minLearningRate: 1e-4 },
    layerLrMultipliers: new Map([['fc1', 0.1], ['fc3', 0.5]]), distill: { teacher, temperature: 4, alpha: 0.5 },
  });
  const fc2 = (await model.getLayer('fc2').getWeights()[0].data()) as Float32Array;
  const fc1 = (await model.getLayer('fc1').getWeights()[0].data()) as Float32Array;
  const values = await Promise.all(masks.map(({ variable }) => variable.read().data()));
  const zeros = masks.map(({ mask }, t) => mask.every((m, i) => m !== 0 || values[t][i] === 0));
  model.dispose();
  teacher.dispose();
  expect(heldMemory()).toEqual(before);
  return { loss, fc2, fc1, zeros };
}

/** Pruned entries exactly zero; loss and weights within 1e-3 relative error of the cpu backend's. */
export function expectSameFineTuning(run: FineTuneRun, cpu: FineTuneRun): void {
  expect(run.zeros.every(Boolean)).toBe(true);
  expect(Math.abs(run.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-3);
  expect(relErr(run.fc2, cpu.fc2)).toBeLessThan(1e-3);
  expect(relErr(run.fc1, cpu.fc1)).toBeLessThan(1e-3);
}
