import { expandGrid, gridSize, trialId } from './spec.js';

describe('grid expansion', () => {
  it('expands seeds x methods x amounts in a fixed order with deterministic ids', () => {
    const g = expandGrid('sw1', { methods: ['l1-unstructured', 'random-unstructured'], amounts: [0.5, 0.9], seeds: [3, 1] });
    expect(g.map((t) => `${t.seed}/${t.method}/${t.amount}`)).toEqual([
      '3/l1-unstructured/0.5', '3/l1-unstructured/0.9', '3/random-unstructured/0.5', '3/random-unstructured/0.9',
      '1/l1-unstructured/0.5', '1/l1-unstructured/0.9', '1/random-unstructured/0.5', '1/random-unstructured/0.9',
    ]);
    expect(g[0].trialId).toBe(trialId('sw1', 'l1-unstructured', 0.5, 3));
    expect(expandGrid('sw1', { methods: ['l1-unstructured', 'random-unstructured'], amounts: [0.5, 0.9], seeds: [3, 1] })).toEqual(g);
  });
  it('drops duplicate values', () => {
    const spec = { methods: ['l1-unstructured', 'l1-unstructured'] as const, amounts: [0.5, 0.5, 0.7], seeds: [1, 1] };
    expect(expandGrid('s', { ...spec, methods: [...spec.methods] })).toHaveLength(2);
    expect(gridSize({ ...spec, methods: [...spec.methods] })).toBe(2);
  });
});
