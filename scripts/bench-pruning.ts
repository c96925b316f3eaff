/**
 * `npm run bench:pruning`: the pruning-quality benchmark of the pruning-engine issue. LeNet-5 (BatchNorm) on the full
 * Fashion-MNIST (60,000 / 10,000), 3 seeds, through the product's own activities (trainBaseline, runTrial: the same
 * code a sweep runs), with a file-backed repository instead of Postgres. Prints one table (mean and spread over
 * seeds) and writes it to docs/results.md with the command. `--model=vgg-small` or `--model=resnet-small` runs a
 * shorter grid (one control, the structured criteria and LAMP at one amount each) on that model, in its own section.
 *
 * Resumable: baselines and finished trials are kept under .cache/bench-pruning/ (delete it to start over).
 * One child process per seed, up to --jobs at a time (default: the number of cores); WASM is single-threaded.
 * After the runs, the parent measures inference latency of every baseline/pruned pair again, one model pair at a time with
 * nothing else running (the in-trial latency is taken while the other seeds train), and reports that speedup.
 *   --model=lenet5  --seeds=1,2,3  --jobs=N  --baseline-epochs=6 (3 for the larger models)  --finetune-epochs=3  --finetune-lr=1e-3  --report-only
 *   --only=KEY[,KEY]: run only these rows' trials now, KEY a method or method:amount:epochs[:kd][:flopsP][:keepF] (the report covers every row)
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import type { BaselineRef, ComputeHeartbeat, TrialOutcome } from '../workflows/src/activity-types.js';
import type { SweepSpec, MethodName } from '../workflows/src/spec.js';
import { createActivities, baselineKey } from '../workers/src/activities.js';
import { DirectoryArtifactStore } from '../workers/src/artifacts.js';
import { initBackend } from '../workers/src/backends/index.js';
import type { BaselineRow, TrialResult, WorkerRepository } from '../workers/src/repository.js';
import { mean, sampleSd } from '../apps/api/src/summary.js';
import { markdownTable } from './markdown-table.js';
import type { ModelName } from '../workers/src/pruning/models.js';

const args = new Map(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? 'true'] as [string, string]; }));
const BENCH_MODELS = ['lenet5', 'vgg-small', 'resnet-small'] as const satisfies readonly ModelName[];
const model = (args.get('model') ?? 'lenet5') as (typeof BENCH_MODELS)[number];
if (!BENCH_MODELS.includes(model)) throw new Error(`--model=${model} is not one of ${BENCH_MODELS.join(', ')} (the models with BatchNorm, which Network Slimming needs)`);
const seeds = (args.get('seeds') ?? '1,2,3').split(',').map(Number);
const baselineEpochs = Number(args.get('baseline-epochs') ?? (model === 'lenet5' ? 6 : 3));
const finetuneEpochs = Number(args.get('finetune-epochs') ?? 3);
const finetuneLr = Number(args.get('finetune-lr') ?? 1e-3);
const jobs = Number(args.get('jobs') ?? cpus().length);
/**
 * --recalibrate=N: batchNormRecalibration N (the baselines' and trials' BatchNorm statistics recomputed from N training
 * batches before evaluation; 0, the default, keeps the sweep default and every cached baseline's key).
 */
const recalibrate = Number(args.get('recalibrate') ?? 0);
if (!(Number.isInteger(recalibrate) && recalibrate >= 0)) throw new Error(`--recalibrate=${args.get('recalibrate')} must be a whole number of batches >= 0`);
/** Smoke runs only (--subset=N: N train and N/5 test images); the benchmark itself uses the full data and writes nothing else. */
const subset = args.has('subset') ? Number(args.get('subset')) : undefined;
const CACHE = '.cache/bench-pruning';
const COMMAND = 'npm run bench:pruning';
/** The command as run (the options that shape the results; --jobs and --only do not), for the results' heading. */
const commandRun = () => {
  const opts = [...(model !== 'lenet5' ? [`--model=${model}`] : []), ...['seeds', 'baseline-epochs', 'finetune-epochs', 'finetune-lr', 'recalibrate'].filter((k) => args.has(k)).map((k) => `--${k}=${args.get(k)}`)];
  return opts.length ? `${COMMAND} -- ${opts.join(' ')}` : COMMAND;
};

