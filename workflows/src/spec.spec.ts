import { DEFAULT_FINETUNE, expandGrid, finetuneNames, gridSize, modelNames, specForFinetune, specForModel, specForTrial, trialId, type SweepSpec } from './spec.js';

describe('grid expansion', () => {
  it('expands seeds x methods x amounts in a fixed order with deterministic ids', () => {
    const g = expandGrid('sw1', { model: 'mlp', methods: ['l1-unstructured', 'random-unstructured'], amounts: [0.5, 0.9], seeds: [3, 1] });
    expect(g.map((t) => `${t.seed}/${t.method}/${t.amount}`)).toEqual([
      '3/l1-unstructured/0.5', '3/l1-unstructured/0.9', '3/random-unstructured/0.5', '3/random-unstructured/0.9',
      '1/l1-unstructured/0.5', '1/l1-unstructured/0.9', '1/random-unstructured/0.5', '1/random-unstructured/0.9',
    ]);
    expect(g[0].trialId).toBe(trialId('sw1', 'l1-unstructured', 0.5, 3));
    expect(expandGrid('sw1', { model: 'mlp', methods: ['l1-unstructured', 'random-unstructured'], amounts: [0.5, 0.9], seeds: [3, 1] })).toEqual(g);
  });
  it('drops duplicate values', () => {
    const spec = { model: 'mlp' as const, methods: ['l1-unstructured', 'l1-unstructured'] as const, amounts: [0.5, 0.5, 0.7], seeds: [1, 1] };
    expect(expandGrid('s', { ...spec, methods: [...spec.methods] })).toHaveLength(2);
    expect(gridSize({ ...spec, methods: [...spec.methods] })).toBe(2);
  });
});

describe('the fine-tuning axis', () => {
  const base = {
    name: 'n', model: 'mlp', dataset: 'fashion-mnist', methods: ['l1-unstructured'], amounts: [0.5, 0.9], seeds: [1], baselineEpochs: 1, finetuneEpochs: 2,
    batchSize: 128, learningRate: 1e-3, finetuneLearningRate: 1e-4, concurrency: 1, requireGpu: false, tags: [],
    slimming: { lambda: 1e-4, sparsityEpochs: 1 }, finetune: { lrSchedule: 'cosine', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: null },
    structured: { minKeepFraction: 0.1, importanceBatches: 10, hybridChannelFraction: 0.5, norm: 2, flopsPenalty: 0 },
  } as SweepSpec;

  it('is one setting, "default", with the four-part ids, when the sweep names none', () => {
    expect(finetuneNames(base)).toEqual([DEFAULT_FINETUNE]);
    expect(expandGrid('s', base).map((t) => [t.trialId, t.finetune])).toEqual([['s:l1-unstructured:0.5:1', 'default'], ['s:l1-unstructured:0.9:1', 'default']]);
    expect(specForFinetune(base)).toBe(base);
    expect(() => specForFinetune(base, 'kd')).toThrow('the sweep has no fine-tuning setting "kd"');
  });

  it('adds a grid axis after amount, each setting named in the trial id', () => {
    const spec = { ...base, finetuneSettings: [{ name: 'none', finetuneEpochs: 0 }, { name: 'kd', finetune: { distill: { temperature: 4, alpha: 0.5 } } }] };
    expect(gridSize(spec)).toBe(4);
    expect(expandGrid('s', spec).map((t) => t.trialId)).toEqual(['s:l1-unstructured:0.5:1:none', 's:l1-unstructured:0.5:1:kd', 's:l1-unstructured:0.9:1:none', 's:l1-unstructured:0.9:1:kd']);
    expect(trialId('s', 'l1-unstructured', 0.5, 1, 'kd')).toBe('s:l1-unstructured:0.5:1:kd');
  });

  it("gives each trial the sweep's fields with its setting's over them, key by key in finetune", () => {
    const spec = { ...base, finetuneSettings: [{ name: 'none', finetuneEpochs: 0 }, { name: 'kd', finetuneLearningRate: 1e-3, finetune: { distill: { temperature: 2, alpha: 0.3 }, lrSchedule: 'constant' as const } }] };
    const none = specForFinetune(spec, 'none');
    expect([none.finetuneEpochs, none.finetuneLearningRate, none.finetune, none.finetuneSettings]).toEqual([0, 1e-4, base.finetune, undefined]);
    const kd = specForFinetune(spec, 'kd');
    expect([kd.finetuneEpochs, kd.finetuneLearningRate, kd.finetune]).toEqual([2, 1e-3, { lrSchedule: 'constant', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: { temperature: 2, alpha: 0.3 } }]);
    expect(specForFinetune({ ...spec, finetuneLearningRate: undefined }, 'none').finetuneLearningRate).toBeUndefined(); // learningRate / 10 stays the default
    expect(() => specForFinetune(spec, 'default')).toThrow('the sweep has no fine-tuning setting "default" (it has none, kd)');
    expect(spec.finetuneSettings).toHaveLength(2); // untouched
  });
});

describe('the model axis', () => {
  const base = {
    name: 'n', model: 'mlp', dataset: 'fashion-mnist', methods: ['l1-unstructured'], amounts: [0.5], seeds: [1, 2], baselineEpochs: 1, finetuneEpochs: 2,
    batchSize: 128, learningRate: 1e-3, concurrency: 1, requireGpu: false, tags: [],
    slimming: { lambda: 1e-4, sparsityEpochs: 1 }, finetune: { lrSchedule: 'cosine', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: null },
    structured: { minKeepFraction: 0.1, importanceBatches: 10, hybridChannelFraction: 0.5, norm: 2, flopsPenalty: 0 },
  } as SweepSpec;

  it('is the sweep\'s model alone, with ids that do not name it, when the sweep has no models', () => {
    expect(modelNames(base)).toEqual(['mlp']);
    expect(expandGrid('s', base).map((t) => [t.trialId, t.model])).toEqual([['s:l1-unstructured:0.5:1', 'mlp'], ['s:l1-unstructured:0.5:2', 'mlp']]);
    expect(specForModel(base)).toBe(base);
    expect(specForModel(base, 'mlp')).toBe(base);
    expect(() => specForModel(base, 'lenet5')).toThrow('the sweep has no model "lenet5" (its model is mlp)');
  });

  it('comes first in the grid, each model named in the trial id after the sweep id, before a fine-tuning setting', () => {
    const spec = { ...base, model: 'lenet5' as const, models: ['lenet5' as const, 'mlp' as const, 'lenet5' as const], seeds: [1], finetuneSettings: [{ name: 'a' }, { name: 'b', finetuneEpochs: 0 }] };
    expect(gridSize(spec)).toBe(4);
    expect(expandGrid('s', spec).map((t) => t.trialId)).toEqual(['s:lenet5:l1-unstructured:0.5:1:a', 's:lenet5:l1-unstructured:0.5:1:b', 's:mlp:l1-unstructured:0.5:1:a', 's:mlp:l1-unstructured:0.5:1:b']);
    const t = specForTrial(spec, { model: 'mlp', finetune: 'b' });
    expect([t.model, t.models, t.finetuneEpochs, t.finetuneSettings]).toEqual(['mlp', undefined, 0, undefined]);
    expect(specForTrial(spec, { model: 'lenet5', finetune: 'a' }).finetuneEpochs).toBe(2);
    expect(() => specForModel(spec, 'vgg-small')).toThrow('the sweep has no model "vgg-small" (it has lenet5, mlp)');
  });
});
