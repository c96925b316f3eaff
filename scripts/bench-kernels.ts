/**
 * `npm run bench:kernels`: Lopper's WASM training kernels against what they replace, measured in the same run on the
 * same inputs (median of 15 calls after at least 10 warm-up calls and 400 ms, which let V8 tier the kernels' WebAssembly up from its baseline compiler;
 * nothing else running). Prints one table:
 * - Conv2DBackpropFilter (SIMD, output channels in lanes) vs the XNNPACK formulation it replaced (one convolution with
 *   the batch as channel axis, still used for channel counts that are not a multiple of 4); for 3x3 stride-1 shapes a
 *   second row, Lopper's Winograd F(2x2, 3x3) filter gradient against its direct SIMD kernel (the faster of the two
 *   serves the build);
 * - 3x3 stride-1 FusedConv2D (Winograd F(2x2, 3x3), bias and ReLU fused) vs the stock (XNNPACK) kernel, including
 *   channel counts a pruned model has; "GFLOP/s" counts a direct convolution's FLOPs for every row;
 * - FusedConv2D by the direct SIMD kernel (every shape that is neither single-channel nor Winograd) vs the stock
 *   (XNNPACK) kernel;
 * - Conv2DBackpropInput (straight from dy, <= 8 input channels) vs the stock TF.js WASM kernel; with stride 2 and more
 *   channels (phase by phase) vs the convolution of the dilated form it replaced (without its dilation copy);
 * - the single-input-channel convolution (LeNet's conv1): FusedConv2D with bias and ReLU vs the stock (XNNPACK) kernel, and
 *   its filter gradient vs the XNNPACK formulation;
 * - the dense layers' products (_FusedMatMul, BatchMatMul with a transpose) by Lopper's GEMM vs the stock kernels;
 * - tf.moments over [N, H, W] forward + gradient (LopperMoments) vs TF.js's own moments on the same backend;
 * - ReLU's gradient (LopperReluGrad) vs the Step, Cast and Multiply of TF.js's Relu gradient;
 * - MaxPool 2x2 (lopper_maxpool) vs the stock (XNNPACK) kernel, on the model zoo's shapes and a pruned conv1's 3 channels;
 * - Slice of leading rows (LayersModel.predict's batches) vs the stock kernel, which first copies the whole input.
 * Lopper's kernels run in the build LOPPER_WASM_FMA selects (default: the fused multiply-add build where the engine
 * takes relaxed SIMD), as in a worker; the table's first line names it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers TF.js's gradients, as in the worker
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { conv2DBackpropFilterViaConv, registerWasmKernels, winogradApplies, winogradFilterGrad } from '../workers/src/backends/wasm-kernels.js';
import { RELU_GRAD_KERNEL, fusedMoments } from '../workers/src/backends/fused-ops.js';
import { configureSimd, heapOffset, simdKernels, type SimdFmaSetting } from '../workers/src/backends/simd.js';
import { markdownTable } from './markdown-table.js';

const variant = configureSimd((process.env.LOPPER_WASM_FMA || 'auto') as SimdFmaSetting);
await tf.setBackend('wasm');
await tf.ready();
const stockInput = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc; // before Lopper's kernels replace it
const stockFusedConv = tf.getKernel('FusedConv2D', 'wasm')!.kernelFunc;
const stockConv = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
const stockMatMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
const stockFusedMatMul = tf.getKernel('_FusedMatMul', 'wasm')!.kernelFunc;
const stockTranspose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
const stockMaxPool = tf.getKernel('MaxPool', 'wasm')!.kernelFunc;
const stockSlice = tf.getKernel('Slice', 'wasm')!.kernelFunc;
const originalMoments = tf.moments;
registerWasmKernels();
const wasm = tf.backend() as BackendWasm;
const simd = simdKernels(wasm)!;

const WARMUP = 10;

const WARMUP_MS = 400;

function median(f: () => tf.TensorInfo | tf.Tensor | tf.Tensor[]): number {
  const ts: number[] = [];
  const run = () => {
    const t0 = performance.now();
    const out = f();
    const t = performance.now() - t0; // WASM kernels are synchronous: the result is there when they return
    const outs = (Array.isArray(out) ? out : [out]) as tf.TensorInfo[];
    for (const o of outs) (o instanceof tf.Tensor ? o.dispose() : wasm.disposeData(o.dataId));
    return t;
  };
  // Warm-up: WARMUP calls and at least WARMUP_MS, so that V8 has tiered the kernel's WebAssembly up before timing.
  const start = performance.now();
  for (let i = 0; i < WARMUP || performance.now() - start < WARMUP_MS; i++) run();
  for (let i = 0; i < 15; i++) ts.push(run());
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}

const rows: string[][] = [];
const row = (kernel: string, shape: string, flops: number, ours: number, reference: string, ref: number) =>
  rows.push([kernel, shape, ours.toFixed(2), flops ? (flops / ours / 1e6).toFixed(1) : '-', ref.toFixed(2), reference, (ref / ours).toFixed(2)]);

type Shape4 = [number, number, number, number];
type Conv = [Shape4, Shape4, number, 'same' | 'valid'];
const convs: Conv[] = [
  [[128, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'], // LeNet-5 conv2
  [[128, 28, 28, 16], [3, 3, 16, 16], 1, 'same'], // vgg-small
  [[128, 14, 14, 32], [3, 3, 32, 32], 1, 'same'],
  [[128, 7, 7, 64], [3, 3, 64, 64], 1, 'same'],
  [[128, 14, 14, 32], [3, 3, 32, 64], 2, 'same'],
];
for (const [xs, fs, s, p] of convs) {
  const x = tf.randomNormal(xs, 0, 1, 'float32', 1) as tf.Tensor4D;
  const info = tf.backend_util.computeConv2DInfo(xs, fs, s, 1, p);
  const dy = tf.randomNormal([...info.outShape], 0, 1, 'float32', 2) as tf.Tensor4D;
  const flops = 2 * fs.reduce((a, b) => a * b, 1) * info.outHeight * info.outWidth * info.batchSize;
  const attrs = { strides: s, pad: p, dataFormat: 'NHWC' };
  const shape = `x [${xs}] w [${fs}] s${s} ${p}`;
  const ours = median(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fs }) as tf.Tensor);
  row('Conv2DBackpropFilter', shape, flops, ours, 'XNNPACK conv, batch as channels', median(() => conv2DBackpropFilterViaConv(x, dy, info, wasm, stockConv)!));
  if (winogradApplies(info)) {
    // Lopper's two filter-gradient kernels for 3x3 stride 1, each called directly (the kernel above takes the faster one
    // for the build: Winograd in SIMD128, the direct kernel with fused multiply-adds).
    const direct = () => {
      const out = wasm.makeOutput(fs, 'float32');
      simd.convFilterGrad(heapOffset(wasm, x), heapOffset(wasm, dy), heapOffset(wasm, out), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
        info.outHeight, info.outWidth, info.outChannels, 3, 3, 1, 1, info.padInfo.top, info.padInfo.left);
      return out;
    };
    row('Winograd filter gradient', shape, flops, median(() => winogradFilterGrad(wasm, simd, x, dy, info)), 'direct SIMD kernel', median(direct));
  }
  if (xs[3] <= 8) {
    const w = tf.randomNormal(fs, 0, 1, 'float32', 3) as tf.Tensor4D;
    const inputs = { dy, filter: w };
    const a = { ...attrs, inputShape: xs };
    const oursIn = median(() => tf.engine().runKernel('Conv2DBackpropInput', inputs, a) as tf.Tensor);
    row('Conv2DBackpropInput', shape, flops, oursIn, 'stock TF.js WASM kernel', median(() => stockInput({ inputs, attrs: a, backend: wasm }) as tf.TensorInfo));
    w.dispose();
  }
  tf.dispose([x, dy]);
}
// 3x3 stride-1 forward convolutions (vgg-small's, and a pruned model's channel counts): Winograd against XNNPACK.
for (const [xs, co] of [[[128, 28, 28, 16], 16], [[128, 14, 14, 32], 32], [[128, 7, 7, 64], 64], [[128, 14, 14, 13], 27]] as [Shape4, number][]) {
  const fs: Shape4 = [3, 3, xs[3], co];
  const x = tf.randomNormal(xs, 0, 1, 'float32', 11) as tf.Tensor4D;
  const w = tf.randomNormal(fs, 0, 1, 'float32', 12) as tf.Tensor4D;
  const bias = tf.randomNormal([co], 0, 1, 'float32', 13);
  const flops = 2 * 9 * xs[3] * co * xs[0] * xs[1] * xs[2];
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
  const inputs = { x, filter: w, bias };
  const ours = median(() => tf.engine().runKernel('FusedConv2D', inputs, attrs) as tf.Tensor);
  row('FusedConv2D + ReLU', `x [${xs}] w [${fs}] s1 same`, flops, ours, 'stock TF.js WASM (XNNPACK)', median(() => stockFusedConv({ inputs, attrs, backend: wasm }) as tf.TensorInfo));
  tf.dispose([x, w, bias]);
}
// Every other convolution (LeNet's conv2, strided and 1x1 convolutions, few channels): the direct kernel against XNNPACK.
for (const [xs, fs, st, p] of [
  [[128, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'], [[128, 28, 28, 16], [3, 3, 16, 32], 2, 'same'], [[128, 28, 28, 16], [1, 1, 16, 32], 2, 'same'],
  [[128, 14, 14, 64], [1, 1, 64, 64], 1, 'same'], [[128, 28, 28, 3], [3, 3, 3, 16], 1, 'same'], [[128, 28, 28, 5], [3, 3, 5, 7], 1, 'same'],
] as [Shape4, Shape4, number, 'same' | 'valid'][]) {
  const x = tf.randomNormal(xs, 0, 1, 'float32', 16) as tf.Tensor4D;
  const w = tf.randomNormal(fs, 0, 1, 'float32', 17) as tf.Tensor4D;
  const bias = tf.randomNormal([fs[3]], 0, 1, 'float32', 18);
  const info = tf.backend_util.computeConv2DInfo(xs, fs, st, 1, p);
  const flops = 2 * fs.reduce((a, b) => a * b, 1) * info.outHeight * info.outWidth * info.batchSize;
  const attrs = { strides: st, pad: p, dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
  const inputs = { x, filter: w, bias };
  const ours = median(() => tf.engine().runKernel('FusedConv2D', inputs, attrs) as tf.Tensor);
  row('FusedConv2D + ReLU', `x [${xs}] w [${fs}] s${st} ${p}`, flops, ours, 'stock TF.js WASM (XNNPACK)', median(() => stockFusedConv({ inputs, attrs, backend: wasm }) as tf.TensorInfo));
  tf.dispose([x, w, bias]);
}
// Strided input gradients with more than 8 input channels (resnet-small's stride-2 convolutions): phase by phase against
// the dilated form used before (dy dilated by the stride, then one stride-1 convolution with the flipped filter).
for (const [xs, fs] of [[[128, 28, 28, 16], [3, 3, 16, 32]], [[128, 28, 28, 16], [1, 1, 16, 32]]] as [Shape4, Shape4][]) {
  const info = tf.backend_util.computeConv2DInfo(xs, fs, 2, 1, 'same');
  const dy = tf.randomNormal([...info.outShape], 0, 1, 'float32', 14) as tf.Tensor4D;
  const w = tf.randomNormal(fs, 0, 1, 'float32', 15) as tf.Tensor4D;
  const flops = 2 * fs.reduce((a, b) => a * b, 1) * info.outHeight * info.outWidth * info.batchSize;
  const ours = median(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: xs }) as tf.Tensor);
  // The dilated dy and flipped filter are made once, outside the timing: the reference is the convolution alone (the code
  // it replaced also spent a JS copy loop on the dilation per call), so the ratio understates the change.
  const [KH, KW] = fs;
  const { top, left } = info.padInfo;
  const DH = (info.outHeight - 1) * 2 + 1, DW = (info.outWidth - 1) * 2 + 1;
  const d = tf.buffer([xs[0], DH, DW, fs[3]]);
  const g = dy.bufferSync();
  for (let b = 0; b < xs[0]; b++) for (let i = 0; i < info.outHeight; i++) for (let j = 0; j < info.outWidth; j++) for (let c = 0; c < fs[3]; c++) d.set(g.get(b, i, j, c), b, 2 * i, 2 * j, c);
  const dilated = d.toTensor() as tf.Tensor4D;
  const flipped = tf.tidy(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
  const pT = KH - 1 - top, pL = KW - 1 - left;
  const dilatedForm = () => tf.conv2d(dilated, flipped, 1, [[0, 0], [pT, xs[1] + KH - 1 - pT - DH], [pL, xs[2] + KW - 1 - pL - DW], [0, 0]]);
  row('Conv2DBackpropInput', `x [${xs}] w [${fs}] s2 same`, flops, ours, 'dilated dy: its convolution alone', median(dilatedForm));
  tf.dispose([dy, w, dilated, flipped]);
}
// The single-input-channel convolution (LeNet's conv1): forward with bias and ReLU, and its filter gradient.
{
  const xs: Shape4 = [128, 28, 28, 1];
  const fs: Shape4 = [5, 5, 1, 6];
  const x = tf.randomNormal(xs, 0, 1, 'float32', 7) as tf.Tensor4D;
  const w = tf.randomNormal(fs, 0, 1, 'float32', 8) as tf.Tensor4D;
  const bias = tf.randomNormal([6], 0, 1, 'float32', 9);
  const info = tf.backend_util.computeConv2DInfo(xs, fs, 1, 1, 'same');
  const dy = tf.randomNormal([...info.outShape], 0, 1, 'float32', 10) as tf.Tensor4D;
  const flops = 2 * fs.reduce((a, b) => a * b, 1) * info.outHeight * info.outWidth * info.batchSize;
  const shape = `x [${xs}] w [${fs}] s1 same`;
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
  const inputs = { x, filter: w, bias };
  const ours = median(() => tf.engine().runKernel('FusedConv2D', inputs, attrs) as tf.Tensor);
  row('FusedConv2D + ReLU', shape, flops, ours, 'stock TF.js WASM (XNNPACK)', median(() => stockFusedConv({ inputs, attrs, backend: wasm }) as tf.TensorInfo));
  const oursF = median(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: fs }) as tf.Tensor);
  row('Conv2DBackpropFilter', shape, flops, oursF, 'XNNPACK conv, batch as channels', median(() => conv2DBackpropFilterViaConv(x, dy, info, wasm, stockConv)!));
  tf.dispose([x, w, bias, dy]);
}
// The dense layers (LeNet-5's 400 -> 120 -> 84, the MLP's 784 -> 300 -> 100) at batch 128: forward (_FusedMatMul with bias
// and ReLU), filter gradient x^T dy and input gradient dy W^T (BatchMatMul with a transpose), by Lopper's GEMM against the
// stock kernels as Lopper used them before (an explicit Transpose, then XNNPACK's matmul; its transposed path is a scalar loop).
for (const [M, K, N] of [[128, 400, 120], [128, 120, 84], [128, 784, 300], [128, 300, 100]]) {
  const x = tf.randomNormal([1, M, K], 0, 1, 'float32', 19);
  const w = tf.randomNormal([1, K, N], 0, 1, 'float32', 20);
  const bias = tf.randomNormal([N], 0, 1, 'float32', 21);
  const dy = tf.randomNormal([1, M, N], 0, 1, 'float32', 22);
  const flops = 2 * M * K * N;
  const fused = { transposeA: false, transposeB: false, activation: 'relu' };
  row('_FusedMatMul + ReLU', `[${M},${K}] x [${K},${N}]`, flops, median(() => tf.engine().runKernel('_FusedMatMul', { a: x, b: w, bias }, fused) as tf.Tensor),
    'stock TF.js WASM (XNNPACK)', median(() => stockFusedMatMul({ inputs: { a: x, b: w, bias }, backend: wasm, attrs: fused }) as tf.TensorInfo));
  const transposedStock = (a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean) => () => {
    const t = stockTranspose({ inputs: { x: ta ? a : b }, backend: wasm, attrs: { perm: [0, 2, 1] } }) as tf.TensorInfo;
    const out = stockMatMul({ inputs: { a: ta ? t : a, b: ta ? b : t }, backend: wasm, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
    wasm.disposeData(t.dataId);
    return out;
  };
  row('BatchMatMul, A^T', `[${K},${M}]^T x [${M},${N}]`, flops, median(() => tf.engine().runKernel('BatchMatMul', { a: x, b: dy }, { transposeA: true, transposeB: false }) as tf.Tensor),
    'Transpose + XNNPACK matmul', median(transposedStock(x, dy, true)));
  row('BatchMatMul, B^T', `[${M},${N}] x [${K},${N}]^T`, flops, median(() => tf.engine().runKernel('BatchMatMul', { a: dy, b: w }, { transposeA: false, transposeB: true }) as tf.Tensor),
    'Transpose + XNNPACK matmul', median(transposedStock(dy, w, false)));
  tf.dispose([x, w, bias, dy]);
}
const lopperMoments = fusedMoments(originalMoments as never) as typeof originalMoments;
for (const shape of [[128, 28, 28, 6], [128, 10, 10, 16], [128, 28, 28, 16]]) {
  const x = tf.randomNormal(shape, 3, 2, 'float32', 4);
  const step = (m: typeof originalMoments) => () => tf.tidy(() => {
    const u = tf.grad((xx: tf.Tensor) => { const r = m(xx, [0, 1, 2]); return tf.add(tf.sum(r.mean), tf.sum(r.variance)); })(x);
    return u;
  });
  row('moments + gradient', `x [${shape}]`, 0, median(step(lopperMoments)), 'TF.js moments, same backend', median(step(originalMoments)));
  x.dispose();
}
for (const shape of [[128, 28, 28, 6], [128, 28, 28, 16]]) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 5);
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 6);
  const ours = median(() => tf.engine().runKernel(RELU_GRAD_KERNEL, { x, dy }) as tf.Tensor);
  row('ReLU gradient', `x [${shape}]`, 0, ours, "TF.js's: Step, Cast, Multiply", median(() => tf.tidy(() => tf.mul(dy, tf.cast(tf.step(x), 'float32')))));
  tf.dispose([x, dy]);
}
for (const shape of [[64, 28, 28, 3], [128, 28, 28, 6], [128, 28, 28, 16], [128, 14, 14, 32]] as Shape4[]) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
  const attrs = { filterSize: 2, strides: 2, pad: 'valid' } as unknown as tf.NamedAttrMap;
  row('MaxPool 2x2 s2', `x [${shape}]`, 0, median(() => tf.engine().runKernel('MaxPool', { x }, attrs) as tf.Tensor),
    'stock TF.js WASM (XNNPACK)', median(() => stockMaxPool({ inputs: { x }, backend: wasm, attrs }) as tf.TensorInfo));
  x.dispose();
}
for (const [shape, rows0] of [[[64, 28, 28, 1], 64], [[256, 28, 28, 1], 128]] as [Shape4, number][]) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 8);
  const attrs = { begin: [0, 0, 0, 0], size: [rows0, -1, -1, -1] } as unknown as tf.NamedAttrMap;
  row(rows0 === shape[0] ? 'Slice, whole tensor' : 'Slice, leading rows', `[${shape}] -> ${rows0} rows`, 0, median(() => tf.engine().runKernel('Slice', { x }, attrs) as tf.Tensor),
    'stock TF.js WASM kernel', median(() => stockSlice({ inputs: { x }, backend: wasm, attrs }) as tf.TensorInfo));
  x.dispose();
}
const head = ['kernel', 'shape', 'Lopper ms', 'GFLOP/s', 'reference ms', 'reference', 'speedup'];
console.log(`TF.js ${tf.version_core} WASM backend, one thread, Lopper's ${variant === 'fma' ? 'fused multiply-add (relaxed SIMD)' : 'SIMD128'} kernels; median of 15 calls after ${WARMUP} warm-up calls and at least ${WARMUP_MS} ms`);
console.log(markdownTable(head, rows));