type Distill = { temperature: number; alpha: number } | null;
/** One row of the grid; `goal` names the issue's target it is measured against. Rows may fine-tune longer or distil. */
interface Row { method: MethodName; amount: number; target: string; goal: 'control' | 'unstructured-90' | 'headline' | 'structured' | 'reference'; finetuneEpochs?: number; distill?: Distill; flopsPenalty?: number; minKeepFraction?: number }
const KD: Distill = { temperature: 4, alpha: 0.5 };
const LENET_ROWS: Row[] = [
  // One control per fine-tuning configuration (no pruning, the same fine-tuning): "drop vs control" is the cost of pruning itself.
  { method: 'l1-unstructured', amount: 0, goal: 'control', target: 'control: no pruning, same fine-tuning' },
  { method: 'l1-unstructured', amount: 0, goal: 'control', target: 'control: no pruning, same fine-tuning', finetuneEpochs: 6, distill: KD },
  { method: 'l1-unstructured', amount: 0, goal: 'control', target: 'control: no pruning, same fine-tuning', finetuneEpochs: 10, distill: KD },
  { method: 'l1-unstructured', amount: 0, goal: 'control', target: 'control: no pruning, same fine-tuning', finetuneEpochs: 12 },
  { method: 'gradual-l1-unstructured', amount: 0.91, goal: 'unstructured-90', target: '>= 90% nonzero reduction, drop <= 0.5', finetuneEpochs: 6, distill: KD },
  { method: 'gradual-lamp-unstructured', amount: 0.91, goal: 'unstructured-90', target: '>= 90% nonzero reduction, drop <= 0.5', finetuneEpochs: 6, distill: KD },
  { method: 'gradual-lamp-unstructured', amount: 0.91, goal: 'unstructured-90', target: '>= 90% nonzero reduction, drop <= 0.5', finetuneEpochs: 10, distill: KD },
  { method: 'gradual-lamp-unstructured', amount: 0.82, goal: 'headline', target: '80% smaller, drop <= 0.3', finetuneEpochs: 6, distill: KD },
  // The tutorial's torch API criteria, per layer, channels removed for real: for reference (no target of the issue names them).
  { method: 'ln-structured', amount: 0.5, goal: 'reference', target: 'reference: torch ln_structured, n = 2' },
  { method: 'random-structured', amount: 0.5, goal: 'reference', target: 'reference: torch random_structured' },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x' },
  // Molchanov et al. 2017's FLOPs regularisation: importance - penalty x (channel FLOPs / the costliest channel's), so that the
  // ranking takes convolution filters (where the time goes) before dense units of equal importance.
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.1 },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.2 },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.3 },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.3, finetuneEpochs: 6, distill: KD },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.2, finetuneEpochs: 12 },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.3, finetuneEpochs: 12 },
  // Physically 80% smaller: the headline with channels removed for real, not masks.
  { method: 'taylor-structured', amount: 0.6, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.2, finetuneEpochs: 12 },
  // Every layer keeps at least 40% of its channels (conv1 3 of 6): the seeds whose conv1 fell to 2 filters lost over a point.
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.3, finetuneEpochs: 12, minKeepFraction: 0.4 },
  { method: 'taylor-structured', amount: 0.6, goal: 'headline', target: '80% smaller, drop <= 0.3', flopsPenalty: 0.1, finetuneEpochs: 12 },
  { method: 'taylor-structured', amount: 0.65, goal: 'headline', target: '80% smaller, drop <= 0.3', finetuneEpochs: 12 },
  { method: 'taylor-structured', amount: 0.7, goal: 'headline', target: '80% smaller, drop <= 0.3', finetuneEpochs: 12 },
  { method: 'network-slimming', amount: 0.3, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x' },
  { method: 'network-slimming', amount: 0.3, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', finetuneEpochs: 12 },
];
/** vgg-small and resnet-small: each method once at half the channels (LAMP at 0.9 of the weights), the default fine-tuning. */
const LARGER_ROWS: Row[] = [
  { method: 'l1-unstructured', amount: 0, goal: 'control', target: 'control: no pruning, same fine-tuning' },
  { method: 'gradual-lamp-unstructured', amount: 0.9, goal: 'headline', target: '80% smaller, drop <= 0.3' },
  { method: 'ln-structured', amount: 0.5, goal: 'reference', target: 'reference: torch ln_structured, n = 2' },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x' },
  { method: 'network-slimming', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x' },
];
/**
 * vgg-small: the structured target between plain Taylor (74% removed, no loss, 1.73x: it takes dense units first) and
 * slimming at 0.5 (87% removed, 4.3x, 1.4 points): Taylor with the FLOPs penalty, slimming at 0.4.
 */
const VGG_ROWS: Row[] = [
  ...LARGER_ROWS,
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.1 },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', flopsPenalty: 0.2 },
  { method: 'network-slimming', amount: 0.4, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x' },
];
/** resnet-small (half its channels cost it 5-8 points after 3 epochs): a quarter of the channels, and Taylor with 12 epochs. */
const RESNET_ROWS: Row[] = [
  ...LARGER_ROWS,
  { method: 'taylor-structured', amount: 0.25, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x' },
  { method: 'network-slimming', amount: 0.25, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x' },
  { method: 'taylor-structured', amount: 0.5, goal: 'structured', target: '>= 60% params removed, drop <= 1.0, >= 1.8x', finetuneEpochs: 12 },
];
const ROWS = model === 'lenet5' ? LENET_ROWS : model === 'vgg-small' ? VGG_ROWS : RESNET_ROWS;
const rowEpochs = (r: Row) => r.finetuneEpochs ?? finetuneEpochs;
const rowDistill = (r: Row): Distill => r.distill ?? null;
const rowKey = (r: Row) => `${r.method}:${r.amount}:${rowEpochs(r)}${rowDistill(r) ? ':kd' : ''}${r.flopsPenalty ? `:flops${r.flopsPenalty}` : ''}${r.minKeepFraction ? `:keep${r.minKeepFraction}` : ''}`;
/** The spec a row's trials run with: the sweep's, with the row's fine-tuning. */
const rowSpec = (r: Row): SweepSpec => ({ ...spec, finetuneEpochs: rowEpochs(r), finetune: { ...spec.finetune!, distill: rowDistill(r) }, structured: { ...spec.structured, flopsPenalty: r.flopsPenalty ?? 0, minKeepFraction: r.minKeepFraction ?? spec.structured.minKeepFraction } });
const rowLabel = (r: Row) => {
  const notes = [...(r.finetuneEpochs ? [`${r.finetuneEpochs} ep`] : []), ...(r.distill ? ['KD'] : []), ...(r.flopsPenalty ? [`FLOPs penalty ${r.flopsPenalty}`] : []), ...(r.minKeepFraction ? [`layers keep >= ${r.minKeepFraction}`] : [])];
  return `${r.method} ${r.amount}${notes.length ? ` (${notes.join(', ')})` : ''}`;
};

const spec: SweepSpec = {
  name: 'bench-pruning', model, dataset: 'fashion-mnist', methods: [...new Set(ROWS.map((r) => r.method))], amounts: [...new Set(ROWS.map((r) => r.amount))],
  seeds, baselineEpochs, finetuneEpochs, finetuneLearningRate: finetuneLr, batchSize: 128, ...(recalibrate ? { batchNormRecalibration: recalibrate } : {}), ...(subset ? { trainSubset: subset, testSubset: Math.ceil(subset / 5) } : {}), learningRate: 1e-3, concurrency: 1, requireGpu: false,
  slimming: { lambda: 1e-4, sparsityEpochs: 1 },
  finetune: { lrSchedule: 'cosine', minLearningRate: 1e-6, unprunedLrMultiplier: 1, distill: null },
  structured: { minKeepFraction: 0.1, importanceBatches: 10, hybridChannelFraction: 0.5, norm: 2 },
  tags: ['benchmark'],
};

type Stored = TrialResult & { method: string; amount: number; seed: number; commit?: string };

/** The code a trial ran with: HEAD, marked dirty when the product or this script has uncommitted changes. */
function codeVersion(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'workers', 'workflows', 'scripts/bench-pruning.ts'], { encoding: 'utf8' }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown (no git)';
  }
}

/** The activities' repository, kept in JSON files (atomic renames): resumable and inspectable. */
class FileRepository {
  constructor(private readonly dir: string) { mkdirSync(join(dir, 'baselines'), { recursive: true }); mkdirSync(join(dir, 'trials'), { recursive: true }); }
  private write(path: string, value: unknown) { writeFileSync(`${path}.tmp`, JSON.stringify(value, null, 1)); renameSync(`${path}.tmp`, path); }
  async markSweepRunning() {}
  async findBaseline(key: string) { const p = join(this.dir, 'baselines', `${key}.json`); return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as BaselineRow) : null; }
  async saveBaseline(row: BaselineRow) { this.write(join(this.dir, 'baselines', `${row.key}.json`), row); return row; }
  async linkBaseline() {}
  async getTrial(trialId: string) { return { id: trialId, status: existsSync(this.trialPath(trialId)) ? 'DONE' : 'PENDING', sweepId: 'bench' }; }
  async startTrial() {}
  async completeTrial(trialId: string, r: TrialResult) { const [, method, amount, seed] = trialId.split(':'); this.write(this.trialPath(trialId), { ...r, method, amount: Number(amount), seed: Number(seed), commit: codeVersion() }); }
  async failTrial(trialId: string, error: string) { console.error(`${trialId} failed: ${error}`); }
  async finishSweep() {}
  trialPath(trialId: string) { return join(this.dir, 'trials', `${trialId.replace(/[:/]/g, '_')}.json`); }
  trials(): Stored[] { return readdirSync(join(this.dir, 'trials')).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(this.dir, 'trials', f), 'utf8')) as Stored); }
}

