/**
 * Channel dependency analysis for sequential and functional LayersModels (Torch-Pruning's dependency graph,
 * at channel granularity). Every channel of every tensor is a node of a union-find; layers relate them:
 * - conv2d / dense create new channels (producers) and read their input's channels (consumers);
 * - depthwiseConv2d output channel ci*m + j is tied to input channel ci (m = depth multiplier);
 * - batchNormalization, activations, pooling, dropout, global pooling, padding keep the channels;
 * - flatten: output index p*C + c is channel c (every position of a removed channel goes);
 * - add / multiply / average / maximum / minimum / subtract tie channel i of every input together (residuals);
 * - concatenate (last axis) lays its inputs' channels side by side.
 * A connected set of channels is removed or kept together. Channels that reach the model's input or output
 * are pinned (never removed). A `ChannelGroup` gathers the removable sets that share the same producers,
 * e.g. the stem conv and every conv whose output is added to it in a residual network.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export const PRODUCER_CLASSES = new Set(['Conv2D', 'Dense']);
const KEEP_CLASSES = new Set([
  'BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D',
  'GlobalMaxPooling2D', 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ZeroPadding2D', 'Cropping2D', 'UpSampling2D',
]);
const MERGE_CLASSES = new Set(['Add', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Subtract']);

export interface GroupMember {
  layer: string;
  /** channels[k]: this layer's output channels that belong to the group's k-th removable set. */
  channels: number[][];
}

export interface ChannelGroup {
  /** Key of keep plans and scores: the first producer's name. */
  producer: string;
  /** Conv/dense layers whose output channels form this group (one for a sequential chain). */
  producers: GroupMember[];
  /** BatchNorm layers right after a producer of the group (the producer's scaling factors). */
  batchNorms: GroupMember[];
  /** Layers whose weights read these channels (next conv/dense, depthwise convs, BatchNorms downstream). */
  consumers: string[];
  /** Number of removable channel sets. */
  channels: number;
  /** Sequential-chain shorthands: the BatchNorm right after `producer` and the first conv/dense consumer. */
  batchNorm?: string;
  consumer?: string;
}

export interface LayerChannels {
  /** Node ids of the layer's output channels (last axis). */
  out: number[];
  /** Node ids of the channels of each input tensor. */
  inputs: number[][];
}

export interface ChannelGraph {
  layers: Map<string, LayerChannels>;
  /** Topological order of the model's layers (input layers excluded). */
  order: tfl.layers.Layer[];
  find(node: number): number;
  pinned: Set<number>;
  groups: ChannelGroup[];
}

/** The inbound layers of a layer's single call; shared layers (called twice) are refused. */
export function inboundLayers(layer: tfl.layers.Layer): tfl.layers.Layer[] {
  const nodes = (layer as unknown as { inboundNodes: { inboundLayers: tfl.layers.Layer[] }[] }).inboundNodes;
  if (nodes.length > 1) throw new Error(`channel surgery: layer ${layer.name} is called ${nodes.length} times (shared layers are not supported)`);
  return nodes[0]?.inboundLayers ?? [];
}

