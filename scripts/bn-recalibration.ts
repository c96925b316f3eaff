/**
 * What BatchNorm recalibration (workers/src/pruning/recalibrate.ts, a sweep's `batchNormRecalibration`) changes on a
 * trained baseline: each model is trained as a sweep's baseline is (Adam, batch 128), evaluated on the test set, then
 * recalibrated and evaluated again, the weights the same. Prints one table.
 *
 *   npx tsx scripts/bn-recalibration.ts [--models=lenet5,vgg-small] [--epochs=1] [--train-subset=2000] [--test-subset=500]
 *                                       [--seeds=1,2] [--batches=16] [--backend=wasm]
 * (subset sizes: omit or 0 for the whole split)
 */
import { initBackend } from '../workers/src/backends/index.js';
import { loadSplit, subset } from '../workers/src/data/fashion-mnist.js';
import { MODEL_NAMES, buildModel, type ModelName } from '../workers/src/pruning/models.js';
import { recalibrateBatchNorm } from '../workers/src/pruning/recalibrate.js';
import { evaluate, train } from '../workers/src/pruning/train.js';
import { markdownTable } from './markdown-table.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const models = list(arg('models', 'lenet5,vgg-small')) as ModelName[];
for (const m of models) if (!MODEL_NAMES.includes(m) || m === 'mlp') throw new Error(`--models: "${m}" is not a zoo model with BatchNorm (lenet5, vgg-small, resnet-small)`);
const epochs = Number(arg('epochs', '1'));
const batches = Number(arg('batches', '16'));
const seeds = list(arg('seeds', '1,2')).map(Number);
const size = (s: string) => (Number(s) > 0 ? Number(s) : undefined);
const trainSubset = size(arg('train-subset', '2000'));
const testSubset = size(arg('test-subset', '500'));
const info = await initBackend(arg('backend', 'wasm'));

console.log(`${info.backend} on ${info.device}; Adam 1e-3, batch 128, ${epochs} epoch(s) on ${trainSubset ?? 'all 60000'} training images; test on ${testSubset ?? 'all 10000'}; recalibration over ${batches} batch(es)`);
const rows: string[][] = [];
const [trainSplit, testSplit] = [loadSplit('train'), loadSplit('test')]; // read once; each seed draws its subsets from them
for (const model of models) {
  for (const seed of seeds) {
    const tr = subset(trainSplit, trainSubset, seed);
    const te = subset(testSplit, testSubset, seed);
    const m = buildModel(model, seed);
    try {
      const started = Date.now();
      await train(m, tr, { epochs, batchSize: 128, learningRate: 1e-3, seed });
      const before = await evaluate(m, te);
      const r = await recalibrateBatchNorm(m, tr, { batches, batchSize: 128, seed });
      const after = await evaluate(m, te);
      rows.push([model, String(seed), String(epochs * Math.ceil(tr.count / 128)), (100 * before).toFixed(2), (100 * after).toFixed(2), (100 * (after - before)).toFixed(2), `${r.layers} x ${r.batches}`]);
      process.stderr.write(`${model} seed ${seed}: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    } finally {
      m.dispose();
    }
  }
}
console.log(markdownTable(['model', 'seed', 'training steps', 'test acc %', 'recalibrated %', 'gain (pts)', 'layers x batches'], rows));