const repo = new FileRepository(CACHE);

async function activitiesFor(seed: number) {
  const backend = await initBackend();
  const activities = createActivities({ repo: repo as unknown as WorkerRepository, artifacts: new DirectoryArtifactStore(join(CACHE, 'artifacts')), backend });
  const env = new MockActivityEnvironment();
  let last = 0;
  env.on('heartbeat', (d: ComputeHeartbeat) => {
    if (Date.now() - last > 30_000) { last = Date.now(); console.log(`seed ${seed}: ${d.phase}${d.epoch !== undefined ? ` epoch ${d.epoch + 1} batch ${d.batch}/${d.batches}` : ''}`); }
  });
  return { activities, env };
}

/** Child task: the seed's baseline (row < 0) or one row of the grid on the seed's cached baseline. */
async function runTask(seed: number, row: number) {
  const { activities, env } = await activitiesFor(seed);
  const t0 = Date.now();
  const baseline: BaselineRef = await env.run(activities.trainBaseline, { sweepId: 'bench', spec, seed });
  if (row < 0) { console.log(`seed ${seed}: baseline ${(100 * baseline.accuracy).toFixed(2)}% (${baselineKey(spec, seed).slice(0, 8)}), ${((Date.now() - t0) / 1000).toFixed(0)} s`); return; }
  const r = ROWS[row];
  const out: TrialOutcome = await env.run(activities.runTrial, { trialId: trialId(r, seed), sweepId: 'bench', spec: rowSpec(r), method: r.method, amount: r.amount, seed, baseline });
  console.log(`seed ${seed}: ${rowLabel(r)}: ${out.skipped ? 'cached' : `${(100 * out.accuracy).toFixed(2)}%, ${((Date.now() - t0) / 1000).toFixed(0)} s`}`);
}

