/** CLI commands as functions (so `npm run up` and tests reuse them). */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PARETO_OBJECTIVES, type SweepView } from '../../api/src/sweeps/sweeps.dto.js';
import type { LopperApi } from './api-client.js';
import { GPU_TASK_QUEUE } from '../../../workflows/src/constants.js';
import { compareCsv, compareTable, estimateLine, paretoCsv, paretoTable, sweepsTable, progressLine, summaryCsv, summaryTable, TERMINAL_STATUSES, trialsCsv, trialsTable, workLine, type OutputFormat } from './format.js';

const json = (body: unknown) => JSON.stringify(body, null, 2);

export function readSpecFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
}

/** The POST /models body for a TF.js model.json and the weight files its manifest names (read beside it). */
export function readModelUpload(modelJsonPath: string, name?: string): { name: string; modelJson: unknown; weights: Record<string, string> } {
  const modelJson = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as { weightsManifest?: { paths?: string[] }[] };
  const weights: Record<string, string> = {};
  for (const p of (modelJson.weightsManifest ?? []).flatMap((g) => g.paths ?? [])) weights[p] = readFileSync(join(dirname(modelJsonPath), p)).toString('base64');
  return { name: name ?? basename(dirname(resolve(modelJsonPath))), modelJson, weights };
}

export async function uploadModel(api: LopperApi, modelJsonPath: string, name: string | undefined, out: (s: string) => void): Promise<string> {
  const m = await api.uploadModel(readModelUpload(modelJsonPath, name));
  out(`uploaded ${m.name}: ${m.id} (${m.params} parameters, input ${JSON.stringify(m.inputShape)}); use it in a sweep as "model": "user", "userModel": "${m.id}"`);
  return m.id;
}

/**
 * Writes a trial's model as TF.js files, model.json and the weight file it names, into `dir` (created if missing; files
 * already there are kept unless `force`): `tf.loadLayersModel('file://<dir>/model.json')` loads it, and
 * `lopper model upload <dir>/model.json` sends it back. Returns the paths written.
 */
export async function downloadTrialModel(api: LopperApi, trialId: string, dir: string, opts: { force?: boolean }, out: (s: string) => void): Promise<string[]> {
  const m = await api.trialModel(trialId);
  const files: [string, Buffer][] = [
    ...Object.entries(m.weights).map(([p, b64]): [string, Buffer] => [p, Buffer.from(b64, 'base64')]),
    ['model.json', Buffer.from(`${JSON.stringify(m.modelJson, null, 1)}\n`)], // last: a model.json means its weights are there
  ];
  const paths = files.map(([p]) => join(dir, p));
  const clash = paths.filter((p) => existsSync(p));
  if (clash.length && !opts.force) throw new Error(`${clash.join(', ')} already exist(s); choose another --out or pass --force`);
  mkdirSync(dir, { recursive: true });
  for (const [i, [, bytes]] of files.entries()) {
    writeFileSync(`${paths[i]}.tmp`, bytes);
    renameSync(`${paths[i]}.tmp`, paths[i]);
  }
  const weightBytes = files.slice(0, -1).reduce((n, [, b]) => n + b.length, 0);
  out(`wrote ${paths[paths.length - 1]} and ${weightBytes} bytes of weights (${m.name}; it outputs logits)`);
  return paths;
}

/** Creates a schedule that starts the sweep in `path` (JSON or YAML, the body POST /sweeps takes) at each cron time. */
export async function createSchedule(api: LopperApi, path: string, o: { cron: string; timezone?: string; name?: string; paused?: boolean }, out: (s: string) => void): Promise<string> {
  const sweep = readSpecFile(path) as { name?: unknown };
  const name = o.name ?? (typeof sweep?.name === 'string' ? sweep.name : basename(path));
  const s = await api.createSchedule({ name, cron: o.cron, timezone: o.timezone, paused: o.paused ?? false, sweep });
  out(`created ${s.id} (${s.name}): "${s.cron}" in ${s.timezone}, ${s.paused ? 'paused' : `next run ${s.nextRuns[0] ?? '-'}`}; its sweeps: lopper sweep list --tag ${s.sweepTag}`);
  return s.id;
}

/** `sweep submit --dry-run`: what the file would run (the API validates it as for a submit), submitting nothing. */
export async function plan(api: LopperApi, path: string, out: (s: string) => void): Promise<number> {
  const p = await api.validateSweep(readSpecFile(path));
  const a = p.axes;
  out(`valid: ${p.totalTrials} trial(s) and ${p.baselines} baseline(s); nothing submitted`);
  out(`  models ${a.models.join(', ')} x seeds ${a.seeds.join(', ')} x methods ${a.methods.join(', ')} x amounts ${a.amounts.join(', ')} x fine-tuning ${a.finetuneSettings.join(', ')}`);
  out(`  ${p.spec.baselineEpochs} baseline epoch(s), ${p.spec.finetuneEpochs} fine-tuning epoch(s), batch ${p.spec.batchSize}, ${p.spec.batchNormRecalibration ? `BatchNorm recalibrated over ${p.spec.batchNormRecalibration} batch(es), ` : ''}${p.spec.concurrency} trial(s) at a time on ${p.spec.requireGpu ? 'GPU' : 'CPU'} workers`);
  return p.totalTrials;
}

