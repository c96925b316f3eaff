import { keepPlan } from './channels.js';

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
