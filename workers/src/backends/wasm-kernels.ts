/**
 * Kernels the stock WASM backend lacks, registered at worker start. Conv2DBackpropFilter is needed to
 * train any conv net on WASM: dW[kh, kw, ci, co] = sum over batch and output positions of
 * x[b, oh*sh + kh*dh - padTop, ow*sw + kw*dw - padLeft, ci] * dy[b, oh, ow, co].
 * It is computed as im2col + one matmul: colsT [kh*kw*ci, B*OH*OW] (built on the WASM heap) times
 * dy viewed as [B*OH*OW, co], through the backend's own (XNNPACK) BatchMatMul kernel with no transposes
 * (the transposed path of the stock kernel is a scalar loop).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
}

/** colsT[(kh*KW + kw)*CI + ci][(b*OH + oh)*OW + ow] = x[b, ih, iw, ci] (0 in the padding). */
export function im2colTransposed(x: Float32Array, cols: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const N = batchSize * outHeight * outWidth;
  cols.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const n = (b * outHeight + oh) * outWidth + ow;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight + kh * dilationHeight - top;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw * dilationWidth - left;
            if (iw < 0 || iw >= inWidth) continue;
            const xOff = ((b * inHeight + ih) * inWidth + iw) * inChannels;
            const row = (kh * filterWidth + kw) * inChannels;
            for (let ci = 0; ci < inChannels; ci++) cols[(row + ci) * N + n] = x[xOff + ci];
          }
        }
      }
    }
  }
}

const conv2DBackpropFilter: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
    if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
    const wasm = backend as BackendWasm;
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const K = info.filterHeight * info.filterWidth * info.inChannels;
    const N = info.batchSize * info.outHeight * info.outWidth;
    const cols = wasm.makeOutput([1, K, N], 'float32');
    im2colTransposed(wasm.typedArrayFromHeap(x) as Float32Array, wasm.typedArrayFromHeap(cols) as Float32Array, info);
    const matMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
    const out = matMul({
      inputs: { a: cols, b: { dataId: dy.dataId, shape: [1, N, info.outChannels], dtype: 'float32' } },
      backend, attrs: { transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    wasm.disposeData(cols.dataId);
    (out as { shape: number[] }).shape = [...filterShape];
    return out;
  },
};

export const WASM_EXTRA_KERNELS: tf.KernelConfig[] = [conv2DBackpropFilter];

const FAST_TRANSPOSE_TAG = Symbol('lopper.fastTransposeMatMul');

/**
 * Wraps the stock WASM BatchMatMul: with transposeA/transposeB it runs a scalar loop, so transpose the
 * operand explicitly (WASM Transpose kernel) and multiply without transposes (XNNPACK).
 */
function fastTransposeBatchMatMul(stock: tf.KernelFunc): tf.KernelConfig {
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return stock({ inputs, backend, attrs });
    const wasm = backend as BackendWasm;
    const temps: tf.TensorInfo[] = [];
    const swapLast = (t: tf.TensorInfo) => {
      const r = t.shape.length;
      const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
      const out = transpose({ inputs: { x: t }, backend, attrs: { perm } }) as tf.TensorInfo;
      temps.push(out);
      return out;
    };
    const out = stock({ inputs: { a: transposeA ? swapLast(a) : a, b: transposeB ? swapLast(b) : b }, backend, attrs: { transposeA: false, transposeB: false } });
    for (const t of temps) wasm.disposeData(t.dataId);
    return out;
  };
  return { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [FAST_TRANSPOSE_TAG]: true }) };
}

/** Registers the extra kernels once (idempotent). Call after the WASM backend is initialised. */
export function registerWasmKernels(): void {
  for (const k of WASM_EXTRA_KERNELS) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (stock && !(FAST_TRANSPOSE_TAG in stock.kernelFunc)) {
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel(fastTransposeBatchMatMul(stock.kernelFunc));
  }
}
