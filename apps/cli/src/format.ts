/** Terminal output: tables and the progress bar. Pure functions of their inputs. */
import type { Comparison, SummaryCell, SweepSummary, Spread } from '../../api/src/summary.js';
import type { ScheduleView } from '../../api/src/schedules/schedules.dto.js';
import type { ParetoView, SweepView, TrialView } from '../../api/src/sweeps/sweeps.dto.js';
import type { RunningWorkView, SweepEstimate } from '../../api/src/progress.js';
import { DEFAULT_FINETUNE } from '../../../workflows/src/spec.js';

export { compareCsv, csv, paretoCsv, summaryCsv, trialsCsv } from '../../api/src/csv.js';

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/**
 * Rows of a sweep with a fine-tuning axis (finetuneSettings) get a column naming each row's setting, and rows of more
 * than one model a column naming the model; without those axes, neither.
 */
interface Axes { model: boolean; setting: boolean }
const axesOf = (rows: { model?: string; finetune?: string }[]): Axes => ({
  model: new Set(rows.map((r) => r.model).filter((m) => m !== undefined)).size > 1,
  setting: rows.some((r) => r.finetune !== undefined && r.finetune !== DEFAULT_FINETUNE),
});
/** `cols` with the model column first and the setting's at `settingAt` (an index into `cols`), where the rows have them. */
const withAxes = <T>(on: Axes, cols: T[], settingAt: number, model: T, setting: T): T[] =>
  [...(on.model ? [model] : []), ...cols.slice(0, settingAt), ...(on.setting ? [setting] : []), ...cols.slice(settingAt)];

export function paretoTable(p: ParetoView): string {
  if (!p.front.length) return '(no finished trials yet)';
  const on = axesOf(p.front);
  // The objective's column after compression (compression itself needs none).
  const extra: Record<string, [string, (t: ParetoView['front'][number]) => string]> = {
    'nonzero-params': ['nonzero params', (t) => String(t.nonzeroParams)],
    'gzip-size': ['gzip size', (t) => `${((t.gzipBytes ?? 0) / 1024).toFixed(1)} KiB`],
    speedup: ['speedup', (t) => `${(t.speedup ?? 0).toFixed(2)}x`],
  };
  const more = extra[p.objective ?? 'compression'];
  return table(
    withAxes(on, ['method', 'amount', 'seed', 'accuracy', 'compression', ...(more ? [more[0]] : [])], 3, 'model', 'fine-tuning'),
    p.front.map((t) => withAxes<string | number>(on, [t.method, t.amount, t.seed, pct(t.accuracy), pct(t.compressionRate), ...(more ? [more[1](t)] : [])], 3, t.model, t.finetune)),
  );
}

/** One row per trial: its grid point, status and measured metrics; a failed trial's error in place of the metrics. */
export function trialsTable(trials: TrialView[]): string {
  if (!trials.length) return '(no trials match)';
  const opt = (x: number | null, f: (x: number) => string) => (x === null ? '-' : f(x));
  const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const on = axesOf(trials);
  const rows = trials.map((t) => {
    const grid = withAxes<string | number>(on, [t.method, t.amount, t.seed, t.status], 3, t.model, t.finetune);
    if (t.status === 'FAILED') return [...grid, `error: ${(t.error ?? 'unknown').split('\n')[0].slice(0, 100)}`, '', '', '', '', ''];
    return [
      ...grid, opt(t.accuracy, pct), opt(t.accuracyDrop, (d) => `${(100 * d).toFixed(2)}`), opt(t.compressionRate, pct),
      opt(t.speedup, (x) => `${x.toFixed(2)}x`), opt(t.sizeBytes, kib), t.backend ?? '-',
    ];
  });
  return table(withAxes(on, ['method', 'amount', 'seed', 'status', 'accuracy', 'drop (pts)', 'compression', 'speedup', 'size', 'backend'], 3, 'model', 'fine-tuning'), rows);
}

/** Sweeps: id, status, model(s), trials done of all, mean baseline accuracy, when created, name. */
export function sweepsTable(list: SweepView[]): string {
  return table(['id', 'status', 'model', 'done', 'failed', 'baseline', 'created (UTC)', 'name'], list.map((s) => [
    s.id, s.status, s.model, `${s.counts.done}/${s.totalTrials}`, s.counts.failed, s.baselineAccuracy === null ? '-' : pct(s.baselineAccuracy),
    s.createdAt.slice(0, 19).replace('T', ' '), s.name,
  ]));
}

const CELL_HEADERS = ['amount', 'seeds done', 'accuracy %', 'drop (pts)', 'compression', 'params removed', 'speedup', 'gzip size'];

/** A summary cell's columns after the method: mean ± sample sd over the seeds that finished (one value for one seed). */
function cellColumns(c: SummaryCell, on: Axes): (string | number)[] {
  const pm = (x: Spread | null, f: (v: number) => string) => (x === null ? '-' : x.n > 1 ? `${f(x.mean)} ± ${f(x.sd)}` : f(x.mean));
  const p2 = (v: number) => (100 * v).toFixed(2);
  const p1 = (v: number) => `${(100 * v).toFixed(1)}%`;
  return [
    ...(on.model ? [c.model] : []), c.amount, ...(on.setting ? [c.finetune] : []), `${c.seeds.length}${c.failed ? ` (${c.failed} failed)` : ''}${c.unfinished ? ` (${c.unfinished} to run)` : ''}`,
    pm(c.accuracy, p2), pm(c.accuracyDrop, p2), pm(c.compressionRate, p1), pm(c.paramsRemoved, p1),
    pm(c.speedup, (v) => `${v.toFixed(2)}x`), pm(c.gzipBytes, (v) => `${(v / 1024).toFixed(1)} KiB`),
  ];
}

