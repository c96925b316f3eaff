import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { configureSimd, simdVariant, type SimdFmaSetting } from './simd.js';
import { registerWasmKernels } from './wasm-kernels.js';
import { relErr } from './fused-ops.spec-helpers.js';
import { heldMemory, lessHeld } from './memory.spec-helpers.js';

// Jest runs this file twice: in the `unit` project with the fused multiply-add build (auto: relaxed SIMD, which this
// Node's engine takes), and in `unit-simd128` with LOPPER_WASM_FMA=off (test/simd128.setup.mjs).
const FMA_SETTING = (process.env.LOPPER_WASM_FMA || 'auto') as SimdFmaSetting;

async function on<T>(backend: string, f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return f();
}

beforeAll(async () => {
  configureSimd(FMA_SETTING);
  await tf.setBackend('wasm');
  registerWasmKernels();
  await tf.setBackend('cpu');
});

describe('the SIMD kernels\' build', () => {
  it('is the one configured: the fused multiply-add build unless LOPPER_WASM_FMA=off', () => {
    expect(simdVariant()).toBe(FMA_SETTING === 'off' ? 'simd128' : 'fma');
  });

  it('rejects an unknown setting, naming LOPPER_WASM_FMA', async () => {
    expect(() => configureSimd('fast' as SimdFmaSetting)).toThrow(/LOPPER_WASM_FMA="fast" is not one of auto, on, off/);
    const { initBackend } = await import('./index.js');
    await expect(initBackend('wasm', 'fast')).rejects.toThrow(/LOPPER_WASM_FMA="fast" is not one of auto, on, off/);
    expect(simdVariant()).toBe(FMA_SETTING === 'off' ? 'simd128' : 'fma');
  });

  it('is named in the device that initBackend reports (each trial records it)', async () => {
    const { initBackend } = await import('./index.js');
    const info = await initBackend('wasm', FMA_SETTING);
    expect(info.backend).toBe('wasm');
    expect(info.device).toMatch(FMA_SETTING === 'off' ? /\(wasm, SIMD128\)$/ : /\(wasm, SIMD128 \+ FMA\)$/);
    await tf.setBackend('cpu');
  });
});

