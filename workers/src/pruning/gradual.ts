/**
 * Gradual magnitude pruning: at the steps a schedule names, raise the sparsity of the model's prunable
 * weights to the schedule's target. Each update prunes only surviving entries (PyTorch's composition),
 * so nothing is ever un-pruned and the achieved sparsity is exactly round(target x size).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { roundHalfEven } from './amount.js';
import { lampScores } from './lamp.js';
import { globalUnstructured, l1Unstructured, type Mask } from './masks.js';
import { prunableWeights } from './models.js';
import type { MaskSet } from './prune.js';
import { targetSparsity, type Schedule } from './schedules.js';

const zeros = (m: Mask | undefined) => (m ? m.reduce((n, v) => n + (v === 0 ? 1 : 0), 0) : 0);

export class GradualPruner {
  private readonly vars: tfl.LayerVariable[];
  private current: (Mask | undefined)[];
  readonly history: { step: number; sparsity: number }[] = [];

  constructor(model: tfl.LayersModel, readonly schedule: Schedule, readonly scope: 'global' | 'lamp' | 'per-layer' = 'global', initial?: MaskSet) {
    this.vars = prunableWeights(model);
    this.current = this.vars.map((v) => initial?.find((m) => m.variable === v)?.mask);
  }

  masks(): MaskSet | undefined {
    if (this.current.every((m) => !m)) return undefined;
    return this.vars.map((variable, i) => ({ variable, mask: this.current[i] ?? new Float32Array(variable.read().size).fill(1) }));
  }

  /** Applies the schedule at `step`; true when the masks changed. Async: it reads the weights (awaited, on every backend). */
  async update(step: number): Promise<boolean> {
    const s = targetSparsity(this.schedule, step);
    if (s === null) return false;
    const values = (await Promise.all(this.vars.map((v) => v.read().data()))) as Float32Array[];
    let changed = false;
    if (this.scope !== 'per-layer') {
      // One threshold over all tensors: on |w| ('global'), or on per-layer LAMP scores ('lamp').
      const total = values.reduce((n, v) => n + v.length, 0);
      const k = roundHalfEven(s * total) - this.current.reduce((n, m) => n + zeros(m), 0);
      if (k > 0) {
        this.current = globalUnstructured(values.map((weights, i) => ({ weights, mask: this.current[i], ...(this.scope === 'lamp' ? { importanceScores: lampScores(weights) } : {}) })), { count: k });
        changed = true;
      }
    } else {
      this.current = values.map((w, i) => {
        const k = roundHalfEven(s * w.length) - zeros(this.current[i]);
        if (k <= 0) return this.current[i];
        changed = true;
        return l1Unstructured(w, { count: k }, { mask: this.current[i] });
      });
    }
    if (changed) this.history.push({ step, sparsity: s });
    return changed;
  }
}
