/**
 * `npx tsx scripts/structured-latency.ts [--models=vgg-small,resnet-small] [--amounts=0.25,0.5,0.75]`: what removing channels
 * buys in inference time on this backend for the conv nets beyond LeNet-5 (untrained weights: latency does not depend on
 * them). Per-layer L1 channel pruning (torch ln_structured's criterion, n = 1) at each amount, real removal, then paired
 * rounds: each round times the unpruned and the pruned model back to back (batch 64, median of 7 passes each); printed are
 * the median latencies and the median and range of the rounds' ratios.
 */
import { initBackend } from '../workers/src/backends/index.js';
import { keepPlan, l1FilterImportance } from '../workers/src/pruning/channels.js';
import { inferenceLatencyMs, totalParams } from '../workers/src/pruning/metrics.js';
import { buildModel, type ModelName } from '../workers/src/pruning/models.js';
import { removeChannels } from '../workers/src/pruning/surgery.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const models = (args.get('models') ?? 'vgg-small,resnet-small').split(',') as ModelName[];
const amounts = (args.get('amounts') ?? '0.25,0.5,0.75').split(',').map(Number);
const ROUNDS = 7;
const info = await initBackend(args.get('backend') ?? 'wasm');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`backend ${info.backend} (${info.device}); batch 64; ${ROUNDS} paired rounds of 7 passes per model`);
console.log('| model | amount (per layer) | params removed | unpruned ms | pruned ms | speedup (median) | rounds |');
console.log('| ----- | ------------------ | -------------- | ----------- | --------- | ---------------- | ------ |');
for (const name of models) {
  const base = buildModel(name, 1);
  for (const amount of amounts) {
    const small = removeChannels(base, keepPlan(l1FilterImportance(base), amount, { scope: 'per-layer' }));
    await inferenceLatencyMs(base, { batch: 64, runs: 5 });
    await inferenceLatencyMs(small, { batch: 64, runs: 5 });
    const b: number[] = [], p: number[] = [], ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      b.push(await inferenceLatencyMs(base, { batch: 64, runs: 7 }));
      p.push(await inferenceLatencyMs(small, { batch: 64, runs: 7 }));
      ratios.push(b[r] / p[r]);
    }
    const removed = 100 * (1 - totalParams(small) / totalParams(base));
    console.log(`| ${name} | ${amount} | ${removed.toFixed(1)}% | ${median(b).toFixed(1)} | ${median(p).toFixed(1)} | ${median(ratios).toFixed(2)}x | ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}x |`);
    small.dispose();
  }
  base.dispose();
}
