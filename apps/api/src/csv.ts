/**
 * CSV (RFC 4180) of the API's views: `?format=csv` on GET /sweeps/:id/trials, /summary, /pareto and /compare, and the
 * CLI's `--format csv`. Pure.
 */
import type { ParetoView, TrialView } from './sweeps/sweeps.dto.js';
import type { Comparison, SummaryCell, SweepSummary } from './summary.js';

/** One CSV field: empty for null, numbers in full precision, objects as JSON, quoted where it holds a comma, quote or line break. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV with a header line; every row has a value (maybe empty) for every column; lines end in CRLF. */
export function csv(columns: string[], rows: Record<string, unknown>[]): string {
  return [columns.map(csvField).join(','), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(','))].join('\r\n');
}

/** Every field of the trial view, grid point first; `config` (the method's full config) last, as JSON. */
export const TRIAL_CSV_COLUMNS: (keyof TrialView)[] = ['id', 'model', 'method', 'amount', 'seed', 'finetune', 'status', 'accuracy', 'accuracyDrop', 'totalParams',
  'nonzeroParams', 'baselineParams', 'compressionRate', 'flops', 'effectiveFlops', 'latencyMs', 'baselineLatencyMs', 'speedup', 'sizeBytes', 'gzipBytes', 'durationMs',
  'backend', 'device', 'attempts', 'error', 'config'];

export function trialsCsv(trials: TrialView[]): string {
  return csv(TRIAL_CSV_COLUMNS, trials as unknown as Record<string, unknown>[]);
}

const SPREADS = ['accuracy', 'accuracyDrop', 'compressionRate', 'paramsRemoved', 'nonzeroParams', 'effectiveFlops', 'speedup', 'sizeBytes', 'gzipBytes'] as const;
const SPREAD_COLUMNS = SPREADS.flatMap((k) => [`${k}.mean`, `${k}.sd`, `${k}.n`]);
/** A grid cell flattened: each metric's mean, sample sd and number of seeds as `metric.mean`, `.sd`, `.n`; seeds joined by ';'. */
const flatCell = (c: SummaryCell): Record<string, unknown> => ({
  ...c, seeds: c.seeds.join(';'),
  ...Object.fromEntries(SPREADS.flatMap((k) => [[`${k}.mean`, c[k]?.mean], [`${k}.sd`, c[k]?.sd], [`${k}.n`, c[k]?.n ?? 0]])),
});
const CELL_COLUMNS = ['model', 'method', 'amount', 'finetune', 'seeds', 'failed', 'unfinished', ...SPREAD_COLUMNS, 'pareto'];

export function summaryCsv(s: SweepSummary): string {
  return csv(CELL_COLUMNS, s.cells.map(flatCell));
}

export function compareCsv(c: Comparison): string {
  return csv(['sweepId', ...CELL_COLUMNS], c.cells.map((x) => ({ ...flatCell(x), sweepId: x.sweepId })));
}

/** Every finished trial: on the front (onFront true, the API's order) or not, and which front trials beat it (';'). */
export function paretoCsv(p: ParetoView): string {
  const columns = ['trialId', 'model', 'method', 'amount', 'seed', 'finetune', 'accuracy', 'compressionRate', 'nonzeroParams', 'gzipBytes', 'speedup', 'onFront', 'dominatedBy'];
  return csv(columns, [
    ...p.front.map((t) => ({ ...t, onFront: true, dominatedBy: '' })),
    ...p.dominated.map((t) => ({ ...t, onFront: false, dominatedBy: t.dominatedBy.join(';') })),
  ]);
}
