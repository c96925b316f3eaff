/**
 * A sweep's trials per grid cell (method x amount) over its seeds: mean and sample standard deviation of each measured
 * metric, how many seeds finished, and the Pareto front of the cells' means. Pure.
 */
import { paretoFront } from './pareto.js';
import type { TrialView } from './sweeps/sweeps.dto.js';

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n - 1); 0 for a single value. */
export const sampleSd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

export interface Spread { mean: number; sd: number; n: number }

export interface SummaryCell {
  /** The model (the sweep's, or one of its models). */
  model: string;
  method: string;
  amount: number;
  /** The fine-tuning setting ("default" in a sweep without finetuneSettings). */
  finetune: string;
  /** Seeds whose trial is DONE (the statistics are over these), and the counts of the others. */
  seeds: number[];
  failed: number;
  unfinished: number;
  accuracy: Spread | null;
  accuracyDrop: Spread | null;
  /** 1 - nonzero / baseline params. */
  compressionRate: Spread | null;
  /** 1 - total / baseline params: the share physically removed (0 for masks). */
  paramsRemoved: Spread | null;
  nonzeroParams: Spread | null;
  effectiveFlops: Spread | null;
  speedup: Spread | null;
  sizeBytes: Spread | null;
  gzipBytes: Spread | null;
  /** On the front of the cells' mean accuracy and mean compression rate (both up). */
  pareto: boolean;
}

export interface SweepSummary { sweepId: string; cells: SummaryCell[] }

function spread(xs: (number | null)[]): Spread | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? { mean: mean(v), sd: sampleSd(v), n: v.length } : null;
}

/** The sweep's cells, by method then amount, each marked when on the front of the sweep's cells. */
export function summarize(sweepId: string, trials: TrialView[]): SweepSummary {
  return { sweepId, cells: markFront(summaryCells(trials)) };
}

/** Sets `pareto` on the cells on the front of mean accuracy vs mean compression rate (cells with neither are not ranked). */
export function markFront<C extends SummaryCell>(cells: C[]): C[] {
  const scored = cells.flatMap((c, i) => (c.accuracy && c.compressionRate ? [{ id: String(i), objectives: [c.accuracy.mean, c.compressionRate.mean] }] : []));
  const front = new Set(paretoFront(scored).front.map((p) => Number(p.id)));
  return cells.map((c, i) => ({ ...c, pareto: front.has(i) }));
}

/** One cell per model x method x amount x fine-tuning setting, in that order; `pareto` left false (markFront sets it). */
export function summaryCells(trials: TrialView[]): SummaryCell[] {
  const groups = new Map<string, TrialView[]>();
  for (const t of trials) {
    const k = JSON.stringify([t.model, t.method, t.amount, t.finetune]);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  const cells = [...groups.values()].map((ts): SummaryCell => {
    const done = ts.filter((t) => t.status === 'DONE');
    const of = (f: (t: TrialView) => number | null) => spread(done.map(f));
    return {
      model: ts[0].model, method: ts[0].method, amount: ts[0].amount, finetune: ts[0].finetune, seeds: done.map((t) => t.seed),
      failed: ts.filter((t) => t.status === 'FAILED').length, unfinished: ts.filter((t) => t.status === 'PENDING' || t.status === 'RUNNING').length,
      accuracy: of((t) => t.accuracy), accuracyDrop: of((t) => t.accuracyDrop), compressionRate: of((t) => t.compressionRate),
      paramsRemoved: of((t) => (t.totalParams !== null && t.baselineParams ? 1 - t.totalParams / t.baselineParams : null)),
      nonzeroParams: of((t) => t.nonzeroParams), effectiveFlops: of((t) => t.effectiveFlops), speedup: of((t) => t.speedup),
      sizeBytes: of((t) => t.sizeBytes), gzipBytes: of((t) => t.gzipBytes), pareto: false,
    };
  });
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return cells.sort((a, b) => byText(a.model, b.model) || byText(a.method, b.method) || a.amount - b.amount || byText(a.finetune, b.finetune));
}

/** Several sweeps side by side (GET /compare): their cells, and the front over all of them. */
export interface Comparison {
  sweeps: { id: string; name: string; model: string; status: string; createdAt: string }[];
  cells: (SummaryCell & { sweepId: string })[];
}

export function compare(sweeps: Comparison['sweeps'], trialsOf: Map<string, TrialView[]>): Comparison {
  const cells = sweeps.flatMap((s) => summaryCells(trialsOf.get(s.id) ?? []).map((c) => ({ sweepId: s.id, ...c })));
  return { sweeps, cells: markFront(cells) };
}
