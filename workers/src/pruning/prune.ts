/** Pruner policy: turns a method name + amount into masks on a model's prunable weights. */
import type * as tfl from '@tensorflow/tfjs-layers';
import { globalUnstructured, l1Unstructured, randomUnstructured, type Mask } from './masks.js';
import { lampScores } from './lamp.js';
import { prunableWeights } from './models.js';
import { hostValues } from './host.js';

export const UNSTRUCTURED_METHODS = ['l1-unstructured', 'global-l1-unstructured', 'random-unstructured', 'lamp-unstructured'] as const;
export type UnstructuredMethod = (typeof UNSTRUCTURED_METHODS)[number];

export type MaskSet = { variable: tfl.LayerVariable; mask: Mask }[];

/** Computes masks for every prunable weight of `model` (does not change the model). */
export function computeMasks(model: tfl.LayersModel, method: UnstructuredMethod, amount: number, seed: number): MaskSet {
  const vars = prunableWeights(model);
  const values = vars.map((v) => hostValues(v.read(), v.name));
  switch (method) {
    case 'l1-unstructured':
      return vars.map((variable, i) => ({ variable, mask: l1Unstructured(values[i], amount) }));
    case 'random-unstructured':
      return vars.map((variable, i) => ({ variable, mask: randomUnstructured(values[i].length, amount, seed * 31 + i) }));
    case 'global-l1-unstructured': {
      const masks = globalUnstructured(values.map((weights) => ({ weights })), amount, 'l1');
      return vars.map((variable, i) => ({ variable, mask: masks[i] }));
    }
    case 'lamp-unstructured': {
      // One global threshold over per-layer LAMP scores (layer-adaptive sparsity).
      const masks = globalUnstructured(values.map((weights) => ({ weights, importanceScores: lampScores(weights) })), amount, 'l1');
      return vars.map((variable, i) => ({ variable, mask: masks[i] }));
    }
    default:
      throw new RangeError(`unknown pruning method "${method as string}"; expected one of ${UNSTRUCTURED_METHODS.join(', ')}`);
  }
}
