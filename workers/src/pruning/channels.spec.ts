import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { keepPlan } from './channels.js';
import { heldMemory } from '../backends/memory.spec-helpers.js';

const scores = new Map([
  ['a', Float64Array.from([0.1, 0.9, 0.5, 0.05])],
  ['b', Float64Array.from([0.01, 0.02, 0.03, 0.04, 0.06, 0.07])],
]);

describe('channel keep plans', () => {
  it('per layer prunes round-half-even(amount x channels) lowest in each layer', () => {
    const p = keepPlan(scores, 0.5, { scope: 'per-layer' });
    expect(p.get('a')).toEqual([1, 2]);
    expect(p.get('b')).toEqual([3, 4, 5]);
  });
  it('global pruning uses one threshold over all layers', () => {
    const p = keepPlan(scores, 0.5, { scope: 'global' }); // 5 of 10: b0..b3 (0.01-0.04) and a3 (0.05)
    expect(p.get('a')).toEqual([0, 1, 2]);
    expect(p.get('b')).toEqual([4, 5]);
  });
  it('never empties a layer, and honours a per-layer floor', () => {
    const p = keepPlan(scores, 0.9, { scope: 'global' });
    // 9 of 10 requested, but each layer keeps one channel: 8 pruned.
    expect(p.get('a')).toEqual([1]);
    expect(p.get('b')).toEqual([5]);
    const f = keepPlan(scores, 0.9, { scope: 'global', minKeepFraction: 0.5 });
    expect(f.get('a')!.length).toBe(2);
    expect(f.get('b')!.length).toBe(3);
    expect(keepPlan(scores, 0.99, { scope: 'per-layer' }).get('a')).toEqual([1]);
  });
});

describe('ln-structured and random-structured channel criteria', () => {
  it('keep exactly the channels torch\'s ln_structured / random_structured keep on each layer\'s output axis, for every norm order', async () => {
    await tf.setBackend('cpu');
    const { buildModel } = await import('./models.js');
    const { lnFilterImportance, randomChannelImportance, randomGroupSeed } = await import('./channels.js');
    const { channelGroups } = await import('./surgery.js');
    const { lnStructured, randomStructured, aliveChannels } = await import('./structured.js');
    const model = buildModel('lenet5', 5);
    const groups = channelGroups(model);
    const before = heldMemory();
    const kernelOf = (layer: string) => { const k = model.getLayer(layer).getWeights()[0]; return { data: k.dataSync(), shape: k.shape, layout: (k.rank === 4 ? 'conv2d' : 'dense') as 'conv2d' | 'dense' }; };
    for (const n of [1, 2, 3, Infinity, -Infinity, 'fro'] as const) {
      const plan = keepPlan(lnFilterImportance(model, n, groups), 0.5, { scope: 'per-layer' });
      for (const g of groups) {
        const k = kernelOf(g.producer);
        const mask = lnStructured(k.data, k.shape, 0.5, n, 'out', { layout: k.layout });
        expect([g.producer, n, plan.get(g.producer)]).toEqual([g.producer, n, aliveChannels(mask, k.shape, k.shape.length - 1)]);
      }
    }
    const random = keepPlan(randomChannelImportance(groups, 9), 0.5, { scope: 'per-layer' });
    groups.forEach((g, i) => {
      const k = kernelOf(g.producer);
      const mask = randomStructured(k.shape, 0.5, 'out', randomGroupSeed(9, i), { layout: k.layout });
      expect(random.get(g.producer)).toEqual(aliveChannels(mask, k.shape, k.shape.length - 1));
    });
    expect(keepPlan(randomChannelImportance(groups, 10), 0.5, { scope: 'per-layer' })).not.toEqual(random);
    expect(heldMemory()).toEqual(before);
    model.dispose();
  });
});

