/**
 * torch.nn.utils.prune's module API on TF.js variables: each pruned variable gets a mask; the effective
 * weight (orig x mask) is written back at once, and train() keeps it (via maskSet()) through every step.
 * Pruning again composes on what survives; `remove` makes the pruning permanent and forgets the mask.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Amount } from './amount.js';
import { globalUnstructured, identityMask, l1Unstructured, randomUnstructured, type Mask } from './masks.js';
import type { MaskSet } from './prune.js';
import { lnStructured, randomStructured, type ChannelAxis, type Layout, type NormOrder } from './structured.js';
import { hostValues } from './host.js';

export class PruningRegistry {
  private readonly masks = new Map<tfl.LayerVariable, Mask>();

  isPruned(v: tfl.LayerVariable): boolean {
    return this.masks.has(v);
  }

  maskOf(v: tfl.LayerVariable): Mask | undefined {
    return this.masks.get(v);
  }

  /** Masks of every pruned variable, for train(). */
  maskSet(): MaskSet {
    return [...this.masks].map(([variable, mask]) => ({ variable, mask }));
  }

  identity(v: tfl.LayerVariable): void {
    this.set(v, this.masks.get(v) ?? identityMask(v.read().size));
  }

  /** prune.custom_from_mask: the given 0/1 mask, composed with any existing one. */
  customFromMask(v: tfl.LayerVariable, mask: ArrayLike<number>): void {
    const size = v.read().size;
    if (mask.length !== size) throw new RangeError(`mask has ${mask.length} entries, ${v.name} has ${size}`);
    const prior = this.masks.get(v);
    this.set(v, Float32Array.from(mask, (m, i) => (m !== 0 ? 1 : 0) * (prior ? prior[i] : 1)));
  }

  l1Unstructured(v: tfl.LayerVariable, amount: Amount, importanceScores?: ArrayLike<number>): void {
    this.set(v, l1Unstructured(this.values(v), amount, { mask: this.masks.get(v), importanceScores }));
  }

  randomUnstructured(v: tfl.LayerVariable, amount: Amount, seed: number): void {
    this.set(v, randomUnstructured(v.read().size, amount, seed, { mask: this.masks.get(v) }));
  }

  lnStructured(v: tfl.LayerVariable, amount: Amount, n: NormOrder, axis: ChannelAxis, layout?: Layout): void {
    this.set(v, lnStructured(this.values(v), v.shape as number[], amount, n, axis, { mask: this.masks.get(v), layout }));
  }

  randomStructured(v: tfl.LayerVariable, amount: Amount, axis: ChannelAxis, seed: number, layout?: Layout): void {
    this.set(v, randomStructured(v.shape as number[], amount, axis, seed, { mask: this.masks.get(v), layout }));
  }

  /** prune.global_unstructured with L1: one threshold over all the variables. */
  globalUnstructured(vs: tfl.LayerVariable[], amount: Amount): void {
    const masks = globalUnstructured(vs.map((v) => ({ weights: this.values(v), mask: this.masks.get(v) })), amount);
    vs.forEach((v, i) => this.set(v, masks[i]));
  }

  /** prune.remove: keep orig x mask as a plain weight (zeros stay) and stop enforcing the mask. */
  remove(v: tfl.LayerVariable): void {
    if (!this.masks.has(v)) throw new Error(`${v.name} is not pruned`);
    this.apply(v);
    this.masks.delete(v);
  }

  private values(v: tfl.LayerVariable): Float32Array {
    return hostValues(v.read(), v.name);
  }

  private set(v: tfl.LayerVariable, mask: Mask): void {
    this.masks.set(v, mask);
    this.apply(v);
  }

  private apply(v: tfl.LayerVariable): void {
    const mask = this.masks.get(v)!;
    tf.tidy(() => { v.write(tf.mul(v.read(), tf.tensor(mask, v.shape as number[]))); });
  }
}
