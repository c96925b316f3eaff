import { compare, mean, sampleSd, summarize } from './summary.js';
import type { TrialView } from './sweeps/sweeps.dto.js';

const trial = (method: string, amount: number, seed: number, over: Partial<TrialView> = {}): TrialView => ({
  id: `s:${method}:${amount}:${seed}`, method, amount, seed, model: 'mlp', finetune: 'default', status: 'DONE', accuracy: 0.9, accuracyDrop: 0.01, totalParams: 100, nonzeroParams: 50,
  baselineParams: 100, compressionRate: 0.5, flops: 1000, effectiveFlops: 500, latencyMs: 1, baselineLatencyMs: 1, speedup: 1, sizeBytes: 400,
  gzipBytes: 300, durationMs: 1, backend: 'wasm', device: 'cpu', attempts: 1, error: null, config: {}, ...over,
});

describe('summarize', () => {
  it('mean and sample standard deviation', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(sampleSd([1, 2, 3, 6])).toBeCloseTo(Math.sqrt(14 / 3), 12);
    expect(sampleSd([5])).toBe(0);
  });

  it('groups by method x amount over the seeds that finished, counting the others', () => {
    const s = summarize('s', [
      trial('l1-structured', 0.5, 1, { accuracy: 0.88, accuracyDrop: 0.02, totalParams: 30, compressionRate: 0.7, speedup: 2 }),
      trial('l1-structured', 0.5, 2, { accuracy: 0.86, accuracyDrop: 0.04, totalParams: 20, compressionRate: 0.8, speedup: 2.5 }),
      trial('l1-structured', 0.5, 3, { status: 'FAILED', accuracy: null, error: 'x' }),
      trial('l1-unstructured', 0.5, 1),
      trial('l1-unstructured', 0.5, 2, { status: 'RUNNING', accuracy: null }),
    ]);
    expect(s.cells.map((c) => [c.method, c.amount, c.seeds, c.failed, c.unfinished])).toEqual([
      ['l1-structured', 0.5, [1, 2], 1, 0],
      ['l1-unstructured', 0.5, [1], 0, 1],
    ]);
    const [st, un] = s.cells;
    expect(st.accuracy!.mean).toBeCloseTo(0.87, 12);
    expect(st.accuracy!.sd).toBeCloseTo(Math.sqrt(2) * 0.01, 12);
    expect(st.accuracy!.n).toBe(2);
    expect(st.paramsRemoved!.mean).toBeCloseTo(0.75, 12); // 1 - 30/100 and 1 - 20/100: physically gone
    expect(un.paramsRemoved).toEqual({ mean: 0, sd: 0, n: 1 }); // masks remove nothing
    expect(st.speedup).toEqual({ mean: 2.25, sd: Math.sqrt(0.125), n: 2 });
  });

  it('keeps fine-tuning settings apart: one cell per method x amount x setting, settings in name order', () => {
    const s = summarize('s', [
      trial('l1-structured', 0.5, 1, { finetune: 'kd', accuracy: 0.9 }),
      trial('l1-structured', 0.5, 2, { finetune: 'kd', accuracy: 0.8 }),
      trial('l1-structured', 0.5, 1, { finetune: 'ft1', accuracy: 0.7 }),
      trial('l1-structured', 0.3, 1, { finetune: 'kd', accuracy: 0.95 }),
    ]);
    expect(s.cells.map((c) => [c.amount, c.finetune, c.seeds, c.accuracy!.mean])).toEqual([[0.3, 'kd', [1], 0.95], [0.5, 'ft1', [1], 0.7], [0.5, 'kd', [1, 2], expect.closeTo(0.85, 12)]]);
  });

  it('marks the cells on the front of mean accuracy vs mean compression', () => {
    const s = summarize('s', [
      trial('a', 0.5, 1, { accuracy: 0.9, compressionRate: 0.5 }),
      trial('a', 0.8, 1, { accuracy: 0.85, compressionRate: 0.8 }),
      trial('b', 0.5, 1, { accuracy: 0.88, compressionRate: 0.5 }), // beaten by a 0.5
      trial('b', 0.9, 1, { status: 'PENDING', accuracy: null, compressionRate: null }), // nothing measured: not ranked
    ]);
    expect(s.cells.map((c) => [c.method, c.amount, c.pareto])).toEqual([['a', 0.5, true], ['a', 0.8, true], ['b', 0.5, false], ['b', 0.9, false]]);
    expect(s.cells[3].accuracy).toBeNull();
  });

  it('compares sweeps: each one\'s cells, and the front over all of them', () => {
    const sweeps = [{ id: 'a', name: 'mon', model: 'mlp', status: 'COMPLETED', createdAt: '' }, { id: 'b', name: 'tue', model: 'mlp', status: 'COMPLETED', createdAt: '' }];
    const c = compare(sweeps, new Map([
      ['a', [trial('l1', 0.5, 1, { accuracy: 0.9, compressionRate: 0.5 }), trial('l1', 0.8, 1, { accuracy: 0.8, compressionRate: 0.8 })]],
      ['b', [trial('l1', 0.5, 1, { accuracy: 0.91, compressionRate: 0.5 })]], // beats a's 0.5 cell, which was on a's own front
    ]));
    expect(c.sweeps).toEqual(sweeps);
    expect(c.cells.map((x) => [x.sweepId, x.amount, x.pareto])).toEqual([['a', 0.5, false], ['a', 0.8, true], ['b', 0.5, true]]);
    expect(summarize('a', [trial('l1', 0.5, 1, { accuracy: 0.9, compressionRate: 0.5 })]).cells[0].pareto).toBe(true);
  });
});
