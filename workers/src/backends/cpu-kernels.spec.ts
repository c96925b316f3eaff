import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import { registerCpuKernels, unregisterCpuKernels } from './cpu-kernels.js';

const LOPPER = Symbol.for('lopper.cpu-kernel');
const isLopper = () => LOPPER in tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case { x: number[]; filter: number[]; strides: [number, number]; pad: Pad; dimRoundingMode?: 'floor' | 'round' | 'ceil' }

/** dW of one case through whichever Conv2DBackpropFilter the cpu backend has registered now. */
function filterGrad(c: Case, x: tf.Tensor, dy: tf.Tensor): Float32Array {
  return tf.tidy(() => (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
    { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.dimRoundingMode, filterShape: c.filter } as never) as tf.Tensor).dataSync() as Float32Array);
}

/** The same case on the stock kernel and on Lopper's, on the same inputs (x through ReLU: half zeros, as in training). */
function both(c: Case, dyValues?: (n: number) => Float32Array) {
  const x = tf.tidy(() => tf.relu(tf.randomNormal(c.x, 0, 1, 'float32', 7)));
  const y = tf.tidy(() => tf.conv2d(x as tf.Tensor4D, tf.ones(c.filter as [number, number, number, number]), c.strides, c.pad as never, 'NHWC', 1, c.dimRoundingMode));
  const n = y.size;
  const dy = dyValues ? tf.tensor(dyValues(n), y.shape) : tf.tidy(() => tf.randomNormal(y.shape, 0, 1, 'float32', 11));
  try {
    unregisterCpuKernels();
    const stock = filterGrad(c, x, dy);
    registerCpuKernels();
    const ours = filterGrad(c, x, dy);
    return { stock, ours };
  } finally {
    tf.dispose([x, y, dy]);
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => registerCpuKernels());

describe("Lopper's Conv2DBackpropFilter for the cpu backend", () => {
  const cases: [string, Case][] = [
    ['LeNet conv1: 5x5 same, one input channel', { x: [4, 12, 12, 1], filter: [5, 5, 1, 6], strides: [1, 1], pad: 'same' }],
    ['LeNet conv2: 5x5 valid', { x: [3, 14, 14, 6], filter: [5, 5, 6, 16], strides: [1, 1], pad: 'valid' }],
    ['3x3 same (vgg-small)', { x: [2, 8, 8, 12], filter: [3, 3, 12, 8], strides: [1, 1], pad: 'same' }],
    ['3x3 stride 2 same, odd size', { x: [2, 9, 9, 4], filter: [3, 3, 4, 5], strides: [2, 2], pad: 'same' }],
    ['3x3 stride 2 valid: the last column never read', { x: [2, 10, 11, 2], filter: [3, 3, 2, 3], strides: [2, 2], pad: 'valid' }],
    ['1x1 stride 2 (resnet-small shortcut)', { x: [2, 8, 8, 6], filter: [1, 1, 6, 10], strides: [2, 2], pad: 'same' }],
    ['non-square kernel and strides', { x: [2, 11, 7, 3], filter: [3, 2, 3, 4], strides: [2, 1], pad: 'same' }],
    ['explicit asymmetric padding', { x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: [[0, 0], [2, 0], [1, 2], [0, 0]] }],
    ['valid with a rounding mode', { x: [1, 8, 8, 2], filter: [3, 3, 2, 2], strides: [2, 2], pad: 0 as never, dimRoundingMode: 'ceil' }],
  ];

  it.each(cases)('%s: equals the stock kernel exactly (both sum in float64, in the same order)', (_, c) => {
    const { stock, ours } = both(c);
    expect(ours.length).toBe(c.filter.reduce((a, b) => a * b));
    expect(Array.from(ours)).toEqual(Array.from(stock));
    expect(stock.some((v) => v !== 0)).toBe(true);
  });

  it('spreads a NaN or an infinity of dy as the stock kernel does (a zero of x times NaN is NaN)', () => {
    const c: Case = { x: [2, 6, 6, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same' };
    for (const bad of [NaN, Infinity]) {
      const { stock, ours } = both(c, (n) => Float32Array.from({ length: n }, (_, i) => (i === 5 ? bad : Math.sin(i))));
      expect(stock.some((v) => !Number.isFinite(v))).toBe(true);
      expect(Array.from(ours)).toEqual(Array.from(stock)); // toEqual: NaN equals NaN
    }
  });

  it('leaves NCHW to the stock kernel', () => {
    registerCpuKernels();
    const x = tf.randomNormal([1, 2, 5, 5], 0, 1, 'float32', 3);
    const dy = tf.randomNormal([1, 3, 5, 5], 0, 1, 'float32', 4);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] } as never;
    const ours = (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor);
    unregisterCpuKernels();
    const stock = (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor);
    registerCpuKernels();
    expect(Array.from(ours.dataSync())).toEqual(Array.from(stock.dataSync()));
    tf.dispose([x, dy, ours, stock]);
  });

  it('trains: the gradient of a convolution through tf.grad is the same with either kernel, and no tensor leaks', () => {
    const x = tf.randomNormal([4, 10, 10, 3], 0, 1, 'float32', 5);
    const w = tf.randomNormal([3, 3, 3, 8], 0, 0.3, 'float32', 6);
    const loss = (v: tf.Tensor) => tf.mean(tf.square(tf.relu(tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, 1, 'same'))));
    const grad = () => tf.tidy(() => tf.grad(loss)(w).dataSync());
    const before = tf.memory().numTensors;
    unregisterCpuKernels();
    const stock = grad();
    registerCpuKernels();
    const ours = grad();
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(ours)).toEqual(Array.from(stock));
    tf.dispose([x, w]);
  });

  it('registers idempotently, unregisters back to the stock kernel, and initBackend("cpu") puts it in place', async () => {
    unregisterCpuKernels();
    unregisterCpuKernels();
    expect(isLopper()).toBe(false);
    registerCpuKernels();
    registerCpuKernels();
    expect(isLopper()).toBe(true);
    unregisterCpuKernels();
    const { initBackend } = await import('./index.js');
    const info = await initBackend('cpu');
    expect(info.backend).toBe('cpu');
    expect(isLopper()).toBe(true);
  });
});