/** The sweep per grid cell (model x method x amount x fine-tuning setting): mean ± sample sd over the seeds that finished; `*` marks the front of the means. */
export function summaryTable(s: SweepSummary): string {
  if (!s.cells.length) return '(no trials)';
  const on = axesOf(s.cells);
  return table(['  method', ...withAxes(on, CELL_HEADERS, 1, 'model', 'fine-tuning')], s.cells.map((c) => [`${c.pareto ? '*' : ' '} ${c.method}`, ...cellColumns(c, on)]));
}

/** Sweeps side by side, each named by its name and creation date; `*` marks the front over all of them. */
export function compareTable(c: Comparison): string {
  if (!c.cells.length) return '(no trials)';
  const label = new Map(c.sweeps.map((s) => [s.id, `${s.name} ${s.createdAt.slice(0, 16).replace('T', ' ')}`]));
  const on = axesOf(c.cells);
  return table(['  sweep', 'method', ...withAxes(on, CELL_HEADERS, 1, 'model', 'fine-tuning')], c.cells.map((x) => [`${x.pareto ? '*' : ' '} ${label.get(x.sweepId)}`, x.method, ...cellColumns(x, on)]));
}

/** Schedules: when each runs next and how many runs it started. */
export function schedulesTable(list: ScheduleView[]): string {
  if (!list.length) return '(no schedules; lopper schedule create <sweep file> --cron "0 2 * * *")';
  return table(
    ['id', 'name', 'cron', 'time zone', 'state', 'next run (UTC)', 'runs'],
    list.map((s) => [s.id, s.name, s.cron, s.timezone, s.paused ? 'paused' : 'active', s.paused ? '-' : (s.nextRuns[0] ?? '-'), s.recentRuns.length]),
  );
}

export function progressLine(s: SweepView, width = 30): string {
  const finished = s.counts.done + s.counts.failed;
  const frac = s.totalTrials ? finished / s.totalTrials : 0;
  const filled = Math.round(frac * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  // Several models: each one's mean baseline accuracy (over its seeds), as far as trained.
  const models = [...new Set((s.baselines ?? []).map((b) => b.model))];
  const perModel = models.map((m) => { const a = s.baselines.filter((b) => b.model === m).map((b) => b.accuracy); return `${m} ${pct(a.reduce((x, y) => x + y, 0) / a.length)}`; });
  const base = s.baselineAccuracy === null ? 'baseline training' : (s.models?.length ?? 1) > 1 ? `baselines ${perModel.join(', ')}` : `baseline ${pct(s.baselineAccuracy)}`;
  return `[${bar}] ${finished}/${s.totalTrials} trials (${s.counts.running} running, ${s.counts.failed} failed) ${base} ${s.status}`;
}

/** 45 s, 12 min, 3 h 05 min. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  return min < 90 ? `${min} min` : `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** The estimate under the bar, with what it rests on (GET /sweeps/:id/progress's `estimate`). */
export function estimateLine(e: SweepEstimate): string {
  return `  about ${duration(e.remainingMs)} left: ${e.remainingTrials} trial(s) to go at ${duration(e.meanTrialMs)} each (mean of ${e.finishedTrials} finished), ${e.parallel} at a time`;
}

export const TERMINAL_STATUSES = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** What `--format` takes: a table for people, CSV (RFC 4180) for spreadsheets and pandas, JSON as the API returns it. */
export const OUTPUT_FORMATS = ['table', 'csv', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * One line per trial or baseline being computed: what it is, the worker's phase, and with `detail` the training
 * progress (epoch, batch of batches) and the attempt; waiting ones say so, with why the last attempt failed.
 */
export function workLine(w: RunningWorkView, detail = true): string {
  // One not picked up yet has reported nothing: which trial or baseline it is shows once a worker takes it.
  const what = w.kind === 'step' ? w.activity : w.kind === 'baseline'
    ? (w.model === null ? 'a baseline' : `baseline ${w.model} seed ${w.seed ?? '?'}`)
    : w.trialId === null ? 'a trial' : [w.model, w.method, w.amount, `seed ${w.seed}`, w.finetune && w.finetune !== DEFAULT_FINETUNE ? w.finetune : ''].filter((x) => x !== null && x !== '').join(' ');
  const attempt = w.attempt > 1 ? ` (attempt ${w.attempt})` : '';
  if (w.waiting) return `  ${what}: waiting for a worker${attempt}${w.lastFailure ? `; last attempt: ${w.lastFailure.split('\n')[0].slice(0, 100)}` : ''}`;
  const step = detail && w.epoch !== null && w.batch !== null ? ` epoch ${w.epoch}, batch ${w.batch}/${w.batches}` : '';
  return `  ${what}: ${w.phase ?? 'starting'}${step}${detail ? attempt : ''}`;
}