describe('gradient-sensitive importance', () => {
  it('Taylor equals |mean(activation x gradient)| per channel, L2-normalised, and is zero for a dead channel', async () => {
    await tf.setBackend('cpu');
    const { buildModel } = await import('./models.js');
    const { gradientImportance } = await import('./channels.js');
    const { channelGroups } = await import('./surgery.js');
    const model = buildModel('mlp', 3);
    // Kill unit 5 of fc1: its activation is 0 for every input.
    const [k, b] = model.getLayer('fc1').getWeights();
    const k2 = tf.tidy(() => tf.mul(k, tf.tensor1d(Array.from({ length: 300 }, (_, i) => (i === 5 ? 0 : 1)))));
    model.getLayer('fc1').setWeights([k2, tf.zerosLike(b)]);
    const x = tf.randomNormal([16, 28, 28, 1], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32'), 10);
    const before = heldMemory();
    const taylor = await gradientImportance(model, [{ x, y }], 'taylor');
    const meanGrad = await gradientImportance(model, [{ x, y }], 'mean-grad');
    expect(heldMemory()).toEqual(before);
    const t1 = taylor.get('fc1')!;
    expect(t1[5]).toBe(0);
    expect(Math.sqrt(t1.reduce((a, v) => a + v * v, 0))).toBeCloseTo(1, 6);
    expect(meanGrad.get('fc1')!.length).toBe(300);
    expect(channelGroups(model).map((g) => g.producer)).toEqual([...taylor.keys()]);
    // Cross-check one channel of fc2 by hand: activation x gradient via the activation-offset gradient.
    const a2 = tf.tidy(() => model.getLayer('fc2').apply(model.getLayer('fc1').apply(model.getLayer('flatten').apply(x))) as tf.Tensor);
    const g2 = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, model.getLayer('fc3').apply(a) as tf.Tensor) as tf.Scalar)(a2));
    const raw = tf.tidy(() => Array.from(tf.abs(tf.mean(tf.mul(a2, g2), 0)).dataSync()));
    const norm = Math.sqrt(raw.reduce((a, v) => a + v * v, 0));
    expect(taylor.get('fc2')![7]).toBeCloseTo(raw[7] / norm, 5);
    tf.dispose([x, y, a2, g2, k2]);
    model.dispose();
  });

  it('scores the coupled channels of a residual network (sum over the producers of a group), for every criterion, without leaks', async () => {
    const { initBackend } = await import('../backends/index.js');
    await initBackend('wasm'); // the cpu backend's conv gradients are ~50x slower
    const { buildModel } = await import('./models.js');
    const { gradientImportance, l1FilterImportance, batchNormGammaImportance, keepPlan } = await import('./channels.js');
    const { channelGroups, removeChannels } = await import('./surgery.js');
    const { channelNorms } = await import('./structured.js');
    const model = buildModel('resnet-small', 2);
    const x = tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 4);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 8 }, (_, i) => i % 10), 'int32'), 10);
    const before = heldMemory();
    const groups = channelGroups(model);
    const l1 = l1FilterImportance(model, groups);
    const gamma = batchNormGammaImportance(model, groups);
    const taylor = await gradientImportance(model, [{ x, y }], 'taylor', groups);
    const meanGrad = await gradientImportance(model, [{ x, y }], 'mean-grad', groups);
    expect(heldMemory()).toEqual(before);
    expect([...taylor.keys()]).toEqual(['stem', 'res1_a', 'res2_a', 'res2_b']);
    for (const s of [l1, gamma, taylor, meanGrad]) expect(s.get('stem')!.length).toBe(16);
    // The stem group's L1 score is the stem filter's norm plus res1_b's filter norm.
    const norm = (layer: string) => { const k = model.getLayer(layer).getWeights()[0]; return channelNorms(k.dataSync(), k.shape, 3, 1); };
    expect(l1.get('stem')![3]).toBeCloseTo(norm('stem')[3] + norm('res1_b')[3], 4);
    expect(taylor.get('res2_b')!.some((v) => v > 0)).toBe(true);
    const small = removeChannels(model, keepPlan(taylor, 0.5, { scope: 'global', minKeepFraction: 0.1 }));
    const p = small.predict(x) as tf.Tensor;
    expect(p.shape).toEqual([8, 10]);
    tf.dispose([x, y, p]);
    small.dispose();
    model.dispose();
  });
});