export function analyseChannels(model: tfl.LayersModel): ChannelGraph {
  const parent: number[] = [];
  const node = () => { parent.push(parent.length); return parent.length - 1; };
  const find = (a: number): number => { while (parent[a] !== a) { parent[a] = parent[parent[a]]; a = parent[a]; } return a; };
  const union = (a: number, b: number) => { const [ra, rb] = [find(a), find(b)]; if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb); };
  const pinnedNodes: number[] = [];
  const layers = new Map<string, LayerChannels>();
  const producerOf = new Map<string, string>(); // BatchNorm -> the producer right before it
  const order = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const inputChannels = new Map<string, number[]>(); // model inputs: pinned channels, made once per input layer
  const channelsOf = (l: tfl.layers.Layer): number[] => {
    if (l.getClassName() === 'InputLayer') {
      let ids = inputChannels.get(l.name);
      if (!ids) {
        const shape = l.outputShape as number[];
        ids = Array.from({ length: shape[shape.length - 1] }, node);
        pinnedNodes.push(...ids);
        inputChannels.set(l.name, ids);
      }
      return ids;
    }
    const lc = layers.get(l.name);
    if (!lc) throw new Error(`channel surgery: layer ${l.name} is used before it is defined`);
    return lc.out;
  };
  for (const layer of order) {
    const cls = layer.getClassName();
    const inbound = inboundLayers(layer);
    const inputs = inbound.map(channelsOf);
    const shape = layer.outputShape as number[];
    if (!Array.isArray(shape) || Array.isArray(shape[0])) throw new Error(`channel surgery: layer ${layer.name} (${cls}) has several outputs`);
    const width = shape[shape.length - 1];
    let out: number[];
    if (PRODUCER_CLASSES.has(cls)) {
      out = Array.from({ length: width }, node);
    } else if (cls === 'DepthwiseConv2D') {
      const m = width / inputs[0].length;
      out = Array.from({ length: width }, (_, o) => inputs[0][Math.floor(o / m)]);
    } else if (KEEP_CLASSES.has(cls)) {
      out = inputs[0];
      const cfg = layer.getConfig() as { axis?: number | number[]; activation?: string };
      if (cls === 'BatchNormalization' && cfg.axis !== undefined && cfg.axis !== -1 && cfg.axis !== shape.length - 1) {
        throw new Error(`channel surgery: ${layer.name} normalises axis ${String(cfg.axis)}; only channels-last BatchNorm is supported`);
      }
      // Softmax over the channels couples all of them (a removed channel is not a zero one): keep them all.
      if (cls === 'Softmax' || cfg.activation === 'softmax') pinnedNodes.push(...out);
      if (cls === 'BatchNormalization' && inbound[0] && PRODUCER_CLASSES.has(inbound[0].getClassName())) producerOf.set(layer.name, inbound[0].name);
    } else if (cls === 'Flatten') {
      const c = inputs[0].length;
      out = Array.from({ length: width }, (_, i) => inputs[0][i % c]);
    } else if (MERGE_CLASSES.has(cls)) {
      for (const other of inputs.slice(1)) {
        if (other.length !== inputs[0].length) throw new Error(`channel surgery: ${layer.name} (${cls}) merges tensors of ${inputs[0].length} and ${other.length} channels`);
        other.forEach((n, i) => union(inputs[0][i], n));
      }
      out = inputs[0];
    } else if (cls === 'Concatenate') {
      const axis = (layer.getConfig() as { axis?: number }).axis ?? -1;
      if (axis !== -1 && axis !== shape.length - 1) throw new Error(`channel surgery: ${layer.name} concatenates along axis ${axis}; only the channel axis is supported`);
      out = inputs.flat();
    } else {
      throw new Error(`channel surgery: unsupported layer ${layer.name} (${cls}); supported: conv2d, depthwiseConv2d, dense, batchNormalization, pooling, flatten, activation, dropout, add, concatenate`);
    }
    if (out.length !== width) throw new Error(`channel surgery: ${layer.name} (${cls}) has ${width} channels, analysis found ${out.length}`);
    layers.set(layer.name, { out, inputs });
  }
  for (const o of model.outputs) {
    const name = (o as unknown as { sourceLayer: tfl.layers.Layer }).sourceLayer.name;
    pinnedNodes.push(...(layers.get(name)?.out ?? []));
  }
  const pinned = new Set(pinnedNodes.map(find));

  // Removable sets: each root not pinned, reached by some producer's output.
  const sets = new Map<number, { producers: Map<string, number[]> }>();
  for (const layer of order) {
    if (!PRODUCER_CLASSES.has(layer.getClassName())) continue;
    layers.get(layer.name)!.out.forEach((n, c) => {
      const r = find(n);
      if (pinned.has(r)) return;
      const s = sets.get(r) ?? { producers: new Map<string, number[]>() };
      sets.set(r, s);
      s.producers.set(layer.name, [...(s.producers.get(layer.name) ?? []), c]);
    });
  }
  // Group the sets by their producers; order the sets by the first producer's first channel.
  const byKey = new Map<string, number[]>();
  for (const [r, s] of sets) {
    const key = [...s.producers.keys()].join('|');
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const groups: ChannelGroup[] = [];
  for (const [key, roots] of byKey) {
    const names = key.split('|');
    roots.sort((a, b) => sets.get(a)!.producers.get(names[0])![0] - sets.get(b)!.producers.get(names[0])![0]);
    const member = (layerName: string): GroupMember => {
      const out = layers.get(layerName)!.out;
      return { layer: layerName, channels: roots.map((r) => out.flatMap((n, c) => (find(n) === r ? [c] : []))) };
    };
    const rootSet = new Set(roots);
    const batchNorms = order.filter((l) => l.getClassName() === 'BatchNormalization' && names.includes(producerOf.get(l.name) ?? '')).map((l) => member(l.name));
    const consumers = order.filter((l) => {
      const cls = l.getClassName();
      if (!PRODUCER_CLASSES.has(cls) && cls !== 'DepthwiseConv2D' && cls !== 'BatchNormalization') return false;
      return layers.get(l.name)!.inputs.some((ins) => ins.some((n) => rootSet.has(find(n))));
    }).map((l) => l.name);
    const producers = names.map(member);
    groups.push({
      producer: names[0], producers, batchNorms, consumers, channels: roots.length,
      ...(names.length === 1 && batchNorms.length ? { batchNorm: batchNorms[0].layer } : {}),
      ...(consumers.find((c) => PRODUCER_CLASSES.has(model.getLayer(c).getClassName())) ? { consumer: consumers.find((c) => PRODUCER_CLASSES.has(model.getLayer(c).getClassName())) } : {}),
    });
  }
  groups.sort((a, b) => order.findIndex((l) => l.name === a.producer) - order.findIndex((l) => l.name === b.producer));
  return { layers, order, find, pinned, groups };
}

/**
 * Runs the model layer by layer on concrete tensors (inference mode), letting `tap` replace any layer's
 * output: how gradient criteria insert per-channel gates into sequential and functional graphs alike.
 */
export function runWithTaps(model: tfl.LayersModel, x: tf.Tensor, tap: (layer: string, out: tf.Tensor) => tf.Tensor): tf.Tensor {
  const values = new Map<string, tf.Tensor>();
  const order = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  for (const layer of order) {
    const ins = inboundLayers(layer).map((l) => (l.getClassName() === 'InputLayer' ? x : values.get(l.name)!));
    const out = layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor;
    values.set(layer.name, tap(layer.name, out));
  }
  const last = (model.outputs[0] as unknown as { sourceLayer: tfl.layers.Layer }).sourceLayer.name;
  return values.get(last)!;
}

/** For each producer of a group, the layer whose output is that producer's activation: its BatchNorm if one follows it directly, else itself. */
export function activationLayers(model: tfl.LayersModel, group: ChannelGroup): GroupMember[] {
  return group.producers.map((p) => group.batchNorms.find((b) => inboundLayers(model.getLayer(b.layer))[0]?.name === p.layer) ?? p);
}