export async function submit(api: LopperApi, path: string, out: (s: string) => void): Promise<string> {
  const { id, totalTrials } = await api.submit(readSpecFile(path));
  out(`submitted ${id} (${totalTrials} trials)`);
  return id;
}

/**
 * Polls the sweep until it reaches a terminal status (or once, when follow is false): the progress bar, the estimate of
 * the time left (once a trial has finished) and one line per trial or baseline being computed (phase, epoch, batch; GET /sweeps/:id/progress). A terminal redraws the
 * block in place; a log gets the bar when it changes and each phase as it starts.
 */
export async function status(api: LopperApi, id: string, opts: { follow: boolean; intervalMs?: number; stream?: NodeJS.WriteStream }): Promise<SweepView> {
  const stream = opts.stream ?? process.stdout;
  let last = '';
  let drawn = 0;
  let phases = new Set<string>();
  for (;;) {
    const s = await api.sweep(id);
    const ended = TERMINAL_STATUSES.includes(s.status);
    // The work lines are extra: where the API cannot reach Temporal just now, the bar (from Postgres) still draws.
    const progress = ended ? null : await api.progress(id).catch(() => null);
    const work = progress?.running ?? [];
    const idle = progress?.queue?.workers.length === 0
      ? [`  no worker polls ${progress.queue.name}: nothing runs until one does (npm run worker${progress.queue.name === GPU_TASK_QUEUE ? ' on a GPU machine, or LOPPER_GPU=1' : ''})`]
      : [];
    const line = progressLine(s);
    const estimate = progress?.estimate ? [estimateLine(progress.estimate)] : [];
    if (stream.isTTY) {
      // Cut to the terminal's width: a wrapped line would throw off the cursor moves of the next redraw. A pty that
      // reports no size (0 columns: `script`, `docker exec -t` before a resize) gets 200.
      const block = [line, ...estimate, ...idle, ...work.map((w) => workLine(w))].map((l) => l.slice(0, Math.max(20, (stream.columns || 200) - 1)));
      stream.write(`${drawn ? `\x1b[${drawn}F` : ''}${block.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[J`);
      drawn = block.length;
    } else {
      if (line !== last) stream.write([line, ...estimate].map((l) => `${l}\n`).join('')); // logs: the bar (and estimate) per change
      const now = new Set([...idle, ...work.map((w) => workLine(w, false))]);
      for (const p of now) if (!phases.has(p)) stream.write(`${p}\n`);
      phases = now;
    }
    last = line;
    if (!opts.follow || ended) {
      if (s.error) stream.write(`note: ${s.error}\n`);
      return s;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
  }
}

/** One page of sweeps, newest first, and the command for the next page when this one is full. */
export async function listSweeps(api: LopperApi, query: { tag?: string; status?: string; limit?: string; before?: string }, out: (s: string) => void): Promise<void> {
  const page = await api.sweeps(query);
  if (!page.length) return out(query.before ? '(no more sweeps)' : '(no sweeps)');
  out(sweepsTable(page));
  if (String(page.length) === (query.limit ?? '50')) {
    const rest = [query.tag && `--tag ${query.tag}`, query.status && `--status ${query.status}`, query.limit && query.limit !== '50' && `--limit ${query.limit}`].filter(Boolean).join(' ');
    out(`more: lopper sweep list ${rest ? `${rest} ` : ''}--before ${page[page.length - 1].id}`);
  }
}

export async function trials(api: LopperApi, id: string, query: { status?: string; method?: string; model?: string; finetune?: string }, out: (s: string) => void, format: OutputFormat = 'table'): Promise<void> {
  const list = await api.trials(id, query);
  out(format === 'json' ? json(list) : format === 'csv' ? trialsCsv(list) : trialsTable(list));
}

export async function summary(api: LopperApi, id: string, out: (s: string) => void, format: OutputFormat = 'table'): Promise<void> {
  const s = await api.summary(id);
  if (format !== 'table') return out(format === 'json' ? json(s) : summaryCsv(s));
  out(`${id} per grid cell (method x amount, and model and fine-tuning setting where the sweep has those axes): mean ± sample sd over the seeds done; * on the front of mean accuracy vs mean compression`);
  out(summaryTable(s));
}

export async function compare(api: LopperApi, ids: string[], out: (s: string) => void, format: OutputFormat = 'table'): Promise<void> {
  const c = await api.compare(ids);
  if (format !== 'table') return out(format === 'json' ? json(c) : compareCsv(c));
  out(`${c.sweeps.length} sweeps per grid cell: mean ± sample sd over each one's seeds; * on the front over all of them`);
  out(compareTable(c));
}

export async function pareto(api: LopperApi, id: string, out: (s: string) => void, objective?: string, format: OutputFormat = 'table'): Promise<void> {
  const p = await api.pareto(id, objective);
  if (format !== 'table') return out(format === 'json' ? json(p) : paretoCsv(p));
  out(`Pareto front of ${id} (accuracy up, ${PARETO_OBJECTIVES[p.objective ?? 'compression'].label}): ${p.front.length} of ${p.front.length + p.dominated.length} finished trials`);
  out(paretoTable(p));
}
