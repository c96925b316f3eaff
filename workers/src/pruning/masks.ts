/**
 * Unstructured masks with torch.nn.utils.prune semantics, on flat Float32Arrays (layout-independent:
 * unstructured pruning treats a tensor as a flat vector, so TF.js and PyTorch layouts give the same set).
 *
 * A mask is a Float32Array of 0/1 of the same length as the weights. Repeated pruning composes:
 * the new method only looks at entries still unpruned and the result is old mask x new partial mask.
 */
import { computeCount, type Amount } from './amount.js';
import { seededPermutation } from './rng.js';

export type Mask = Float32Array;

export function identityMask(size: number): Mask {
  return new Float32Array(size).fill(1);
}

/** Indices of surviving entries (mask != 0), or all indices when there is no mask. */
function survivors(size: number, mask?: Mask): Int32Array {
  if (!mask) {
    const all = new Int32Array(size);
    for (let i = 0; i < size; i++) all[i] = i;
    return all;
  }
  if (mask.length !== size) throw new RangeError(`mask has ${mask.length} entries, weights have ${size}`);
  let n = 0;
  for (let i = 0; i < size; i++) if (mask[i] !== 0) n++;
  const out = new Int32Array(n);
  let j = 0;
  for (let i = 0; i < size; i++) if (mask[i] !== 0) out[j++] = i;
  return out;
}

/** Indices of the k smallest scores among `candidates` (ties broken by lower index). */
function smallestK(scores: ArrayLike<number>, candidates: Int32Array, k: number): Int32Array {
  if (k === 0) return new Int32Array(0);
  const idx = Array.from(candidates);
  idx.sort((a, b) => scores[a] - scores[b] || a - b);
  return Int32Array.from(idx.slice(0, k));
}

function applyPruned(size: number, prior: Mask | undefined, pruned: Int32Array): Mask {
  const mask = prior ? Float32Array.from(prior) : identityMask(size);
  for (const i of pruned) mask[i] = 0;
  return mask;
}

/** prune.l1_unstructured: zero the k entries with the smallest |w| (or importance score) among survivors. */
export function l1Unstructured(weights: ArrayLike<number>, amount: Amount, opts: { mask?: Mask; importanceScores?: ArrayLike<number> } = {}): Mask {
  const size = weights.length;
  const scores = opts.importanceScores ?? Float32Array.from(weights, Math.abs);
  if (opts.importanceScores && opts.importanceScores.length !== size) throw new RangeError('importanceScores must match the weights in size');
  const alive = survivors(size, opts.mask);
  const k = computeCount(amount, alive.length);
  const abs = opts.importanceScores ? Float32Array.from(scores, Math.abs) : scores;
  return applyPruned(size, opts.mask, smallestK(abs, alive, k));
}

/** prune.random_unstructured: zero k surviving entries chosen uniformly at random (seeded). */
export function randomUnstructured(size: number, amount: Amount, seed: number, opts: { mask?: Mask } = {}): Mask {
  const alive = survivors(size, opts.mask);
  const k = computeCount(amount, alive.length);
  const perm = seededPermutation(alive.length, seed);
  const pruned = new Int32Array(k);
  for (let i = 0; i < k; i++) pruned[i] = alive[perm[i]];
  return applyPruned(size, opts.mask, pruned);
}

export interface GlobalEntry { weights: ArrayLike<number>; mask?: Mask; importanceScores?: ArrayLike<number> }

/**
 * prune.global_unstructured with L1 (or random): pool the surviving scores of all tensors, prune the k
 * globally smallest, slice the mask back per tensor. Returns one mask per entry.
 */
export function globalUnstructured(entries: GlobalEntry[], amount: Amount, method: 'l1' | 'random' = 'l1', seed = 0): Mask[] {
  const sizes = entries.map((e) => e.weights.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  const scores = new Float32Array(total);
  const flatMask = new Float32Array(total);
  let off = 0;
  entries.forEach((e, t) => {
    const src = e.importanceScores ?? e.weights;
    for (let i = 0; i < sizes[t]; i++) {
      scores[off + i] = Math.abs(src[i]);
      flatMask[off + i] = e.mask ? e.mask[i] : 1;
    }
    off += sizes[t];
  });
  const flat = method === 'l1' ? l1Unstructured(scores, amount, { mask: flatMask }) : randomUnstructured(total, amount, seed, { mask: flatMask });
  const out: Mask[] = [];
  off = 0;
  for (const s of sizes) { out.push(flat.slice(off, off + s)); off += s; }
  return out;
}

export function countNonzero(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) n++;
  return n;
}
