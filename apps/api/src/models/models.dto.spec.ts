import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelUpload } from '../../../cli/src/commands.js';
import { saveUserModel } from '../../../../test/helpers/user-model.js';
import { unpackModel, packModel } from '../../../../workers/src/pruning/model-format.js';
import type { ValidationError } from '../errors.js';
import { parseUserModelUpload, topologyInputShape } from './models.dto.js';

const fields = (body: unknown) => {
  try { parseUserModelUpload(body); } catch (e) { return (e as ValidationError).errors.map((x) => x.field); }
  return undefined; // valid
};

describe('POST /models upload validation', () => {
  let dir: string;
  let body: ReturnType<typeof readModelUpload>;
  let model: tfl.LayersModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'lopper-um-'));
    model = tfl.sequential({ layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
      tfl.layers.flatten(), tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ] });
    body = readModelUpload(await saveUserModel(model, join(dir, 'my-cnn')));
  });
  afterAll(() => { model.dispose(); rmSync(dir, { recursive: true, force: true }); });

  it('turns model.json and its weight files into Lopper\'s model format, byte for byte', () => {
    expect(body.name).toBe('my-cnn');
    const m = parseUserModelUpload(body);
    expect(m.params).toBe(model.countParams());
    expect(m.inputShape).toEqual([null, 28, 28, 1]);
    const { header, weights } = unpackModel(packModel(m.header, m.weights));
    expect(header.weightSpecs.map((w) => w.name)).toEqual(model.weights.map((w) => w.originalName));
    const all = new Float32Array(weights);
    const expected = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
    expect(Array.from(all)).toEqual(expected);
  });

  it('names each bad field, and nothing passes half-checked', () => {
    const mj = body.modelJson as { modelTopology: { config: { layers: { config: Record<string, unknown> }[] } }; weightsManifest: { paths: string[]; weights: { dtype: string }[] }[] };
    const clone = () => JSON.parse(JSON.stringify(body)) as typeof body & { modelJson: typeof mj };
    const missing = clone();
    delete missing.weights['group1-shard2of2.bin'];
    expect(fields(missing)).toEqual(['modelJson.weightsManifest.0.paths.1']);
    const short = clone();
    short.weights['group1-shard2of2.bin'] = short.weights['group1-shard2of2.bin'].slice(0, 40);
    expect(fields(short)).toEqual(['modelJson.weightsManifest.0']);
    const extra = clone();
    extra.weights['other.bin'] = 'AAAA';
    expect(fields(extra)).toEqual(['weights.other.bin']);
    const rgb = clone();
    rgb.modelJson.modelTopology.config.layers[0].config.batch_input_shape = [null, 32, 32, 3];
    expect(fields(rgb)).toEqual(['modelJson.modelTopology']);
    const ints = clone();
    ints.modelJson.weightsManifest[0].weights[1].dtype = 'int32';
    expect(fields(ints)).toEqual(['modelJson.weightsManifest.0.weights.1.dtype']);
    expect(fields({ ...body, weights: { 'group1-shard1of2.bin': 'not base64!' } })).toEqual(['weights.group1-shard1of2.bin']);
    expect(fields({ ...body, modelJson: { weightsManifest: [] } })).toEqual(['modelJson.modelTopology', 'modelJson.weightsManifest']);
    expect(fields({ name: '', modelJson: body.modelJson, weights: body.weights, extra: 1 })).toEqual(['name', 'body']);
    expect(fields([])).toEqual(['body']);
  });

  it('refuses weights holding NaN or an infinity, naming each weight, where and how many', () => {
    // the manifest's weights in order: conv2d kernel [3,3,1,4], bias [4], dense kernel [2704,10], bias [10], over two files
    const poisoned = (edits: [number, number][]) => {
      const b = JSON.parse(JSON.stringify(body)) as typeof body;
      const files = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
      const all = Buffer.concat(files.map((f) => Buffer.from(b.weights[f], 'base64')));
      for (const [index, value] of edits) all.writeFloatLE(value, 4 * index);
      let from = 0;
      for (const f of files) {
        const n = Buffer.from(b.weights[f], 'base64').length;
        b.weights[f] = all.subarray(from, from + n).toString('base64');
        from += n;
      }
      return b;
    };
    expect(fields(poisoned([]))).toBeUndefined();
    let err: ValidationError | undefined;
    try { parseUserModelUpload(poisoned([[37, NaN], [40 + 5, Infinity], [40 + 7, NaN], [40 + 27040 + 9, -Infinity]])); } catch (e) { err = e as ValidationError; }
    expect(err?.errors).toEqual([
      { field: 'modelJson.weightsManifest.0.weights.1', message: 'conv2d_Conv2D1/bias: 1 of 4 values are NaN or infinite (the first at index 1)' },
      { field: 'modelJson.weightsManifest.0.weights.2', message: 'dense_Dense1/kernel: 2 of 27040 values are NaN or infinite (the first at index 5)' },
      { field: 'modelJson.weightsManifest.0.weights.3', message: 'dense_Dense1/bias: 1 of 10 values are NaN or infinite (the first at index 9)' },
    ]);
  });

  it('finds the input shape of sequential and functional topologies', () => {
    const input = tfl.input({ shape: [28, 28, 1], name: 'img' });
    const out = tfl.layers.dense({ units: 10 }).apply(tfl.layers.flatten().apply(input)) as tfl.SymbolicTensor;
    const functional = tfl.model({ inputs: input, outputs: out });
    expect(topologyInputShape(functional.toJSON(null, false) as Record<string, unknown>)).toEqual([null, 28, 28, 1]);
    expect(topologyInputShape({ class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: {} }] } })).toBeNull();
    // Keras's saved form (model_config wrapper) and Keras 3's InputLayer (batch_shape).
    const keras3 = { class_name: 'Sequential', config: { layers: [{ class_name: 'InputLayer', config: { batch_shape: [null, 28, 28, 1] } }, { class_name: 'Flatten', config: {} }] } };
    expect(topologyInputShape({ keras_version: '3.1', model_config: keras3 })).toEqual([null, 28, 28, 1]);
    expect(topologyInputShape({ model_config: functional.toJSON(null, false) })).toEqual([null, 28, 28, 1]);
    functional.dispose();
  });
});
