/**
 * Kernels the stock WASM backend lacks or runs slowly, registered at worker start (`registerWasmKernels`), chosen
 * from a per-kernel profile of a LeNet-5 training step (scripts/profile-step.ts). Each is checked against the cpu
 * backend in wasm-kernels.spec.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ADAM_KERNEL, type AdamKernelAttrs } from '../pruning/adam.js';
import { batchNormGradSums, channelValues, columnSums, heapFloats, heapOffset, perChannelPass, simdKernels, simdVariant, sizeOf, type SimdKernels } from './simd.js';
import { installFusedMoments } from './wasm-moments.js';
import { RELU_GRAD_KERNEL, overrideGradient, registerReluGradient } from './fused-ops.js';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
}

/**
 * colsT[(kh*KW + kw)*CI + ci][(b*OH + oh)*OW + ow] = x[b, ih, iw, ci] (0 in the padding). Written row by row
 * so that the writes are sequential (the reads step by the stride along a row of the input).
 */
export function im2colTransposed(x: Float32Array, cols: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: CI, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const N = batchSize * outHeight * outWidth;
  cols.fill(0);
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      // output columns whose input column iw = ow*sw + kw*dw - left lies inside the image
      const dwOff = kw * dilationWidth - left;
      const ow0 = Math.max(0, Math.ceil(-dwOff / strideWidth));
      const ow1 = Math.min(outWidth, Math.floor((inWidth - 1 - dwOff) / strideWidth) + 1);
      for (let ci = 0; ci < CI; ci++) {
        const rowBase = ((kh * filterWidth + kw) * CI + ci) * N;
        for (let b = 0; b < batchSize; b++) {
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * strideHeight + kh * dilationHeight - top;
            if (ih < 0 || ih >= inHeight) continue;
            const dst = rowBase + (b * outHeight + oh) * outWidth;
            const src = ((b * inHeight + ih) * inWidth + dwOff) * CI + ci;
            const step = strideWidth * CI;
            for (let ow = ow0; ow < ow1; ow++) cols[dst + ow] = x[src + ow * step];
          }
        }
      }
    }
  }
}

/**
 * Conv2DBackpropFilter as one forward convolution (`conv`: this backend's Conv2D, so Lopper's direct kernel at stride 1
 * and XNNPACK for the dilated convolution of a stride), with the batch as the channel axis:
 * dW[kh, kw, ci, co] = sum_{b, oh, ow} x[b, oh*s + kh - padTop, ow*s + kw - padLeft, ci] * dy[b, oh, ow, co]
 * is conv(input = x as [CI, H, W, B], filter = dy as [OH, OW, B, CO], dilation = stride, explicit padding)
 * = [CI, KH, KW, CO], transposed to [KH, KW, CI, CO]. Measured against im2col + matmul in JS: 12 vs 17 ms
 * (LeNet conv1) and 7 vs 17 ms (conv2) per call. Returns null when the forward pass never read the last input
 * rows or columns (valid padding with a stride that does not divide): that needs cropping, left to im2col + matmul.
 */
export function conv2DBackpropFilterViaConv(x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, wasm: BackendWasm, conv = tf.getKernel('Conv2D', 'wasm')!.kernelFunc): tf.TensorInfo | null {
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const { top, left } = info.padInfo;
  // The convolution's output must be exactly KH x KW: the far padding is what the forward pass read (<= bottom/right).
  const padB = (info.outHeight - 1) * info.strideHeight + info.filterHeight - info.inHeight - top;
  const padR = (info.outWidth - 1) * info.strideWidth + info.filterWidth - info.inWidth - left;
  if (padB < 0 || padR < 0) return null;
  const xt = transpose({ inputs: { x }, backend: wasm, attrs: { perm: [3, 1, 2, 0] } }) as tf.TensorInfo;
  const dyt = transpose({ inputs: { x: dy }, backend: wasm, attrs: { perm: [1, 2, 0, 3] } }) as tf.TensorInfo;
  const out = conv({
    inputs: { x: xt, filter: dyt }, backend: wasm,
    attrs: { strides: 1, dilations: [info.strideHeight, info.strideWidth], pad: [[0, 0], [top, padB], [left, padR], [0, 0]], dataFormat: 'NHWC' },
  }) as tf.TensorInfo;
  const dw = transpose({ inputs: { x: out }, backend: wasm, attrs: { perm: [1, 2, 0, 3] } }) as tf.TensorInfo;
  for (const t of [xt, dyt, out]) wasm.disposeData(t.dataId);
  return dw;
}

/** n rounded up to whole SIMD vectors of 4 floats: the padded channel counts and row lengths of the SIMD kernels' layouts. */
const wholeVectors = (n: number) => Math.ceil(n / 4) * 4;

