/**
 * `npm run bench:backends`: training and inference images/s of LeNet-5-BN and the MLP (`--models=lenet5,mlp,vgg-small` adds
 * vgg-small) at batch 128 on every
 * TF.js backend available here, and PyTorch (Debian's python3-torch, one thread) measured in the same run;
 * ratios to PyTorch and the fraction of this CPU's single-thread FP32 peak, measured now by scripts/peak_flops.c.
 * Each worker process runs one backend thread, so every number here is per process. `--rounds=5 --steps=10`: each round runs
 * PyTorch once (a fresh process) and then each model here; ratios are the median of the rounds' ratios, so that this VM's
 * drift (its speed moves by tens of percent within minutes) hits both sides of a ratio alike. `--torch-device=cuda` runs the
 * PyTorch reference on the GPU instead (scripts/bench-gpu.sh: WebGPU against PyTorch CUDA on the same card); `none` skips it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, BACKEND_NAMES } from '../workers/src/backends/index.js';
import { flops } from '../workers/src/pruning/metrics.js';
import type { ModelName } from '../workers/src/pruning/models.js';
import { syntheticTrainStep } from './train-step.js';
import { markdownTable } from './markdown-table.js';

const BATCH = 128;
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const steps = Number(args.get('steps') ?? 10);
const rounds = Number(args.get('rounds') ?? 5);
const backends = (args.get('backends') ?? BACKEND_NAMES.join(',')).split(',');
const models = (args.get('models') ?? 'lenet5,mlp').split(',') as ModelName[];
for (const m of models) if (!['lenet5', 'mlp', 'vgg-small'].includes(m)) throw new Error(`--models: each must be lenet5, mlp or vgg-small, got ${m}`);
const torchDevice = args.get('torch-device') ?? 'cpu';
if (!['cpu', 'cuda', 'none'].includes(torchDevice)) throw new Error(`--torch-device must be cpu, cuda or none, got ${torchDevice}`);
/** The FP32 peak measured here is one CPU core's: GPU rows get no peak fraction. */
const onCpu = (backend: string) => backend === 'wasm' || backend === 'cpu' || backend === 'tensorflow';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const TORCH_STEPS = Math.max(steps, 20);
const WARMUP = 20;

/** Images/s of `run` (one batch of BATCH) over `n` timed calls. */
async function timed(run: () => Promise<void>, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await run();
  return (n * BATCH) / ((performance.now() - t0) / 1000);
}

interface Rates { train: number; infer: number }
/** scripts/bench_torch.py's output: one Rates entry per model, by name. */
interface TorchRound { torch: string; device: string; peakGflops: number | null; [model: string]: Rates | string | number | null }
const python = torchDevice === 'none' ? undefined : ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);

