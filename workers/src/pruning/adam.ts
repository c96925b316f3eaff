/**
 * Adam with a fused update: the same optimizer as tf.train.adam (same state, same float32 arithmetic, bit-identical
 * results), but where the backend registers the `LopperAdam` kernel (Lopper's WASM backend) each variable's update is
 * one kernel instead of fourteen. Elsewhere it is tf.train.adam unchanged. Backend-agnostic: it only asks the kernel
 * registry.
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
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer["applyGradients"]>[0]): void {
    if (!tf.getKernel(ADAM_KERNEL, tf.getBackend())) return super.applyGradients(variableGradients);
    const self = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const f = Math.fround;
    const [acc1, acc2] = [self.accBeta1.dataSync()[0], self.accBeta2.dataSync()[0]];
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
    this.incrementIterations();
  }
}

/** tf.train.adam's signature and defaults (beta1 0.9, beta2 0.999, the backend's epsilon). */
export function adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon as number);
}
