/**
 * Lopper's fused kernels on TF.js's WebGPU backend, as WGSL programs run through `WebGPUBackend.runWebGPUProgram`.
 *
 * Profiling a LeNet-5 training step on an NVIDIA H200 (docs/results.md) found the GPU idle: 91.5 ms per step, nearly all
 * of it the host's ~0.25 ms per dispatched program, and most programs the Adam update (about ten elementwise programs per
 * trainable variable), BatchNorm's statistics and their gradients; the convolutions and matmuls took under 2 ms. These
 * kernels do the same arithmetic in fewer programs:
 *
 * - `LopperAdam` (pruning/adam.ts): three programs per variable (x', m', v'; each recomputes the moments it needs)
 *   instead of tf.train.adam's ten or more.
 * - `LopperMoments`: a per-channel mean program and a per-channel variance program (centred squares, the same two-pass
 *   algorithm as tf.moments), one workgroup per channel; TF.js runs a transpose and a reduction per Mean, plus Sub and
 *   Square.
 * - `LopperMomentsGrad`: one per-channel affine program.
 * - `LopperBatchNormTrainGrad`: two per-channel sums (sum dy; sum dy (x - mean) times rs, which is dScale) and one program
 *   for dx.
 * - `LopperReluGrad`: one program instead of Step, Cast and Multiply.
 *
 * Backend-agnostic code reaches them through fused-ops.ts's routes and adam.ts; those ask the kernel registry, so on any
 * other backend nothing changes. Results equal the cpu backend's within float32 rounding (a GPU may contract a * b + c into
 * a fused multiply-add), which webgpu.spec.ts checks on Mesa's llvmpipe.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { ADAM_KERNEL, type AdamKernelAttrs } from '../pruning/adam.js';
import { BN_TRAIN_GRAD_KERNEL, MOMENTS_GRAD_KERNEL, MOMENTS_KERNEL, RELU_GRAD_KERNEL, float32Only, registerFusedKernels, unregisterFusedKernels } from './fused-ops.js';

type Uniform = { type: 'float32' | 'int32'; data: number[] };
const f32 = (...data: number[]): Uniform => ({ type: 'float32', data });
const i32 = (...data: number[]): Uniform => ({ type: 'int32', data });

/** One thread per output element: `body` sees `index` (a flat index below uniforms.size) and the inputs as flat arrays. */
class ElementwiseProgram implements WebGPUProgram {
  readonly size = true;
  readonly workgroupSize: [number, number, number] = [128, 1, 1];
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;
  constructor(key: string, readonly variableNames: string[], readonly outputShape: number[], private readonly body: string, readonly uniforms?: string) {
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(outputShape) / this.workgroupSize[0]), 1, 1];
    this.shaderKey = `lopper_${key}`;
  }
  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.body}
        }
      }`;
  }
}

/**
 * A per-channel reduction over the rows of a [rows, channels] view of its inputs: one workgroup per channel, each thread
 * summing `term` (which sees `i`, the flat index of row r, channel c) over every workgroupSize-th row, then a tree in
 * workgroup memory; `finish` turns the sum `total` into the channel's output.
 */
class ChannelSumProgram implements WebGPUProgram {
  readonly size = true;
  readonly workgroupSize: [number, number, number];
  readonly dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  shaderKey: string;
  readonly uniforms = 'rows : i32, channels : i32, epsilon : f32,';
  readonly outputShape: number[];
  constructor(key: string, readonly variableNames: string[], channels: number, private readonly term: string, private readonly finish: string, threads: number) {
    this.outputShape = [channels];
    this.workgroupSize = [threads, 1, 1];
    this.dispatch = [channels, 1, 1];
    this.shaderKey = `lopper_channel_sum_${key}_${threads}`;
  }
  getUserCode(): string {
    const n = this.workgroupSize[0];
    return `
      var<workgroup> partial : array<f32, ${n}>;
      fn main(index : i32) {
        let c = index / ${n};
        let t = i32(localId.x);
        let C = uniforms.channels;
        var acc = 0.0;
        if (c < C) {
          for (var r = t; r < uniforms.rows; r = r + ${n}) {
            let i = r * C + c;
            acc = acc + (${this.term});
          }
        }
        partial[t] = acc;
        workgroupBarrier();
        for (var s = ${n / 2}; s > 0; s = s / 2) {
          if (t < s) {
            partial[t] = partial[t] + partial[t + s];
          }
          workgroupBarrier();
        }
        if (t == 0 && c < C) {
          let total = partial[0];
          setOutputAtIndex(c, ${this.finish});
        }
      }`;
  }
}

/** Threads per channel-sum workgroup: 256 where the device allows it (128 is all that WebGPU's compatibility mode promises). */
function sumThreads(gpu: WebGPUBackend): number {
  const limit = Math.min(gpu.device.limits.maxComputeWorkgroupSizeX, gpu.device.limits.maxComputeInvocationsPerWorkgroup);
  return limit >= 256 ? 256 : 128;
}

const ADAM_UNIFORMS = 'beta1 : f32, beta2 : f32, oneMinusBeta1 : f32, oneMinusBeta2 : f32, oneMinusAccBeta1 : f32, oneMinusAccBeta2 : f32, epsilon : f32, negLearningRate : f32,';
/** tf.train.adam's arithmetic, operation for operation: m' = m b1 + g (1 - b1), v' = v b2 + g^2 (1 - b2), then the step. */
const M1 = 'let m1 = m[index] * uniforms.beta1 + g[index] * uniforms.oneMinusBeta1;';
const V1 = 'let v1 = v[index] * uniforms.beta2 + (g[index] * g[index]) * uniforms.oneMinusBeta2;';
/** Each output's program and the inputs it reads (a program must bind only what its shader uses). */
const ADAM_PROGRAMS = {
  x: { inputs: ['x', 'g', 'm', 'v'], body: `${M1} ${V1}
    setOutputAtIndex(index, x[index] + (m1 / uniforms.oneMinusAccBeta1) / (sqrt(v1 / uniforms.oneMinusAccBeta2) + uniforms.epsilon) * uniforms.negLearningRate);` },
  m: { inputs: ['g', 'm'], body: `${M1} setOutputAtIndex(index, m1);` },
  v: { inputs: ['g', 'v'], body: `${V1} setOutputAtIndex(index, v1);` },
} as const;

const adamKernel: tf.KernelConfig = {
  kernelName: ADAM_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const tensors = inputs as Record<'x' | 'g' | 'm' | 'v', tf.TensorInfo>;
    float32Only(ADAM_KERNEL, tensors);
    const a = attrs as unknown as AdamKernelAttrs;
    const uniforms = [f32(a.beta1), f32(a.beta2), f32(a.oneMinusBeta1), f32(a.oneMinusBeta2), f32(a.oneMinusAccBeta1), f32(a.oneMinusAccBeta2), f32(a.epsilon), f32(a.negLearningRate)];
    const gpu = backend as WebGPUBackend;
    return (['x', 'm', 'v'] as const).map((out) => {
      const { inputs: names, body } = ADAM_PROGRAMS[out];
      const program = new ElementwiseProgram(`adam_${out}`, [...names], tensors.x.shape, body, ADAM_UNIFORMS);
      return gpu.runWebGPUProgram(program, names.map((n) => tensors[n]), 'float32', uniforms);
    });
  },
};

/** Rows and channels of x viewed as [rows, channels] (channels last). */
function rowsAndChannels(x: tf.TensorInfo): [number, number] {
  const C = x.shape[x.shape.length - 1];
  return [tf.util.sizeFromShape(x.shape) / C, C];
}

const momentsKernel: tf.KernelConfig = {
  kernelName: MOMENTS_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    float32Only(MOMENTS_KERNEL, { x });
    const gpu = backend as WebGPUBackend;
    const [rows, C] = rowsAndChannels(x);
    const n = sumThreads(gpu);
    const uniforms = [i32(rows), i32(C), f32(0)];
    const mean = gpu.runWebGPUProgram(new ChannelSumProgram('mean', ['x'], C, 'x[i]', 'total / f32(uniforms.rows)', n), [x], 'float32', uniforms);
    const variance = gpu.runWebGPUProgram(
      new ChannelSumProgram('variance', ['x', 'mean'], C, '(x[i] - mean[c]) * (x[i] - mean[c])', 'total / f32(uniforms.rows)', n), [x, mean], 'float32', uniforms);
    return [mean, variance];
  },
};

/** dx = dmean / N + 2 dvar (x - mean) / N, as the WASM kernel computes it: x * s + (dmean / N - s mean), s = 2 dvar / N. */
const momentsGradKernel: tf.KernelConfig = {
  kernelName: MOMENTS_GRAD_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const { x, mean, dMean, dVariance } = inputs as Record<'x' | 'mean' | 'dMean' | 'dVariance', tf.TensorInfo>;
    float32Only(MOMENTS_GRAD_KERNEL, { x, mean, dMean, dVariance });
    const [rows, C] = rowsAndChannels(x);
    const body = `
      let c = index % uniforms.channels;
      let n = f32(uniforms.rows);
      let s = (2.0 * dVariance[c]) / n;
      setOutputAtIndex(index, x[index] * s + (dMean[c] / n - s * mean[c]));`;
    return (backend as WebGPUBackend).runWebGPUProgram(
      new ElementwiseProgram('moments_grad', ['x', 'mean', 'dMean', 'dVariance'], x.shape, body, 'rows : i32, channels : i32,'), [x, mean, dMean, dVariance], 'float32', [i32(rows), i32(C)]);
  },
};

/**
 * BatchNorm's training gradient (fused-ops.ts): dOffset = sum dy, dScale = rs sum dy (x - mean), then
 * dx = dy A + x B + D with A = scale rs, B = -A rs dScale / N (= -scale rs^3 sum dy (x - mean) / N), D = -A dOffset / N - B mean.
 */
const batchNormTrainGradKernel: tf.KernelConfig = {
  kernelName: BN_TRAIN_GRAD_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy, mean, variance, scale } = inputs as Record<'x' | 'dy' | 'mean' | 'variance' | 'scale', tf.TensorInfo>;
    float32Only(BN_TRAIN_GRAD_KERNEL, { x, dy, mean, variance, scale });
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const gpu = backend as WebGPUBackend;
    const [rows, C] = rowsAndChannels(x);
    const n = sumThreads(gpu);
    const uniforms = [i32(rows), i32(C), f32(varianceEpsilon)];
    const dOffset = gpu.runWebGPUProgram(new ChannelSumProgram('sum_dy', ['dy'], C, 'dy[i]', 'total', n), [dy], 'float32', uniforms);
    const dScale = gpu.runWebGPUProgram(
      new ChannelSumProgram('bn_dscale', ['dy', 'x', 'mean', 'variance'], C, 'dy[i] * (x[i] - mean[c])', 'total / sqrt(variance[c] + uniforms.epsilon)', n),
      [dy, x, mean, variance], 'float32', uniforms);
    const body = `
      let c = index % uniforms.channels;
      let n = f32(uniforms.rows);
      let rs = 1.0 / sqrt(variance[c] + uniforms.epsilon);
      let a = scale[c] * rs;
      let b = (-a * rs * dScale[c]) / n;
      let d = (-a * dOffset[c]) / n - b * mean[c];
      setOutputAtIndex(index, dy[index] * a + x[index] * b + d);`;
    // seven inputs and the output: eight storage buffers, WebGPU's default per-stage limit (TF.js asks for no more)
    const dx = gpu.runWebGPUProgram(
      new ElementwiseProgram('bn_train_dx', ['dy', 'x', 'mean', 'variance', 'scale', 'dScale', 'dOffset'], x.shape, body, 'rows : i32, channels : i32, epsilon : f32,'),
      [dy, x, mean, variance, scale, dScale, dOffset], 'float32', uniforms);
    return [dx, dScale, dOffset];
  },
};

/** dy * step(x), as TF.js's Relu gradient computes it (Step keeps NaN: a NaN x gives dy * NaN). */
const reluGradKernel: tf.KernelConfig = {
  kernelName: RELU_GRAD_KERNEL,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    float32Only(RELU_GRAD_KERNEL, { x, dy });
    const body = `
      let xi = x[index];
      setOutputAtIndex(index, dy[index] * select(select(0.0, 1.0, xi > 0.0), xi, isnan(xi)));`;
    return (backend as WebGPUBackend).runWebGPUProgram(new ElementwiseProgram('relu_grad', ['x', 'dy'], x.shape, body), [x, dy], 'float32');
  },
};

export const WEBGPU_KERNELS: tf.KernelConfig[] = [adamKernel, momentsKernel, momentsGradKernel, batchNormTrainGradKernel, reluGradKernel];

/** Registers the kernels on the WebGPU backend and installs fused-ops.ts's routes to them. Idempotent. */
export function registerWebGpuKernels(): void {
  registerFusedKernels(WEBGPU_KERNELS);
}

/** Unregisters them (the routes stay and fall back to TF.js's own ops): for A/B measurements and tests. */
export function unregisterWebGpuKernels(): void {
  unregisterFusedKernels(WEBGPU_KERNELS);
}

/**
 * Runs `fn` and returns how many GPU programs the WebGPU backend dispatched meanwhile (every kernel of TF.js's WebGPU
 * backend, and these, goes through `runWebGPUProgram`): for profiles and tests.
 */
export async function countWebGpuPrograms(fn: () => unknown): Promise<number> {
  const gpu = tf.findBackend('webgpu') as WebGPUBackend | undefined;
  if (!gpu) throw new Error('countWebGpuPrograms: the webgpu backend is not registered');
  const run = gpu.runWebGPUProgram;
  const own = Object.prototype.hasOwnProperty.call(gpu, 'runWebGPUProgram');
  let programs = 0;
  gpu.runWebGPUProgram = function (this: WebGPUBackend, ...args: Parameters<WebGPUBackend['runWebGPUProgram']>) {
    programs++;
    return run.apply(this, args);
  };
  try {
    await fn();
  } finally {
    if (own) gpu.runWebGPUProgram = run;
    else delete (gpu as Partial<WebGPUBackend>).runWebGPUProgram;
  }
  return programs;
}
