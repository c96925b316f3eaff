import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel } from './models.js';
import { channelGroups, maskChannelsInPlace, removeChannels, type KeepPlan } from './surgery.js';
import { totalParams } from './metrics.js';
import { deserializeModel, serializeModel } from './serialize.js';

beforeAll(async () => { await tf.setBackend('cpu'); });

async function perturbBatchNorm(model: ReturnType<typeof buildModel>) {
  // Non-trivial BN statistics so the comparison exercises every sliced BN tensor.
  for (const l of model.layers.filter((x) => x.getClassName() === 'BatchNormalization')) {
    const ws = l.getWeights();
    const next = ws.map((t, i) => tf.tidy(() => (i === 3 ? tf.add(tf.randomUniform(t.shape, 0.5, 2, 'float32', i), 0) : tf.randomNormal(t.shape, 0, 0.5, 'float32', i + 10))));
    l.setWeights(next);
    tf.dispose(next);
  }
}

describe('channel surgery', () => {
  it('finds the dependency groups of LeNet-5 (conv -> BN -> ... -> next conv/dense, across flatten)', () => {
    const m = buildModel('lenet5', 1);
    expect(channelGroups(m)).toEqual([
      { producer: 'conv1', batchNorm: 'bn1', consumer: 'conv2', channels: 6 },
      { producer: 'conv2', batchNorm: 'bn2', consumer: 'fc1', channels: 16 },
      { producer: 'fc1', batchNorm: 'bn3', consumer: 'fc2', channels: 120 },
      { producer: 'fc2', batchNorm: 'bn4', consumer: 'fc3', channels: 84 },
    ]);
    m.dispose();
  });

  it.each(['lenet5', 'mlp'] as const)('gives a smaller %s whose outputs equal the masked model within 1e-4', async (name) => {
    const model = buildModel(name, 2);
    if (name === 'lenet5') await perturbBatchNorm(model);
    const plan: KeepPlan = name === 'lenet5'
      ? new Map([['conv1', [0, 2, 5]], ['conv2', [1, 3, 4, 8, 9, 15]], ['fc1', Array.from({ length: 40 }, (_, i) => i * 3)], ['fc2', [0, 1, 2, 50, 83]]])
      : new Map([['fc1', Array.from({ length: 100 }, (_, i) => i * 3)], ['fc2', Array.from({ length: 30 }, (_, i) => i)]]);
    const before = tf.memory().numTensors;
    const small = removeChannels(model, plan);
    const masked = await deserializeModel(await serializeModel(model));
    maskChannelsInPlace(masked, plan);
    const x = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 3);
    const [a, b] = [small.predict(x) as tf.Tensor, masked.predict(x) as tf.Tensor];
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-4);
    expect(totalParams(small)).toBeLessThan(totalParams(model));
    if (name === 'mlp') expect(totalParams(small)).toBe(784 * 100 + 100 + 100 * 30 + 30 + 30 * 10 + 10);
    tf.dispose([x, a, b]);
    small.dispose();
    masked.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('refuses to empty a layer or to touch the classifier', () => {
    const m = buildModel('mlp', 1);
    expect(() => removeChannels(m, new Map([['fc1', []]]))).toThrow(/every channel/);
    expect(() => removeChannels(m, new Map([['fc3', [0]]]))).toThrow(/not a prunable/);
    expect(() => removeChannels(m, new Map([['fc1', [3, 1]]]))).toThrow(/sorted/);
    m.dispose();
  });
});
