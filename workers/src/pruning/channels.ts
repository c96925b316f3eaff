/**
 * Structured (channel) pruning: importance criteria and the pruner policy, kept apart.
 * Criteria score each output channel of each prunable group; the policy turns scores and an amount
 * into a keep plan for `removeChannels` (physical removal).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { computeCount } from './amount.js';
import { seededPermutation } from './rng.js';
import { channelNorms, type NormOrder } from './structured.js';
import { activationLayers, analyseChannels, runWithTaps, type GroupMember } from './graph.js';
import { outputPositions } from './metrics.js';
import { channelGroups, type ChannelGroup, type KeepPlan } from './surgery.js';
import { hostValues } from './host.js';

export type ChannelScores = Map<string, Float64Array>;

/** Sums per-layer channel scores over a group's members: score[k] = sum over members and their channels in set k. */
function groupScores(g: ChannelGroup, members: GroupMember[], perLayer: (layer: string) => ArrayLike<number>): Float64Array {
  const out = new Float64Array(g.channels);
  for (const m of members) {
    const v = perLayer(m.layer);
    m.channels.forEach((cs, k) => { for (const c of cs) out[k] += v[c]; });
  }
  return out;
}

/**
 * Ln norm of each output filter/unit (torch's ln_structured criterion on the output axis: n = 1, 2, Infinity, -Infinity,
 * any other positive order, or 'fro' = 2), summed over a group's coupled producers.
 */
export function lnFilterImportance(model: tfl.LayersModel, n: NormOrder, groups = channelGroups(model)): ChannelScores {
  const out: ChannelScores = new Map();
  for (const g of groups) {
    out.set(g.producer, groupScores(g, g.producers, (layer) => {
      const kernel = model.getLayer(layer).getWeights()[0];
      return channelNorms(hostValues(kernel, 'a kernel'), kernel.shape, kernel.rank - 1, n);
    }));
  }
  return out;
}

/** L1 norm of each output filter/unit (ln_structured with n = 1), summed over a group's coupled producers. */
export function l1FilterImportance(model: tfl.LayersModel, groups = channelGroups(model)): ChannelScores {
  return lnFilterImportance(model, 1, groups);
}

/** The seed of group `index`'s random choice in a trial of `seed` (randomChannelImportance). */
export const randomGroupSeed = (seed: number, index: number) => (Math.imul(seed, 7919) + index) >>> 0;

/**
 * torch's random_structured as scores: channel perm[j] of a seeded permutation scores j, so the policy's lowest k are
 * exactly the channels randomStructured(shape, k, 'out', randomGroupSeed(seed, i)) prunes from group i's producer.
 */
export function randomChannelImportance(groups: ChannelGroup[], seed: number): ChannelScores {
  const out: ChannelScores = new Map();
  groups.forEach((g, i) => {
    const perm = seededPermutation(g.channels, randomGroupSeed(seed, i));
    const s = new Float64Array(g.channels);
    perm.forEach((c, j) => { s[c] = j; });
    out.set(g.producer, s);
  });
  return out;
}

/** |gamma| of the BatchNorm after each producer (Network Slimming's scaling factors), summed over a group's coupled BatchNorms. */
export function batchNormGammaImportance(model: tfl.LayersModel, groups = channelGroups(model)): ChannelScores {
  const out: ChannelScores = new Map();
  for (const g of groups) {
    const acts = activationLayers(model, g);
    const bare = g.producers.filter((p, i) => acts[i].layer === p.layer).map((p) => p.layer);
    if (bare.length) throw new Error(`network slimming needs BatchNorm after ${bare.join(', ')}; this model has none there`);
    out.set(g.producer, groupScores(g, acts, (layer) => Float64Array.from(hostValues(model.getLayer(layer).getWeights()[0], `${layer}'s gamma`), Math.abs)));
  }
  return out;
}

/**
 * Gradient-sensitive channel importance on any supported model, over `batches` of (x, one-hot y):
 * - 'taylor' (Molchanov et al. 2017): |mean over batch and positions of activation x dLoss/dactivation|,
 *   accumulated over the batches, then L2-normalised per group;
 * - 'mean-grad' (the tutorial's variant): mean of |dLoss/dactivation| per channel.
 * Activations are each producer's outputs after its BatchNorm (if any); coupled producers' scores add up.
 * Taylor is computed as the gradient of the loss w.r.t. a per-channel gate of 1 multiplied into the
 * activation: dL/dg_c = sum(a_c * dL/da_c).
 */