/** dw ([3, 3, C, CO]) of a 3x3 stride-1 convolution by Winograd F(2x2, 3x3) (lopper_winograd_filter_grad). */
export function winogradFilterGrad(wasm: BackendWasm, simd: SimdKernels, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { CP, COP, TC } = winogradSizes(info.inChannels, info.outChannels);
  const V = wasm.makeOutput([16 * TC * CP], 'float32');
  const Wd = wasm.makeOutput([16 * TC * COP], 'float32');
  const dU = wasm.makeOutput([16 * CP * COP], 'float32');
  const out = wasm.makeOutput([3, 3, info.inChannels, info.outChannels], 'float32');
  simd.winogradFilterGrad(heapOffset(wasm, x), heapOffset(wasm, dy), heapOffset(wasm, out), heapOffset(wasm, V), heapOffset(wasm, Wd), heapOffset(wasm, dU),
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels, CP, COP, info.padInfo.top, info.padInfo.left, TC);
  for (const t of [V, Wd, dU]) wasm.disposeData(t.dataId);
  return out;
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
    const simd = simdKernels(wasm);
    if (simd && singleChannelStride1(x, info) && info.outChannels <= 8) {
      // One input channel (conv1): taps times channel vectors in SIMD registers, no transposes (simd/kernels.c).
      const source = paddedSingleChannel(wasm, simd, x, info);
      const out = wasm.makeOutput([...filterShape], 'float32');
      simd.convCin1FilterGrad(heapOffset(wasm, source), heapOffset(wasm, dy), heapOffset(wasm, out), info.batchSize, info.outHeight, info.outWidth, info.outChannels, info.filterHeight, info.filterWidth);
      if (source !== x) wasm.disposeData(source.dataId);
      return out;
    }
    if (simd && winogradApplies(info) && (simdVariant() === 'simd128' || info.outChannels % 4 !== 0)) {
      // 3x3, stride 1 (vgg-small, resnet-small): Winograd F(2x2, 3x3), 2.25x fewer products (simd/kernels.c), 1.1-1.3x
      // faster than the direct kernel below in the SIMD128 build; with fused multiply-adds the direct kernel is as fast or
      // faster (Winograd 0.84-1.0x of it: `npm run bench:kernels`), so there Winograd only takes what it cannot.
      return winogradFilterGrad(wasm, simd, x, dy, info);
    }
    if (simd && info.outChannels % 4 === 0) {
      // Output channels in SIMD lanes, two input channels per pass, no transposes (simd/kernels.c): 1.5-2.9x faster than
      // the XNNPACK formulation below (`npm run bench:kernels`, docs/results.md).
      const out = wasm.makeOutput([...filterShape], 'float32');
      simd.convFilterGrad(heapOffset(wasm, x), heapOffset(wasm, dy), heapOffset(wasm, out), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
        info.outHeight, info.outWidth, info.outChannels, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
      return out;
    }
    const dw = conv2DBackpropFilterViaConv(x, dy, info, wasm);
    if (dw) return dw;
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

/**
 * Tile as block copies: the innermost axis is copied from the input, every outer axis then replicates the
 * block it has just written by doubling `copyWithin` (log2(reps) copies). The stock WASM kernel computes
 * an index per element (89 ms for the [1,1,1,6] -> [128,28,28,6] tile of the BatchNorm gradient; this: ~1 ms).
 */
export function tileInto(src: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }, dst: { set(a: ArrayLike<number>, o: number): void; copyWithin(t: number, s: number, e: number): unknown }, shape: readonly number[], reps: readonly number[]): void {
  const rank = shape.length;
  if (rank === 0) { dst.set(src.subarray(0, 1), 0); return; }
  const srcStride = new Array<number>(rank);
  const dstStride = new Array<number>(rank);
  srcStride[rank - 1] = 1;
  dstStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    srcStride[d] = srcStride[d + 1] * shape[d + 1];
    dstStride[d] = dstStride[d + 1] * shape[d + 1] * reps[d + 1];
  }
  const replicate = (offset: number, blockLen: number, times: number) => {
    const total = blockLen * times;
    for (let filled = blockLen; filled < total; filled *= 2) dst.copyWithin(offset + filled, offset, offset + Math.min(filled, total - filled));
  };
  const fill = (d: number, srcOff: number, dstOff: number) => {
    if (d === rank - 1) dst.set(src.subarray(srcOff, srcOff + shape[d]), dstOff);
    else for (let i = 0; i < shape[d]; i++) fill(d + 1, srcOff + i * srcStride[d], dstOff + i * dstStride[d]);
    replicate(dstOff, shape[d] * dstStride[d], reps[d]);
  };
  fill(0, 0, 0);
}

const tileKernel: tf.KernelConfig = {
  kernelName: 'Tile',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { reps } = attrs as unknown as { reps: number[] };
    const wasm = backend as BackendWasm;
    const out = wasm.makeOutput(x.shape.map((s, i) => s * reps[i]), x.dtype);
    if (x.shape.every((s) => s > 0) && reps.every((r) => r > 0)) {
      tileInto(wasm.typedArrayFromHeap(x) as Float32Array, wasm.typedArrayFromHeap(out) as Float32Array, x.shape, reps);
    }
    return out;
  },
};

/**
 * MaxPoolGrad: the gradient goes to the first maximum of each window (recomputed from the input), as in the
 * cpu backend. One pass over the windows; the stock kernel takes ~20 ms on a [128,28,28,6] input, this ~3 ms.
 */
const maxPoolGradKernel: tf.KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as { filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const wasm = backend as BackendWasm;
    const dx = wasm.makeOutput(input.shape, 'float32');
    const simd = simdKernels(wasm);
    if (simd) {
      const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth, padInfo } = info;
      simd.maxPoolGrad(heapOffset(wasm, input), heapOffset(wasm, dy), heapOffset(wasm, dx), batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth, padInfo.top, padInfo.left);
      return dx;
    }
    const x = wasm.typedArrayFromHeap(input) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    const out = wasm.typedArrayFromHeap(dx) as Float32Array;
    out.fill(0);
    const { batchSize, inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
    const C = info.inChannels;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    for (let b = 0; b < batchSize; b++) {
      for (let oh = 0; oh < outHeight; oh++) {
        const h0 = Math.max(0, oh * strideHeight - top);
        const h1 = Math.min(inHeight, oh * strideHeight - top + fh);
        for (let ow = 0; ow < outWidth; ow++) {
          const w0 = Math.max(0, ow * strideWidth - left);
          const w1 = Math.min(inWidth, ow * strideWidth - left + fw);
          const gOff = ((b * outHeight + oh) * outWidth + ow) * C;
          for (let c = 0; c < C; c++) {
            let best = -Infinity;
            let at = -1;
            for (let h = h0; h < h1; h++) {
              for (let w = w0; w < w1; w++) {
                const i = ((b * inHeight + h) * inWidth + w) * C + c;
                if (x[i] > best || at < 0) { best = x[i]; at = i; }
              }
            }
            if (at >= 0) out[at] += g[gOff + c];
          }
        }
      }
    }
    return dx;
  },
};

/**
 * One axis of a strided transposed convolution split by phase: the input positions i = s*a + q (a < A) receive the taps
 * k = r + s*j (j < n, r = (q + padBefore) mod s) from dy[a + c - j], c = floor((q + padBefore) / s): a stride-1 convolution
 * of dy with those taps in reverse order, padded P before and Pb after.
 */