describe('WASM Conv2DBackpropFilter', () => {
  const cases: [string, number[], number[], number, 'same' | 'valid'][] = [
    ['5x5 same', [4, 12, 12, 3], [5, 5, 3, 6], 1, 'same'],
    ['5x5 valid', [3, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
    ['3x3 stride 2 same', [2, 9, 9, 4], [3, 3, 4, 5], 2, 'same'],
    ['3x3 stride 2 valid', [2, 10, 11, 2], [3, 3, 2, 3], 2, 'valid'],
    ['3x3 same, 12 input channels', [2, 8, 8, 12], [3, 3, 12, 4], 1, 'same'],
    ['3x3 stride 2 same, 10 input channels', [2, 9, 9, 10], [3, 3, 10, 4], 2, 'same'],
    ['3x3 stride 2 same, 5 input channels, 8 outputs', [2, 9, 9, 5], [3, 3, 5, 8], 2, 'same'],
    ['3x3 same, 3 input channels, 20 outputs', [2, 7, 7, 3], [3, 3, 3, 20], 1, 'same'],
    ['5x5 valid, LeNet conv2 shape', [4, 14, 14, 6], [5, 5, 6, 16], 1, 'valid'],
    // lopper_conv_filter_grad takes output rows in blocks that fit L1: 8 rows here, so five blocks, padding at the first and last
    ['5x5 same, output rows in several blocks', [2, 40, 40, 8], [5, 5, 8, 16], 1, 'same'],
    ['3x3 stride 2 same, output rows in blocks of 8, 8 and 5', [1, 41, 41, 8], [3, 3, 8, 16], 2, 'same'],
  ];
  it.each(cases)('equals the cpu backend within 1e-5 relative error (%s)', async (_, xShape, fShape, stride, pad) => {
    const xv = tf.randomNormal(xShape, 0, 1, 'float32', 1).dataSync() as Float32Array;
    const grad = async () => {
      const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
      const f = tf.tensor4d(tf.randomNormal(fShape, 0, 1, 'float32', 2).dataSync() as Float32Array, fShape as [number, number, number, number]);
      const g = tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, w as tf.Tensor4D, stride, pad))))(f);
      const data = (await g.data()) as Float32Array;
      tf.dispose([x, f, g]);
      return data;
    };
    const cpu = await (await on('cpu', grad));
    const wasm = await (await on('wasm', grad));
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it.each([[false, false], [true, false], [false, true], [true, true]])('BatchMatMul transposeA=%s transposeB=%s equals the cpu backend', async (ta, tb) => {
    const av = tf.randomNormal([3, 7, 5], 0, 1, 'float32', 4).dataSync() as Float32Array;
    const bv = tf.randomNormal([3, 5, 6], 0, 1, 'float32', 5).dataSync() as Float32Array;
    const run = async () => {
      const a = ta ? tf.transpose(tf.tensor3d(av, [3, 7, 5]), [0, 2, 1]) : tf.tensor3d(av, [3, 7, 5]);
      const b = tb ? tf.transpose(tf.tensor3d(bv, [3, 5, 6]), [0, 2, 1]) : tf.tensor3d(bv, [3, 5, 6]);
      const before = heldMemory();
      const c = tf.matMul(a, b, ta, tb);
      expect(c.shape).toEqual([3, 7, 6]);
      const data = (await c.data()) as Float32Array;
      tf.dispose([a, b, c]);
      expect(heldMemory()).toEqual(lessHeld(before, 2));
      return data;
    };
    const cpu = await (await on('cpu', run));
    const wasm = await (await on('wasm', run));
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it.each(cases)('Conv2DBackpropInput equals the cpu backend within 1e-5 relative error (%s)', async (_, xShape, fShape, stride, pad) => {
    const xv = tf.randomNormal(xShape, 0, 1, 'float32', 6).dataSync() as Float32Array;
    const fv = tf.randomNormal(fShape, 0, 1, 'float32', 7).dataSync() as Float32Array;
    const grad = async () => {
      const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
      const f = tf.tensor4d(fv, fShape as [number, number, number, number]);
      const before = heldMemory();
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, f, stride, pad))))(x);
      const data = (await g.data()) as Float32Array;
      g.dispose();
      expect(heldMemory()).toEqual(before);
      tf.dispose([x, f]);
      return data;
    };
    const cpu = await (await on('cpu', grad));
    const wasm = await (await on('wasm', grad));
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it.each([
    ['channel vector', [2, 3], [1, 1, 1, 3], [5, 4, 3, 1]],
    ['middle axis', [1, 4, 1], [1, 4, 1, 1], [3, 1, 2, 5]],
    ['scalar-like', [1], [1], [7]],
    ['identity', [2, 3], [2, 3], [1, 1]],
  ])('Tile (%s) equals the cpu backend', async (_, __, shape, reps) => {
    const v = tf.randomNormal(shape, 0, 1, 'float32', 8).dataSync();
    const run = async () => { const t = tf.tensor(v, shape); const r = tf.tile(t, reps); const d = await r.data(); tf.dispose([t, r]); return d as Float32Array; };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(Array.from(wasm)).toEqual(Array.from(cpu));
    await tf.setBackend('cpu');
  });

  it.each([
    ['2x2 stride 2 valid', [3, 8, 8, 5], 2, 2, 'valid'],
    ['3x3 stride 2 same', [2, 9, 7, 3], 3, 2, 'same'],
    ['3x3 stride 1 same', [2, 6, 6, 4], 3, 1, 'same'],
  ] as const)('MaxPoolGrad (%s) equals the cpu backend', async (_, shape, size, stride, pad) => {
    const v = tf.randomNormal([...shape], 0, 1, 'float32', 9).dataSync();
    const run = async () => {
      const x = tf.tensor4d(v, [...shape] as [number, number, number, number]);
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.maxPool(xx as tf.Tensor4D, size, stride, pad))))(x);
      const d = await g.data(); tf.dispose([x, g]); return d as Float32Array;
    };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-6);
    await tf.setBackend('cpu');
  });

  it.each(['mul', 'add', 'sub', 'div'] as const)('broadcast %s over channels equals the cpu backend, either operand order', async (op) => {
    const xv = tf.randomNormal([4, 16, 16, 6], 0, 1, 'float32', 10).dataSync();
    const cv = tf.randomUniform([6], 0.5, 2, 'float32', 11).dataSync();
    const run = async () => {
      const x = tf.tensor4d(xv, [4, 16, 16, 6]);
      const c = tf.tensor1d(cv);
      const c4 = tf.reshape(c, [1, 1, 1, 6]);
      const rows = tf.reshape(tf.slice(x, [0, 0, 0, 0], [1, 16, 1, 6]), [16, 1, 6]);
      const outs = [tf[op](x, c), tf[op](c4, x), tf[op](x, rows)];
      const d = await Promise.all(outs.map((o) => o.data()));
      tf.dispose([x, c, c4, rows, ...outs]);
      return Float32Array.from(d.flatMap((a) => Array.from(a)));
    };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-6);
    await tf.setBackend('cpu');
  });

  it.each([
    ['3x3 same, multiplier 1', [2, 8, 8, 3], [3, 3, 3, 1], 1, 'same'],
    ['3x3 valid, multiplier 2', [2, 7, 9, 2], [3, 3, 2, 2], 1, 'valid'],
    ['5x5 stride 2 same, multiplier 3', [1, 11, 10, 4], [5, 5, 4, 3], 2, 'same'],
  ] as const)('depthwise conv backprops (%s) equal the cpu backend within 1e-5 relative error', async (_, xShape, fShape, stride, pad) => {
    const xv = tf.randomNormal([...xShape], 0, 1, 'float32', 12).dataSync();
    const fv = tf.randomNormal([...fShape], 0, 1, 'float32', 13).dataSync();
    const run = async () => {
      const x = tf.tensor4d(xv, [...xShape] as [number, number, number, number]);
      const f = tf.tensor4d(fv, [...fShape] as [number, number, number, number]);
      const before = heldMemory();
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad))))([x, f]);
      const d = [...(await gx.data()), ...(await gf.data())];
      tf.dispose([gx, gf]);
      expect(heldMemory()).toEqual(before);
      tf.dispose([x, f]);
      return Float32Array.from(d);
    };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it('lets a conv net train on WASM without leaking tensors', async () => {
    await tf.setBackend('wasm');
    const before = heldMemory();
    const x = tf.randomNormal([8, 10, 10, 1]) as tf.Tensor4D;
    const w0 = tf.randomNormal([3, 3, 1, 4]);
    const w = tf.variable(w0 as tf.Tensor4D);
    w0.dispose();
    const opt = tf.train.sgd(0.01);
    const loss0 = tf.tidy(() => tf.mean(tf.square(tf.conv2d(x, w, 1, "same"))).dataSync()[0]);
    for (let i = 0; i < 5; i++) opt.minimize(() => tf.mean(tf.square(tf.conv2d(x, w, 1, "same"))) as tf.Scalar);
    const loss1 = tf.tidy(() => tf.mean(tf.square(tf.conv2d(x, w, 1, "same"))).dataSync()[0]);
    expect(loss1).toBeLessThan(loss0);
    tf.dispose([x, w]);
    opt.dispose();
    expect(heldMemory()).toEqual(before);
  });
});

