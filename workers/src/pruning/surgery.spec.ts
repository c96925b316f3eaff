import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildModel } from './models.js';
import { channelGroups, maskChannelsInPlace, removeChannels, type KeepPlan } from './surgery.js';
import { totalParams } from './metrics.js';
import { deserializeModel, serializeModel } from './serialize.js';
import { heldMemory } from '../backends/memory.spec-helpers.js';

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
    expect(channelGroups(m).map(({ producer, batchNorm, consumer, channels, consumers }) => ({ producer, batchNorm, consumer, channels, consumers }))).toEqual([
      { producer: 'conv1', batchNorm: 'bn1', consumer: 'conv2', channels: 6, consumers: ['bn1', 'conv2'] },
      { producer: 'conv2', batchNorm: 'bn2', consumer: 'fc1', channels: 16, consumers: ['bn2', 'fc1'] },
      { producer: 'fc1', batchNorm: 'bn3', consumer: 'fc2', channels: 120, consumers: ['bn3', 'fc2'] },
      { producer: 'fc2', batchNorm: 'bn4', consumer: 'fc3', channels: 84, consumers: ['bn4', 'fc3'] },
    ]);
    const g = channelGroups(m)[1];
    expect(g.producers).toEqual([{ layer: 'conv2', channels: Array.from({ length: 16 }, (_, c) => [c]) }]);
    m.dispose();
  });

  it.each(['lenet5', 'mlp'] as const)('gives a smaller %s whose outputs equal the masked model within 1e-4', async (name) => {
    const model = buildModel(name, 2);
    if (name === 'lenet5') await perturbBatchNorm(model);
    const plan: KeepPlan = name === 'lenet5'
      ? new Map([['conv1', [0, 2, 5]], ['conv2', [1, 3, 4, 8, 9, 15]], ['fc1', Array.from({ length: 40 }, (_, i) => i * 3)], ['fc2', [0, 1, 2, 50, 83]]])
      : new Map([['fc1', Array.from({ length: 100 }, (_, i) => i * 3)], ['fc2', Array.from({ length: 30 }, (_, i) => i)]]);
    const before = heldMemory();
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
    expect(heldMemory()).toEqual(before);
    model.dispose();
  });

  it('couples the convs whose outputs a residual add sums into one group', () => {
    const m = buildModel('resnet-small', 1);
    const groups = channelGroups(m);
    const summary = groups.map((g) => ({ producers: g.producers.map((p) => p.layer), bns: g.batchNorms.map((b) => b.layer), channels: g.channels }));
    expect(summary).toEqual([
      { producers: ['stem', 'res1_b'], bns: ['stem_bn', 'res1_b_bn'], channels: 16 },
      { producers: ['res1_a'], bns: ['res1_a_bn'], channels: 16 },
      { producers: ['res2_a'], bns: ['res2_a_bn'], channels: 32 },
      { producers: ['res2_b', 'res2_proj'], bns: ['res2_b_bn', 'res2_proj_bn'], channels: 32 },
    ]);
    expect(groups[3].consumers).toContain('fc');
    m.dispose();
  });

  it('removes channels through depthwise convs (multiplier 2), concatenate, add and flatten in a functional model', async () => {
    const input = tfl.input({ shape: [12, 12, 2] });
    const a = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'a' }).apply(input) as tfl.SymbolicTensor;
    const abn = tfl.layers.batchNormalization({ name: 'a_bn' }).apply(a) as tfl.SymbolicTensor;
    const dw = tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw' }).apply(abn) as tfl.SymbolicTensor;
    const b = tfl.layers.conv2d({ filters: 4, kernelSize: 1, name: 'b' }).apply(input) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate({ name: 'cat' }).apply([dw, b]) as tfl.SymbolicTensor; // 12 + 4 channels
    const c = tfl.layers.conv2d({ filters: 16, kernelSize: 1, name: 'c' }).apply(input) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'sum' }).apply([cat, c]) as tfl.SymbolicTensor;
    const pooled = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(tfl.layers.activation({ activation: 'relu', name: 'relu' }).apply(sum) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten({ name: 'flat' }).apply(pooled) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, name: 'out' }).apply(flat) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    await perturbBatchNorm(model as unknown as ReturnType<typeof buildModel>);
    const groups = channelGroups(model);
    // c's 16 channels are tied to dw's 12 (through a's 6 x multiplier 2) and b's 4: one group keyed by a and b.
    const g = groups.find((x) => x.producers.some((p) => p.layer === 'c'))!;
    expect(g.producers.map((p) => p.layer).sort()).toEqual(['a', 'c']);
    const gb = groups.find((x) => x.producers.some((p) => p.layer === 'b'))!;
    expect(gb.producers.map((p) => p.layer).sort()).toEqual(['b', 'c']);
    expect(g.producers.find((p) => p.layer === 'c')!.channels[1]).toEqual([2, 3]); // a's channel 1 -> dw 2, 3 -> c 2, 3
    const before = heldMemory();
    const plan: KeepPlan = new Map([[g.producer, [0, 2, 5]], [gb.producer, [1, 3]]]);
    const small = removeChannels(model, plan);
    const masked = await deserializeModel(await serializeModel(model));
    maskChannelsInPlace(masked, plan);
    const x = tf.randomNormal([4, 12, 12, 2], 0, 1, 'float32', 5);
    const [p, q] = [small.predict(x) as tf.Tensor, masked.predict(x) as tf.Tensor];
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0])).toBeLessThan(1e-4);
    expect(small.getLayer('a').getWeights()[0].shape).toEqual([3, 3, 2, 3]);
    expect(small.getLayer('dw').getWeights()[0].shape).toEqual([3, 3, 3, 2]);
    expect(small.getLayer('b').getWeights()[0].shape).toEqual([1, 1, 2, 2]);
    expect(small.getLayer('c').getWeights()[0].shape).toEqual([1, 1, 2, 8]);
    expect(small.getLayer('out').getWeights()[0].shape).toEqual([6 * 6 * 8, 3]);
    tf.dispose([x, p, q]);
    small.dispose();
    masked.dispose();
    expect(heldMemory()).toEqual(before);
    model.dispose();
  });

  it('keeps every channel that a hidden softmax normalises', () => {
    const input = tfl.input({ shape: [6] });
    const h = tfl.layers.dense({ units: 5, name: 'h' }).apply(input) as tfl.SymbolicTensor;
    const sm = tfl.layers.activation({ activation: 'softmax', name: 'sm' }).apply(h) as tfl.SymbolicTensor;
    const h2 = tfl.layers.dense({ units: 4, name: 'h2' }).apply(sm) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 2, name: 'out' }).apply(h2) as tfl.SymbolicTensor });
    expect(channelGroups(m).map((g) => g.producer)).toEqual(['h2']);
    m.dispose();
  });

  it('names the layer it cannot handle', () => {
    const input = tfl.input({ shape: [4, 4, 2] });
    const y = tfl.layers.reshape({ targetShape: [8, 4], name: 'odd_reshape' }).apply(tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'k' }).apply(input) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: y });
    expect(() => channelGroups(m)).toThrow(/odd_reshape \(Reshape\)/);
    m.dispose();
  });

  it('refuses to empty a layer or to touch the classifier', () => {
    const m = buildModel('mlp', 1);
    expect(() => removeChannels(m, new Map([['fc1', []]]))).toThrow(/every channel/);
    expect(() => removeChannels(m, new Map([['fc3', [0]]]))).toThrow(/not a prunable/);
    expect(() => removeChannels(m, new Map([['fc1', [3, 1]]]))).toThrow(/sorted/);
    m.dispose();
  });
});
