/**
 * Physical channel removal for sequential models: builds a new, smaller LayersModel without the pruned
 * conv filters / dense units, their BatchNorm entries (gamma, beta, moving mean and variance) and the
 * next layer's matching input channels, including across Flatten into Dense.
 * Dependency rule for a sequential chain: a conv/dense layer's output channels flow through
 * BatchNorm, activations, pooling and dropout unchanged until the next conv/dense layer consumes them.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Per prunable layer name: the output channels to keep (sorted). Layers not listed keep all. */
export type KeepPlan = Map<string, number[]>;

const PRODUCERS = new Set(['Conv2D', 'Dense']);
const PASS_THROUGH = new Set(['Activation', 'MaxPooling2D', 'AveragePooling2D', 'Dropout', 'ReLU', 'InputLayer']);

export interface ChannelGroup {
  /** The conv/dense layer whose output channels are pruned. */
  producer: string;
  /** BatchNorm that normalises those channels, if any. */
  batchNorm?: string;
  /** The next conv/dense layer, whose input channels follow. */
  consumer?: string;
  channels: number;
}

/** The prunable channel groups of a sequential model (the last producer, the classifier, is not prunable). */
export function channelGroups(model: tfl.LayersModel): ChannelGroup[] {
  const layers = model.layers;
  const groups: ChannelGroup[] = [];
  let current: ChannelGroup | undefined;
  for (const layer of layers) {
    const cls = layer.getClassName();
    if (PRODUCERS.has(cls)) {
      if (current) current.consumer = layer.name;
      const shape = layer.outputShape as number[];
      current = { producer: layer.name, channels: shape[shape.length - 1] };
      groups.push(current);
    } else if (cls === 'BatchNormalization' && current && !current.batchNorm && !current.consumer) {
      current.batchNorm = layer.name;
    } else if (!PASS_THROUGH.has(cls) && cls !== 'BatchNormalization' && cls !== 'Flatten') {
      throw new Error(`channel surgery: unsupported layer ${layer.name} (${cls}) in a sequential model`);
    }
  }
  return groups.filter((g) => g.consumer !== undefined);
}

function gather(t: tf.Tensor, idx: number[], axis: number): tf.Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(idx, 'int32'), axis));
}

/**
 * Returns a new model in which every producer listed in `keep` has only the kept output channels.
 * The original model is left untouched. The new model computes exactly what the original computes
 * with the removed channels masked to zero (up to float rounding).
 */