function trialId(r: Row, seed: number) {
  const d = rowDistill(r);
  return `bench-${model === 'lenet5' ? '' : `${model}-`}b${baselineEpochs}-f${rowEpochs(r)}-lr${finetuneLr}${d ? `-kd${d.temperature}-${d.alpha}` : ''}${r.flopsPenalty ? `-flops${r.flopsPenalty}` : ''}${r.minKeepFraction ? `-keep${r.minKeepFraction}` : ''}${recalibrate ? `-bn${recalibrate}` : ''}${subset ? `-s${subset}` : ''}:${r.method}:${r.amount}:${seed}`;
}

const LATENCY_ROUNDS = 15;
/** Artifacts are content-addressed: the file name is the key, wherever the cache was when the trial ran. */
const artifactKey = (uri: string | null | undefined) => (uri ? basename(uri) : '');
const local = (uri: string) => `file:${join(CACHE, 'artifacts', artifactKey(uri))}`;
/** Speedup = median over paired rounds of baseline / pruned median latency, measured here one pair at a time (cached per trial in .cache). */
async function cleanSpeedups(trials: Stored[], baselines: BaselineRow[]): Promise<Map<string, number>> {
  const path = join(CACHE, `latency-paired${LATENCY_ROUNDS}.json`);
  const cache = new Map<string, number>(existsSync(path) ? Object.entries(JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>) : []);
  const artifacts = new DirectoryArtifactStore(join(CACHE, 'artifacts'));
  await initBackend();
  const { deserializeModel } = await import('../workers/src/pruning/serialize.js');
  const { inferenceLatencyMs } = await import('../workers/src/pruning/metrics.js');
  for (const t of trials) {
    const key = artifactKey(t.artifactUri);
    if (!t.artifactUri || cache.has(key)) continue;
    const b = baselines.find((x) => x.key === (t.config as { baselineKey: string }).baselineKey);
    if (!b) continue;
    const [base, pruned] = [await deserializeModel(await artifacts.get(local(b.artifactUri))), await deserializeModel(await artifacts.get(local(t.artifactUri)))];
    // Paired rounds: each round times both models back to back (median of 10 passes each) and takes their ratio; the speedup
    // is the median of the rounds' ratios, so drift of the machine between rounds cancels.
    const ratios: number[] = [];
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      const b = await inferenceLatencyMs(base, { runs: 10, warmup: 2 });
      ratios.push(b / await inferenceLatencyMs(pruned, { runs: 10, warmup: 2 }));
    }
    const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
    cache.set(key, med(ratios));
    base.dispose();
    pruned.dispose();
    writeFileSync(path, JSON.stringify(Object.fromEntries(cache), null, 1));
  }
  return cache;
}

