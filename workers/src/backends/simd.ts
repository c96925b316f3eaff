/**
 * Lopper's SIMD kernels (simd/kernels.c, compiled to wasm32 + SIMD128 by scripts/build-simd.sh), instantiated
 * on the TF.js WASM backend's own memory so that they work on tensors in place. Null where that memory is not
 * reachable or is shared (the multi-threaded build), or where the engine lacks SIMD: callers fall back.
 * Two builds of the same source: `fma` (relaxed SIMD's fused multiply-add in the convolution and GEMM loops) where
 * the engine validates it, else `simd128` (configureSimd chooses; LOPPER_WASM_FMA at worker start).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type * as tf from '@tensorflow/tfjs-core';
import { setFlagsFromString } from 'node:v8';
import { KERNELS_FMA_WASM_BASE64, KERNELS_WASM_BASE64 } from './simd/kernels-wasm.js';

export interface SimdKernels {
  /** y = x * s + t, s and t tiled to L (a multiple of 4) floats. */
  affine(x: number, s: number, t: number, y: number, n: number, L: number): void;
  /** y = x / d, d tiled to L floats. */
  divChannels(x: number, d: number, y: number, n: number, L: number): void;
  /** acc[0..L) = sum of dy, acc[L..2L) = sum of dy * (x - mean), rows of L (scratch: acc[2L..4L)). */
  bnGradSums(x: number, dy: number, mean: number, acc: number, n: number, L: number): void;
  /** acc[0..L) = column sums of x viewed as rows of L (scratch: acc[L..2L)). */
  rowSum(x: number, acc: number, n: number, L: number): void;
  /** acc[0..L) = column sums of (x - mean)² over rows of L, mean tiled to L (scratch: acc[L..2L)). */
  sqDevSum(x: number, mean: number, acc: number, n: number, L: number): void;
  /** Direct convolution (NHWC, dilation 1, any stride and padding), vectorised over output channels; w is [KH, KW, C, COP] with COP = CO rounded up to a multiple of 4; bias 0 = none; relu 1 = fused ReLU. */
  convDirect(x: number, w: number, bias: number, out: number, B: number, H: number, W: number, C: number, OH: number, OW: number, CO: number, COP: number, KH: number, KW: number, sh: number, sw: number, padT: number, padL: number, relu: number): void;
  /** Conv2DBackpropInput straight from dy for KW * CI <= 48: Wt is [KH][CO][L] (+4 spare floats), L = KW * CI rounded up to a multiple of 4; pads are the forward convolution's. */
  convTransposeRows(dy: number, Wt: number, dx: number, B: number, H: number, W: number, CI: number, OH: number, OW: number, CO: number, KH: number, KW: number, sh: number, sw: number, padT: number, padL: number, L: number): void;
  /** B's element (k, n) at b[k*sk + n*sn] into panels of 8 columns, bp [ceil(N/8)][K][8], zero past N. */
  gemmPackB(b: number, bp: number, K: number, N: number, sk: number, sn: number): void;
  /** C [M, N] = A . B (+ bias [N], ReLU), A's element (i, k) at a[i*sr + k*sk], B packed by gemmPackB; bias 0 = none. */
  gemm(a: number, bp: number, bias: number, c: number, M: number, N: number, K: number, sr: number, sk: number, relu: number): void;
  /** Single-channel-input convolution, stride 1, on a padded input; bias 0 = none; relu 1 = fused ReLU. */
  convCin1(xp: number, w: number, bias: number, out: number, B: number, OH: number, OW: number, CO: number, KH: number, KW: number, relu: number): void;
  /** Filter gradient of a single-channel-input convolution (stride 1, CO <= 8) on a padded input. */
  convCin1FilterGrad(xp: number, dy: number, dw: number, B: number, OH: number, OW: number, CO: number, KH: number, KW: number): void;
  /** y = a * s + b * u + t with per-channel s, u, t tiled to L: BatchNorm's training gradient dx = dy * A + x * B + D. */
  affine2(a: number, b: number, s: number, u: number, t: number, y: number, n: number, L: number): void;
  /** A single-channel input [B, H, W] zero-padded to [B, HP, WP] (top rows above, left columns before each row). */
  padSingle(x: number, out: number, B: number, H: number, W: number, HP: number, WP: number, top: number, left: number): void;
  /** Filter gradient of a convolution (NHWC, dilation 1, CO a multiple of 4) into a [KH, KW, C, CO] dw it zeroes first. */
  convFilterGrad(x: number, dy: number, dw: number, B: number, H: number, W: number, C: number, OH: number, OW: number, CO: number, KH: number, KW: number, sh: number, sw: number, padT: number, padL: number): void;
  /** out = dy * (x > 0 ? 1 : 0): ReLU's gradient. */
  reluGrad(x: number, dy: number, out: number, n: number): void;
  /** One Adam step (x, m, v to xo, mo, vo), float32 constants as tf.train.adam rounds them. */
  adam(x: number, g: number, m: number, v: number, xo: number, mo: number, vo: number, n: number, b1: number, b2: number, c1: number, c2: number, oma1: number, oma2: number, eps: number, neglr: number): void;
  /** U [16][CP][COP] = the Winograd F(2x2, 3x3) transform G g G^T of a [3,3,C,CO] filter, zero-padded to CP and COP (multiples of 4). */
  winogradFilter(w: number, U: number, C: number, CO: number, CP: number, COP: number): void;
  /** 3x3 convolution, stride 1, by Winograd F(2x2, 3x3) with U from winogradFilter; scratch V [16][TC][CP], M [16][TC][COP]; bias 0 = none. */
  winogradConv(x: number, U: number, bias: number, out: number, V: number, M: number, B: number, H: number, W: number, C: number, OH: number, OW: number, CO: number, CP: number, COP: number, padT: number, padL: number, relu: number, TC: number): void;
  /** Filter gradient [3,3,C,CO] of a 3x3 stride-1 convolution by Winograd F(2x2, 3x3); scratch V [16][TC][CP], Wd [16][TC][COP], dU [16][CP][COP]. */
  winogradFilterGrad(x: number, dy: number, dw: number, V: number, Wd: number, dU: number, B: number, H: number, W: number, C: number, OH: number, OW: number, CO: number, CP: number, COP: number, padT: number, padL: number, TC: number): void;
  /** out[b, sh*a + qh, sw*c + qw, :] = sub[b, a, c, :] (one phase of a strided transposed convolution into the full gradient). */
  interleave(sub: number, out: number, B: number, AH: number, AW: number, H: number, W: number, C: number, sh: number, sw: number, qh: number, qw: number): void;
  maxPoolGrad(x: number, dy: number, out: number, B: number, H: number, W: number, C: number, OH: number, OW: number, sh: number, sw: number, fh: number, fw: number, top: number, left: number): void;
  /** MaxPool forward, NHWC (entries past the input skipped; -inf for an empty window; NaN skipped, as the cpu backend). */
  maxPool(x: number, out: number, B: number, H: number, W: number, C: number, OH: number, OW: number, sh: number, sw: number, fh: number, fw: number, top: number, left: number): void;
}