interface Phase { q: number; r: number; n: number; A: number; P: number; Pb: number }
function phases(size: number, outSize: number, K: number, s: number, padBefore: number): Phase[] {
  return Array.from({ length: s }, (_, q) => {
    const r = (q + padBefore) % s;
    const n = r < K ? Math.ceil((K - r) / s) : 0;
    const A = q < size ? Math.ceil((size - q) / s) : 0;
    const P = n - 1 - Math.floor((q + padBefore) / s);
    return { q, r, n, A, P, Pb: A + n - 1 - outSize - P };
  });
}

/**
 * Conv2DBackpropInput with a stride, without dilating dy: each of the sh x sw phases of dx (rows s*a + qh, columns
 * s*b + qw) is a stride-1 convolution of dy with the taps that reach it (for a 3x3 filter at stride 2: 2x2, 2x1, 1x2 and
 * 1x1 sub-filters), written into place by lopper_interleave. The dilated form convolves a dy that is 3/4 zeros with the
 * whole filter (resnet-small's stride-2 3x3 convolution: 56 ms of a 395 ms step). Null when a phase would need dy cropped
 * (negative padding): the caller dilates then.
 */
function stridedBackpropInputByPhases(wasm: BackendWasm, simd: SimdKernels, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const rowsP = phases(H, OH, KH, sh, info.padInfo.top);
  const colsP = phases(W, OW, KW, sw, info.padInfo.left);
  const used = (p: Phase) => p.n > 0 && p.A > 0;
  if ([...rowsP, ...colsP].some((p) => used(p) && (p.P < 0 || p.Pb < 0))) return null;
  const conv = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
  const w = heapFloats(wasm, filter); // a copy: the allocations and convolutions below may grow the heap
  const out = wasm.makeOutput([B, H, W, CI], 'float32');
  // phases no tap reaches (a filter smaller than the stride) stay zero
  if (!rowsP.every(used) || !colsP.every(used)) (wasm.typedArrayFromHeap(out) as Float32Array).fill(0);
  for (const ph of rowsP.filter(used)) for (const pw of colsP.filter(used)) {
    // f[j][k][co][ci] = W[ph.r + sh*(nh-1-j), pw.r + sw*(nw-1-k), ci, co]
    const sub = wasm.makeOutput([ph.n, pw.n, CO, CI], 'float32');
    const f = wasm.typedArrayFromHeap(sub) as Float32Array;
    for (let j = 0; j < ph.n; j++) for (let k = 0; k < pw.n; k++) {
      const src = ((ph.r + sh * (ph.n - 1 - j)) * KW + (pw.r + sw * (pw.n - 1 - k))) * CI * CO;
      const dst = (j * pw.n + k) * CO * CI;
      for (let ci = 0; ci < CI; ci++) for (let co = 0; co < CO; co++) f[dst + co * CI + ci] = w[src + ci * CO + co];
    }
    const part = conv({ inputs: { x: dy, filter: sub }, backend: wasm, attrs: { strides: 1, dilations: 1, pad: [[0, 0], [ph.P, ph.Pb], [pw.P, pw.Pb], [0, 0]], dataFormat: 'NHWC' } }) as tf.TensorInfo;
    simd.interleave(heapOffset(wasm, part), heapOffset(wasm, out), B, ph.A, pw.A, H, W, CI, sh, sw, ph.q, pw.q);
    wasm.disposeData(sub.dataId);
    wasm.disposeData(part.dataId);
  }
  return out;
}

/**
 * Conv2DBackpropInput. Up to 8 input channels (LeNet's conv2: 6): lopper_conv_transpose_rows, which adds each dy
 * pixel's contribution to the KW x CI contiguous floats of every dx row it reaches (as a forward convolution, dx has
 * few output channels and is mostly padding here: 10x10 dy, 5x5 filter, 14x14 dx). Otherwise as a forward convolution:
 * dx = conv(dilate(dy, stride), W flipped in space with in/out channels swapped, explicit padding kh-1-padTop before
 * and the remainder after), through this backend's Conv2D (fastConv: Winograd for 3x3, else Lopper's direct kernel);
 * with a stride, phase by phase (stridedBackpropInputByPhases) instead of dilating dy. NCHW goes to the stock kernel.
 */