const sd = sampleSd;
const pm = (xs: number[], digits: number, scale = 1) => `${(scale * mean(xs)).toFixed(digits)} ± ${(scale * sd(xs)).toFixed(digits)}`;

/** This configuration's trials of a row (from `all`, the stored trials read once): same baselines, the row's fine-tuning, one of the seeds. */
function rowTrials(r: Row, baselines: BaselineRow[], all: Stored[]): Stored[] {
  const keys = new Set(baselines.map((b) => b.key));
  return all.filter((t) => {
    const c = t.config as { baselineKey?: string; finetuneEpochs?: number; finetuneLearningRate?: number; finetune?: { distill?: Distill }; flopsPenalty?: number; minKeepFraction?: number };
    return keys.has(c.baselineKey ?? '') && c.finetuneEpochs === rowEpochs(r) && c.finetuneLearningRate === finetuneLr && seeds.includes(t.seed)
      && JSON.stringify(c.finetune?.distill ?? null) === JSON.stringify(rowDistill(r)) && r.method === t.method && r.amount === t.amount
      && (c.flopsPenalty ?? 0) === (r.flopsPenalty ?? 0) && (c.minKeepFraction ?? spec.structured.minKeepFraction) === (r.minKeepFraction ?? spec.structured.minKeepFraction);
  });
}

/** The issue's targets; each is judged on the rows it applies to, by mean over the seeds. */
interface Target { name: string; applies: (r: Row) => boolean; met: (m: Means) => boolean; text: (m: Means) => string }
interface Means { nonzero: number; removed: number; drop: number; speed: number }
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const TARGETS: Target[] = [
  {
    name: 'LeNet-5, unstructured: >= 90% nonzero reduction with mean drop <= 0.5 pts',
    applies: (r) => r.goal === 'unstructured-90',
    met: (m) => m.nonzero >= 0.9 && m.drop <= 0.5,
    text: (m) => `${pct(m.nonzero)} nonzero reduction, drop ${m.drop.toFixed(2)}`,
  },
  {
    name: 'Structured (slimming or Taylor): >= 60% of parameters physically removed, mean drop <= 1.0 pts, >= 1.8x measured speedup',
    applies: (r) => r.goal === 'structured',
    met: (m) => m.removed >= 0.6 && m.drop <= 1.0 && m.speed >= 1.8,
    text: (m) => `${pct(m.removed)} removed, drop ${m.drop.toFixed(2)}, ${m.speed.toFixed(2)}x`,
  },
  {
    name: "The tutorial's headline: 80% smaller (nonzero reduction) with mean drop <= 0.3 pts",
    applies: (r) => r.goal !== 'control',
    met: (m) => m.nonzero >= 0.8 && m.drop <= 0.3,
    text: (m) => `${pct(m.nonzero)}, drop ${m.drop.toFixed(2)}`,
  },
];

