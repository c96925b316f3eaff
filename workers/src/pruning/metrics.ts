/** Honest metrics, one function each. FLOPs count a multiply-add as 2 FLOPs, per single input example. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { gzipModelBytes, serializeModelRaw } from './serialize.js';
import { countNonzero } from './masks.js';
import { hostValues, yieldToEventLoop } from './host.js';

/** Trainable parameters (weights, biases, BatchNorm gamma/beta; not the BatchNorm moving statistics). */
export function totalParams(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

export function nonzeroParams(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + countNonzero(hostValues(w.read(), w.name)), 0);
}

/** 1 - nonzero / baseline params. */
export function compressionRate(nonzero: number, baselineParams: number): number {
  return 1 - nonzero / baselineParams;
}

/** baseline params / nonzero params (ShrinkBench's compression ratio). */
export function compressionRatio(nonzero: number, baselineParams: number): number {
  return nonzero === 0 ? Infinity : baselineParams / nonzero;
}

/** Output positions of a layer: each kernel entry of a conv is used once per position (1 for dense on flat input). */
export function outputPositions(layer: tfl.layers.Layer): number {
  const shape = layer.outputShape as number[];
  // Conv output [batch, h, w, c]: each kernel entry is used once per output position.
  return shape.length === 4 ? (shape[1] ?? 1) * (shape[2] ?? 1) : 1;
}

/** Dense FLOPs of conv and dense layers (2 x MACs) plus biases. */
export function flops(model: tfl.LayersModel): number {
  return layerFlops(model, false);
}

/** FLOPs that remain when multiplications by a zero weight are skipped. */
export function effectiveFlops(model: tfl.LayersModel): number {
  return layerFlops(model, true);
}

function layerFlops(model: tfl.LayersModel, skipZeros: boolean): number {
  let total = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Dense' && cls !== 'Conv2D' && cls !== 'DepthwiseConv2D') continue;
    const positions = outputPositions(layer);
    for (const w of layer.getWeights()) {
      const n = skipZeros ? countNonzero(hostValues(w, `${layer.name}'s weights`)) : w.size;
      const isKernel = w.rank > 1;
      total += (isKernel ? 2 * n : n) * positions;
    }
  }
  return total;
}

/** Median wall time (ms) of `runs` forward passes on a batch of `batch` random inputs, after `warmup` passes. */
export async function inferenceLatencyMs(model: tfl.LayersModel, opts: { batch?: number; runs?: number; warmup?: number } = {}): Promise<number> {
  const { batch = 64, runs = 15, warmup = 3 } = opts;
  const shape = (model.inputs[0].shape.slice(1) as number[]);
  const x = tf.randomUniform([batch, ...shape]);
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const y = model.predict(x, { batchSize: batch }) as tf.Tensor; // one forward pass of the whole batch
      await y.data();
      y.dispose();
      if (i >= warmup) times.push(performance.now() - t0);
      await yieldToEventLoop(); // outside the timed pass
    }
  } finally {
    x.dispose();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Serialized size (topology + float32 weights) and its gzip size, in bytes, with the gzipped bytes themselves. */
export async function serializedSize(model: tfl.LayersModel): Promise<{ bytes: number; gzipBytes: number; gzipped: Buffer }> {
  const raw = await serializeModelRaw(model);
  const gzipped = gzipModelBytes(raw);
  return { bytes: raw.length, gzipBytes: gzipped.length, gzipped };
}