export function removeChannels(model: tfl.LayersModel, keep: KeepPlan): tfl.LayersModel {
  if (!(model instanceof tfl.Sequential)) throw new Error('channel surgery: only Sequential models are supported');
  const groups = channelGroups(model);
  for (const name of keep.keys()) {
    const g = groups.find((x) => x.producer === name);
    if (!g) throw new Error(`channel surgery: ${name} is not a prunable conv/dense layer (the classifier keeps its outputs)`);
    const k = keep.get(name)!;
    if (k.length === 0) throw new Error(`channel surgery: ${name} would lose every channel`);
    if (k.some((c, i) => !Number.isInteger(c) || c < 0 || c >= g.channels || (i > 0 && c <= k[i - 1]))) {
      throw new Error(`channel surgery: keep list of ${name} must be sorted unique channel indices in [0, ${g.channels})`);
    }
  }

  const newLayers: tfl.layers.Layer[] = [];
  const weights: tf.Tensor[][] = [];
  // Channels of the tensor flowing between layers: null = all kept.
  let kept: number[] | null = null;
  let spatial = 1; // positions per channel after Flatten
  let channelsIn = 0;
  let flattenedFrom: number[] | null = null;

  const inputShape = model.inputs[0].shape.slice(1) as number[];
  model.layers.forEach((layer, li) => {
    const cls = layer.getClassName();
    const config = { ...layer.getConfig() } as Record<string, unknown>;
    if (li === 0) config.batchInputShape = [null, ...inputShape];
    const old = layer.getWeights();
    let w: tf.Tensor[] = old.map((t) => t.clone());
    if (cls === 'Conv2D' || cls === 'Dense') {
      // Input side: slice the kernel's input axis (axis 2 for conv [kh, kw, in, out], axis 0 for dense [in, out]).
      const inAxis = cls === 'Conv2D' ? 2 : 0;
      const inIdx = flattenedFrom ?? kept;
      if (inIdx) w[0] = replace(w[0], gather(w[0], inIdx, inAxis));
      flattenedFrom = null;
      // Output side.
      const outKeep = keep.get(layer.name) ?? null;
      if (outKeep) {
        w[0] = replace(w[0], gather(w[0], outKeep, w[0].rank - 1));
        if (w[1]) w[1] = replace(w[1], gather(w[1], outKeep, 0));
        if (cls === 'Conv2D') config.filters = outKeep.length;
        else config.units = outKeep.length;
      }
      kept = outKeep;
      const shape = layer.outputShape as number[];
      channelsIn = shape[shape.length - 1];
    } else if (cls === 'BatchNormalization') {
      if (kept) w = w.map((t) => replace(t, gather(t, kept!, 0)));
    } else if (cls === 'Flatten') {
      const inShape = (li === 0 ? model.inputs[0].shape : model.layers[li - 1].outputShape) as number[];
      spatial = inShape.slice(1, -1).reduce((a, b) => a * b, 1);
      if (kept) {
        // NHWC flatten: index = position * C + channel.
        const idx: number[] = [];
        for (let p = 0; p < spatial; p++) for (const c of kept) idx.push(p * channelsIn + c);
        flattenedFrom = idx;
      }
      kept = null;
    }
    delete config.name;
    const factory = tfl.layers[layerFactory(cls)] as unknown as (c: object) => tfl.layers.Layer;
    const rebuilt = factory({ ...config, name: layer.name });
    newLayers.push(rebuilt);
    weights.push(w);
  });

  const small = tfl.sequential({ name: model.name, layers: newLayers });
  small.layers.forEach((l, i) => { if (weights[i].length) l.setWeights(weights[i]); });
  tf.dispose(weights.flat());
  return small;
}

function replace(old: tf.Tensor, next: tf.Tensor): tf.Tensor {
  old.dispose();
  return next;
}

function layerFactory(cls: string): keyof typeof tfl.layers {
  const map: Record<string, keyof typeof tfl.layers> = {
    Conv2D: 'conv2d', Dense: 'dense', BatchNormalization: 'batchNormalization', Activation: 'activation', MaxPooling2D: 'maxPooling2d',
    AveragePooling2D: 'averagePooling2d', Dropout: 'dropout', Flatten: 'flatten', ReLU: 'reLU',
  };
  const f = map[cls];
  if (!f) throw new Error(`channel surgery: cannot rebuild layer class ${cls}`);
  return f;
}

/** The masks equivalent to a keep plan (zero every weight of a removed channel), for comparison with surgery. */
export function maskChannelsInPlace(model: tfl.LayersModel, keep: KeepPlan): void {
  const groups = channelGroups(model);
  for (const [name, k] of keep) {
    const g = groups.find((x) => x.producer === name)!;
    const drop = new Set(Array.from({ length: g.channels }, (_, c) => c).filter((c) => !k.includes(c)));
    const zeroOut = (layer: tfl.layers.Layer, idx: number) => {
      const ws = layer.getWeights();
      const masked = tf.tidy(() => {
        const m = tf.tensor1d(Array.from({ length: g.channels }, (_, c) => (drop.has(c) ? 0 : 1)));
        const t = ws[idx];
        return tf.mul(t, t.rank === 1 ? m : tf.reshape(m, [...new Array<number>(t.rank - 1).fill(1), g.channels]));
      });
      layer.setWeights(ws.map((t, i) => (i === idx ? masked : t)));
      masked.dispose();
    };
    const producer = model.getLayer(name);
    zeroOut(producer, 0);
    if (producer.getWeights().length > 1) zeroOut(producer, 1);
    if (g.batchNorm) { zeroOut(model.getLayer(g.batchNorm), 0); zeroOut(model.getLayer(g.batchNorm), 1); }
  }
}
