import type { SweepSpec } from '../../workflows/src/spec.js';

export function testSpec(over: Partial<SweepSpec> = {}): SweepSpec {
  return {
    name: 'test', model: 'mlp', dataset: 'fashion-mnist', methods: ['l1-unstructured', 'random-unstructured'], amounts: [0.5, 0.9],
    seeds: [1], baselineEpochs: 1, finetuneEpochs: 1, trainSubset: 256, testSubset: 128, batchSize: 64, learningRate: 1e-3,
    concurrency: 2, requireGpu: false, tags: [], slimming: { lambda: 1e-4, sparsityEpochs: 1 }, finetune: { lrSchedule: 'cosine', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: null }, structured: { minKeepFraction: 0.1, importanceBatches: 10, hybridChannelFraction: 0.5 }, ...over,
  };
}
