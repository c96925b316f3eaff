/**
 * `npx tsx scripts/profile-step.ts [--model=lenet5] [--backend=wasm] [--steps=5] [--batch=128]`: per-kernel time of one
 * training step (every registered kernel of the backend is wrapped with a timer), sorted by total time.
 * `--infer` profiles one inference pass instead; `--shapes` splits each kernel by its input shapes; `--prune=0.5` profiles
 * the model with that fraction of every layer's channels removed (L1 norm; see train-step.ts). On webgpu it also counts the
 * GPU programs dispatched per step. `--stock` (webgpu, tensorflow, cpu) unregisters Lopper's kernels for that backend first
 * (webgpu-kernels.ts, tensorflow-kernels.ts, cpu-kernels.ts), for an A/B of the same step with TF.js's own kernels alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import { unregisterCpuKernels } from '../workers/src/backends/cpu-kernels.js';
import { initBackend } from '../workers/src/backends/index.js';
import { unregisterTensorflowKernels } from '../workers/src/backends/tensorflow-kernels.js';
import { countWebGpuPrograms, unregisterWebGpuKernels } from '../workers/src/backends/webgpu-kernels.js';
import type { ModelName } from '../workers/src/pruning/models.js';
import { syntheticTrainStep } from './train-step.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const model = (args.get('model') ?? 'lenet5') as ModelName;
const steps = Number(args.get('steps') ?? 5);
const BATCH = Number(args.get('batch') ?? 128);
const prune = Number(args.get('prune') ?? 0);
if (!(BATCH >= 1) || !(prune >= 0 && prune < 1)) throw new Error('--batch must be a positive integer and --prune a fraction in [0, 1)');
const detail = args.has('shapes');
const info = await initBackend(args.get('backend') ?? 'wasm');
if (args.has('stock')) { // before the timers wrap the backend's kernels
  if (info.backend === 'webgpu') unregisterWebGpuKernels();
  else if (info.backend === 'tensorflow' || info.backend === 'cuda') unregisterTensorflowKernels();
  else if (info.backend === 'cpu') unregisterCpuKernels();
  else throw new Error('--stock applies to --backend=webgpu, tensorflow, cuda or cpu (the WASM kernels are part of that backend; see bench:kernels)');
}
const times = new Map<string, { ms: number; calls: number }>();
for (const k of tf.getKernelsForBackend(info.backend)) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, k.backendName);
  tf.registerKernel({ ...k, kernelFunc: (a) => {
    const t0 = performance.now();
    const out = f(a);
    const key = detail ? `${k.kernelName} ${Object.values(a.inputs).filter(Boolean).map((t) => `[${t!.shape}]`).join('')}` : k.kernelName;
    const e = times.get(key) ?? { ms: 0, calls: 0 };
    e.ms += performance.now() - t0; e.calls++;
    times.set(key, e);
    return out;
  } });
}
const infer = args.has('infer');
const t = syntheticTrainStep(model, BATCH, { prune });
const step = infer ? t.infer : t.step;
await step(); await step();
times.clear();
const t0 = performance.now();
const timed = async () => { for (let i = 0; i < steps; i++) await step(); };
const programs = info.backend === 'webgpu' ? await countWebGpuPrograms(timed) : (await timed(), undefined);
const total = (performance.now() - t0) / steps;
const rows = [...times].sort((a, b) => b[1].ms - a[1].ms);
const kernels = ['webgpu', 'tensorflow', 'cuda'].includes(info.backend) ? (args.has('stock') ? ", TF.js's own kernels only" : ", with Lopper's kernels") : '';
console.log(`${model}${prune ? ` (${prune} of each layer's channels removed)` : ''} on ${info.backend}${kernels}, batch ${BATCH}: ${total.toFixed(1)} ms/step = ${(BATCH / total * 1000).toFixed(0)} img/s`);
if (programs !== undefined) console.log(`GPU programs dispatched: ${(programs / steps).toFixed(0)} per ${infer ? 'pass' : 'step'}`);
let sum = 0;
for (const [name, e] of rows) {
  sum += e.ms;
  if (e.ms / steps < 0.05) continue;
  console.log(`${name.padEnd(detail ? 60 : 24)} ${(e.ms / steps).toFixed(2).padStart(8)} ms/step ${String(e.calls / steps).padStart(5)} calls/step ${(100 * e.ms / steps / total).toFixed(1).padStart(5)}%`);
}
console.log(`kernels total ${(sum / steps).toFixed(1)} ms/step; outside kernels ${(total - sum / steps).toFixed(1)} ms/step`);
