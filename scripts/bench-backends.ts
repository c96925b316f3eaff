/**
 * `npm run bench:backends`: training and inference images/s of LeNet-5-BN and the MLP at batch 128 on every
 * TF.js backend available here, and PyTorch (Debian's python3-torch, one thread) measured in the same run;
 * ratios to PyTorch and the fraction of this CPU's single-thread FP32 peak, measured now by scripts/peak_flops.c.
 * Each worker process runs one backend thread, so every number here is per process.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, BACKEND_NAMES } from '../workers/src/backends/index.js';
import { flops } from '../workers/src/pruning/metrics.js';
import type { ModelName } from '../workers/src/pruning/models.js';
import { syntheticTrainStep } from './train-step.js';

const BATCH = 128;
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const steps = Number(args.get('steps') ?? 10);
const rounds = Number(args.get('rounds') ?? 5);
const backends = (args.get('backends') ?? BACKEND_NAMES.join(',')).split(',');
const models: ModelName[] = ['lenet5', 'mlp'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Images/s of `run` (one batch), the median over `rounds` rounds of `stepsFor` batches each: drift of this VM hits single rounds. */
async function rate(run: () => Promise<void>, stepsFor: number, roundsFor: number): Promise<number> {
  for (let i = 0; i < 2; i++) await run();
  const rates: number[] = [];
  for (let r = 0; r < roundsFor; r++) {
    const t0 = performance.now();
    for (let i = 0; i < stepsFor; i++) await run();
    rates.push((stepsFor * BATCH) / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

async function measure(model: ModelName, stepsFor: number, roundsFor: number) {
  const { model: m, x, step, dispose } = syntheticTrainStep(model, BATCH);
  const train = await rate(step, stepsFor, roundsFor);
  const infer = await rate(async () => { const p = m.predict(x, { batchSize: BATCH }) as tf.Tensor; await p.data(); p.dispose(); }, stepsFor, roundsFor);
  const f = flops(m);
  dispose();
  return { train, infer, forwardFlops: f };
}

function torchReference(): { torch: string; lenet5: { train: number; infer: number }; mlp: { train: number; infer: number }; peakGflops: number } | null {
  const py = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!py) return null;
  const r = spawnSync(py, ['scripts/bench_torch.py', String(BATCH), String(Math.max(steps, 20)), String(rounds)], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
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
const torch = torchReference();
const peak = measuredPeakGflops();
console.log(`machine: ${cpus()[0]?.model?.trim()} x${cpus().length}; batch ${BATCH}; median of ${rounds} rounds of ${steps} timed steps (PyTorch: of ${Math.max(steps, 20)}) after 2 warm-up steps`);
console.log(torch ? `PyTorch ${torch.torch}, 1 thread (its matmul uses Debian's generic BLAS: ${torch.peakGflops.toFixed(1)} GFLOP/s on 1024^2 SGEMM)` : 'PyTorch: not installed (apt-get install python3-torch): no reference column');
console.log(peak ? `single-thread FP32 peak measured now (AVX2 FMA): ${peak.toFixed(1)} GFLOP/s` : 'peak: gcc with AVX2/FMA unavailable, no peak column');
for (const b of backends) {
  let info;
  try {
    info = await initBackend(b);
  } catch (e) {
    console.log(`${b}: unavailable (${(e as Error).message})`);
    continue;
  }
  for (const model of models) {
    // The cpu backend takes ~14 s per LeNet step, and WebGPU on a software rasteriser (llvmpipe) is as slow.
    const slow = (b === 'cpu' || (b === 'webgpu' && /llvmpipe|swiftshader|lavapipe/i.test(info.device))) && model === 'lenet5';
    const r = slow ? await measure(model, Math.min(steps, 2), 1) : await measure(model, steps, rounds);
    const ref = torch?.[model as 'lenet5' | 'mlp'];
    // Training costs about 3x the forward FLOPs (forward, input gradients, weight gradients).
    const peakFrac = peak ? (3 * r.forwardFlops * r.train) / (peak * 1e9) : NaN;
    rows.push([b === 'webgpu' || b === 'cuda' ? `${b} (${info.device.slice(0, 40)})` : b, model, r.train.toFixed(0), ref ? ref.train.toFixed(0) : '-', ref ? (r.train / ref.train).toFixed(2) : '-', r.infer.toFixed(0), ref ? ref.infer.toFixed(0) : '-', ref ? (r.infer / ref.infer).toFixed(2) : '-', Number.isFinite(peakFrac) ? `${(100 * peakFrac).toFixed(1)}%` : '-']);
  }
}
if (torch) for (const model of models) rows.push(['pytorch', model, torch[model as 'lenet5'].train.toFixed(0), '', '1.00', torch[model as 'lenet5'].infer.toFixed(0), '', '1.00', '']);
const head = ['backend', 'model', 'train img/s', 'torch train', 'ratio', 'infer img/s', 'torch infer', 'ratio', 'train % of peak'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
console.log([line(head), '| ' + w.map((n) => '-'.repeat(n)).join(' | ') + ' |', ...rows.map(line)].join('\n'));
