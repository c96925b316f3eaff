/** CSV (RFC 4180) of the API's views: GET /sweeps/:id/trials?format=csv and the CLI's --format csv. Pure. */
import type { TrialView } from './sweeps/sweeps.dto.js';

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
