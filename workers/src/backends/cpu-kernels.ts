/**
 * Kernels for the pure-JS `cpu` backend, the last fallback of automatic selection. Its stock Conv2DBackpropFilter
 * reads every element through TensorBuffer.get, filter entry by filter entry: 118.8 s of a 130.3 s vgg-small training
 * step (batch 128), twice the worker's one-minute heartbeat timeout, so a worker on `cpu` could not train vgg-small
 * (docs/results.md). This one walks the output positions once, each a contiguous row of dy times contiguous rows of x,
 * accumulating in float64 as the stock kernel does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * dW[kh, kw, ci, co] = sum over b, oh, ow of x[b, oh*sh + kh - top, ow*sw + kw - left, ci] * dy[b, oh, ow, co], NHWC,
 * dilation 1 (the op has none), in float64. The whole of dW ([KH, KW, CI, CO]: 295 KB in float64 for vgg-small's
 * widest layer) stays in cache while x and dy stream through once.
 */
export function conv2DBackpropFilterNhwc(x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: SH, strideWidth: SW } = info;
  const { top, left } = info.padInfo;
  const acc = new Float64Array(KH * KW * CI * CO);
  // A zero of x (ReLU outputs: about half) adds exactly nothing when dy is finite: skipped (1.8x faster on vgg-small's
  // layers). A NaN or infinity in dy must still spread as in the stock kernel: then nothing is skipped.
  let dyFinite = true;
  for (let i = 0; i < dy.length && dyFinite; i++) dyFinite = Number.isFinite(dy[i]);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - top;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * SW - left;
        const dyRow = ((b * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < KH; kh++) {
          const ih = ih0 + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = iw0 + kw;
            if (iw < 0 || iw >= W) continue;
            const xRow = ((b * H + ih) * W + iw) * CI;
            let w = (kh * KW + kw) * CI * CO;
            for (let ci = 0; ci < CI; ci++, w += CO) {
              const xv = x[xRow + ci];
              if (xv === 0 && dyFinite) continue;
              for (let co = 0; co < CO; co++) acc[w + co] += xv * dy[dyRow + co];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

const LOPPER = Symbol.for('lopper.cpu-kernel');

function conv2DBackpropFilter(stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const { inputs, backend, attrs } = args;
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
    // NCHW (which no Lopper model uses) and non-float32 inputs: the stock kernel.
    if (dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32') return stock(args);
    const cpu = backend as MathBackendCPU;
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const xv = cpu.data.get(x.dataId).values as Float32Array;
    const dyv = cpu.data.get(dy.dataId).values as Float32Array;
    return cpu.makeTensorInfo([...filterShape], 'float32', conv2DBackpropFilterNhwc(xv, dyv, info));
  };
  return { kernelName: 'Conv2DBackpropFilter', backendName: 'cpu', kernelFunc: Object.assign(kernelFunc, { [LOPPER]: stock }) };
}

const REPLACEMENTS: Record<string, (stock: tf.KernelFunc) => tf.KernelConfig> = { Conv2DBackpropFilter: conv2DBackpropFilter };

/** Puts Lopper's kernels in place of the cpu backend's stock ones (idempotent). */
export function registerCpuKernels(): void {
  for (const [name, make] of Object.entries(REPLACEMENTS)) {
    const stock = tf.getKernel(name, 'cpu');
    if (!stock || LOPPER in stock.kernelFunc) continue;
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel(make(stock.kernelFunc));
  }
}

/** Puts the stock kernels back (benchmarks and tests compare both). */
export function unregisterCpuKernels(): void {
  for (const name of Object.keys(REPLACEMENTS)) {
    const k = tf.getKernel(name, 'cpu');
    if (!k || !(LOPPER in k.kernelFunc)) continue;
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: (k.kernelFunc as unknown as Record<symbol, tf.KernelFunc>)[LOPPER] });
  }
}
