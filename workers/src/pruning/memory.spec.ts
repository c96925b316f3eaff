/**
 * Every public function of the pruning library leaves the tensors TF.js tracks, and the data the backend holds, as it
 * found them: tensors and models it returns are the caller's, and are disposed here before counting.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../backends/index.js';
import {
  batchNormGammaImportance, channelFlops, flopsRegularised, gradientImportance, keepPlan, l1FilterImportance, lnFilterImportance, randomChannelImportance,
} from './channels.js';
import { activationLayers, analyseChannels, runWithTaps } from './graph.js';
import { hostValues, toHost, weightsToHost } from './host.js';
import { recalibrateBatchNorm } from './recalibrate.js';
import { adam } from './adam.js';
import { GradualPruner } from './gradual.js';
import { compressionRate, effectiveFlops, flops, inferenceLatencyMs, nonzeroParams, serializedSize, totalParams } from './metrics.js';
import { buildModel, loadUserModel, prunableWeights, MODEL_NAMES } from './models.js';
import { PruningRegistry } from './parametrize.js';
import { computeMasks, UNSTRUCTURED_METHODS } from './prune.js';
import { deserializeModel, serializeModel, serializeModelRaw } from './serialize.js';
import { channelGroups, maskChannelsInPlace, removeChannels } from './surgery.js';
import { batchTensors, distillationLoss, evaluate, sliceBatch, train, type Dataset } from './train.js';
import { heldMemory } from '../backends/memory.spec-helpers.js';

const data: Dataset = {
  images: Float32Array.from({ length: 64 * 784 }, (_, i) => ((i * 7919) % 255) / 255),
  labels: Uint8Array.from({ length: 64 }, (_, i) => i % 10),
  count: 64, shape: [28, 28, 1], classes: 10,
};

type Owned = tf.Tensor | tfl.LayersModel | { x: tf.Tensor; y: tf.Tensor } | void | unknown;

/** Runs `f` on a fresh model and checks that, once its results are disposed, no tensor is left behind. */
async function noLeak(name: (typeof MODEL_NAMES)[number], f: (m: tfl.LayersModel) => Owned | Promise<Owned>): Promise<void> {
  const model = buildModel(name, 1);
  const before = heldMemory();
  const out = await f(model);
  const dispose = (o: unknown) => {
    if (o instanceof tf.Tensor) o.dispose();
    else if (o && typeof o === 'object' && 'dispose' in o && typeof (o as { dispose: unknown }).dispose === 'function' && !(o instanceof Map)) (o as { dispose(): void }).dispose();
    else if (o && typeof o === 'object' && 'x' in o && 'y' in o) tf.dispose([(o as { x: tf.Tensor }).x, (o as { y: tf.Tensor }).y]);
  };
  if (Array.isArray(out)) out.forEach(dispose); else dispose(out);
  expect(heldMemory()).toEqual(before);
  model.dispose();
}

beforeAll(async () => { await initBackend('wasm'); });