/** One round of the PyTorch reference (scripts/bench_torch.py: both models, TORCH_STEPS steps each), in a fresh process. */
function torchRound(withGemm: boolean): TorchRound | null {
  if (!python) return null;
  const r = spawnSync(python, ['scripts/bench_torch.py', String(BATCH), String(TORCH_STEPS), '1', withGemm ? '1' : '0', torchDevice, String(WARMUP), models.join(',')], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) { console.error(r.stderr); return null; }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Single-thread FP32 peak (GFLOP/s), measured by an AVX2 FMA microbenchmark built with gcc. */
function measuredPeakGflops(): number | null {
  const exe = join(tmpdir(), `lopper-peak-${process.pid}`);
  const cc = spawnSync('gcc', ['-O2', '-mavx2', '-mfma', '-o', exe, 'scripts/peak_flops.c'], { encoding: 'utf8' });
  if (cc.status !== 0) return null;
  const r = spawnSync(exe, { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

const rows: string[][] = [];
const first = torchRound(true);
const peak = measuredPeakGflops();
console.log(`machine: ${cpus()[0]?.model?.trim()} x${cpus().length}; batch ${BATCH}; ${rounds} rounds, each one PyTorch run (${TORCH_STEPS} steps per model, ` +
  `a fresh process) and then ${steps} timed steps per model here, both after ${WARMUP} warm-up steps; figures are medians over the rounds, ratios the median of the rounds' ratios`);
console.log(first ? `PyTorch ${first.torch} on ${first.device}, 1 CPU thread (its CPU matmul: ${first.peakGflops!.toFixed(1)} GFLOP/s on 1024^2 SGEMM; Debian's build uses the generic reference BLAS)` : torchDevice === 'none' ? 'PyTorch: skipped (--torch-device=none)' : `PyTorch: not installed or no ${torchDevice} device (apt-get install python3-torch): no reference column`);
console.log(peak ? `single-thread FP32 peak measured now (AVX2 FMA): ${peak.toFixed(1)} GFLOP/s` : 'peak: gcc with AVX2/FMA unavailable, no peak column');
const allTorch: TorchRound[] = [];
for (const b of backends) {
  let info;
  try {
    info = await initBackend(b);
  } catch (e) {
    console.log(`${b}: unavailable (${(e as Error).message})`);
    continue;
  }
  console.log(`${b}: ${info.device}`);
  // The cpu backend takes ~1.5 s per LeNet-5 step (12 s vgg-small), and WebGPU on a software rasteriser (llvmpipe) is as
  // slow: one short round.
  const slow = b === 'cpu' || (b === 'webgpu' && /llvmpipe|swiftshader|lavapipe/i.test(info.device));
  const nRounds = slow ? 1 : rounds;
  const setups = models.map((model) => {
    const t = syntheticTrainStep(model, BATCH);
    return { name: model, net: t.model, step: t.step, infer: t.infer, dispose: t.dispose, n: slow && model !== 'mlp' ? Math.min(steps, 2) : steps, ours: [] as Rates[], ref: [] as Rates[] };
  });
  // Warm-up to steady state: V8 compiles WebAssembly with its baseline compiler first and tiers hot functions up later, so
  // with two warm-up steps the next twenty LeNet-5 steps ran 5-40% slower than later ones (measured), and a trial runs
  // thousands. PyTorch gets the same warm-up in each round (it gains nothing from it: no JIT).
  const warmup = slow ? 1 : WARMUP;
  for (const s of setups) for (let i = 0; i < warmup; i++) { await s.step(); await s.infer(); }
  for (let r = 0; r < nRounds; r++) {
    // PyTorch and this backend back to back in each round: drift of this VM between rounds hits both sides of a ratio.
    const t = torchRound(false);
    if (t) allTorch.push(t);
    for (const s of setups) {
      s.ours.push({ train: await timed(s.step, s.n), infer: await timed(s.infer, s.n) });
      if (t) s.ref.push(t[s.name] as Rates);
    }
  }
  for (const s of setups) {
    const med = (k: keyof Rates, xs: Rates[]) => median(xs.map((x) => x[k]));
    const ratio = (k: keyof Rates) => (s.ref.length ? median(s.ours.map((o, i) => o[k] / s.ref[i][k])).toFixed(2) : '-');
    // Training costs about 3x the forward FLOPs (forward, input gradients, weight gradients).
    const peakFrac = peak && onCpu(b) ? (3 * flops(s.net) * med('train', s.ours)) / (peak * 1e9) : NaN;
    rows.push([b === 'webgpu' || b === 'cuda' ? `${b} (${info.device.slice(0, 40)})` : b, s.name, med('train', s.ours).toFixed(0), s.ref.length ? med('train', s.ref).toFixed(0) : '-', ratio('train'),
      med('infer', s.ours).toFixed(0), s.ref.length ? med('infer', s.ref).toFixed(0) : '-', ratio('infer'), Number.isFinite(peakFrac) ? `${(100 * peakFrac).toFixed(1)}%` : '-']);
    s.dispose();
  }
}
if (allTorch.length) for (const model of models) rows.push(['pytorch', model, median(allTorch.map((t) => (t[model] as Rates).train)).toFixed(0), '', '1.00', median(allTorch.map((t) => (t[model] as Rates).infer)).toFixed(0), '', '1.00', '']);
const head = ['backend', 'model', 'train img/s', 'torch train', 'ratio', 'infer img/s', 'torch infer', 'ratio', 'train % of peak'];
console.log(markdownTable(head, rows));
