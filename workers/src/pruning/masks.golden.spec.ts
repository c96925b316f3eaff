/** The TypeScript masks must equal torch.nn.utils.prune's exactly (fixtures: npm run fixtures:torch). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Amount } from './amount.js';
import { TFJS_TO_TORCH, TORCH_DIM_TO_TFJS_AXIS, TORCH_TO_TFJS, transpose } from './layout.js';
import { globalUnstructured, l1Unstructured, type Mask } from './masks.js';
import { lnStructured, type NormOrder } from './structured.js';

type Layout = 'conv2d' | 'dense';
interface Step { value: number; count: boolean }
interface Case {
  method: string; layout: 'conv' | 'dense'; shape: number[]; weights: number[]; steps: Step[]; mask: number[];
  n?: number | string; dim?: number; tensors?: { layout: 'conv' | 'dense'; shape: number[]; weights: number[] }[]; masks?: number[][];
}

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = JSON.parse(readFileSync(join(here, '__fixtures__', 'torch-masks.json'), 'utf8')) as { torch: string; cases: Case[] };
const L = (l: 'conv' | 'dense'): Layout => (l === 'conv' ? 'conv2d' : 'dense');
const amountOf = (s: Step): Amount => (s.count ? { count: s.value } : s.value);
const toTf = (w: number[], shape: number[], l: Layout) => transpose(w, shape, TORCH_TO_TFJS[l]);
const toTorch = (m: Mask, tfShape: number[], l: Layout) => Array.from(transpose(m, tfShape, TFJS_TO_TORCH[l]).data);
const normOf = (n: number | string | undefined): NormOrder => (n === 'inf' ? Infinity : n === '-inf' ? -Infinity : (n as NormOrder));
const label = (c: Case, i: number) => `#${i} ${c.method} ${c.layout ?? ''} [${c.shape ?? ''}] steps=${c.steps.map((s) => `${s.value}${s.count ? '(int)' : ''}`).join(',')}${c.n !== undefined ? ` n=${c.n} dim=${c.dim}` : ''}`;

describe(`golden masks vs torch ${fixtures.torch}`, () => {
  const byMethod = (m: string) => fixtures.cases.map((c, i) => [label(c, i), c] as const).filter(([, c]) => c.method === m);

  it.each(byMethod('l1_unstructured'))('l1Unstructured %s', (_, c) => {
    const l = L(c.layout);
    const tf = toTf(c.weights, c.shape, l);
    let mask: Mask | undefined;
    for (const s of c.steps) mask = l1Unstructured(tf.data, amountOf(s), { mask });
    expect(toTorch(mask!, tf.shape, l)).toEqual(c.mask);
  });

  it.each(byMethod('ln_structured'))('lnStructured %s', (_, c) => {
    const l = L(c.layout);
    const tf = toTf(c.weights, c.shape, l);
    const axis = TORCH_DIM_TO_TFJS_AXIS[l][c.dim!];
    let mask: Mask | undefined;
    for (const s of c.steps) mask = lnStructured(tf.data, tf.shape, amountOf(s), normOf(c.n), axis, { mask, layout: l });
    expect(toTorch(mask!, tf.shape, l)).toEqual(c.mask);
  });

  it.each(byMethod('global_unstructured'))('globalUnstructured %s', (_, c) => {
    const ts = c.tensors!.map((t) => ({ l: L(t.layout), ...toTf(t.weights, t.shape, L(t.layout)) }));
    let masks: Mask[] | undefined;
    for (const s of c.steps) masks = globalUnstructured(ts.map((t, i) => ({ weights: t.data, mask: masks?.[i] })), amountOf(s));
    expect(masks!.map((m, i) => toTorch(m, ts[i].shape, ts[i].l))).toEqual(c.masks);
  });

  it('names channel axes in TF.js layouts', () => {
    // conv2d [kh, kw, in, out]: output channels are the last axis
    const w = transpose(fixtures.cases.find((c) => c.method === 'ln_structured' && c.layout === 'conv' && c.dim === 0)!.weights, [8, 3, 3, 3], TORCH_TO_TFJS.conv2d);
    expect(lnStructured(w.data, w.shape, 0.5, 2, 'out')).toEqual(lnStructured(w.data, w.shape, 0.5, 2, 3));
    expect(lnStructured(w.data, w.shape, 0.5, 2, 'in')).toEqual(lnStructured(w.data, w.shape, 0.5, 2, 2));
  });
});
