/**
 * Adam with a fused update: the same optimizer as tf.train.adam (same state, same float32 arithmetic), but where the
 * backend registers the `LopperAdam` kernel each variable's update is one kernel instead of fourteen (Lopper's WASM
 * backend: one SIMD pass, bit-identical results; WebGPU: three programs, equal within float32 rounding). Elsewhere it is
 * tf.train.adam unchanged. Backend-agnostic: it only asks the kernel registry.
 *
 * The bias corrections need beta1^t and beta2^t on the host. tf.train.adam keeps them in two scalar variables; reading
 * those every step would stall a GPU's queue (and WebGPU cannot read synchronously in Node at all), so this class mirrors
 * them in float32 on the host (the same multiplication the variables get, so the same values) and reads the variables,
 * awaited, only after `setWeights` restores them.
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
  /** accBeta1 and accBeta2 as float32 numbers: beta1 and beta2 at first (as the parent's constructor sets them). */
  private accBetas: [number, number] = [Math.fround((this as unknown as AdamState).beta1), Math.fround((this as unknown as AdamState).beta2)];

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer["applyGradients"]>[0]): void {
    const self = this as unknown as AdamState;
    const f = Math.fround;
    const [acc1, acc2] = this.accBetas;
    // float32 products, as tf.mul computes them on the variables (a product of two float32 values is exact in float64;
    // fround rounds it once)
    const next: [number, number] = [f(acc1 * f(self.beta1)), f(acc2 * f(self.beta2))];
    if (!tf.getKernel(ADAM_KERNEL, tf.getBackend())) {
      super.applyGradients(variableGradients); // which multiplies the variables likewise
      this.accBetas = next;
      return;
    }
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
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
    this.accBetas = next;
    this.incrementIterations();
  }

  /** Restores the state (the parent sets accBeta to beta^(iterations + 1)); the mirror is read back with awaited reads. */
  override async setWeights(weightValues: Parameters<tf.AdamOptimizer["setWeights"]>[0]): Promise<void> {
    await super.setWeights(weightValues);
    const self = this as unknown as AdamState;
    this.accBetas = [(await self.accBeta1.data())[0], (await self.accBeta2.data())[0]];
  }
}

/** tf.train.adam's signature and defaults (beta1 0.9, beta2 0.999, the backend's epsilon). */
export function adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon as number);
}
