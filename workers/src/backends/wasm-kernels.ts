/**
 * Kernels the stock WASM backend lacks, registered at worker start. Conv2DBackpropFilter is needed to
 * train any conv net on WASM: dW[kh, kw, ci, co] = sum over batch and output positions of
 * x[b, oh*sh + kh*dh - padTop, ow*sw + kw*dw - padLeft, ci] * dy[b, oh, ow, co], computed as
 * rank-1 updates (input pixel row x gradient row) straight on the WASM heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
}

export function conv2DBackpropFilterNHWC(
  x: Float32Array, dy: Float32Array, out: Float32Array, info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  out.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyOff = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight + kh * dilationHeight - top;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw * dilationWidth - left;
            if (iw < 0 || iw >= inWidth) continue;
            const xOff = ((b * inHeight + ih) * inWidth + iw) * inChannels;
            const wOff = (kh * filterWidth + kw) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const xv = x[xOff + ci];
              if (xv === 0) continue; // post-ReLU inputs are often zero
              const row = wOff + ci * outChannels;
              for (let co = 0; co < outChannels; co++) out[row + co] += xv * dy[dyOff + co];
            }
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
    const out = wasm.makeOutput(filterShape, 'float32');
    conv2DBackpropFilterNHWC(wasm.typedArrayFromHeap(x) as Float32Array, wasm.typedArrayFromHeap(dy) as Float32Array, wasm.typedArrayFromHeap(out) as Float32Array, info);
    return out;
  },
};

export const WASM_EXTRA_KERNELS: tf.KernelConfig[] = [conv2DBackpropFilter];

/** Registers the extra kernels once (idempotent). */
export function registerWasmKernels(): void {
  for (const k of WASM_EXTRA_KERNELS) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
}