/** The slice of the WebAssembly JS API used here (this project's TypeScript lib has no WebAssembly types). */
interface WasmApi {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export type SimdVariant = 'fma' | 'simd128';
export const SIMD_FMA_SETTINGS = ['auto', 'on', 'off'] as const;
export type SimdFmaSetting = (typeof SIMD_FMA_SETTINGS)[number];

const MODULES: Record<SimdVariant, Uint8Array> = {
  fma: Buffer.from(KERNELS_FMA_WASM_BASE64, 'base64'),
  simd128: Buffer.from(KERNELS_WASM_BASE64, 'base64'),
};
/** The module simdKernels instantiates; until configureSimd runs, fma where the engine validates it as it stands. */
let variant: SimdVariant | undefined;

/** `value` as a LOPPER_WASM_FMA setting; an error naming the variable when it is none. */
export function simdFmaSetting(value: string): SimdFmaSetting {
  if (!(SIMD_FMA_SETTINGS as readonly string[]).includes(value)) throw new Error(`LOPPER_WASM_FMA="${value}" is not one of ${SIMD_FMA_SETTINGS.join(', ')}`);
  return value as SimdFmaSetting;
}

/**
 * Chooses the kernels' build. `auto` and `on` take the fma build; where the engine rejects relaxed SIMD and is V8 11.x
 * (Node 20 and 21: relaxed SIMD is complete there but behind --experimental-wasm-relaxed-simd, on by default from
 * Node 22), they turn that flag on first. `auto` falls back to simd128, `on` throws; `off` takes simd128.
 */
export function configureSimd(setting: SimdFmaSetting = 'auto'): SimdVariant {
  simdFmaSetting(setting);
  if (setting === 'off') return (variant = 'simd128');
  if (!WA.validate(MODULES.fma) && /^11\./.test(process.versions.v8)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  if (WA.validate(MODULES.fma)) return (variant = 'fma');
  if (setting === 'on') throw new Error(`LOPPER_WASM_FMA=on: this engine (V8 ${process.versions.v8}) rejects WebAssembly relaxed SIMD`);
  return (variant = 'simd128');
}

/** The build simdKernels uses (after configureSimd, or as the engine validates it). */
export function simdVariant(): SimdVariant {
  return (variant ??= WA.validate(MODULES.fma) ? 'fma' : 'simd128');
}

const instances = new WeakMap<object, Partial<Record<SimdVariant, SimdKernels | null>>>();

export function simdKernels(backend: BackendWasm | undefined): SimdKernels | null {
  if (!backend) return null;
  const which = simdVariant();
  let perBackend = instances.get(backend);
  if (!perBackend) instances.set(backend, (perBackend = {}));
  const cached = perBackend[which];
  if (cached !== undefined) return cached;
  let kernels: SimdKernels | null = null;
  try {
    const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
    const bytes = MODULES[which];
    if (memory instanceof WA.Memory && !(memory.buffer instanceof SharedArrayBuffer) && WA.validate(bytes)) {
      const e = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
      kernels = { affine: e.lopper_affine, divChannels: e.lopper_div_channels, rowSum: e.lopper_row_sum, sqDevSum: e.lopper_sq_dev_sum, bnGradSums: e.lopper_bn_grad_sums, maxPoolGrad: e.lopper_maxpool_grad, maxPool: e.lopper_maxpool, convDirect: e.lopper_conv_direct, gemmPackB: e.lopper_gemm_pack_b, gemm: e.lopper_gemm, convTransposeRows: e.lopper_conv_transpose_rows, convCin1: e.lopper_conv_cin1, convCin1FilterGrad: e.lopper_conv_cin1_filter_grad, padSingle: e.lopper_pad_single, affine2: e.lopper_affine2, convFilterGrad: e.lopper_conv_filter_grad, adam: e.lopper_adam, reluGrad: e.lopper_relu_grad, winogradFilter: e.lopper_winograd_filter, winogradConv: e.lopper_winograd_conv, winogradFilterGrad: e.lopper_winograd_filter_grad, interleave: e.lopper_interleave };
    }
  } catch {
    kernels = null;
  }
  perBackend[which] = kernels;
  return kernels;
}

/** Byte offset of a tensor's data in the WASM heap. */
export function heapOffset(backend: BackendWasm, t: tf.TensorInfo): number {
  return (backend.typedArrayFromHeap(t) as Float32Array).byteOffset;
}

/**
 * A copy of a float32 tensor's data, off the WASM heap. A view from typedArrayFromHeap is valid only until the next
 * allocation: makeOutput, or any kernel that allocates, may grow the WASM memory, which detaches every view of it (a
 * detached view reads undefined, so NaN, and drops writes). Kernels copy the small vectors they read after allocating
 * (per-channel parameters, filters to rearrange) with this, and take views of large tensors right before their use.
 */
export function heapFloats(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return (backend.typedArrayFromHeap(t) as Float32Array).slice();
}

/** The smallest multiple of both n and 4: a per-channel vector of n entries tiled to it fills whole SIMD lanes. */
export function laneMultiple(n: number): number {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  return (n * 4) / gcd(n, 4);
}

/** Number of elements of a tensor. */
export const sizeOf = (t: tf.TensorInfo) => t.shape.reduce((p, d) => p * d, 1);

/**
 * A per-channel vector (per(c) for c < C) tiled to laneMultiple(C) floats on the WASM heap; the caller disposes it.
 * per(c) is evaluated before the allocation, so it may read heap views taken just before the call.
 */
export function tiledVector(wasm: BackendWasm, C: number, per: (c: number) => number): tf.TensorInfo {
  const L = laneMultiple(C);
  const values = Float32Array.from({ length: C }, (_, c) => per(c));
  const t = wasm.makeOutput([L], 'float32');
  const v = wasm.typedArrayFromHeap(t) as Float32Array;
  for (let j = 0; j < L; j++) v[j] = values[j % C];
  return t;
}

/**
 * One SIMD pass over x (float32, last axis of C channels): y = x * s[c] + t[c], or y = x / s[c] when `divide`, with
 * (s, t) = per(c).
 */
export function perChannelPass(wasm: BackendWasm, simd: SimdKernels, x: tf.TensorInfo, C: number, per: (c: number) => [number, number], divide = false): tf.TensorInfo {
  const st = Array.from({ length: C }, (_, c) => per(c));
  const sT = tiledVector(wasm, C, (c) => st[c][0]);
  const tT = tiledVector(wasm, C, (c) => st[c][1]);
  const out = wasm.makeOutput(x.shape, 'float32');
  if (divide) simd.divChannels(heapOffset(wasm, x), heapOffset(wasm, sT), heapOffset(wasm, out), sizeOf(x), laneMultiple(C));
  else simd.affine(heapOffset(wasm, x), heapOffset(wasm, sT), heapOffset(wasm, tT), heapOffset(wasm, out), sizeOf(x), laneMultiple(C));
  wasm.disposeData(sT.dataId);
  wasm.disposeData(tT.dataId);
  return out;
}

/**
 * Per-channel sums of x (float32) viewed as rows of C floats: of x itself, or of (x - mean[c])² when `mean` is given
 * (two SIMD passes make BatchNorm's batch variance). The lanes are folded per channel in float64.
 */
export function columnSums(wasm: BackendWasm, simd: SimdKernels, x: tf.TensorInfo, C: number, mean?: ArrayLike<number>): Float64Array {
  const L = laneMultiple(C);
  const acc = wasm.makeOutput([2 * L], 'float32');
  if (mean) {
    const meanT = tiledVector(wasm, C, (c) => mean[c]);
    simd.sqDevSum(heapOffset(wasm, x), heapOffset(wasm, meanT), heapOffset(wasm, acc), sizeOf(x), L);
    wasm.disposeData(meanT.dataId);
  } else {
    simd.rowSum(heapOffset(wasm, x), heapOffset(wasm, acc), sizeOf(x), L);
  }
  const a = wasm.typedArrayFromHeap(acc) as Float32Array;
  const sums = new Float64Array(C);
  for (let j = 0; j < L; j++) sums[j % C] += a[j];
  wasm.disposeData(acc.dataId);
  return sums;
}

/** A new float32 tensor of `shape` ([C] or [1, C] ...) holding value(c) for c < C (evaluated before the allocation). */
export function channelValues(wasm: BackendWasm, shape: number[], C: number, value: (c: number) => number): tf.TensorInfo {
  const values = Float32Array.from({ length: C }, (_, c) => value(c));
  const out = wasm.makeOutput(shape, 'float32');
  (wasm.typedArrayFromHeap(out) as Float32Array).set(values);
  return out;
}

/**
 * BatchNorm's gradient sums per channel in one SIMD pass over x and dy (float32, last axis of C channels): sum(dy) and
 * sum(dy * (x - mean[c])), folded per channel in float64.
 */
export function batchNormGradSums(wasm: BackendWasm, simd: SimdKernels, x: tf.TensorInfo, dy: tf.TensorInfo, mean: ArrayLike<number>, C: number): { sumDy: Float64Array; sumDyXm: Float64Array } {
  const L = laneMultiple(C);
  const meanT = tiledVector(wasm, C, (c) => mean[c]);
  const acc = wasm.makeOutput([4 * L], 'float32');
  simd.bnGradSums(heapOffset(wasm, x), heapOffset(wasm, dy), heapOffset(wasm, meanT), heapOffset(wasm, acc), sizeOf(x), L);
  const a = wasm.typedArrayFromHeap(acc) as Float32Array;
  const sumDy = new Float64Array(C);
  const sumDyXm = new Float64Array(C);
  for (let j = 0; j < L; j++) { sumDy[j % C] += a[j]; sumDyXm[j % C] += a[L + j]; }
  wasm.disposeData(meanT.dataId);
  wasm.disposeData(acc.dataId);
  return { sumDy, sumDyXm };
}