function report(baselines: BaselineRow[], all: Stored[], speedups: Map<string, number>): { table: string; complete: boolean; verdicts: string[] } {
  const baselineFlops = mean(baselines.map((b) => Number(b.flops)));
  /** The control row that fine-tunes exactly as `r` does (same epochs, same distillation), if the grid has one. */
  const controlFor = (r: Row) => ROWS.find((c) => c.goal === 'control' && rowEpochs(c) === rowEpochs(r) && JSON.stringify(rowDistill(c)) === JSON.stringify(rowDistill(r)));
  const header = ['method', 'amount', 'target', 'seeds', 'params removed', 'compression (nonzero reduction)', 'nonzero params', 'accuracy %', 'drop (pts)', 'drop vs control', 'eff. FLOPs (vs baseline)', 'speedup', 'size', 'gzip size'];
  const lines: string[][] = [];
  const outcomes = new Map<Target, { label: string; met: boolean; text: string }[]>(TARGETS.map((t) => [t, []]));
  let complete = true;
  for (const r of ROWS) {
    const ts = rowTrials(r, baselines, all);
    if (ts.length < seeds.length) complete = false;
    if (!ts.length) { lines.push([rowLabel(r).replace(` ${r.amount}`, ''), String(r.amount), r.target, '0', ...header.slice(4).map(() => '')]); continue; }
    const removed = ts.map((t) => 1 - t.totalParams / t.baselineParams);
    const nonzero = ts.map((t) => t.compressionRate);
    const drop = ts.map((t) => 100 * t.accuracyDrop);
    const speed = ts.map((t) => speedups.get(artifactKey(t.artifactUri)) ?? NaN);
    const controlRow = controlFor(r);
    const control = controlRow ? rowTrials(controlRow, baselines, all) : [];
    const dropControl = ts.map((t) => { const c = control.find((x) => x.seed === t.seed); return c ? 100 * (c.accuracy - t.accuracy) : NaN; });
    const effFlops = ts.map((t) => t.effectiveFlops);
    lines.push([
      rowLabel(r).replace(` ${r.amount}`, ''), String(r.amount), r.target, String(ts.length), pm(removed, 1, 100) + '%', pm(nonzero, 1, 100) + '%', `${(mean(ts.map((t) => t.nonzeroParams)) / 1e3).toFixed(1)}k`, pm(ts.map((t) => t.accuracy), 2, 100), pm(drop, 2), dropControl.some(Number.isNaN) ? 'n/a' : pm(dropControl, 2),
      `${(mean(effFlops) / 1e3).toFixed(0)}k (${(100 * mean(effFlops) / baselineFlops).toFixed(0)}%)`, `${mean(speed).toFixed(2)}x ± ${sd(speed).toFixed(2)}`,
      `${(mean(ts.map((t) => t.sizeBytes)) / 1024).toFixed(1)} KiB`, `${(mean(ts.map((t) => t.gzipBytes)) / 1024).toFixed(1)} KiB`,
    ]);
    const m = { nonzero: mean(nonzero), removed: mean(removed), drop: mean(drop), speed: mean(speed) };
    for (const t of TARGETS) if (t.applies(r)) outcomes.get(t)!.push({ label: rowLabel(r), met: t.met(m), text: t.text(m) });
  }
  const table = markdownTable(header, lines);
  const verdicts = TARGETS.filter((t) => outcomes.get(t)!.length).map((t) => {
    const rows = outcomes.get(t)!;
    const list = (xs: typeof rows) => xs.map((x) => `${x.label} (${x.text})`).join('; ');
    const met = rows.filter((x) => x.met);
    const missed = rows.filter((x) => !x.met);
    return `${t.name}: ${met.length ? `**met** by ${list(met)}` : '**missed** by every row'}${missed.length && met.length ? `. Missed by ${list(missed)}` : missed.length ? `: ${list(missed)}` : ''}.`;
  });
  return { table, complete, verdicts };
}

