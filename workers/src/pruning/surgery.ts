/**
 * Physical channel removal for sequential and functional models: builds a new, smaller LayersModel without
 * the pruned conv filters / dense units, their BatchNorm entries (gamma, beta, moving mean and variance),
 * depthwise-conv channels and every consumer's matching input channels (across flatten, add, concatenate).
 * Which channels go together is decided by the dependency analysis in graph.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { analyseChannels, type ChannelGraph, type ChannelGroup } from './graph.js';

/** Per group (keyed by its first producer's name): the indices of its channel sets to keep (sorted). Groups not listed keep all. */
export type KeepPlan = Map<string, number[]>;

export type { ChannelGroup };

/** The prunable channel groups of a model (channels that reach the output, like the classifier's, are not prunable). */
export function channelGroups(model: tfl.LayersModel): ChannelGroup[] {
  return analyseChannels(model).groups;
}

/** Union-find roots of the channel sets that `keep` removes; validates the plan. */
function removedRoots(graph: ChannelGraph, keep: KeepPlan): Set<number> {
  const removed = new Set<number>();
  for (const [name, k] of keep) {
    const g = graph.groups.find((x) => x.producer === name);
    if (!g) throw new Error(`channel surgery: ${name} is not a prunable conv/dense group (channels that reach the model's output, like the classifier's, stay)`);
    if (k.length === 0) throw new Error(`channel surgery: ${name} would lose every channel`);
    if (k.some((c, i) => !Number.isInteger(c) || c < 0 || c >= g.channels || (i > 0 && c <= k[i - 1]))) {
      throw new Error(`channel surgery: keep list of ${name} must be sorted unique channel indices in [0, ${g.channels})`);
    }
    const kept = new Set(k);
    const out = graph.layers.get(g.producers[0].layer)!.out;
    g.producers[0].channels.forEach((cs, i) => { if (!kept.has(i)) removed.add(graph.find(out[cs[0]])); });
  }
  return removed;
}

function gather(t: tf.Tensor, idx: number[], axis: number): tf.Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(idx, 'int32'), axis));
}

/**
 * Returns a new model in which the channel sets not kept by `keep` are gone. The original model is left
 * untouched. The new model computes what the original computes with the removed channels masked to zero
 * (up to float rounding).
 */
export function removeChannels(model: tfl.LayersModel, keep: KeepPlan): tfl.LayersModel {
  const graph = analyseChannels(model);
  const removed = removedRoots(graph, keep);
  const keepOf = (nodes: number[]) => nodes.flatMap((n, i) => (removed.has(graph.find(n)) ? [] : [i]));
  const config = JSON.parse(JSON.stringify(model.getConfig())) as { layers: { className: string; config: Record<string, unknown> }[] };
  const newWeights = new Map<string, tf.Tensor[]>();
  try {
    for (const layer of graph.order) {
      const cls = layer.getClassName();
      const lc = graph.layers.get(layer.name)!;
      const outKeep = keepOf(lc.out);
      const inKeep = lc.inputs[0] ? keepOf(lc.inputs[0]) : [];
      const outChanged = outKeep.length < lc.out.length;
      const inChanged = lc.inputs[0] !== undefined && inKeep.length < lc.inputs[0].length;
      const old = layer.getWeights();
      if (!old.length) continue;
      let w = old.map((t) => t.clone());
      const set = (i: number, next: tf.Tensor) => { w[i].dispose(); w[i] = next; };
      if (cls === 'Conv2D' || cls === 'Dense') {
        if (inChanged) set(0, gather(w[0], inKeep, w[0].rank - 2));
        if (outChanged) {
          set(0, gather(w[0], outKeep, w[0].rank - 1));
          if (w[1]) set(1, gather(w[1], outKeep, 0));
        }
        const entry = config.layers.find((l) => l.config.name === layer.name)!;
        if (cls === 'Conv2D') entry.config.filters = outKeep.length; else entry.config.units = outKeep.length;
      } else if (cls === 'DepthwiseConv2D') {
        if (inChanged) set(0, gather(w[0], inKeep, 2));
        if (outChanged && w[1]) set(1, gather(w[1], outKeep, 0));
      } else if (cls === 'BatchNormalization') {
        if (outChanged) w = w.map((t) => { const next = gather(t, outKeep, 0); t.dispose(); return next; });
      } else {
        tf.dispose(w);
        throw new Error(`channel surgery: cannot slice the weights of ${layer.name} (${cls})`);
      }
      newWeights.set(layer.name, w);
    }
    const cfg = config as unknown as tf.serialization.ConfigDict;
    const small = (model instanceof tfl.Sequential ? tfl.Sequential.fromConfig(tfl.Sequential, cfg) : tfl.LayersModel.fromConfig(tfl.LayersModel, cfg)) as unknown as tfl.LayersModel;
    for (const [name, w] of newWeights) small.getLayer(name).setWeights(w);
    return small;
  } finally {
    tf.dispose([...newWeights.values()].flat());
  }
}

/**
 * The masks equivalent to a keep plan, for comparison with surgery: zero every producer's kernel and bias
 * entries of a removed channel set, and gamma and beta of every BatchNorm and the bias of every depthwise
 * conv on those channels, so that the removed channels carry exact zeros everywhere.
 */
export function maskChannelsInPlace(model: tfl.LayersModel, keep: KeepPlan): void {
  const graph = analyseChannels(model);
  const removed = removedRoots(graph, keep);
  for (const layer of graph.order) {
    const cls = layer.getClassName();
    const out = graph.layers.get(layer.name)!.out;
    const zero = out.map((n) => removed.has(graph.find(n)));
    if (!zero.includes(true)) continue;
    const targets = cls === 'Conv2D' || cls === 'Dense' ? [0, 1] : cls === 'BatchNormalization' ? [0, 1] : cls === 'DepthwiseConv2D' ? [1] : [];
    const ws = layer.getWeights();
    const next = ws.map((t, i) => tf.tidy(() => {
      if (!targets.includes(i) || t.shape[t.rank - 1] !== out.length) return tf.clone(t);
      const m = tf.tensor1d(zero.map((z) => (z ? 0 : 1)));
      return tf.mul(t, t.rank === 1 ? m : tf.reshape(m, [...new Array<number>(t.rank - 1).fill(1), out.length]));
    }));
    layer.setWeights(next);
    tf.dispose(next);
  }
}