describe('FLOPs per channel and the FLOPs-regularised ranking (Molchanov et al. 2017)', () => {
  /** flops(model) - flops(model without set k of group g): what removing that one set really saves. */
  async function removalSaving(model: import('@tensorflow/tfjs-layers').LayersModel, producer: string, channels: number, k: number) {
    const { removeChannels } = await import('./surgery.js');
    const { flops } = await import('./metrics.js');
    const small = removeChannels(model, new Map([[producer, Array.from({ length: channels }, (_, c) => c).filter((c) => c !== k)]]));
    const saved = flops(model) - flops(small);
    small.dispose();
    return saved;
  }

  it('channelFlops equals the FLOPs that removing each channel set saves, on lenet5, resnet-small and a depthwise/concatenate/add graph', async () => {
    await tf.setBackend('cpu');
    const tfl = await import('@tensorflow/tfjs-layers');
    const { buildModel } = await import('./models.js');
    const { channelFlops } = await import('./channels.js');
    const { channelGroups } = await import('./surgery.js');
    const input = tfl.input({ shape: [12, 12, 2] });
    const a = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'a' }).apply(input) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const dw = tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw' }).apply(a) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const b = tfl.layers.conv2d({ filters: 4, kernelSize: 1, strides: 2, padding: 'same', name: 'b' }).apply(input) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const pooledDw = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_dw' }).apply(dw) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const cat = tfl.layers.concatenate({ name: 'cat' }).apply([pooledDw, b]) as import('@tensorflow/tfjs-layers').SymbolicTensor; // 12 + 4 channels, 6x6
    const c = tfl.layers.conv2d({ filters: 16, kernelSize: 2, strides: 2, name: 'c' }).apply(input) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const sum = tfl.layers.add({ name: 'sum' }).apply([cat, c]) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, name: 'out' }).apply(tfl.layers.flatten({ name: 'flat' }).apply(sum) as import('@tensorflow/tfjs-layers').SymbolicTensor) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const graph = tfl.model({ inputs: input, outputs: out });
    for (const model of [buildModel('lenet5', 1), buildModel('resnet-small', 1), graph]) {
      const before = heldMemory();
      const cost = channelFlops(model);
      expect(heldMemory()).toEqual(before);
      const groups = channelGroups(model);
      expect([...cost.keys()]).toEqual(groups.map((g) => g.producer));
      for (const g of groups) {
        const f = cost.get(g.producer)!;
        expect(f.length).toBe(g.channels);
        for (const k of new Set([0, Math.floor(g.channels / 2), g.channels - 1])) {
          expect([model.name, g.producer, k, f[k]]).toEqual([model.name, g.producer, k, await removalSaving(model, g.producer, g.channels, k)]);
        }
      }
      model.dispose();
    }
  });

  it('lenet5: a conv1 filter costs the most FLOPs, and a penalty moves the global Taylor ranking from dense units to conv filters', async () => {
    await tf.setBackend('cpu');
    const { buildModel } = await import('./models.js');
    const { channelFlops, flopsRegularised, keepPlan } = await import('./channels.js');
    const model = buildModel('lenet5', 1);
    const cost = channelFlops(model);
    // conv1 (5x5x1, 28x28 'same', no bias: BatchNorm follows): 784 x 2 x 25 for its filter + conv2's 10x10 x 2 x 25 x 16 for its input channel.
    expect(cost.get('conv1')![0]).toBe(784 * 2 * 25 + 100 * 2 * 25 * 16);
    const max = Math.max(...[...cost.values()].flatMap((f) => [...f]));
    expect(max).toBe(cost.get('conv1')![0]);
    // Equal importance everywhere: without a penalty the tie-break decides; with one, conv filters go first.
    const flat = new Map([...cost].map(([n, f]) => [n, new Float64Array(f.length).fill(0.5)]));
    expect(flopsRegularised(flat, cost, 0)).toBe(flat);
    const penalised = flopsRegularised(flat, cost, 0.2);
    expect(penalised.get('conv1')![0]).toBeCloseTo(0.5 - 0.2, 12);
    expect(penalised.get('fc1')![0]).toBeCloseTo(0.5 - (0.2 * cost.get('fc1')![0]) / max, 12);
    const plan = keepPlan(penalised, 0.05, { scope: 'global', minKeepFraction: 0.1 }); // 11 of 226 channels
    expect(plan.get('conv1')!.length).toBe(1); // 5 of 6 conv1 filters first (the floor keeps one), then conv2's
    expect(plan.get('conv2')!.length).toBe(10);
    expect(plan.get('fc1')!.length).toBe(120);
    expect(() => flopsRegularised(flat, cost, -1)).toThrow(/flops penalty must be a finite number >= 0/);
    expect(() => flopsRegularised(flat, new Map(), 0.1)).toThrow(/no FLOPs for the 6 channels of conv1/);
    model.dispose();
  });
});
