import { computeCount, roundHalfEven } from './amount.js';

describe('amount semantics (torch.nn.utils.prune)', () => {
  it('rounds half to even like Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 4.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, 4, 2, 3]);
  });
  it('turns a fraction into round(amount * size)', () => {
    expect(computeCount(0.5, 5)).toBe(2); // 2.5 -> 2
    expect(computeCount(0.5, 7)).toBe(4); // 3.5 -> 4
    expect(computeCount(0.3, 10)).toBe(3);
    expect(computeCount(0, 10)).toBe(0);
    expect(computeCount(1, 10)).toBe(10);
  });
  it('takes an absolute count', () => {
    expect(computeCount({ count: 3 }, 10)).toBe(3);
    expect(computeCount({ count: 0 }, 10)).toBe(0);
    expect(() => computeCount({ count: 11 }, 10)).toThrow(/exceeds/);
    expect(() => computeCount({ count: 1.5 }, 10)).toThrow(/integer/);
  });
  it('rejects fractions outside [0, 1]', () => {
    expect(() => computeCount(1.2, 10)).toThrow(/\[0, 1\]/);
    expect(() => computeCount(-0.1, 10)).toThrow(/\[0, 1\]/);
    expect(() => computeCount(NaN, 10)).toThrow();
  });
});