function writeResults(table: string, verdicts: string[], baselines: BaselineRow[], trials: Stored[], device: string) {
  const byCommit = new Map<string, number>();
  for (const t of trials) byCommit.set(t.commit ?? 'not recorded', (byCommit.get(t.commit ?? 'not recorded') ?? 0) + 1);
  const code = [...byCommit].map(([c, n]) => `${c} (${n} trial${n === 1 ? '' : 's'})`).join(', ');
  const path = 'docs/results.md';
  const doc = readFileSync(path, 'utf8');
  // LeNet-5's section keeps its heading; each larger model has its own, after LeNet-5's discussion (or replaces its previous run).
  const heading = model === 'lenet5' ? `## Pruning quality (\`${COMMAND}\`)` : `## Pruning quality on ${model} (`;
  const found = doc.indexOf(heading);
  const start = found >= 0 ? found : doc.indexOf('## Pruning quality: the second configuration');
  const end = found >= 0 ? doc.indexOf('\n## ', start + 5) + 1 : start;
  if (start < 0) throw new Error(`docs/results.md has no "${heading}" section and no place to put one`);
  const accs = baselines.map((b) => 100 * b.accuracy);
  const described = { lenet5: 'LeNet-5 with BatchNorm', 'vgg-small': 'vgg-small (six 3x3 convolutions of 16, 16, 32, 32, 64 and 64 channels, each with BatchNorm, max-pooled in pairs; a 128-unit dense layer with BatchNorm)', 'resnet-small': 'resnet-small (a 16-channel stem and two residual stages of two 3x3 convolutions, 16 and 32 channels, the second strided with a 1x1 projection shortcut, BatchNorm after every convolution, global average pooling; the channels an addition joins are pruned together)' }[model];
  const section = `${model === 'lenet5' ? heading : `## Pruning quality on ${model} (\`${commandRun()}\`)`}

Command: \`${commandRun()}\` (settings: --seeds=${seeds.join(',')} --baseline-epochs=${baselineEpochs} --finetune-epochs=${finetuneEpochs} --finetune-lr=${finetuneLr}). Machine: ${device}.
${described}, full Fashion-MNIST (60,000 train / 10,000 test), batch 128, Adam 1e-3; baselines trained ${baselineEpochs} epochs
(accuracy ${pm(accs, 2)}% over seeds ${seeds.join(', ')}); every row fine-tunes ${finetuneEpochs} epoch(s) from lr ${finetuneLr} with cosine annealing
unless its method column says otherwise ("N ep, KD": N epochs with knowledge distillation from the unpruned baseline, T = ${KD!.temperature},
alpha = ${KD!.alpha}), through the same activities a sweep runs.${recalibrate ? ` Before each evaluation, the BatchNorm moving statistics of the baseline and of every trial were recomputed from ${recalibrate} training batches (\`batchNormRecalibration: ${recalibrate}\`).` : ''} Mean ± sample standard deviation over the seeds. "drop" = baseline - pruned
accuracy of the same seed; because fine-tuning is extra training, the table also gives "drop vs control": the same fine-tuning of the
unpruned baseline (amount 0, one control per fine-tuning configuration) minus the pruned model, the cost of pruning itself. "params removed" counts parameters physically gone from the model; "compression" is 1 - nonzero / baseline params (the nonzero
reduction); "nonzero params" the mean count (baseline: ${(mean(baselines.map((b) => b.totalParams)) / 1e3).toFixed(1)}k). "size" is the stored model (topology + float32 weights, zeros included) and "gzip size" its gzip.
"speedup" = latency of one batch-64 forward pass of the baseline / of the pruned model on the WASM backend, measured after all
training, one pair at a time: the median over ${LATENCY_ROUNDS} paired rounds of (median of 10 baseline passes / median of 10 pruned passes).
${ROWS.some((r) => r.method === 'gradual-l1-unstructured') ? 'gradual-l1-unstructured and gradual-lamp-unstructured raise' : 'gradual-lamp-unstructured raises'} sparsity on a polynomial (AGP) schedule over the first 70% of fine-tuning
steps, with one global threshold on ${ROWS.some((r) => r.method === 'gradual-l1-unstructured') ? '|w| or on ' : ''}per-layer LAMP scores (Lee et al. 2021).
Network Slimming trains one extra sparsity epoch (L1 1e-4 on BatchNorm gamma) before its global |gamma| threshold and keeps at least
10% of each layer. taylor-structured ranks channels by |mean(activation x gradient)| over ${spec.structured!.importanceBatches} batches, normalised per layer${ROWS.some((r) => r.flopsPenalty) ? `, minus ("FLOPs penalty p") p x the channel's FLOPs / the costliest channel's (Molchanov et al. 2017's FLOPs regularisation${model === 'lenet5' ? '; a conv1 filter is the costliest' : ''})` : ''}; ln-structured (torch n = 2)${ROWS.some((r) => r.method === 'random-structured') ? ' and random-structured (seeded) remove' : ' removes'} that fraction of the channels of every layer.
Code: the trials were trained at commit ${code}; baselines are cached per configuration and seed (.cache/bench-pruning).

${table}

${verdicts.map((v) => `- ${v}`).join('\n')}
`;
  writeFileSync(path, doc.slice(0, start) + section + (found >= 0 && end <= 0 ? '' : `\n${doc.slice(end).replace(/^\n+/, '')}`));
}

if (args.has('child')) {
  await runTask(seeds[0], Number(args.get('row') ?? -1));
  process.exit(0);
}
if (!args.has('report-only')) {
  // Baselines first (each trial needs its seed's), then every (seed, row) trial, longest first, --jobs at a time.
  const common = [`--model=${model}`, `--recalibrate=${recalibrate}`, `--baseline-epochs=${baselineEpochs}`, `--finetune-epochs=${finetuneEpochs}`, `--finetune-lr=${finetuneLr}`, ...(subset ? [`--subset=${subset}`] : [])];
  const runOne = (seed: number, row: number) => new Promise<void>((resolveRun, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], '--child', `--seeds=${seed}`, `--row=${row}`, ...common], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolveRun() : reject(new Error(`seed ${seed} row ${row} exited with ${code}`))));
  });
  // One pool: a trial waits only for its own seed's baseline, so no core idles while the last baseline trains.
  const cost = (r: Row) => rowEpochs(r) + (r.method === 'network-slimming' ? spec.slimming!.sparsityEpochs : 0);
  const order = ROWS.map((_, i) => i).sort((a, b) => cost(ROWS[b]) - cost(ROWS[a]));
  const only = args.get('only')?.split(',');
  const tasks: [number, number][] = [...seeds.map((s) => [s, -1] as [number, number]), ...order.filter((i) => !only || only.includes(ROWS[i].method) || only.includes(rowKey(ROWS[i]))).flatMap((i) => seeds.map((s) => [s, i] as [number, number])).filter(([s, i]) => !existsSync(repo.trialPath(trialId(ROWS[i], s))))];
  const baselineDone = new Map<number, Promise<void>>();
  const started = new Map<number, () => void>();
  for (const s of seeds) baselineDone.set(s, new Promise<void>((res) => started.set(s, res)));
  const finished = new Set<number>();
  const next = () => {
    const i = tasks.findIndex(([s, row]) => row < 0 || finished.has(s));
    return i >= 0 ? i : 0;
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
    while (tasks.length) {
      const [seed, row] = tasks.splice(next(), 1)[0];
      if (row >= 0) await baselineDone.get(seed);
      await runOne(seed, row);
      if (row < 0) { finished.add(seed); started.get(seed)!(); }
    }
  }));
}
const baselines = (await Promise.all(seeds.map((s) => repo.findBaseline(baselineKey(spec, s))))).filter((b): b is BaselineRow => !!b);
const stored = repo.trials();
const used = ROWS.flatMap((r) => rowTrials(r, baselines, stored));
const speedups = await cleanSpeedups(used, baselines);
const { table, complete, verdicts } = report(baselines, stored, speedups);
console.log(table);
for (const v of verdicts) console.log(`- ${v}`);
if (complete && !subset) {
  const { device } = await initBackend();
  writeResults(table, verdicts, baselines, used, device);
  console.log('written to docs/results.md');
} else {
  console.log(subset ? 'smoke run on a subset: docs/results.md left unchanged' : 'incomplete (some seeds or methods have not run): docs/results.md left unchanged');
}
