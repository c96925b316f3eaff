import { compareCsv, csv, paretoCsv, summaryCsv, trialsCsv } from './csv.js';
import { parseCsv, records } from './csv.spec-helpers.js';
import { compare, summarize } from './summary.js';
import type { ParetoView, TrialView } from './sweeps/sweeps.dto.js';

describe('CSV export (?format=csv, --format csv)', () => {
  const trial: TrialView = {
    id: 'sw:mlp:l1-structured:0.5:1', method: 'l1-structured', amount: 0.5, seed: 1, model: 'mlp', finetune: 'default', status: 'DONE', accuracy: 0.8834000000000001, accuracyDrop: 0.0051,
    totalParams: 1, nonzeroParams: 1, baselineParams: 2, compressionRate: 0.744, flops: 1, effectiveFlops: 1, latencyMs: 1, baselineLatencyMs: 2.1, speedup: 2.1, sizeBytes: 70_758,
    gzipBytes: 1, durationMs: 1, backend: 'wasm', device: 'Intel Xeon, 2 cores (wasm, SIMD128)', attempts: 1, error: null, config: { method: 'l1-structured', structured: { n: 2, dim: 'out' } },
  };

  it('writes every field of every trial, numbers in full, commas, quotes and line breaks quoted, null as empty', () => {
    const failed = { ...trial, id: 'sw:mlp:hybrid:0.5:1', method: 'hybrid', status: 'FAILED', accuracy: null, speedup: null, error: 'gradual: end must be > "begin"\n  at stack, line 2' };
    const text = trialsCsv([trial, failed]);
    const rows = records(text);
    expect([...parseCsv(text)[0]].sort()).toEqual(Object.keys(trial).sort()); // every field of the API's trial view
    expect(parseCsv(text)[0].slice(0, 7)).toEqual(['id', 'model', 'method', 'amount', 'seed', 'finetune', 'status']);
    expect(rows.length).toBe(2);
    expect(rows[0].accuracy).toBe('0.8834000000000001');
    expect(rows[0].device).toBe('Intel Xeon, 2 cores (wasm, SIMD128)');
    expect(JSON.parse(rows[0].config)).toEqual(trial.config);
    expect([rows[1].accuracy, rows[1].speedup, rows[1].status]).toEqual(['', '', 'FAILED']);
    expect(rows[1].error).toBe(failed.error);
    expect(trialsCsv([]).split('\r\n')).toEqual([parseCsv(text)[0].join(',')]);
  });

  it('quotes a field only where it must', () => {
    expect(csv(['a', 'b,c'], [{ a: 'plain', 'b,c': 'x"y' }])).toBe('a,"b,c"\r\nplain,"x""y"');
  });

  it('flattens each summary metric into mean, sd and seeds, and marks the front', () => {
    const t = (seed: number, over: Partial<TrialView>): TrialView => ({ ...trial, id: `t${seed}`, method: 'taylor-structured', seed, compressionRate: 0.75, ...over });
    const s = summarize('s', [t(1, { accuracy: 0.9 }), t(2, { accuracy: 0.88 }), t(3, { status: 'FAILED' }), t(1, { method: 'l1-unstructured', compressionRate: 0.5, accuracy: 0.8 })]);
    const rows = records(summaryCsv(s));
    expect(rows.map((r) => [r.method, r.seeds, r.failed, r.pareto])).toEqual([['l1-unstructured', '1', '0', 'false'], ['taylor-structured', '1;2', '1', 'true']]);
    const taylor = s.cells[1];
    expect([Number(rows[1]['accuracy.mean']), Number(rows[1]['accuracy.sd']), rows[1]['accuracy.n']]).toEqual([taylor.accuracy!.mean, taylor.accuracy!.sd, '2']);
    expect(Number(rows[1]['compressionRate.mean'])).toBe(0.75);
    const c = compare([{ id: 'a', name: 'n', model: 'mlp', status: 'COMPLETED', createdAt: '' }], new Map([['a', [t(1, { accuracy: 0.9 })]]]));
    expect(records(compareCsv(c)).map((r) => [r.sweepId, r.method, r['accuracy.mean']])).toEqual([['a', 'taylor-structured', '0.9']]);
  });

  it('lists every finished trial of a Pareto view: the front first, then the rest with what beats them', () => {
    const p = { trialId: 'a', model: 'mlp', method: 'l1-unstructured', amount: 0.5, seed: 1, finetune: 'default', accuracy: 0.9, compressionRate: 0.5, nonzeroParams: 10, gzipBytes: 100, speedup: null };
    const view: ParetoView = { sweepId: 's', objective: 'compression', objectives: { accuracy: 'max', compressionRate: 'max' }, front: [p, { ...p, trialId: 'b', accuracy: 0.85, compressionRate: 0.8 }], dominated: [{ ...p, trialId: 'c', accuracy: 0.8, dominatedBy: ['a', 'b'] }] };
    expect(records(paretoCsv(view)).map((r) => [r.trialId, r.onFront, r.dominatedBy, r.speedup])).toEqual([['a', 'true', '', ''], ['b', 'true', '', ''], ['c', 'false', 'a;b', '']]);
  });
});
