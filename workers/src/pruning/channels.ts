/**
 * Structured (channel) pruning: importance criteria and the pruner policy, kept apart.
 * Criteria score each output channel of each prunable group; the policy turns scores and an amount
 * into a keep plan for `removeChannels` (physical removal).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { computeCount } from './amount.js';
import { channelNorms } from './structured.js';
import { channelGroups, type ChannelGroup, type KeepPlan } from './surgery.js';

export type ChannelScores = Map<string, Float64Array>;

/** L1 norm of each producer's output filter/unit (ln_structured with n = 1 on the output axis). */
export function l1FilterImportance(model: tfl.LayersModel, groups = channelGroups(model)): ChannelScores {
  const out: ChannelScores = new Map();
  for (const g of groups) {
    const kernel = model.getLayer(g.producer).getWeights()[0];
    out.set(g.producer, channelNorms(kernel.dataSync(), kernel.shape, kernel.rank - 1, 1));
  }
  return out;
}

/** |gamma| of the BatchNorm after each producer (Network Slimming's scaling factors). */
export function batchNormGammaImportance(model: tfl.LayersModel, groups = channelGroups(model)): ChannelScores {
  const out: ChannelScores = new Map();
  for (const g of groups) {
    if (!g.batchNorm) throw new Error(`network slimming needs BatchNorm after ${g.producer}; this model has none there`);
    out.set(g.producer, Float64Array.from(model.getLayer(g.batchNorm).getWeights()[0].dataSync(), Math.abs));
  }
  return out;
}

export interface PolicyOptions {
  /** One threshold over all layers (slimming) or the same fraction in every layer. */
  scope: 'global' | 'per-layer';
  /** Fewest channels a layer keeps, as a fraction of its channels (at least one channel always stays). */
  minKeepFraction?: number;
}

/** Keeps the highest-scoring channels; prunes `amount` of all channels (global) or of each layer. */
export function keepPlan(scores: ChannelScores, amount: number, opts: PolicyOptions): KeepPlan {
  const floor = (c: number) => Math.max(1, Math.ceil((opts.minKeepFraction ?? 0) * c));
  const plan: KeepPlan = new Map();
  const byScore = (s: Float64Array, idx: number[]) => [...idx].sort((a, b) => s[b] - s[a] || a - b);
  if (opts.scope === 'per-layer') {
    for (const [name, s] of scores) {
      const k = Math.min(computeCount(amount, s.length), s.length - floor(s.length));
      plan.set(name, byScore(s, [...s.keys()]).slice(0, s.length - k).sort((a, b) => a - b));
    }
    return plan;
  }
  // Global: rank every channel of every layer together; prune the k lowest, respecting each layer's floor.
  const all: { name: string; c: number; v: number }[] = [];
  for (const [name, s] of scores) s.forEach((v, c) => all.push({ name, c, v }));
  const k = computeCount(amount, all.length);
  all.sort((a, b) => a.v - b.v || a.name.localeCompare(b.name) || a.c - b.c);
  const left = new Map([...scores].map(([n, s]) => [n, s.length]));
  const pruned = new Set<string>();
  for (const e of all) {
    if (pruned.size >= k) break;
    const n = left.get(e.name)!;
    if (n <= floor(scores.get(e.name)!.length)) continue; // never empty (or over-prune) a layer
    left.set(e.name, n - 1);
    pruned.add(`${e.name}:${e.c}`);
  }
  for (const [name, s] of scores) plan.set(name, [...s.keys()].filter((c) => !pruned.has(`${name}:${c}`)));
  return plan;
}

export type { ChannelGroup };