describe('WASM SIMD kernels (simd/kernels.c)', () => {
  /** Runs f on both backends with the same inputs (made from seeded data) and returns both outputs. */
  async function both(inputs: [number[], number][], f: (...t: tf.Tensor[]) => tf.Tensor): Promise<{ cpu: Float32Array; wasm: Float32Array; shapes: string[] }> {
    const data = inputs.map(([shape, seed]) => [shape, tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync()] as const);
    const run = async () => {
      const ts = data.map(([shape, v]) => tf.tensor(v, shape));
      const before = heldMemory();
      const out = tf.tidy(() => f(...ts));
      const d = (await out.data()) as Float32Array;
      const shape = String(out.shape);
      out.dispose();
      expect(heldMemory()).toEqual(before);
      tf.dispose(ts);
      return { d, shape };
    };
    const c = await on('cpu', run);
    const w = await on('wasm', run);
    await tf.setBackend('cpu');
    return { cpu: c.d, wasm: w.d, shapes: [c.shape, w.shape] };
  }

  it('loads on this engine (SIMD module instantiated on the WASM backend memory)', async () => {
    await tf.setBackend('wasm');
    const { simdKernels } = await import('./simd.js');
    expect(simdKernels(tf.backend() as never)).not.toBeNull();
    await tf.setBackend('cpu');
  });

  it.each([
    ['conv activations', [16, 28, 28, 6]],
    ['dense BatchNorm (4D view)', [1, 1, 64, 120]],
    ['odd channel count', [3, 5, 7, 5]],
  ])('FusedBatchNorm (%s) equals the cpu backend', async (_, shape) => {
    const C = shape[3];
    const { cpu, wasm, shapes } = await both([[shape, 1], [[C], 2], [[C], 3], [[C], 4], [[C], 5]], (x, m, v, o, g) => tf.batchNorm(x, m, tf.add(tf.abs(v), 0.1), o, g, 1e-3));
    expect(shapes[1]).toBe(shapes[0]);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['sum over N,H,W', 'sum', [0, 1, 2], false],
    ['mean over N,H,W keepDims', 'mean', [0, 1, 2], true],
    ['sum over the batch', 'sum', [0], false],
    ['sum of everything', 'sum', [0, 1, 2, 3], false],
    ['sum over the last axis (stock kernel)', 'sum', [3], false],
  ] as const)('%s equals the cpu backend', async (_, op, axes, keepDims) => {
    const { cpu, wasm, shapes } = await both([[[32, 9, 7, 6], 7]], (x) => (op === 'sum' ? tf.sum(x, [...axes], keepDims) : tf.mean(x, [...axes], keepDims)));
    expect(shapes[1]).toBe(shapes[0]);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['2x2 stride 2', [4, 28, 28, 6], 2, 2, 'valid'],
    ['2x2 stride 2, odd size, 5 channels', [3, 9, 11, 5], 2, 2, 'valid'],
    ['3x3 stride 2 same (overlapping)', [2, 10, 10, 4], 3, 2, 'same'],
    ['2x2 stride 2, odd size, 6 channels (a vector ending at the last channel), uncovered edges zeroed', [2, 9, 11, 6], 2, 2, 'valid'],
    ['2x2 stride 2 same, odd size (windows reach past the edge: the general path)', [2, 9, 7, 8], 2, 2, 'same'],
    ['2x2 stride 2, 3 channels (the general path)', [2, 8, 8, 3], 2, 2, 'valid'],
  ] as const)('MaxPoolGrad %s equals the cpu backend', async (_, shape, size, stride, pad) => {
    const { cpu, wasm } = await both([[[...shape], 8]], (x) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, size, stride, pad))))(x));
    expect(relErr(wasm, cpu)).toBe(0);
  });

  it.each([
    ['2x2 stride 2, 6 channels (a vector ending at the last channel)', [4, 28, 28, 6], 2, 2, 'valid'],
    ['2x2 stride 2, odd size, 5 channels', [3, 9, 11, 5], 2, 2, 'valid'],
    ['2x2 stride 2, 16 channels', [2, 8, 8, 16], 2, 2, 'valid'],
    ['2x2 stride 2, 3 channels (overlapping vectors; the last pixels scalar)', [3, 8, 10, 3], 2, 2, 'valid'],
    ['2x2 stride 2, odd size, 2 channels', [2, 7, 9, 2], 2, 2, 'valid'],
    ['2x2 stride 2, 1 channel', [2, 6, 6, 1], 2, 2, 'valid'],
    ['2x2 stride 2, one output pixel, 3 channels', [1, 2, 2, 3], 2, 2, 'valid'],
    ['2x2 stride 2 same, odd size (windows reach past the edge)', [2, 9, 7, 8], 2, 2, 'same'],
    ['3x3 stride 2 same (overlapping windows)', [2, 10, 10, 4], 3, 2, 'same'],
    ['3x3 stride 1 same, 3 channels', [2, 6, 7, 3], 3, 1, 'same'],
    ['3x2 stride 1 valid, 7 channels', [2, 6, 5, 7], [3, 2], 1, 'valid'],
  ] as const)('MaxPool %s equals the cpu backend, by Lopper\'s kernel', async (_, shape, size, stride, pad) => {
    let r: Awaited<ReturnType<typeof both>> | undefined;
    const calls = await simdCalls(async () => { r = await both([[[...shape], 16]], (x) => tf.maxPool(x as tf.Tensor4D, size as [number, number], stride, pad)); }, 'maxPool');
    expect(calls).toBe(1);
    expect(r!.shapes[1]).toBe(r!.shapes[0]);
    expect(Array.from(r!.wasm)).toEqual(Array.from(r!.cpu));
  });

  it('MaxPool skips NaN entries and keeps -0/0 order as the cpu backend does', async () => {
    // channel 0: one NaN among numbers; channel 1: a window of NaN only (-inf on the cpu backend); channel 2: 0 then -0
    const v: number[] = [];
    for (let i = 0; i < 4 * 4; i++) v.push(i === 5 ? NaN : i % 7 - 3, NaN, i % 2 ? -0 : 0, i - 8, -i);
    const run = async () => { const x = tf.tensor4d(v, [1, 4, 4, 5]); const y = tf.maxPool(x, 2, 2, 'valid'); const d = Array.from(await y.data()); tf.dispose([x, y]); return d; };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    await tf.setBackend('cpu');
    expect(cpu[1]).toBe(-Infinity);
    expect(wasm.map((a) => Object.is(a, -0) ? '-0' : a)).toEqual(cpu.map((a) => Object.is(a, -0) ? '-0' : a));
  });

  it.each([
    ['the whole tensor (shared, no copy)', [4, 3, 5, 2], [0, 0, 0, 0], [4, 3, 5, 2]],
    ['leading rows (LayersModel.predict\'s batches)', [6, 3, 5, 2], [2, 0, 0, 0], [3, -1, -1, -1]],
    ['one inner row', [2, 3, 5, 2], [1, 2, 0, 0], [1, 1, 5, 2]],
    ['a strided block (the stock kernel)', [2, 6, 5, 3], [0, 1, 2, 1], [2, 3, 2, 2]],
    ['nothing', [3, 2], [1, 0], [0, 2]],
  ] as const)('Slice of %s equals the cpu backend, and the input is intact after', async (_, shape, begin, size) => {
    const v = tf.randomNormal([...shape], 0, 1, 'float32', 17).dataSync();
    const run = async () => {
      const x = tf.tensor(v, [...shape]);
      const before = heldMemory();
      const y = tf.slice(x, [...begin], [...size]);
      const d = Array.from(await y.data());
      const yShape = y.shape;
      y.dispose();
      const xAfter = Array.from(await x.data());
      x.dispose();
      expect(heldMemory()).toEqual(lessHeld(before, 1));
      return { d, yShape, xAfter };
    };
    const cpu = await on('cpu', run);
    const wasm = await on('wasm', run);
    await tf.setBackend('cpu');
    expect(wasm).toEqual(cpu);
    expect(wasm.xAfter).toEqual(Array.from(v));
  });

  it('Slice of the whole tensor shares its buffer and survives the input being disposed', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const y = tf.slice(x, [0, 0], [3, 2]);
    const part = tf.slice(x, [1, 0], [2, 2]);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await part.data())).toEqual([3, 4, 5, 6]);
    tf.dispose([y, part]);
    await tf.setBackend('cpu');
  });

  it.each([
    ['5x5 same, 6 filters', [4, 28, 28, 1], [5, 5, 1, 6], 'same', 'linear', true],
    ['3x3 valid, 3 filters, odd width', [2, 13, 11, 1], [3, 3, 1, 3], 'valid', 'relu', true],
    ['5x5 same, 5 filters, relu, no bias', [2, 12, 12, 1], [5, 5, 1, 5], 'same', 'relu', false],
    ['7x7 same, 12 filters, relu (generic tap loop, three channel groups)', [2, 17, 19, 1], [7, 7, 1, 12], 'same', 'relu', true],
    ['2x2 valid, 1 filter', [3, 9, 21, 1], [2, 2, 1, 1], 'valid', 'linear', true],
    ['4x3 same, 2 filters, uneven padding', [2, 10, 10, 1], [4, 3, 1, 2], 'same', 'linear', false],
  ] as const)('single-channel conv2d %s (bias and activation fused) equals the cpu backend', async (_, xShape, fShape, pad, activation, withBias) => {
    const inputs: [number[], number][] = [[[...xShape], 9], [[...fShape], 10], [[fShape[3]], 11]];
    const { cpu, wasm, shapes } = await both(inputs, (x, w, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad, bias: withBias ? b : undefined, activation }));
    expect(shapes[1]).toBe(shapes[0]);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['5x5 same', [4, 28, 28, 1], [5, 5, 1, 6], 1, 'same'],
    ['3x3 valid', [2, 12, 9, 1], [3, 3, 1, 4], 1, 'valid'],
    ['5x5 stride 2 same', [2, 14, 14, 1], [5, 5, 1, 6], 2, 'same'],
  ] as const)('input gradient of a single-channel conv2d (%s) equals the cpu backend', async (_, xShape, fShape, stride, pad) => {
    const { cpu, wasm } = await both([[[...xShape], 12], [[...fShape], 13]], (x, w) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, pad))))(x));
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['5x5 same, 6 filters', [4, 28, 28, 1], [5, 5, 1, 6], 'same'],
    ['3x3 valid, 3 filters', [3, 11, 13, 1], [3, 3, 1, 3], 'valid'],
    ['5x5 same, 8 filters', [2, 12, 12, 1], [5, 5, 1, 8], 'same'],
    ['2x2 valid, 5 filters', [2, 7, 9, 1], [2, 2, 1, 5], 'valid'],
  ] as const)('filter gradient of a single-channel conv2d (%s) equals the cpu backend', async (_, xShape, fShape, pad) => {
    const { cpu, wasm, shapes } = await both([[[...xShape], 14], [[...fShape], 15]], (x, w) => tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, pad))))(w));
    expect(shapes[1]).toBe(shapes[0]);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
  });

  /** Counts calls of a SIMD kernel while f runs on wasm (the SIMD module object is shared by every kernel). */
  async function simdCalls(f: () => Promise<unknown>, kernel: 'winogradConv' | 'winogradFilterGrad' | 'interleave' | 'convDirect' | 'convTransposeRows' | 'convFilterGrad' | 'gemm' | 'maxPool' = 'winogradConv'): Promise<number> {
    await tf.setBackend('wasm');
    const { simdKernels } = await import('./simd.js');
    const simd = simdKernels(tf.backend() as never)!;
    const original = simd[kernel] as (...a: number[]) => void;
    let calls = 0;
    simd[kernel] = (...a: number[]) => { calls++; original(...a); };
    try { await f(); } finally { simd[kernel] = original as never; }
    return calls;
  }

  it.each([
    ['same, 16 -> 16', [1, 14, 14, 16], [3, 3, 16, 16], 'same'],
    ['valid, odd sizes, channel tails 10 -> 13', [2, 13, 11, 10], [3, 3, 10, 13], 'valid'],
    // 162 tiles, 144 per chunk: two chunks, the second partial
    ['same, two chunks of tiles, odd sizes, 8 -> 20', [2, 17, 17, 8], [3, 3, 8, 20], 'same'],
    ['same on 3x3 images, 64 -> 64', [2, 3, 3, 64], [3, 3, 64, 64], 'same'],
  ] as const)('filter gradient of a 3x3 conv2d (%s), by Winograd F(2x2, 3x3) in the SIMD128 build or where the direct kernel cannot, equals the cpu backend', async (_, xShape, fShape, pad) => {
    const grad = () => both([[[...xShape], 23], [[...fShape], 24]], (x, w) => tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, pad))))(w));
    let result!: Awaited<ReturnType<typeof both>>;
    const winograd = await simdCalls(async () => { result = await grad(); }, 'winogradFilterGrad');
    const direct = await simdCalls(grad, 'convFilterGrad');
    const expectWinograd = FMA_SETTING === 'off' || fShape[3] % 4 !== 0;
    expect([winograd, direct]).toEqual(expectWinograd ? [1, 0] : [0, 1]);
    expect(result.shapes[1]).toBe(result.shapes[0]);
    expect(relErr(result.wasm, result.cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['same, bias, relu, 16 -> 16', [2, 28, 28, 16], [3, 3, 16, 16], 'same', 'relu', true],
    ['valid, no bias, odd sizes, channel tails 10 -> 13', [3, 13, 11, 10], [3, 3, 10, 13], 'valid', 'linear', false],
    ['same, several chunks of tiles, odd sizes, 8 -> 20', [3, 23, 21, 8], [3, 3, 8, 20], 'same', 'linear', true],
    ['explicit uneven padding, 12 -> 12', [2, 9, 10, 12], [3, 3, 12, 12], [[0, 0], [2, 0], [0, 1], [0, 0]], 'relu', true],
    ['same on 3x3 images, 64 -> 64', [4, 3, 3, 64], [3, 3, 64, 64], 'same', 'linear', true],
  ] as const)('3x3 conv2d by Winograd F(2x2, 3x3) (%s) equals the cpu backend', async (_, xShape, fShape, pad, activation, withBias) => {
    const inputs: [number[], number][] = [[[...xShape], 18], [[...fShape], 19], [[fShape[3]], 20]];
    let result!: Awaited<ReturnType<typeof both>>;
    const calls = await simdCalls(async () => {
      result = await both(inputs, (x, w, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: pad as never, bias: withBias ? b : undefined, activation }));
    });
    expect(calls).toBe(1);
    expect(result.shapes[1]).toBe(result.shapes[0]);
    expect(relErr(result.wasm, result.cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['same, 16 -> 16', [2, 14, 14, 16], [3, 3, 16, 16], 1, 'same'],
    ['valid, odd sizes, 12 -> 11', [2, 11, 9, 12], [3, 3, 12, 11], 1, 'valid'],
  ] as const)('input gradient of a 3x3 conv2d (%s) goes through Winograd and equals the cpu backend', async (_, xShape, fShape, stride, pad) => {
    let result!: Awaited<ReturnType<typeof both>>;
    const calls = await simdCalls(async () => {
      result = await both([[[...xShape], 21], [[...fShape], 22]], (x, w) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, pad))))(x));
    });
    // the forward convolution and the input gradient's
    expect(calls).toBe(2);
    expect(relErr(result.wasm, result.cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['3x3 stride 2 same, even size (resnet-small), 16 -> 32', [2, 14, 14, 16], [3, 3, 16, 32], 2, 'same', 4],
    ['3x3 stride 2 same, odd size (padding before), 12 -> 8', [2, 15, 13, 12], [3, 3, 12, 8], 2, 'same', 4],
    ['3x3 stride 2 valid, odd size', [2, 11, 12, 10], [3, 3, 10, 6], 2, 'valid', 4],
    ['1x1 stride 2 (phases no tap reaches stay zero)', [2, 9, 10, 16], [1, 1, 16, 32], 2, 'same', 1],
    ['5x5 stride 3 same, 9 -> 7', [2, 13, 11, 9], [5, 5, 9, 7], 3, 'same', 9],
    ['2x2 stride 2, padding before (a phase needs dy cropped: the dilated form)', [2, 9, 9, 12], [2, 2, 12, 5], 2, [[0, 0], [1, 0], [1, 0], [0, 0]], 0],
  ] as const)('input gradient of a strided conv2d (%s), phase by phase, equals the cpu backend', async (_, xShape, fShape, stride, pad, phases) => {
    let result!: Awaited<ReturnType<typeof both>>;
    const calls = await simdCalls(async () => {
      result = await both([[[...xShape], 25], [[...fShape], 26]], (x, w) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, pad as never))))(x));
    }, 'interleave');
    expect(calls).toBe(phases);
    expect(result.shapes[1]).toBe(result.shapes[0]);
    expect(relErr(result.wasm, result.cpu)).toBeLessThan(1e-5);
  });

  it('a net of two 3x3 convolutions trains on WASM (Winograd forward and input gradients) as on the cpu backend', async () => {
    const data = [[2, 8, 7, 8], [3, 3, 8, 16], [16], [3, 3, 16, 12], [2, 8, 7, 12]].map((shape, i) => [shape, tf.randomNormal(shape, 0, 0.5, 'float32', 30 + i).dataSync()] as const);
    const train = async () => {
      const before = heldMemory();
      const [x, w1, b1, w2, target] = data.map(([shape, v]) => tf.tensor(v, shape));
      const vars = [tf.variable(w1), tf.variable(b1), tf.variable(w2)];
      const opt = tf.train.sgd(0.05);
      const loss = () => tf.tidy(() => {
        const h = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: vars[0] as tf.Tensor4D, strides: 1, pad: 'same', bias: vars[1], activation: 'relu' });
        return tf.mean(tf.square(tf.sub(tf.conv2d(h, vars[2] as tf.Tensor4D, 1, 'same'), target))) as tf.Scalar;
      });
      const losses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const cost = opt.minimize(loss, true) as tf.Scalar;
        losses.push(cost.arraySync());
        cost.dispose();
      }
      const weights = await Promise.all(vars.map((v) => v.data()));
      tf.dispose([x, w1, b1, w2, target, ...vars]);
      opt.dispose();
      expect(heldMemory()).toEqual(before);
      return { losses, weights: weights as Float32Array[] };
    };
    const cpu = await on('cpu', train);
    let wasm!: Awaited<ReturnType<typeof train>>;
    const conv = await simdCalls(async () => { wasm = await train(); });
    const filterGrad = await simdCalls(async () => { await train(); }, 'winogradFilterGrad');
    // per step: two forward convolutions and the second's input gradient; two filter gradients (by Winograd in the
    // SIMD128 build; with fused multiply-adds by the direct kernel)
    expect(conv).toBe(4 * 3);
    expect(filterGrad).toBe(FMA_SETTING === 'off' ? 4 * 2 : 0);
    expect(wasm.losses[3]).toBeLessThan(wasm.losses[0]);
    for (let i = 0; i < 4; i++) expect(Math.abs(wasm.losses[i] - cpu.losses[i]) / cpu.losses[i]).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) expect(relErr(wasm.weights[i], cpu.weights[i])).toBeLessThan(1e-5);
    await tf.setBackend('cpu');
  });

  it.each([
    // [name, a shape, b shape, transposeA, transposeB, calls of lopper_gemm]
    ['a dense layer, batch 128', [128, 400], [400, 120], false, false, 1],
    ['its filter gradient (A transposed), 6-row blocks with a tail of 4, 8-column panels with a tail', [1, 130, 37], [1, 130, 21], true, false, 1],
    ['its input gradient (B transposed), odd sizes', [1, 29, 13], [1, 11, 13], false, true, 1],
    ['both transposed, rank 2', [17, 9], [5, 17], true, true, 1],
    ['one row with a transpose', [1, 1, 40], [1, 12, 40], false, true, 1],
    ['a few rows without transposes: the stock kernel', [3, 40], [40, 12], false, false, 0],
    ['a batch of 3: the stock kernel', [3, 7, 5], [3, 5, 6], false, false, 0],
  ] as const)('BatchMatMul by Lopper\'s GEMM where it applies (%s) equals the cpu backend', async (_, aShape, bShape, ta, tb, gemmCalls) => {
    let result!: Awaited<ReturnType<typeof both>>;
    const calls = await simdCalls(async () => {
      result = await both([[[...aShape], 33], [[...bShape], 34]], (a, b) => tf.matMul(a, b, ta, tb));
    }, 'gemm');
    expect(calls).toBe(gemmCalls);
    expect(result.shapes[1]).toBe(result.shapes[0]);
    expect(relErr(result.wasm, result.cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['bias and ReLU, batch 128', [128, 84], [84, 10], 'relu', true],
    ['no bias, linear, 13 rows, 30 columns', [13, 50], [50, 30], 'linear', false],
    ['bias, ReLU, B transposed', [20, 16], [9, 16], 'relu', true],
  ] as const)('_FusedMatMul by Lopper\'s GEMM (%s) equals the cpu backend', async (_, aShape, bShape, activation, withBias) => {
    const tb = aShape[1] === bShape[1];
    const N = tb ? bShape[0] : bShape[1];
    let result!: Awaited<ReturnType<typeof both>>;
    const calls = await simdCalls(async () => {
      result = await both([[[...aShape], 35], [[...bShape], 36], [[N], 37]], (a, b, bias) => tf.fused.matMul({ a, b, transposeB: tb, bias: withBias ? bias : undefined, activation }));
    }, 'gemm');
    expect(calls).toBe(1);
    expect(result.shapes[1]).toBe(result.shapes[0]);
    expect(relErr(result.wasm, result.cpu)).toBeLessThan(1e-5);
  });

  it('leaves 3x3 convolutions with few channels or strides, and other filters, to the direct kernel, and dilations to XNNPACK', async () => {
    const convs = (dilated: boolean) => async () => {
      const x = tf.randomNormal([2, 9, 9, 6]) as tf.Tensor4D;
      const y = tf.randomNormal([2, 9, 9, 16]) as tf.Tensor4D;
      tf.dispose(dilated ? [tf.conv2d(y, tf.randomNormal([3, 3, 16, 16]) as tf.Tensor4D, 1, 'same', 'NHWC', 2), x, y] : [
        tf.conv2d(x, tf.randomNormal([3, 3, 6, 6]) as tf.Tensor4D, 1, 'same'),
        tf.conv2d(y, tf.randomNormal([3, 3, 16, 16]) as tf.Tensor4D, 2, 'same'),
        tf.conv2d(y, tf.randomNormal([5, 5, 16, 16]) as tf.Tensor4D, 1, 'same'),
        x, y,
      ]);
    };
    expect(await simdCalls(convs(false))).toBe(0);
    expect(await simdCalls(convs(false), 'convDirect')).toBe(3);
    expect(await simdCalls(convs(true), 'winogradConv')).toBe(0);
    expect(await simdCalls(convs(true), 'convDirect')).toBe(0);
    await tf.setBackend('cpu');
  });

  it.each([
    // [name, x shape, filter shape, stride, pad, activation, bias]
    ['LeNet conv2: 5x5 valid, 6 -> 16, bias, relu', [3, 14, 14, 6], [5, 5, 6, 16], 1, 'valid', 'relu', true],
    ['3x3 stride 2 same, 16 -> 32 (two 16-channel groups)', [2, 14, 13, 16], [3, 3, 16, 32], 2, 'same', 'linear', true],
    ['1x1 stride 2, 12 -> 20 (16 + 4 channels)', [2, 9, 10, 12], [1, 1, 12, 20], 2, 'same', 'relu', false],
    ['5x5 same, 3 -> 13 (16-channel group with 3 padded), odd sizes', [2, 11, 9, 3], [5, 5, 3, 13], 1, 'same', 'linear', true],
    ['3x3 same, 5 -> 6 (an 8-channel group), tail pixels', [3, 7, 11, 5], [3, 3, 5, 6], 1, 'same', 'relu', true],
    ['3x3 same, 2 -> 3 (a 4-channel group)', [2, 6, 9, 2], [3, 3, 2, 3], 1, 'same', 'linear', false],
    ['5x3 stride 3x2, explicit uneven padding, 4 -> 9 (8 + 4)', [2, 13, 12, 4], [5, 3, 4, 9], [3, 2], [[0, 0], [2, 1], [0, 2], [0, 0]], 'relu', true],
    ['7x7 same on a 3x4 input (every pixel at an edge), 2 -> 8', [2, 3, 4, 2], [7, 7, 2, 8], 1, 'same', 'linear', true],
    ['batch of one, 1x1 64 -> 36', [1, 5, 5, 64], [1, 1, 64, 36], 1, 'valid', 'linear', true],
  ] as const)('conv2d by the direct kernel (%s) equals the cpu backend', async (_, xShape, fShape, stride, pad, activation, withBias) => {
    const inputs: [number[], number][] = [[[...xShape], 27], [[...fShape], 28], [[fShape[3]], 29]];
    let result!: Awaited<ReturnType<typeof both>>;
    const calls = await simdCalls(async () => {
      result = await both(inputs, (x, w, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: stride as never, pad: pad as never, bias: withBias ? b : undefined, activation }));
    }, 'convDirect');
    expect(calls).toBe(1);
    expect(result.shapes[1]).toBe(result.shapes[0]);
    expect(relErr(result.wasm, result.cpu)).toBeLessThan(1e-5);
  });

  it.each([
    // [name, x shape, filter shape, stride, pad, calls of the transposed kernel]
    ['LeNet conv2: 5x5 valid, 6 <- 16', [3, 14, 14, 6], [5, 5, 6, 16], 1, 'valid', 1],
    ['5x5 same, 8 <- 12 (runs of 40 floats, clipped at the edges)', [2, 9, 11, 8], [5, 5, 8, 12], 1, 'same', 1],
    ['3x3 stride 2 same, 3 <- 16', [2, 13, 12, 3], [3, 3, 3, 16], 2, 'same', 1],
    ['4x2 stride 3x2, explicit uneven padding, 5 <- 7', [2, 14, 11, 5], [4, 2, 5, 7], [3, 2], [[0, 0], [1, 2], [0, 1], [0, 0]], 1],
    ['2x2 stride 2 valid, odd size (rows no tap reaches stay zero)', [2, 9, 9, 4], [2, 2, 4, 6], 2, 'valid', 1],
    ['7x7 same, 8 <- 4: a run of 56 floats is too long, so the forward-convolution form', [2, 8, 8, 8], [7, 7, 8, 4], 1, 'same', 0],
  ] as const)('input gradient with few input channels (%s) equals the cpu backend', async (_, xShape, fShape, stride, pad, transposed) => {
    let result!: Awaited<ReturnType<typeof both>>;
    const calls = await simdCalls(async () => {
      result = await both([[[...xShape], 31], [[...fShape], 32]], (x, w) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride as never, pad as never))))(x));
    }, 'convTransposeRows');
    expect(calls).toBe(transposed);
    expect(result.shapes[1]).toBe(result.shapes[0]);
    expect(relErr(result.wasm, result.cpu)).toBeLessThan(1e-5);
  });

  it.each([
    ['mul', [128, 120], [1, 120]], ['add', [1, 1, 64, 84], [84]], ['sub', [84], [1, 1, 64, 84]], ['div', [400, 120], []],
    ['mul', [], [16, 5, 5, 7]], ['sub', [16, 5, 5, 7], []], ['div', [16, 5, 5, 6], [6]], ['div', [6], [16, 5, 5, 6]],
  ] as const)('%s of [%s] and [%s] (per-channel or scalar broadcast) equals the cpu backend', async (op, aShape, bShape) => {
    const { cpu, wasm, shapes } = await both([[[...aShape], 16], [[...bShape], 17]], (a, b) => tf[op](a, op === 'div' ? tf.add(tf.abs(b), 0.5) : b));
    expect(shapes[1]).toBe(shapes[0]);
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
  });

  it('Identity and same-dtype Cast share the buffer: a clone outlives its source and keeps its values', async () => {
    await tf.setBackend('wasm');
    const before = heldMemory();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    const i = tf.cast(x, 'int32');
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await z.data())).toEqual([1, 2, 3, 4]);
    expect(i.dtype).toBe('int32');
    expect(Array.from(await i.data())).toEqual([1, 2, 3, 4]);
    tf.dispose([y, z, i]);
    expect(heldMemory()).toEqual(before);
    await tf.setBackend('cpu');
  });

  it.each([
    ['conv activations', [8, 12, 12, 6]],
    ['dense units (4D view)', [1, 1, 32, 20]],
    ['5 channels', [4, 7, 9, 5]],
  ] as const)('BatchNorm training gradients (%s: x through the moments, scale, offset) equal the cpu backend', async (_, shape) => {
    const C = shape[3];
    const { cpu, wasm } = await both([[[...shape], 18], [[C], 19], [[C], 20], [[...shape], 21]], (x, gamma, beta, w) => {
      const f = (a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        // (TF.js itself cannot differentiate batchNorm with a missing scale or offset; layers always pass both.)
        return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, bt, gm, 1e-3), w));
      };
      const [gx, gg, gb] = tf.grads(f)([x, gamma, beta]);
      return tf.concat([tf.reshape(gx, [-1]), gg, gb]);
    });
    expect(relErr(wasm, cpu)).toBeLessThan(1e-5);
  });

  it('BatchNorm gradient: one LopperBatchNormGrad kernel on wasm instead of the element-wise chain', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([4, 5, 5, 3]);
    const gamma = tf.ones([3]);
    const beta = tf.zeros([3]);
    const info = await tf.profile(() => tf.grad((a: tf.Tensor) => { const { mean, variance } = tf.moments(a, [0, 1, 2]); return tf.sum(tf.square(tf.batchNorm(a, mean, variance, beta, gamma))); })(x));
    expect(info.kernelNames).toContain('LopperBatchNormGrad');
    expect(info.kernelNames).not.toContain('Rsqrt');
    tf.dispose([x, gamma, beta]);
    await tf.setBackend('cpu');
  });

  it.each([[[4, 7, 7, 6]], [[37]], [[16, 84]]])('ReLU gradient of %j: one LopperReluGrad on wasm, equal to the cpu backend', async (shape) => {
    // Zeros and exact negatives exercise the x > 0 boundary.
    const f = (a: tf.Tensor) => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tf.add(v, 0.25))))(tf.mul(tf.round(tf.mul(a, 2)), 0.5));
    const { cpu, wasm, shapes } = await both([[shape, 18]], f);
    expect(shapes[1]).toBe(shapes[0]);
    expect(relErr(wasm, cpu)).toBe(0);
    await tf.setBackend('wasm');
    const x = tf.randomNormal(shape);
    const info = await tf.profile(() => tf.tidy(() => { f(x); }));
    expect(info.kernelNames).toContain('LopperReluGrad');
    expect(info.kernelNames).not.toContain('Step');
    x.dispose();
    await tf.setBackend('cpu');
  });

  it("ReLU gradient at NaN, infinities and signed zeros: exactly TF.js's (a NaN x gives NaN, as Step does)", async () => {
    const xs = [-2, -0, 0, 1e-30, 3, NaN, -Infinity, Infinity, 0.5, -0.5, NaN, 2, NaN]; // the last in the scalar tail
    const dys = [1, 2, 3, 4, -5, 6, 7, 8, Infinity, NaN, -1, -0, 1];
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      const [x, dy] = [tf.tensor1d(xs), tf.tensor1d(dys)];
      const g = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy);
      const values = Array.from(await g.data());
      tf.dispose([x, dy, g]);
      return values;
    };
    const cpu = await grad('cpu');
    expect(cpu[5]).toBeNaN();
    expect(await grad('wasm')).toEqual(cpu);
    await tf.setBackend('cpu');
  });

  it('the committed kernels.wasm and kernels-fma.wasm are what scripts/build-simd.sh builds from kernels.c, and use no memory of their own', async () => {
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const files = ['kernels.wasm', 'kernels-fma.wasm'];
    const committed = files.map((f) => readFileSync(`workers/src/backends/simd/${f}`));
    // The rebuild needs clang 16 and its lld; CI installs them and sets LOPPER_REQUIRE_CLANG=1 so that it always runs there.
    const haveClang = spawnSync('sh', ['-c', 'command -v clang-16']).status === 0;
    if (haveClang || process.env.LOPPER_REQUIRE_CLANG === '1') {
      const dir = mkdtempSync(join(tmpdir(), 'lopper-kernels-'));
      const r = spawnSync('bash', ['scripts/build-simd.sh', dir], { encoding: 'utf8' });
      expect(r.stderr + (r.error?.message ?? '')).toBe('');
      expect(r.status).toBe(0);
      const built = files.map((f) => readFileSync(join(dir, f)));
      rmSync(dir, { recursive: true });
      files.forEach((f, i) => expect([f, built[i].equals(committed[i])]).toEqual([f, true]));
    } else {
      console.warn('clang-16 not installed (apt-get install clang-16 lld-16): kernels.wasm and kernels-fma.wasm were not rebuilt from kernels.c');
    }
    const { KERNELS_WASM_BASE64, KERNELS_FMA_WASM_BASE64 } = await import('./simd/kernels-wasm.js');
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(committed[0])).toBe(true);
    expect(Buffer.from(KERNELS_FMA_WASM_BASE64, 'base64').equals(committed[1])).toBe(true);
    for (const module of committed) {
      // Sections: no data segment (id 11) and no memory of its own (id 5): it only imports the backend's memory.
      const sections: number[] = [];
      for (let at = 8; at < module.length;) {
        const id = module[at++];
        let size = 0;
        for (let shift = 0; ; shift += 7) { const b = module[at++]; size |= (b & 0x7f) << shift; if (b < 0x80) break; }
        sections.push(id);
        at += size;
      }
      expect(sections).not.toContain(11);
      expect(sections).not.toContain(5);
    }
    // The fma build differs from the plain one by its fused multiply-adds (f32x4.relaxed_madd, opcode 0xfd 0x85 0x02).
    const madds = (m: Buffer) => { let n = 0; for (let i = 0; i + 2 < m.length; i++) if (m[i] === 0xfd && m[i + 1] === 0x85 && m[i + 2] === 0x02) n++; return n; };
    expect(madds(committed[1])).toBeGreaterThan(40);
    expect(madds(committed[0])).toBe(0);
  });
});
