import { parseSweepSpec, ValidationError } from './sweeps.dto.js';

const ok = { name: 'n', model: 'mlp', methods: ['l1-unstructured'], amounts: [0.5], seeds: [1], baselineEpochs: 1, finetuneEpochs: 1 };
const fields = (body: unknown, cap = 100) => {
  try { parseSweepSpec(body, cap); } catch (e) { return (e as ValidationError).errors.map((x) => x.field); }
  throw new Error('expected a ValidationError');
};

describe('parseSweepSpec', () => {
  it('fills defaults', () => {
    expect(parseSweepSpec(ok, 100)).toMatchObject({ dataset: 'fashion-mnist', batchSize: 128, learningRate: 1e-3, concurrency: 4, requireGpu: false, tags: [] });
  });
  it('names every bad field', () => {
    expect(fields({ ...ok, model: 'x', amounts: [1, 0.2, -1], seeds: [1.5] })).toEqual(['model', 'amounts.0', 'amounts.2', 'seeds.0']);
    expect(fields({ ...ok, methods: [] })).toEqual(['methods']);
    expect(fields({ ...ok, extra: 1 })).toEqual(['body']);
    expect(fields(null)).toEqual(['body']);
    expect(fields('x')).toEqual(['body']);
    expect(fields({ ...ok, trainSubset: 0 })).toEqual(['trainSubset']);
  });
  it('enforces the grid cap', () => {
    const big = { ...ok, amounts: [0.1, 0.2, 0.3], seeds: [1, 2] };
    expect(parseSweepSpec(big, 6).seeds).toEqual([1, 2]);
    expect(fields(big, 5)).toEqual(['methods x amounts x seeds']);
  });
  it('validates method options and method/model fit', () => {
    expect(parseSweepSpec({ ...ok, model: 'lenet5', methods: ['network-slimming'] }, 10).slimming).toEqual({ lambda: 1e-4, sparsityEpochs: 1 });
    expect(fields({ ...ok, methods: ['network-slimming'] })).toEqual(['methods']); // mlp has no BatchNorm
    expect(parseSweepSpec({ ...ok, model: 'resnet-small', methods: ['l1-structured', 'network-slimming', 'taylor-structured'] }, 10).model).toBe('resnet-small'); // surgery across residual adds
    expect(parseSweepSpec({ ...ok, model: 'vgg-small', methods: ['network-slimming', 'l1-structured'] }, 10).model).toBe('vgg-small');
    expect(fields({ ...ok, slimming: { lambda: 0 } })).toEqual(['slimming.lambda']);
    expect(fields({ ...ok, slimming: { lambda: 1e-4, bogus: 1 } })).toEqual(['slimming']);
    expect(fields({ ...ok, structured: { minKeepFraction: 1 } })).toEqual(['structured.minKeepFraction']);
  });
  it('accepts amount 0 and rejects 1 (the API takes fractions in [0, 1))', () => {
    expect(parseSweepSpec({ ...ok, amounts: [0] }, 10).amounts).toEqual([0]);
    expect(fields({ ...ok, amounts: [1] })).toEqual(['amounts.0']);
  });
});
