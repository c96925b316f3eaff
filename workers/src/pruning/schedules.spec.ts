import { cosineLearningRate, targetSparsity, validateSchedule, type Schedule } from './schedules.js';

const at = (s: Schedule, steps: number[]) => steps.map((t) => targetSparsity(s, t));

describe('pruning schedules', () => {
  it('PolynomialDecay matches the TF-MOT formula and only fires on its frequency', () => {
    const s: Schedule = { kind: 'polynomial', initial: 0.1, final: 0.9, begin: 100, end: 500, frequency: 100 };
    const f = (t: number) => 0.9 + (0.1 - 0.9) * (1 - (t - 100) / 400) ** 3;
    expect(at(s, [0, 99, 100, 150, 200, 300, 400, 500, 600])).toEqual([null, null, f(100), null, f(200), f(300), f(400), 0.9, null]);
    expect(targetSparsity({ ...s, power: 1 }, 300)).toBeCloseTo(0.5, 12);
  });
  it('AGP (Zhu & Gupta) matches s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3', () => {
    const s: Schedule = { kind: 'agp', initial: 0, final: 0.8, t0: 10, n: 4, dt: 5 };
    expect(at(s, [5, 10, 12, 15, 20, 25, 30, 35])).toEqual([null, 0, null, 0.8 - 0.8 * 0.75 ** 3, 0.8 - 0.8 * 0.5 ** 3, 0.8 - 0.8 * 0.25 ** 3, 0.8, null]);
  });
  it("the tutorial's linear step: +0.1 every 5 epochs up to the final sparsity", () => {
    const s: Schedule = { kind: 'linear-step', final: 0.25, frequency: 5 };
    expect(at(s, [0, 3, 5, 10, 15])).toEqual([0.1, null, 0.2, 0.25, 0.25]);
  });
  it('constant sparsity from begin to end every frequency steps', () => {
    expect(at({ kind: 'constant', target: 0.5, begin: 10, end: 30, frequency: 10 }, [0, 10, 15, 20, 30, 40])).toEqual([null, 0.5, null, 0.5, 0.5, null]);
  });
  it('cosine annealing goes from the base LR to the minimum', () => {
    expect(cosineLearningRate(1e-3, 1e-5, 0, 100)).toBeCloseTo(1e-3, 15);
    expect(cosineLearningRate(1e-3, 1e-5, 50, 100)).toBeCloseTo((1e-3 + 1e-5) / 2, 15);
    expect(cosineLearningRate(1e-3, 1e-5, 100, 100)).toBeCloseTo(1e-5, 15);
  });
  it('is plain JSON and validates its fields', () => {
    const s: Schedule = { kind: 'polynomial', initial: 0, final: 0.8, begin: 0, end: 100 };
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(validateSchedule(s)).toEqual([]);
    expect(validateSchedule({ kind: 'polynomial', initial: 0, final: 1.2, begin: 10, end: 5 })).toEqual(['final must be a fraction in [0, 1)', 'end must be an integer >= 11']);
    expect(validateSchedule({ kind: 'nope' } as never)).toHaveLength(1);
  });
});
