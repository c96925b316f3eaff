import { cosineLearningRate, scheduleForSteps, targetSparsity, validateSchedule, type RelativeSchedule, type Schedule } from './schedules.js';

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
    const late: Schedule = { kind: 'linear-step', final: 0.25, frequency: 5, begin: 7 };
    expect(at(late, [0, 5, 7, 12, 17, 22])).toEqual([null, null, 0.1, 0.2, 0.25, 0.25]);
    expect(validateSchedule({ ...late, begin: -1 })).toEqual(['begin must be an integer >= 0']);
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
  it('turns a sweep\'s relative schedule into steps; every kind ends at the final sparsity and fires only between begin and end', () => {
    const base: RelativeSchedule = { schedule: 'polynomial', begin: 0, end: 0.7, updates: 10, power: 3, increment: 0.1 };
    // 2814 steps: end = floor(0.7 x 2814) = 1969, an update every floor(1969 / 10) = 196 steps (what the benchmark ran).
    expect(scheduleForSteps(base, 0.91, 2814)).toEqual({ kind: 'polynomial', initial: 0, final: 0.91, begin: 0, end: 1969, power: 3, frequency: 196 });
    const fired = (s: Schedule, steps: number) => Array.from({ length: steps + 1 }, (_, t) => [t, targetSparsity(s, t)] as const).filter(([, v]) => v !== null) as [number, number][];
    const poly = fired(scheduleForSteps({ ...base, begin: 0.2, end: 0.8, updates: 4 }, 0.5, 1000), 1000);
    expect(poly.map(([t]) => t)).toEqual([200, 350, 500, 650, 800]);
    expect(poly.at(-1)![1]).toBe(0.5);
    expect(poly.every(([, v], i) => i === 0 || v >= poly[i - 1][1])).toBe(true);
    // The tutorial's +0.1 per update: ceil(0.45 / 0.1) = 5 updates over the first half, capped at the final sparsity.
    const lin = fired(scheduleForSteps({ ...base, schedule: 'linear-step', end: 0.5 }, 0.45, 1000), 1000);
    expect(lin.slice(0, 6).map(([t, v]) => [t, +v.toFixed(10)])).toEqual([[0, 0.1], [100, 0.2], [200, 0.3], [300, 0.4], [400, 0.45], [500, 0.45]]);
    const constant = fired(scheduleForSteps({ ...base, schedule: 'constant', begin: 0.1, end: 0.3, updates: 2 }, 0.6, 100), 100);
    expect(constant).toEqual([[10, 0.6], [20, 0.6], [30, 0.6]]);
    for (const s of [scheduleForSteps(base, 0.5, 3), scheduleForSteps({ ...base, schedule: 'linear-step' }, 0.5, 3)]) {
      expect(validateSchedule(s)).toEqual([]);
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    }
  });
});