function fastConv2DBackpropInput(stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as { strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number] };
    if (dataFormat === 'NCHW') return stock({ inputs, backend, attrs });
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const { batchSize: B, inHeight, inWidth, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    if (simd && CI <= 8 && KW * CI <= 48) {
      // Wt[ky][co][kx*CI + ci] = W[ky, kx, ci, co], rows padded to L floats, 4 to spare at the end
      const L = wholeVectors(KW * CI);
      const wt = wasm.makeOutput([KH * CO * L + 4], 'float32');
      const w = wasm.typedArrayFromHeap(filter) as Float32Array;
      const t = wasm.typedArrayFromHeap(wt) as Float32Array;
      t.fill(0);
      for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) for (let ci = 0; ci < CI; ci++) for (let co = 0; co < CO; co++) {
        t[(ky * CO + co) * L + kx * CI + ci] = w[((ky * KW + kx) * CI + ci) * CO + co];
      }
      const out = wasm.makeOutput([B, inHeight, inWidth, CI], 'float32');
      simd.convTransposeRows(heapOffset(wasm, dy), heapOffset(wasm, wt), heapOffset(wasm, out), B, inHeight, inWidth, CI, OH, OW, CO, KH, KW, sh, sw, info.padInfo.top, info.padInfo.left, L);
      wasm.disposeData(wt.dataId);
      return out;
    }
    const padT = KH - 1 - info.padInfo.top;
    const padL = KW - 1 - info.padInfo.left;
    const DH = (OH - 1) * sh + 1;
    const DW = (OW - 1) * sw + 1;
    const padB = inHeight + KH - 1 - padT - DH;
    const padR = inWidth + KW - 1 - padL - DW;
    if (padT < 0 || padL < 0 || padB < 0 || padR < 0) return stock({ inputs, backend, attrs });
    const temps: tf.TensorInfo[] = [];
    if (simd && (sh > 1 || sw > 1)) {
      const out = stridedBackpropInputByPhases(wasm, simd, dy, filter, info);
      if (out) return out;
    }
    // W'[kh, kw, co, ci] = W[KH-1-kh, KW-1-kw, ci, co]
    const flipped = wasm.makeOutput([KH, KW, CO, CI], 'float32');
    temps.push(flipped);
    const w = wasm.typedArrayFromHeap(filter) as Float32Array;
    const wf = wasm.typedArrayFromHeap(flipped) as Float32Array;
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const src = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * CI * CO;
      const dst = (kh * KW + kw) * CO * CI;
      for (let ci = 0; ci < CI; ci++) for (let co = 0; co < CO; co++) wf[dst + co * CI + ci] = w[src + ci * CO + co];
    }
    let source: tf.TensorInfo = dy;
    if (sh > 1 || sw > 1) {
      const dilated = wasm.makeOutput([B, DH, DW, CO], 'float32');
      temps.push(dilated);
      const d = wasm.typedArrayFromHeap(dilated) as Float32Array;
      const g = wasm.typedArrayFromHeap(dy) as Float32Array;
      d.fill(0);
      for (let b = 0; b < B; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        d.set(g.subarray(((b * OH + oh) * OW + ow) * CO, ((b * OH + oh) * OW + ow + 1) * CO), ((b * DH + oh * sh) * DW + ow * sw) * CO);
      }
      source = dilated;
    }
    const conv = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
    const out = conv({
      inputs: { x: source, filter: flipped }, backend,
      attrs: { strides: 1, dilations: 1, pad: [[0, 0], [padT, padB], [padL, padR], [0, 0]], dataFormat: 'NHWC' },
    }) as tf.TensorInfo;
    for (const t of temps) wasm.disposeData(t.dataId);
    return out;
  };
  return { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/** A float32 NHWC input of one channel, convolved with stride and dilation 1 and padding that a padded copy can realise. */
function singleChannelStride1(x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): boolean {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW, padInfo } = info;
  return x.dtype === 'float32' && info.inChannels === 1 && info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1
    && OH + KH - 1 === H + padInfo.top + padInfo.bottom && OW + KW - 1 === W + padInfo.left + padInfo.right && padInfo.top >= 0 && padInfo.left >= 0;
}

/** x ([B, H, W, 1]) zero-padded to [B, OH+KH-1, OW+KW-1] for the single-channel SIMD kernels (x itself when unpadded). */
function paddedSingleChannel(wasm: BackendWasm, simd: SimdKernels, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW, padInfo } = info;
  const HP = OH + KH - 1;
  const WP = OW + KW - 1;
  if (HP === H && WP === W) return x;
  const padded = wasm.makeOutput([B, HP, WP, 1], 'float32');
  simd.padSingle(heapOffset(wasm, x), heapOffset(wasm, padded), B, H, W, HP, WP, padInfo.top, padInfo.left);
  return padded;
}

/**
 * Conv2D and FusedConv2D (and Conv2DBackpropInput's convolution, which calls this kernel) through Lopper's SIMD
 * kernels, bias and ReLU fused; dilations other than 1, NCHW, other activations or no SIMD module go to the stock
 * kernel (XNNPACK).
 * - A single input channel (LeNet's first layer), stride 1, up to 16 output channels: XNNPACK builds an indirection
 *   buffer of one pointer per tap and output pixel and reaches ~5 GFLOP/s here; lopper_conv_cin1 computes four output
 *   pixels per load on a zero-padded copy of the input.
 * - 3x3 filters, stride 1, at least 8 input and output channels (vgg-small's and resnet-small's convolutions):
 *   Winograd F(2x2, 3x3), 2.25x fewer products (lopper_winograd_conv), 1.3-1.8x faster than XNNPACK for 16-64
 *   channels and for pruned channel counts (13 -> 27: 1.45x); with fewer channels its transforms cost more than they
 *   save (5 -> 7: 0.71x).
 * - Everything else: lopper_conv_direct, up to 16 output channels of 1-4 adjacent pixels in registers, each input
 *   value broadcast against the filter's channel vectors: 1.1-3x faster than XNNPACK on every shape measured (LeNet's
 *   6 -> 16 5x5 and its input gradient, strided 3x3 and 1x1, 1x1 64 -> 64, 3 -> 16, 5 -> 7; `npm run bench:kernels`).
 */
