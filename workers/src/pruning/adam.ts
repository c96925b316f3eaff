/**
 * Adam with a fused update: the same optimizer as tf.train.adam (same state, same float32 arithmetic), but where the
 * backend registers the `LopperAdam` kernel each variable's update is one kernel instead of fourteen (Lopper's WASM
 * backend: one SIMD pass, bit-identical results; WebGPU: three programs, equal within float32 rounding). Elsewhere it is
 * tf.train.adam unchanged. Backend-agnostic: it only asks the kernel registry.
 *
 * The bias corrections need beta1^t and beta2^t on the host. tf.train.adam keeps them in two scalar variables; reading
 * those every step would stall a GPU's queue, so this class mirrors them in float32 on the host (the same multiplication
 * the variables get, so the same values) and reads the variables only after `setWeights` restores them.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The fused-update kernel a backend may register (Lopper's WASM backend does): inputs x, g, m, v; outputs [x', m', v']. */
export const ADAM_KERNEL = 'LopperAdam';
/** Its attributes: float32 constants rounded as tf.train.adam rounds them. */
export interface AdamKernelAttrs { beta1: number; beta2: number; oneMinusBeta1: number; oneMinusBeta2: number; oneMinusAccBeta1: number; oneMinusAccBeta2: number; epsilon: number; negLearningRate: number }

/** The parent's state, private in its typings. */
interface AdamState {
  accBeta1: tf.Variable; accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  beta1: number; beta2: number; epsilon: number;
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** accBeta1 and accBeta2 as float32 numbers; undefined until first read (and after setWeights). */
  private accBetas?: [number, number];

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer["applyGradients"]>[0]): void {
    if (!tf.getKernel(ADAM_KERNEL, tf.getBackend())) {
      this.accBetas = undefined; // the parent updates the variables itself
      return super.applyGradients(variableGradients);
    }
    const self = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const f = Math.fround;
    this.accBetas ??= this.iterations === 0 ? [f(self.beta1), f(self.beta2)] : [self.accBeta1.dataSync()[0], self.accBeta2.dataSync()[0]];
    const [acc1, acc2] = this.accBetas;
    const attrs: AdamKernelAttrs = {
      beta1: f(self.beta1), beta2: f(self.beta2), oneMinusBeta1: f(1 - self.beta1), oneMinusBeta2: f(1 - self.beta2),
      oneMinusAccBeta1: f(1 - acc1), oneMinusAccBeta2: f(1 - acc2), epsilon: f(self.epsilon), negLearningRate: f(-this.learningRate),
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        const [x1, m1, v1] = tf.engine().runKernel(ADAM_KERNEL, { x: value, g: gradient, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(m1);
        v.assign(v1);
        value.assign(x1);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    // float32 products, as tf.mul computes them (a product of two float32 values is exact in float64; fround rounds once)
    this.accBetas = [f(acc1 * f(self.beta1)), f(acc2 * f(self.beta2))];
    this.incrementIterations();
  }

  override async setWeights(weightValues: Parameters<tf.AdamOptimizer["setWeights"]>[0]): Promise<void> {
    await super.setWeights(weightValues);
    this.accBetas = undefined;
  }
}

/** tf.train.adam's signature and defaults (beta1 0.9, beta2 0.999, the backend's epsilon). */
export function adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon as number);
}
