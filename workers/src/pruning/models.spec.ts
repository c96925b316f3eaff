import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, loadUserModel, MODEL_NAMES, prunableWeights } from './models.js';
import { totalParams } from './metrics.js';
import { maskChannelsInPlace, removeChannels, channelGroups } from './surgery.js';
import { deserializeModel, serializeModel } from './serialize.js';
import { heldMemory } from '../backends/memory.spec-helpers.js';

beforeAll(async () => { await tf.setBackend('cpu'); });

describe('model zoo', () => {
  it.each(MODEL_NAMES)('%s maps a batch of images to 10 logits and leaks nothing', (name) => {
    const before = heldMemory();
    const m = buildModel(name, 1);
    const x = tf.zeros([2, 28, 28, 1]);
    const y = m.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 10]);
    expect(prunableWeights(m).length).toBeGreaterThan(2);
    tf.dispose([x, y]);
    m.dispose();
    expect(heldMemory()).toEqual(before);
  });

  it('has the expected sizes', () => {
    const sizes = Object.fromEntries(MODEL_NAMES.map((n) => { const m = buildModel(n, 1); const p = totalParams(m); m.dispose(); return [n, p]; }));
    expect(sizes.mlp).toBe(266610);
    expect(sizes.lenet5).toBeLessThan(sizes['vgg-small']);
    expect(sizes['resnet-small']).toBe(19706); // stem 16, res1 16-16, res2 32-32 + 1x1 projection, fc
  });

  it.each(['vgg-small', 'resnet-small'] as const)('%s loses channels physically (across residual adds too), still runs and equals the masked model', async (name) => {
    const m = buildModel(name, 3);
    const plan = new Map(channelGroups(m).map((g) => [g.producer, Array.from({ length: Math.ceil(g.channels / 2) }, (_, i) => i * 2)]));
    const small = removeChannels(m, plan);
    const masked = await deserializeModel(await serializeModel(m));
    maskChannelsInPlace(masked, plan);
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 1);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(small.predict(x) as tf.Tensor, masked.predict(x) as tf.Tensor))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-4);
    expect(totalParams(small)).toBeLessThan(0.4 * totalParams(m));
    if (name === 'resnet-small') {
      expect(small.getLayer('stem').getWeights()[0].shape).toEqual([3, 3, 1, 8]);
      expect(small.getLayer('res2_proj').getWeights()[0].shape).toEqual([1, 1, 8, 16]);
    }
    tf.dispose(x);
    [m, small, masked].forEach((z) => z.dispose());
  });

  it("loads a user's own model.json + weights", async () => {
    const m = buildModel('lenet5', 4);
    const dir = mkdtempSync(join(tmpdir(), 'lopper-user-model-'));
    await m.save(tf.io.withSaveHandler(async (a) => {
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(a.weightData as ArrayBuffer));
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const loaded = await loadUserModel(join(dir, 'model.json'));
    const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 2);
    const [a, b] = [m.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    tf.dispose([x, a, b]);
    m.dispose();
    loaded.dispose();
  });

  it("a stored model written out as TF.js files (model.json naming weights.bin) loads back as the same function", async () => {
    const { TFJS_WEIGHTS_FILE, tfjsModelJson, unpackModel } = await import('./model-format.js');
    const m = buildModel('lenet5', 3);
    const { header, weights } = unpackModel(await serializeModel(m));
    const json = tfjsModelJson(header, { lopper: { trialId: 't' } });
    expect(json).toMatchObject({ format: 'layers-model', generatedBy: 'Lopper', weightsManifest: [{ paths: ['weights.bin'] }], userDefinedMetadata: { lopper: { trialId: 't' } } });
    const dir = mkdtempSync(join(tmpdir(), 'lopper-tfjs-files-'));
    writeFileSync(join(dir, TFJS_WEIGHTS_FILE), Buffer.from(weights));
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    const loaded = await loadUserModel(join(dir, 'model.json'));
    expect(loaded.countParams()).toBe(m.countParams());
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 4);
    const [a, b] = [m.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([x, a, b]);
    m.dispose();
    loaded.dispose();
  });

  it('loads an uploaded user model as a logits model (softmax dropped), checks its shapes, and leaks nothing', async () => {
    const { packModel, unpackModel } = await import('./model-format.js');
    const { loadUserModelBytes } = await import('./models.js');
    const tfl = await import('@tensorflow/tfjs-layers');
    const before = heldMemory();
    const pack = serializeModel; // Lopper's stored format, what POST /models stores
    const user = tfl.sequential({ layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'relu', name: 'c1' }),
      tfl.layers.flatten({ name: 'flat' }), tfl.layers.dense({ units: 10, activation: 'softmax', name: 'probs' }),
    ] });
    // Keras's saved form wraps the topology in model_config: the same model loads from it.
    const wrapped = unpackModel(await pack(user));
    const fromKeras = await loadUserModelBytes(packModel({ ...wrapped.header, modelTopology: { keras_version: '2.15', backend: 'tensorflow', model_config: wrapped.header.modelTopology } }, new Uint8Array(wrapped.weights)));
    expect(fromKeras.notes).toHaveLength(1);
    fromKeras.model.dispose();
    const { model, notes } = await loadUserModelBytes(await pack(user));
    expect(notes).toEqual(['the softmax of output layer "probs" is dropped: Lopper trains on logits']);
    const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 5);
    const [p, logits] = [user.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor];
    const q = tf.softmax(logits);
    const [pv, qv] = [await p.data(), await q.data()];
    pv.forEach((v, i) => expect(qv[i]).toBeCloseTo(v, 6));
    const [al, ap] = [tf.argMax(logits, 1), tf.argMax(p, 1)];
    expect(Array.from(await al.data())).toEqual(Array.from(await ap.data()));
    tf.dispose([x, p, logits, q, al, ap]);
    model.dispose();
    // Shapes the data cannot feed are refused, naming what is wrong.
    const five = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: 5 })] });
    await expect(loadUserModelBytes(await pack(five))).rejects.toThrow('user model outputs [null,5], the data have 10 classes ([null,10])');
    const rgb = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [32, 32, 3] }), tfl.layers.dense({ units: 10 })] });
    await expect(loadUserModelBytes(await pack(rgb))).rejects.toThrow('user model takes [null,32,32,3], the data are [null,28,28,1]');
    [user, five, rgb].forEach((m) => m.dispose());
    expect(heldMemory()).toEqual(before);
  });
});