function fastConv(name: 'Conv2D' | 'FusedConv2D', stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, filter, bias, preluActivationWeights } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const { strides, pad, dilations, dataFormat, dimRoundingMode, activation } = attrs as unknown as { strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding; dilations: [number, number] | number; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; activation?: string };
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    const act = activation ?? 'linear';
    if (!simd || dataFormat === 'NCHW' || x.dtype !== 'float32' || x.shape.length !== 4 || preluActivationWeights || (act !== 'linear' && act !== 'relu')) return stock({ inputs, backend, attrs });
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW } = info;
    if (bias && sizeOf(bias) !== CO) return stock({ inputs, backend, attrs });
    const relu = act === 'relu' ? 1 : 0;
    if (C === 1 && CO <= 16 && singleChannelStride1(x, info)) {
      const source = paddedSingleChannel(wasm, simd, x, info);
      const out = wasm.makeOutput([B, OH, OW, CO], 'float32');
      simd.convCin1(heapOffset(wasm, source), heapOffset(wasm, filter), bias ? heapOffset(wasm, bias) : 0, heapOffset(wasm, out), B, OH, OW, CO, KH, KW, relu);
      if (source !== x) wasm.disposeData(source.dataId);
      return out;
    }
    if (winogradApplies(info)) {
      const { CP, COP, TC } = winogradSizes(C, CO);
      const U = wasm.makeOutput([16 * CP * COP], 'float32');
      const V = wasm.makeOutput([16 * TC * CP], 'float32');
      const M = wasm.makeOutput([16 * TC * COP], 'float32');
      const out = wasm.makeOutput([B, OH, OW, CO], 'float32');
      simd.winogradFilter(heapOffset(wasm, filter), heapOffset(wasm, U), C, CO, CP, COP);
      simd.winogradConv(heapOffset(wasm, x), heapOffset(wasm, U), bias ? heapOffset(wasm, bias) : 0, heapOffset(wasm, out), heapOffset(wasm, V), heapOffset(wasm, M),
        B, H, W, C, OH, OW, CO, CP, COP, info.padInfo.top, info.padInfo.left, relu, TC);
      for (const t of [U, V, M]) wasm.disposeData(t.dataId);
      return out;
    }
    if (info.dilationHeight === 1 && info.dilationWidth === 1 && info.padInfo.top >= 0 && info.padInfo.left >= 0) {
      // the filter's output channels padded to whole vectors where needed: [KH, KW, C, COP]
      const COP = wholeVectors(CO);
      let w = filter;
      if (COP !== CO) {
        w = wasm.makeOutput([KH, KW, C, COP], 'float32');
        const src = wasm.typedArrayFromHeap(filter) as Float32Array;
        const dst = wasm.typedArrayFromHeap(w) as Float32Array;
        dst.fill(0);
        for (let r = 0; r < KH * KW * C; r++) dst.set(src.subarray(r * CO, (r + 1) * CO), r * COP);
      }
      const out = wasm.makeOutput([B, OH, OW, CO], 'float32');
      simd.convDirect(heapOffset(wasm, x), heapOffset(wasm, w), bias ? heapOffset(wasm, bias) : 0, heapOffset(wasm, out), B, H, W, C, OH, OW, CO, COP, KH, KW,
        info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, relu);
      if (w !== filter) wasm.disposeData(w.dataId);
      return out;
    }
    return stock({ inputs, backend, attrs });
  };
  return { kernelName: name, backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/**
 * Channel counts padded to whole SIMD vectors, and tiles per chunk: the chunk's transformed inputs and products
 * (16 x TC x (CP + COP) floats) within ~256 KiB, about this CPU's L2 (a quarter or four times that measured the same).
 */
function winogradSizes(C: number, CO: number): { CP: number; COP: number; TC: number } {
  const CP = wholeVectors(C);
  const COP = wholeVectors(CO);
  return { CP, COP, TC: Math.max(6, Math.floor(65536 / (16 * (CP + COP)) / 6) * 6) };
}

/** Whether lopper_winograd_conv takes a convolution: 3x3, stride and dilation 1, enough channels to pay for its transforms. */
export function winogradApplies(info: tf.backend_util.Conv2DInfo): boolean {
  const { inChannels: C, outChannels: CO, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo } = info;
  return filterHeight === 3 && filterWidth === 3 && strideHeight === 1 && strideWidth === 1 && dilationHeight === 1 && dilationWidth === 1
    && Math.min(C, CO) >= 8 && C * CO >= 128 && padInfo.top >= 0 && padInfo.left >= 0;
}

/**
 * Binary ops where one float32 operand has the output's shape and the other is broadcast (a per-channel
 * vector, say): the stock kernel computes broadcast indices per element (4.5 ms for [128,28,28,6] x [6]);
 * tiling the small operand with the block-copy Tile and running the same-shape kernel takes ~2 ms.
 */
function tiledBroadcast(name: string, stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const sa = sizeOf(a);
    const sb = sizeOf(b);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || sa === sb) return stock({ inputs, backend, attrs });
    const [big, small] = sa > sb ? [a, b] : [b, a];
    const rank = big.shape.length;
    if (small.shape.length > rank || rank === 0) return stock({ inputs, backend, attrs });
    const padded = [...Array<number>(rank - small.shape.length).fill(1), ...small.shape];
    if (!padded.every((d, i) => d === big.shape[i] || d === 1)) return stock({ inputs, backend, attrs });
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    const Cs = padded[rank - 1];
    // A per-channel vector (or a scalar) against the full tensor, but not vector / tensor: one SIMD pass of x * s + t
    // (tensor / vector: x / d, correctly rounded).
    if (simd && padded.slice(0, -1).every((d) => d === 1) && !(name === 'RealDiv' && small === a)) {
      const v = heapFloats(wasm, small);
      const bIsSmall = small === b;
      return perChannelPass(wasm, simd, big, Cs, (c) => {
        const k = v[c];
        if (name === 'Multiply' || name === 'RealDiv') return [k, 0];
        if (name === 'Add') return [1, k];
        return bIsSmall ? [1, -k] : [-1, k]; // Sub
      }, name === 'RealDiv');
    }
    if (Math.max(sa, sb) < 4096 || Math.min(sa, sb) === 1) return stock({ inputs, backend, attrs });
    const tiled = wasm.makeOutput(big.shape, 'float32');
    tileInto(wasm.typedArrayFromHeap(small) as Float32Array, wasm.typedArrayFromHeap(tiled) as Float32Array, padded, padded.map((d, i) => big.shape[i] / d));
    const out = stock({ inputs: sa > sb ? { a, b: tiled } : { a: tiled, b }, backend, attrs }) as tf.TensorInfo;
    wasm.disposeData(tiled.dataId);
    return out;
  };
  return { kernelName: name, backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

interface DepthwiseBackpropAttrs { strides: [number, number] | number; dilations: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding; dimRoundingMode?: 'floor' | 'round' | 'ceil' }

/**
 * Visits every (input position, filter tap, output position) triple of a depthwise convolution (NHWC,
 * filter [KH, KW, CI, M], output channel ci*M + m): f(xIndex, filterIndexBase, dyIndexBase) for each
 * in-bounds tap; the caller loops over the channel block.
 */
function forEachDepthwiseTap(info: tf.backend_util.Conv2DInfo, f: (xi: number, wi: number, yi: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < batchSize; b++) for (let oh = 0; oh < outHeight; oh++) for (let kh = 0; kh < filterHeight; kh++) {
    const ih = oh * strideHeight + kh * dilationHeight - top;
    if (ih < 0 || ih >= inHeight) continue;
    for (let ow = 0; ow < outWidth; ow++) for (let kw = 0; kw < filterWidth; kw++) {
      const iw = ow * strideWidth + kw * dilationWidth - left;
      if (iw < 0 || iw >= inWidth) continue;
      f(((b * inHeight + ih) * inWidth + iw) * inChannels, (kh * filterWidth + kw) * outChannels, ((b * outHeight + oh) * outWidth + ow) * outChannels);
    }
  }
}

/** DepthwiseConv2dNativeBackpropFilter (missing from the WASM backend): dW[kh, kw, ci, m] = sum x * dy. */
const depthwiseBackpropFilter: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as DepthwiseBackpropAttrs & { filterShape: [number, number, number, number] };
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode, true, 'channelsLast');
    const wasm = backend as BackendWasm;
    const out = wasm.makeOutput(filterShape, 'float32');
    const dw = wasm.typedArrayFromHeap(out) as Float32Array;
    const xv = wasm.typedArrayFromHeap(x) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    dw.fill(0);
    const CI = info.inChannels;
    const M = info.outChannels / CI;
    forEachDepthwiseTap(info, (xi, wi, yi) => {
      for (let ci = 0; ci < CI; ci++) {
        const xval = xv[xi + ci];
        for (let m = 0; m < M; m++) dw[wi + ci * M + m] += xval * g[yi + ci * M + m];
      }
    });
    return out;
  },
};

