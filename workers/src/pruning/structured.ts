/**
 * Structured masks (torch.nn.utils.prune.ln_structured / random_structured) on TensorFlow.js layouts.
 * Channel axes are named: conv2d kernels are [kh, kw, in, out], dense kernels [in, out],
 * depthwise kernels [kh, kw, in, multiplier]; a raw axis number is accepted too.
 */
import { computeCount, type Amount } from './amount.js';
import { identityMask, type Mask } from './masks.js';
import { seededPermutation } from './rng.js';

export type Layout = 'conv2d' | 'dense' | 'depthwiseConv2d';
export type ChannelAxis = 'out' | 'in' | number;
export type NormOrder = number | 'fro';

/** Resolves a named channel axis to the axis index of a TF.js kernel. */
export function resolveAxis(shape: readonly number[], axis: ChannelAxis, layout?: Layout): number {
  if (typeof axis === 'number') {
    const a = axis < 0 ? shape.length + axis : axis;
    if (!Number.isInteger(a) || a < 0 || a >= shape.length) throw new RangeError(`axis ${axis} is out of range for a rank-${shape.length} tensor`);
    return a;
  }
  const l = layout ?? (shape.length === 4 ? 'conv2d' : shape.length === 2 ? 'dense' : undefined);
  if (l === 'conv2d') return axis === 'out' ? 3 : 2;
  if (l === 'dense') return axis === 'out' ? 1 : 0;
  if (l === 'depthwiseConv2d') return 2; // one filter per input channel: both names mean the channel axis
  throw new RangeError(`cannot name axis "${axis}" for a rank-${shape.length} tensor without a layout`);
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Calls f(flatIndex, channel) for every entry. */
function forEachEntry(shape: readonly number[], axis: number, f: (i: number, c: number) => void): void {
  const st = strides(shape);
  const size = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < size; i++) f(i, Math.floor(i / st[axis]) % shape[axis]);
}

/** Ln norm of each channel along `axis` (over all other axes). */
export function channelNorms(weights: ArrayLike<number>, shape: readonly number[], axis: number, n: NormOrder): Float64Array {
  const C = shape[axis];
  const p = n === 'fro' ? 2 : n;
  const acc = new Float64Array(C).fill(p === -Infinity ? Infinity : 0);
  forEachEntry(shape, axis, (i, c) => {
    const v = Math.abs(weights[i]);
    if (p === Infinity) acc[c] = Math.max(acc[c], v);
    else if (p === -Infinity) acc[c] = Math.min(acc[c], v);
    else if (p === 0) acc[c] += v !== 0 ? 1 : 0;
    else acc[c] += v ** p;
  });
  if (Number.isFinite(p) && p !== 0) for (let c = 0; c < C; c++) acc[c] = acc[c] ** (1 / p);
  return acc;
}

/** Channels whose mask is not all zero (PyTorch's `keep_channel`). */
export function aliveChannels(mask: Mask | undefined, shape: readonly number[], axis: number): number[] {
  const C = shape[axis];
  if (!mask) return Array.from({ length: C }, (_, c) => c);
  const alive = new Uint8Array(C);
  forEachEntry(shape, axis, (i, c) => { if (mask[i] !== 0) alive[c] = 1; });
  return Array.from({ length: C }, (_, c) => c).filter((c) => alive[c]);
}

function maskChannels(shape: readonly number[], axis: number, prior: Mask | undefined, pruned: Set<number>): Mask {
  const size = shape.reduce((a, b) => a * b, 1);
  const mask = prior ? Float32Array.from(prior) : identityMask(size);
  if (pruned.size) forEachEntry(shape, axis, (i, c) => { if (pruned.has(c)) mask[i] = 0; });
  return mask;
}

export interface StructuredOptions { mask?: Mask; layout?: Layout; importanceScores?: ArrayLike<number> }

/** prune.ln_structured: keep the channels with the largest Ln norm; composes on the channels still alive. */
export function lnStructured(weights: ArrayLike<number>, shape: readonly number[], amount: Amount, n: NormOrder, axis: ChannelAxis, opts: StructuredOptions = {}): Mask {
  if (shape.length < 2) throw new RangeError('ln_structured needs a tensor of rank >= 2');
  if (n !== 'fro' && typeof n !== 'number') throw new RangeError(`unsupported norm order ${String(n)}`);
  const ax = resolveAxis(shape, axis, opts.layout);
  const alive = aliveChannels(opts.mask, shape, ax);
  const k = computeCount(amount, alive.length);
  if (k === 0) return opts.mask ? Float32Array.from(opts.mask) : identityMask(weights.length);
  const norms = channelNorms(opts.importanceScores ?? weights, shape, ax, n);
  // Keep the (alive - k) largest norms; ties keep the lower channel index.
  const byNorm = [...alive].sort((a, b) => norms[b] - norms[a] || a - b);
  return maskChannels(shape, ax, opts.mask, new Set(byNorm.slice(alive.length - k)));
}

/** prune.random_structured: prune k of the alive channels chosen at random (seeded). */
export function randomStructured(shape: readonly number[], amount: Amount, axis: ChannelAxis, seed: number, opts: { mask?: Mask; layout?: Layout } = {}): Mask {
  if (shape.length < 2) throw new RangeError('random_structured needs a tensor of rank >= 2');
  const ax = resolveAxis(shape, axis, opts.layout);
  const alive = aliveChannels(opts.mask, shape, ax);
  const k = computeCount(amount, alive.length);
  const perm = seededPermutation(alive.length, seed);
  return maskChannels(shape, ax, opts.mask, new Set(Array.from(perm.slice(0, k), (j) => alive[j])));
}
