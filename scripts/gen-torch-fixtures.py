#!/usr/bin/env python3
"""Golden fixtures for the TypeScript masks, computed by torch.nn.utils.prune (Debian's python3-torch).

Run: npm run fixtures:torch  (writes workers/src/pruning/__fixtures__/torch-masks.json)
Tensors are in PyTorch layout (conv [out, in, kh, kw], linear [out, in]); the TypeScript test maps them
to TensorFlow.js layouts (conv [kh, kw, in, out], dense [in, out]) before pruning, and back to compare.
Random tensors are drawn without ties (all |w| distinct) so that L1 ordering is unambiguous.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune

torch.manual_seed(1234)
OUT = os.path.join(os.path.dirname(__file__), '..', 'workers', 'src', 'pruning', '__fixtures__', 'torch-masks.json')


def no_ties(shape):
    while True:
        w = torch.randn(*shape)
        if torch.unique(w.abs()).numel() == w.numel():
            return w


def make(kind, shape):
    if kind == 'conv':
        m = nn.Conv2d(shape[1], shape[0], (shape[2], shape[3]), bias=False)
    else:
        m = nn.Linear(shape[1], shape[0], bias=False)
    with torch.no_grad():
        m.weight.copy_(no_ties(shape))
    return m


def amount_arg(a):
    return a['value'] if not a['count'] else int(a['value'])


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


cases = []
SHAPES = [('conv', [8, 3, 3, 3]), ('conv', [6, 4, 5, 5]), ('dense', [10, 7]), ('dense', [5, 12])]
AMOUNTS = [
    {'value': 0.5, 'count': False}, {'value': 0.3, 'count': False}, {'value': 0.0, 'count': False},
    {'value': 1.0, 'count': False}, {'value': 5, 'count': True}, {'value': 0, 'count': True},
    {'value': 0.25, 'count': False},
]

# l1_unstructured: single steps and repeated pruning (composition on survivors).
for kind, shape in SHAPES:
    for steps in [[a] for a in AMOUNTS] + [[AMOUNTS[0], AMOUNTS[0]], [AMOUNTS[1], AMOUNTS[4], AMOUNTS[6]]]:
        m = make(kind, shape)
        w0 = flat(m.weight)
        for a in steps:
            prune.l1_unstructured(m, 'weight', amount=amount_arg(a))
        cases.append({'method': 'l1_unstructured', 'layout': kind, 'shape': shape, 'weights': w0, 'steps': steps,
                      'mask': flat(m.weight_mask)})

# Round-half-to-even edge: 10 entries at 0.25 -> 2.5 -> 2; 14 entries at 0.25 -> 3.5 -> 4.
for n in [10, 14, 6]:
    m = make('dense', [1, n])
    w0 = flat(m.weight)
    prune.l1_unstructured(m, 'weight', amount=0.25)
    cases.append({'method': 'l1_unstructured', 'layout': 'dense', 'shape': [1, n], 'weights': w0,
                  'steps': [{'value': 0.25, 'count': False}], 'mask': flat(m.weight_mask)})

# ln_structured on each axis with each n.
for kind, shape in SHAPES:
    for dim in range(len(shape)):
        for n in [1, 2, float('inf'), float('-inf')] + (['fro'] if kind == 'dense' else []):  # torch 1.13: 'fro' only reduces <= 2 dims
            for a in [{'value': 0.5, 'count': False}, {'value': 2, 'count': True}]:
                if a['count'] and a['value'] > shape[dim]:
                    continue
                m = make(kind, shape)
                w0 = flat(m.weight)
                prune.ln_structured(m, 'weight', amount=amount_arg(a), n=n, dim=dim)
                cases.append({'method': 'ln_structured', 'layout': kind, 'shape': shape, 'weights': w0, 'steps': [a],
                              'n': n if isinstance(n, str) else (str(n) if abs(n) == float('inf') else n), 'dim': dim,
                              'mask': flat(m.weight_mask)})

# Repeated structured pruning composes on the channels still alive.
m = make('conv', [8, 3, 3, 3])
w0 = flat(m.weight)
prune.ln_structured(m, 'weight', amount=0.5, n=2, dim=0)
prune.ln_structured(m, 'weight', amount=0.5, n=2, dim=0)
cases.append({'method': 'ln_structured', 'layout': 'conv', 'shape': [8, 3, 3, 3], 'weights': w0, 'n': 2, 'dim': 0,
              'steps': [{'value': 0.5, 'count': False}, {'value': 0.5, 'count': False}], 'mask': flat(m.weight_mask)})

# global_unstructured over several tensors (L1), single and repeated.
for steps in [[{'value': 0.6, 'count': False}], [{'value': 20, 'count': True}],
              [{'value': 0.5, 'count': False}, {'value': 0.5, 'count': False}]]:
    ms = [make(k, s) for k, s in SHAPES]
    w0 = [flat(m.weight) for m in ms]
    for a in steps:
        prune.global_unstructured([(m, 'weight') for m in ms], pruning_method=prune.L1Unstructured, amount=amount_arg(a))
    cases.append({'method': 'global_unstructured', 'tensors': [{'layout': k, 'shape': s, 'weights': w} for (k, s), w in zip(SHAPES, w0)],
                  'steps': steps, 'masks': [flat(m.weight_mask) for m in ms]})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f)
print(f'wrote {len(cases)} cases to {os.path.relpath(OUT)} (torch {torch.__version__})', file=sys.stderr)