/** DepthwiseConv2dNativeBackpropInput (missing from the WASM backend): dx[.., ci] = sum over taps and m of W * dy. */
const depthwiseBackpropInput: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as DepthwiseBackpropAttrs & { inputShape: [number, number, number, number] };
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, true, 'channelsLast');
    const wasm = backend as BackendWasm;
    const out = wasm.makeOutput(inputShape, 'float32');
    const dx = wasm.typedArrayFromHeap(out) as Float32Array;
    const w = wasm.typedArrayFromHeap(filter) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    dx.fill(0);
    const CI = info.inChannels;
    const M = info.outChannels / CI;
    forEachDepthwiseTap(info, (xi, wi, yi) => {
      for (let ci = 0; ci < CI; ci++) {
        let acc = 0;
        for (let m = 0; m < M; m++) acc += w[wi + ci * M + m] * g[yi + ci * M + m];
        dx[xi + ci] += acc;
      }
    });
    return out;
  },
};

/**
 * FusedBatchNorm as one SIMD pass (simd/kernels.c): y = x * s + t with s = scale / sqrt(variance + eps) and
 * t = offset - mean * s computed here per channel. The stock kernel evaluates a square root and a division per
 * element (~7 ns per element: 4.4 ms of a 24.6 ms LeNet-5 inference batch). Parameters that are not
 * per-channel vectors of the last axis, or no SIMD module, go to the stock kernel.
 */
function fastFusedBatchNorm(stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, mean, variance, offset, scale } = inputs as { x: tf.TensorInfo; mean: tf.TensorInfo; variance: tf.TensorInfo; offset?: tf.TensorInfo; scale?: tf.TensorInfo };
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    const C = x.shape[x.shape.length - 1] ?? 1;
    const params = [mean, variance, offset, scale].filter((t): t is tf.TensorInfo => t != null);
    const perChannel = (t: tf.TensorInfo) => t.dtype === 'float32' && sizeOf(t) === C && t.shape.slice(0, -1).every((d) => d === 1) && (t.shape.length === 0 ? C === 1 : t.shape[t.shape.length - 1] === C);
    if (!simd || x.dtype !== 'float32' || x.shape.length === 0 || !params.every(perChannel)) return stock({ inputs, backend, attrs });
    const m = heapFloats(wasm, mean);
    const v = heapFloats(wasm, variance);
    const g = scale ? heapFloats(wasm, scale) : null;
    const o = offset ? heapFloats(wasm, offset) : null;
    return perChannelPass(wasm, simd, x, C, (c) => {
      const sc = Math.fround((g ? g[c] : 1) / Math.sqrt(v[c] + varianceEpsilon));
      return [sc, (o ? o[c] : 0) - m[c] * sc];
    });
  };
  return { kernelName: 'FusedBatchNorm', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/**
 * Sum and Mean over leading axes (BatchNorm's per-channel statistics and gradients reduce [N, H, W] of NHWC):
 * the stock kernels transpose the reduced axes innermost first; this sums rows in place with SIMD
 * (simd/kernels.c). Other axes, dtypes, or no SIMD module go to the stock kernel.
 */
function leadingAxesReduce(name: 'Sum' | 'Mean', stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const k = axes.length;
    if (!simd || x.dtype !== 'float32' || rank === 0 || k === 0 || !axes.every((a, i) => a === i) || sizeOf(x) === 0) return stock({ inputs, backend, attrs });
    const inner = x.shape.slice(k).reduce((p, d) => p * d, 1);
    const rows = x.shape.slice(0, k).reduce((p, d) => p * d, 1);
    if (rows < 8) return stock({ inputs, backend, attrs });
    const sums = columnSums(wasm, simd, x, inner);
    const out = wasm.makeOutput(keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k), 'float32');
    const o = wasm.typedArrayFromHeap(out) as Float32Array;
    const scale = name === 'Mean' ? 1 / rows : 1;
    for (let j = 0; j < inner; j++) o[j] = sums[j] * scale;
    return out;
  };
  return { kernelName: name, backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/**
 * `LopperAdam` (a Lopper kernel, used by workers/src/pruning/adam.ts): one Adam update of a variable in one SIMD
 * pass, outputs [x', m', v']. tf.train.adam runs 14 kernels per variable per step.
 */
const adamKernel: tf.KernelConfig = {
  kernelName: ADAM_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, g, m, v } = inputs as { x: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
    const a = attrs as unknown as AdamKernelAttrs;
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    if (!simd) throw new Error('LopperAdam needs the SIMD kernels');
    const outs = [x, m, v].map((t) => wasm.makeOutput(t.shape, 'float32'));
    simd.adam(heapOffset(wasm, x), heapOffset(wasm, g), heapOffset(wasm, m), heapOffset(wasm, v), ...outs.map((t) => heapOffset(wasm, t)) as [number, number, number], sizeOf(x),
      a.beta1, a.beta2, a.oneMinusBeta1, a.oneMinusBeta2, a.oneMinusAccBeta1, a.oneMinusAccBeta2, a.epsilon, a.negLearningRate);
    return outs;
  },
};