describe('no public function of the pruning library leaks tensors', () => {
  it('buildModel / dispose, for every model', async () => {
    const before = heldMemory();
    for (const n of MODEL_NAMES) buildModel(n, 2).dispose();
    expect(heldMemory()).toEqual(before);
  });

  it.each(UNSTRUCTURED_METHODS)('computeMasks (%s) and the metrics', async (method) => {
    await noLeak('lenet5', (m) => {
      const masks = computeMasks(m, method, 0.5, 1);
      expect(masks.length).toBe(prunableWeights(m).length);
      expect(masks.reduce((n, x) => n + x.mask.filter((v) => v === 0).length, 0)).toBeGreaterThan(0.4 * masks.reduce((n, x) => n + x.mask.length, 0));
      expect(compressionRate(nonzeroParams(m), totalParams(m))).toBeLessThan(0.01); // computing masks changes no weight
      expect(effectiveFlops(m)).toBeLessThanOrEqual(flops(m));
    });
  });

  it('PruningRegistry: every method, then remove', async () => {
    await noLeak('lenet5', (m) => {
      const reg = new PruningRegistry();
      const [k1, k2, k3, k4] = prunableWeights(m);
      reg.identity(k1);
      reg.customFromMask(k1, new Float32Array(k1.read().size).fill(1));
      reg.randomUnstructured(k2, 0.3, 1);
      reg.lnStructured(k2, 0.25, 2, 'out', 'conv2d');
      reg.randomStructured(k3, 0.1, 'in', 2, 'dense');
      reg.globalUnstructured([k3, k4], 0.2);
      expect(reg.isPruned(k2)).toBe(true);
      for (const v of [k1, k2, k3, k4]) reg.remove(v);
    });
  });

  it('GradualPruner.update and masks', async () => {
    await noLeak('mlp', async (m) => {
      const g = new GradualPruner(m, { kind: 'polynomial', initial: 0, final: 0.8, begin: 0, end: 10, frequency: 2 }, 'global');
      for (let s = 0; s <= 10; s++) await g.update(s);
      expect(g.masks()?.length).toBeGreaterThan(0);
    });
  });

  it('serializeModel / serializeModelRaw / deserializeModel / serializedSize / inferenceLatencyMs', async () => {
    await noLeak('vgg-small', async (m) => {
      const bytes = await serializeModel(m);
      await serializeModelRaw(m);
      await serializedSize(m);
      await inferenceLatencyMs(m, { batch: 2, runs: 2, warmup: 1 });
      return deserializeModel(bytes);
    });
  });

  it('loadUserModel', async () => {
    await noLeak('mlp', async (m) => {
      const dir = mkdtempSync(join(tmpdir(), 'lopper-leak-'));
      await m.save(tf.io.withSaveHandler(async (a) => {
        writeFileSync(join(dir, 'w.bin'), Buffer.from(a.weightData as ArrayBuffer));
        writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }));
      return loadUserModel(join(dir, 'model.json'));
    });
  });

  it.each(['lenet5', 'resnet-small'] as const)('analyseChannels / channelGroups / importance criteria / keepPlan / removeChannels / maskChannelsInPlace / runWithTaps (%s)', async (name) => {
    await noLeak(name, async (m) => {
      analyseChannels(m);
      const groups = channelGroups(m);
      const batch = sliceBatch(data, 0, 4);
      const scores = [l1FilterImportance(m, groups), batchNormGammaImportance(m, groups), await gradientImportance(m, [batch], 'taylor', groups), await gradientImportance(m, [batch], 'mean-grad', groups)];
      const plan = keepPlan(scores[2], 0.4, { scope: 'global', minKeepFraction: 0.1 });
      const small = removeChannels(m, plan);
      maskChannelsInPlace(m, plan);
      const y = tf.tidy(() => runWithTaps(m, batch.x, (_, t) => t));
      return [small, y, batch];
    });
  });

  it('train (masks, gradual, cosine, distillation, per-layer LR, penalty), evaluate, distillationLoss, sliceBatch', async () => {
    const teacher = buildModel('lenet5', 9);
    await noLeak('lenet5', async (m) => {
      const masks = computeMasks(m, 'l1-unstructured', 0.5, 1);
      const gamma = m.getLayer('bn1').trainableWeights[0];
      await train(m, data, {
        epochs: 1, batchSize: 16, learningRate: 1e-3, seed: 1, masks, cosine: { minLearningRate: 1e-5 },
        distill: { teacher, temperature: 4, alpha: 0.5 }, layerLrMultipliers: new Map([['fc3', 0.1]]),
        penalty: () => tf.tidy(() => tf.mul(1e-4, tf.sum(tf.abs(gamma.read())))),
      });
      await train(m, data, { epochs: 1, batchSize: 32, learningRate: 1e-3, seed: 2, gradual: new GradualPruner(m, { kind: 'constant', target: 0.3, begin: 0, end: 1, frequency: 1 }, 'per-layer') });
      expect(await evaluate(m, data, 20)).toBeGreaterThanOrEqual(0);
      const b = sliceBatch(data, 0, 4);
      const loss = tf.tidy(() => distillationLoss(tf.scalar(1), tf.randomNormal([4, 10]), tf.randomNormal([4, 10]), { temperature: 2, alpha: 0.5 }));
      return [b, loss];
    });
    teacher.dispose();
  });

  it.each(['lenet5', 'resnet-small'] as const)('channelFlops / flopsRegularised / lnFilterImportance / randomChannelImportance / activationLayers (%s)', async (name) => {
    await noLeak(name, (m) => {
      const groups = channelGroups(m);
      const cost = channelFlops(m);
      const ln = lnFilterImportance(m, 2, groups);
      const penalised = flopsRegularised(ln, cost, 0.2);
      const random = randomChannelImportance(groups, 3);
      for (const g of groups) expect(activationLayers(m, g).length).toBeGreaterThan(0);
      expect([...penalised.keys()]).toEqual([...ln.keys()]);
      expect([...random.keys()]).toEqual([...ln.keys()]);
    });
  });

  it('weightsToHost / toHost / hostValues / batchTensors / recalibrateBatchNorm / adam', async () => {
    await noLeak('lenet5', async (m) => {
      await weightsToHost(m);
      const k = m.getLayer('conv1').getWeights()[0]; // the layer's own variable, not a copy
      await toHost([k]);
      expect(hostValues(k, 'conv1 kernel').length).toBe(k.size);
      const batch = batchTensors(data, Int32Array.from({ length: 8 }, (_, i) => 7 - i), 2, 8);
      expect(batch.x.shape).toEqual([6, 28, 28, 1]);
      const r = await recalibrateBatchNorm(m, data, { batches: 2, batchSize: 16, seed: 1 });
      expect(r.layers).toBeGreaterThan(0);
      const opt = adam(1e-3);
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      for (let i = 0; i < 2; i++) opt.minimize(() => tf.losses.softmaxCrossEntropy(batch.y, m.apply(batch.x, { training: true }) as tf.Tensor) as tf.Scalar, false, vars);
      opt.dispose();
      return batch;
    });
  });
});
