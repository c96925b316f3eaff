/**
 * Lazy gradients for TF.js's fused conv2d (backend-agnostic).
 *
 * In training, tfjs-layers' Conv2D with a linear activation runs `tf.fused.conv2d`, whose backward pass is a customGrad that
 * computes every gradient eagerly: the input gradient (a full Conv2DBackpropInput), the filter gradient and the bias
 * gradient, whether the tape needs them or not. The first convolution of every network gets an input gradient that nobody
 * reads (the images are not variables): on LeNet-5 that is a ~7 ms Conv2DBackpropInput in a ~78 ms step.
 *
 * TF.js's tape calls one thunk per input and only for inputs on the path from the variables to the loss. This module gives the
 * fused conv2d's tape node such thunks: same kernels, same attributes, same results, each computed only when asked for. It
 * hooks the engine instance (TF.js 4.x keeps no public hook for this): `runKernel` to see the FusedConv2D attributes, then the
 * tape node that the op's customGrad adds right after (scope `fusedConv2d__op`). Anything it does not recognise (another
 * activation, NCHW, dilations, a changed engine) keeps TF.js's own gradient. A rank-3 input (one image without a batch axis),
 * whose gradient TF.js 4.22 cannot compute (it passes the rank-3 dy on to Conv2DBackpropInput), works here.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The tape node name of tf.fused.conv2d's customGrad: its op scope (`op({ fusedConv2d_ })` adds `__op`). */
export const FUSED_CONV_SCOPE = 'fusedConv2d__op';

interface FusedConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}
type GradMap = Record<string, () => tf.Tensor>;
type GradientsFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: unknown) => GradMap;
interface EngineHooks {
  runKernel(name: string, inputs: Record<string, tf.Tensor | undefined>, attrs?: object): tf.Tensor | tf.Tensor[];
  addTapeNode(kernelName: string, inputs: Record<string, tf.Tensor>, outputs: tf.Tensor[], gradientsFunc: GradientsFunc | null, saved: tf.Tensor[], attrs: object): void;
  [INSTALLED]?: true;
}
const INSTALLED = Symbol.for('lopper.lazyFusedConvGrad');

/** Whether a FusedConv2D call's gradient can be served lazily: linear activation (the only one that fuses under a tape), NHWC, no dilation. */
function lazyable(a: FusedConvAttrs | null): a is FusedConvAttrs {
  if (!a) return false;
  const dil = a.dilations ?? 1;
  const one = Array.isArray(dil) ? dil.every((d) => d === 1) : dil === 1;
  return (a.activation ?? 'linear') === 'linear' && (a.dataFormat ?? 'NHWC') === 'NHWC' && one;
}

/** Per-input gradient thunks of a linear fused conv2d; `saved` is what its customGrad saved: [filter, x, y] or [filter, x, y, bias]. */
export function fusedConvGradients(a: FusedConvAttrs, dyIn: tf.Tensor, saved: tf.Tensor[]): GradMap {
  const [filter, x, y, bias] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor | undefined];
  // The op reshapes a rank-3 input to one batch and its output back: dy then has rank 3, the saved output rank 4.
  const dy = dyIn.rank === 4 ? dyIn : tf.reshape(dyIn, y.shape);
  const common = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', ...(a.dimRoundingMode ? { dimRoundingMode: a.dimRoundingMode } : {}) } as tf.NamedAttrMap;
  const grads: GradMap = {
    0: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: x.shape }) as tf.Tensor,
    1: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: filter.shape }) as tf.Tensor,
  };
  if (bias) {
    grads[2] = () => {
      const axes = tf.broadcast_util.getReductionAxes(bias.shape, dy.shape);
      return tf.reshape(axes.length ? tf.sum(dy, axes) : dy, bias.shape);
    };
  }
  return grads;
}

/** Installs the lazy fused-conv2d gradient on TF.js's engine (idempotent). Returns false when the engine lacks the hooks. */
export function installLazyFusedConvGradient(): boolean {
  const engine = tf.engine() as unknown as EngineHooks;
  if (engine[INSTALLED]) return true;
  if (typeof engine.runKernel !== 'function' || typeof engine.addTapeNode !== 'function') return false;
  const runKernel = engine.runKernel.bind(engine);
  const addTapeNode = engine.addTapeNode.bind(engine);
  let pending: FusedConvAttrs | null = null;
  engine.runKernel = (name, inputs, attrs) => {
    if (name === 'FusedConv2D') pending = attrs as FusedConvAttrs;
    return runKernel(name, inputs, attrs);
  };
  engine.addTapeNode = (kernelName, inputs, outputs, gradientsFunc, saved, attrs) => {
    // The customGrad's own clones of the saved tensors add tape nodes of their own before it: only its node takes the attributes.
    if (kernelName === FUSED_CONV_SCOPE) {
      const a = pending;
      pending = null;
      if (gradientsFunc && lazyable(a) && saved?.length >= 3 && tf.getGradient(FUSED_CONV_SCOPE) == null) {
        gradientsFunc = (dy, s) => fusedConvGradients(a, dy as tf.Tensor, s);
      }
    }
    addTapeNode(kernelName, inputs, outputs, gradientsFunc, saved, attrs);
  };
  engine[INSTALLED] = true;
  return true;
}