/**
 * `LopperBatchNormGrad`: every gradient of FusedBatchNorm (x, mean, variance, scale, offset) from two SIMD passes: the
 * per-channel sums of dy and dy * (x - mean), then dx = dy * scale / sqrt(variance + eps). TF.js's gradient makes
 * about fourteen full passes (tile, products, reductions). Used through the gradient override below.
 */
export const BN_GRAD_KERNEL = 'LopperBatchNormGrad';
const batchNormGradKernel: tf.KernelConfig = {
  kernelName: BN_GRAD_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy, mean, variance, scale } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo; mean: tf.TensorInfo; variance: tf.TensorInfo; scale?: tf.TensorInfo };
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm)!;
    const C = x.shape[x.shape.length - 1];
    // copies: batchNormGradSums and the outputs below allocate, which may grow the heap and detach views of it
    const v = heapFloats(wasm, variance);
    const g = scale ? heapFloats(wasm, scale) : null;
    const { sumDy, sumDyXm } = batchNormGradSums(wasm, simd, x, dy, heapFloats(wasm, mean), C);
    const f = Math.fround;
    const rs = Float32Array.from({ length: C }, (_, c) => f(1 / Math.sqrt(f(v[c] + varianceEpsilon))));
    const perC = (value: (c: number) => number) => channelValues(wasm, mean.shape, C, value);
    const gc = (c: number) => (g ? g[c] : 1);
    const dMean = perC((c) => -rs[c] * gc(c) * sumDy[c]);
    const dVariance = perC((c) => -0.5 * rs[c] * rs[c] * rs[c] * gc(c) * sumDyXm[c]);
    const dScale = perC((c) => rs[c] * sumDyXm[c]);
    const dOffset = perC((c) => sumDy[c]);
    const dx = perChannelPass(wasm, simd, dy, C, (c) => [f(rs[c] * gc(c)), 0]);
    return [dx, dMean, dVariance, dScale, dOffset];
  },
};

/** FusedBatchNorm's gradient through LopperBatchNormGrad in the per-channel case (float32, mean/variance rank 1). */
function registerBatchNormGradient(): void {
  overrideGradient('FusedBatchNorm', BN_GRAD_KERNEL, (g, saved, attrs) => {
    const [x, mean, variance, scale] = saved;
    const C = x.shape[x.rank - 1];
    const fits = x.dtype === 'float32' && g.dtype === 'float32' && x.rank === 4 && mean.rank === 1 && variance.rank === 1 && mean.shape[0] === C && (!scale || (scale.rank === 1 && scale.shape[0] === C));
    if (!fits) return null;
    const [dx, dMean, dVariance, dScale, dOffset] = tf.engine().runKernel(BN_GRAD_KERNEL, { x, dy: g, mean, variance, ...(scale ? { scale } : {}) }, attrs) as tf.Tensor[];
    return { x: () => dx, mean: () => dMean, variance: () => dVariance, scale: () => dScale, offset: () => dOffset };
  });
}

/** `LopperReluGrad` (fused-ops.ts): dy * step(x) in one SIMD pass (step as TF.js's: 1 above zero, 0 at or below, NaN for NaN). */
const reluGradKernel: tf.KernelConfig = {
  kernelName: RELU_GRAD_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const wasm = backend as BackendWasm;
    const out = wasm.makeOutput(x.shape, 'float32');
    simdKernels(wasm)!.reluGrad(heapOffset(wasm, x), heapOffset(wasm, dy), heapOffset(wasm, out), sizeOf(x));
    return out;
  },
};

export const WASM_EXTRA_KERNELS: tf.KernelConfig[] = [conv2DBackpropFilter, depthwiseBackpropFilter, depthwiseBackpropInput];

const LOPPER_TAG = Symbol('lopper.kernel');

/**
 * A . B (+ bias, ReLU) by lopper_gemm for float32 operands of rank 2, or of higher rank with every batch dimension 1
 * (the dense layers' products, with the transposes of their gradients as strides); null where that does not apply.
 * B is packed into 8-column panels per call (K x N floats: 1/M of the product's work).
 */
function gemm(wasm: BackendWasm, simd: SimdKernels, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean, bias?: tf.TensorInfo, relu = false): tf.TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return null;
  const batch = (t: tf.TensorInfo) => t.shape.slice(0, -2);
  if (![...batch(a), ...batch(b)].every((d) => d === 1)) return null;
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = transposeA ? ac : ar, K = transposeA ? ar : ac;
  const N = transposeB ? br : bc;
  if ((transposeB ? bc : br) !== K || M === 0 || N === 0 || K === 0) return null;
  // A few rows without transposes: packing B would be most of the work (batch-1 inference: 0.6x XNNPACK); the stock kernel.
  if (M < 8 && !transposeA && !transposeB) return null;
  if (bias && (bias.dtype !== 'float32' || sizeOf(bias) !== N)) return null;
  const bp = wasm.makeOutput([Math.ceil(N / 8) * 8 * K], 'float32');
  simd.gemmPackB(heapOffset(wasm, b), heapOffset(wasm, bp), K, N, transposeB ? 1 : N, transposeB ? K : 1);
  const lead = a.shape.length >= b.shape.length ? batch(a) : batch(b);
  const out = wasm.makeOutput([...lead, M, N], 'float32');
  simd.gemm(heapOffset(wasm, a), heapOffset(wasm, bp), bias ? heapOffset(wasm, bias) : 0, heapOffset(wasm, out), M, N, K, transposeA ? 1 : K, transposeA ? M : 1, relu ? 1 : 0);
  wasm.disposeData(bp.dataId);
  return out;
}

/**
 * BatchMatMul: Lopper's GEMM (gemm above; 1.5-2x XNNPACK's here, `npm run bench:kernels`) where it applies. Otherwise
 * the stock WASM kernel, whose transposeA/transposeB path is a scalar loop: the operand is transposed explicitly (WASM
 * Transpose kernel) and multiplied without transposes (XNNPACK).
 */