export async function gradientImportance(
  model: tfl.LayersModel, batches: { x: tf.Tensor; y: tf.Tensor }[], criterion: 'taylor' | 'mean-grad', groups = channelGroups(model),
): Promise<ChannelScores> {
  const taps = groups.flatMap((g) => activationLayers(model, g));
  const tapIndex = new Map(taps.map((t, i) => [t.layer, i]));
  const acc = taps.map((t) => new Float64Array((model.getLayer(t.layer).outputShape as number[]).at(-1)!));
  for (const { x, y } of batches) {
    const perTap = tf.tidy(() => {
      const captured: tf.Tensor[] = [];
      // Taylor: a per-channel gate of 1 multiplied in (dL/dg_c = sum a_c dL/da_c);
      // mean-grad: a zero offset added (dL/doffset = dL/da).
      const taylor = criterion === 'taylor';
      const params = taps.map((t, i) => (taylor ? tf.ones([acc[i].length]) : tf.zeros([x.shape[0], ...(model.getLayer(t.layer).outputShape as number[]).slice(1)])));
      const loss = (...ps: tf.Tensor[]) => {
        const logits = runWithTaps(model, x, (layer, h) => {
          const i = tapIndex.get(layer);
          if (i === undefined) return h;
          captured[i] = h;
          return taylor ? tf.mul(h, ps[i]) : tf.add(h, ps[i]);
        });
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      };
      // Taylor: the gate gradient is a sum over batch and positions, so divide by their count for the mean.
      return tf.grads(loss)(params).map((gr, i) => (taylor ? tf.div(gr, captured[i].size / acc[i].length) : tf.mean(tf.abs(gr), Array.from({ length: gr.rank - 1 }, (_, k) => k))));
    });
    const values = await Promise.all(perTap.map((t) => t.data())); // awaited: no synchronous read (WebGPU cannot)
    tf.dispose(perTap);
    values.forEach((v, i) => { for (let c = 0; c < v.length; c++) acc[i][c] += v[c]; });
  }
  const out: ChannelScores = new Map();
  for (const g of groups) {
    const s = groupScores(g, activationLayers(model, g), (layer) => acc[tapIndex.get(layer)!].map(Math.abs));
    if (criterion === 'taylor') {
      const norm = Math.sqrt(s.reduce((a, v) => a + v * v, 0)) || 1;
      for (let c = 0; c < s.length; c++) s[c] /= norm;
    }
    out.set(g.producer, s);
  }
  return out;
}

/**
 * FLOPs each removable channel set carries: what `flops(model)` loses when that set alone is removed (its producers'
 * filters/units with their biases, depthwise channels, and every consumer's matching input channels, across flatten,
 * add and concatenate). Keyed like the scores: by group producer, one entry per channel set.
 */
export function channelFlops(model: tfl.LayersModel): ChannelScores {
  const graph = analyseChannels(model);
  const cost = new Map<number, number>(); // union-find root -> FLOPs
  const add = (node: number, v: number) => { const r = graph.find(node); cost.set(r, (cost.get(r) ?? 0) + v); };
  for (const layer of graph.order) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Dense' && cls !== 'DepthwiseConv2D') continue;
    const [kernel, bias] = layer.getWeights();
    const lc = graph.layers.get(layer.name)!;
    const p = outputPositions(layer);
    const biasFlops = bias ? p : 0;
    if (cls === 'DepthwiseConv2D') {
      // Output channel ci*m + j is input channel ci's node: one kh x kw filter per output channel.
      const perOut = 2 * p * kernel.shape[0]! * kernel.shape[1]! + biasFlops;
      for (const n of lc.out) add(n, perOut);
      continue;
    }
    const fanIn = kernel.size / kernel.shape[kernel.rank - 1]; // kh * kw * in, or in
    const outs = kernel.shape[kernel.rank - 1];
    const taps = kernel.size / (outs * lc.inputs[0].length); // kh * kw (1 for dense)
    for (const n of lc.out) add(n, 2 * p * fanIn + biasFlops);
    for (const n of lc.inputs[0]) add(n, 2 * p * taps * outs);
  }
  const out: ChannelScores = new Map();
  for (const g of graph.groups) {
    const nodes = graph.layers.get(g.producers[0].layer)!.out;
    out.set(g.producer, Float64Array.from(g.producers[0].channels, (cs) => cost.get(graph.find(nodes[cs[0]])) ?? 0));
  }
  return out;
}

/**
 * Molchanov et al. 2017's FLOPs regularisation of a global ranking: score - penalty x (FLOPs of the channel / the most
 * FLOPs any channel carries), so that among equally important channels the expensive ones go first. Penalty 0 returns
 * the scores unchanged. Meant for scores on a common scale (Taylor, L2-normalised per layer).
 */
export function flopsRegularised(scores: ChannelScores, flopsPerChannel: ChannelScores, penalty: number): ChannelScores {
  if (!(penalty >= 0) || !Number.isFinite(penalty)) throw new Error(`flops penalty must be a finite number >= 0, got ${penalty}`);
  if (penalty === 0) return scores;
  let max = 0;
  for (const f of flopsPerChannel.values()) for (const v of f) max = Math.max(max, v);
  const out: ChannelScores = new Map();
  for (const [name, s] of scores) {
    const f = flopsPerChannel.get(name);
    if (!f || f.length !== s.length) throw new Error(`flops penalty: no FLOPs for the ${s.length} channels of ${name}`);
    out.set(name, s.map((v, c) => v - (max > 0 ? (penalty * f[c]) / max : 0)));
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