function fastBatchMatMul(stock: tf.KernelFunc): tf.KernelConfig {
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    const fast = simd && gemm(wasm, simd, a, b, transposeA, transposeB);
    if (fast) return fast;
    if (!transposeA && !transposeB) return stock({ inputs, backend, attrs });
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
  return { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/** _FusedMatMul (a dense layer's forward: bias, linear or ReLU) by Lopper's GEMM where it applies; else the stock kernel. */
function fastFusedMatMul(stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b, bias, preluActivationWeights } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const { transposeA, transposeB, activation } = attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string };
    const act = activation ?? 'linear';
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    const fast = simd && !preluActivationWeights && (act === 'linear' || act === 'relu') && gemm(wasm, simd, a, b, transposeA, transposeB, bias, act === 'relu');
    return fast || stock({ inputs, backend, attrs });
  };
  return { kernelName: '_FusedMatMul', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/** A new tensor on x's buffer (reference-counted), as the WASM backend's own Reshape makes. */
function alias(backend: unknown, x: tf.TensorInfo): tf.TensorInfo {
  (backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Identity without a copy: tensors are immutable, so the output shares the input's buffer (reference-counted),
 * as the cpu backend and the WASM backend's own Reshape do. The stock kernel copies (10 copies of the largest
 * activation per LeNet-5 training step, ~1 ms each).
 */
function sharedIdentity(stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    return x.dtype === 'string' ? stock({ inputs, backend, attrs }) : alias(backend, x);
  };
  return { kernelName: 'Identity', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/**
 * Slice of a contiguous range (leading-axis slices: LayersModel.predict slices its input into batches even when one
 * batch is the whole input): the whole tensor shares the buffer as Identity does, a part is one copy out of the heap.
 * The stock kernel first copies the whole input out of the WASM heap (readSync) whatever the slice: 0.13-0.20 ms of a
 * LeNet-5's batch-64 inference (`scripts/profile-step.ts --infer --batch=64`). Strided slices and strings go to the
 * stock kernel.
 */
function contiguousSlice(stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
    if (x.dtype === 'string') return stock({ inputs, backend, attrs });
    const [b, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    if (!tf.slice_util.isSliceContinous(x.shape, b, sz)) return stock({ inputs, backend, attrs });
    if (sz.every((d, i) => d === x.shape[i])) return alias(backend, x);
    const wasm = backend as BackendWasm;
    const out = wasm.makeOutput(sz, x.dtype);
    const n = sizeOf(out);
    if (n > 0) {
      const from = tf.slice_util.computeFlatOffset(b, tf.util.computeStrides(x.shape));
      wasm.typedArrayFromHeap(out).set(wasm.typedArrayFromHeap(x).subarray(from, from + n));
    }
    return out;
  };
  return { kernelName: 'Slice', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/**
 * MaxPool through lopper_maxpool (float32 NHWC, any window, stride and padding): the stock (XNNPACK) kernel costs
 * about as much on a pruned conv1's 3 channels as on the baseline's 6; 2x2 windows of stride 2 are one vector compare per
 * tap and channel group here, fewer than 4 channels included (0.04 vs 0.16 ms on [64,28,28,3], 2.3-3.3x on the model
 * zoo's shapes: `npm run bench:kernels`). Without the SIMD module, or for other dtypes, the stock kernel.
 */
function fastMaxPool(stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as { filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    const wasm = backend as BackendWasm;
    const simd = simdKernels(wasm);
    if (!simd || x.dtype !== 'float32' || x.shape.length !== 4) return stock({ inputs, backend, attrs });
    const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth, padInfo } = info;
    const out = wasm.makeOutput([B, OH, OW, C], 'float32');
    if (sizeOf(out) > 0) simd.maxPool(heapOffset(wasm, x), heapOffset(wasm, out), B, H, W, C, OH, OW, strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth, padInfo.top, padInfo.left);
    return out;
  };
  return { kernelName: 'MaxPool', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/** Cast to the tensor's own dtype (ReLU's gradient casts its float32 step mask) shares the buffer instead of copying. */
function sameDtypeCast(stock: tf.KernelFunc): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { dtype } = attrs as unknown as { dtype: tf.DataType };
    return dtype !== x.dtype || x.dtype === 'string' ? stock({ inputs, backend, attrs }) : alias(backend, x);
  };
  return { kernelName: 'Cast', backendName: 'wasm', kernelFunc: Object.assign(kernelFunc, { [LOPPER_TAG]: true }) };
}

/** Registers the extra kernels once (idempotent). Call after the WASM backend is initialised. */
export function registerWasmKernels(): void {
  for (const k of WASM_EXTRA_KERNELS) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  if (simdKernels(tf.findBackend('wasm') as BackendWasm)) {
    for (const k of [adamKernel, batchNormGradKernel, reluGradKernel]) if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
    registerBatchNormGradient();
    registerReluGradient();
    installFusedMoments();
  }
  const replace = (name: string, make: (stock: tf.KernelFunc) => tf.KernelConfig) => {
    const stock = tf.getKernel(name, 'wasm');
    if (stock && !(LOPPER_TAG in stock.kernelFunc)) {
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(make(stock.kernelFunc));
    }
  };
  replace('BatchMatMul', fastBatchMatMul);
  replace('_FusedMatMul', fastFusedMatMul);
  replace('Conv2DBackpropInput', fastConv2DBackpropInput);
  replace('Tile', () => ({ ...tileKernel, kernelFunc: Object.assign(tileKernel.kernelFunc, { [LOPPER_TAG]: true }) }));
  for (const op of ['Multiply', 'Add', 'Sub', 'RealDiv']) replace(op, (stock) => tiledBroadcast(op, stock));
  replace('FusedBatchNorm', fastFusedBatchNorm);
  replace('Identity', sharedIdentity);
  replace('Cast', sameDtypeCast);
  replace('Conv2D', (stock) => fastConv('Conv2D', stock));
  replace('FusedConv2D', (stock) => fastConv('FusedConv2D', stock));
  replace('Sum', (stock) => leadingAxesReduce('Sum', stock));
  replace('Mean', (stock) => leadingAxesReduce('Mean', stock));
  replace('Slice', contiguousSlice);
  replace('MaxPool', fastMaxPool);
  replace('MaxPoolGrad', () => ({ ...maxPoolGradKernel, kernelFunc: Object.assign(maxPoolGradKernel.kernelFunc, { [LOPPER_TAG]: true }) }));
}
