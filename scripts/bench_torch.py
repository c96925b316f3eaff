#!/usr/bin/env python3
"""PyTorch reference for `npm run bench:backends`: the same LeNet-5-BN and MLP, batch 128, Adam, one thread.
Prints one JSON object: images/s for training and inference, plus single-thread SGEMM GFLOP/s (null when argv[4] is 0).
Arguments: batch, steps per round, rounds (the median round is reported), whether to time SGEMM, and the device
(`cpu`, the default, or `cuda`: the same models on the GPU, for scripts/bench-gpu.sh; timings then synchronise the GPU), and
the warm-up steps before timing (3 by default; bench-backends.ts gives both sides the same 20), and the models (comma-separated;
`lenet5,mlp` by default; `vgg-small` too)."""
import json
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
BATCH = int(sys.argv[1]) if len(sys.argv) > 1 else 128
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
GEMM = sys.argv[4] != '0' if len(sys.argv) > 4 else True
DEVICE = torch.device(sys.argv[5] if len(sys.argv) > 5 else 'cpu')
WARMUP = int(sys.argv[6]) if len(sys.argv) > 6 else 3
MODELS = (sys.argv[7] if len(sys.argv) > 7 else 'lenet5,mlp').split(',')


def sync():
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize()


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, bias=False), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120, bias=False), nn.BatchNorm1d(120), nn.ReLU(),
        nn.Linear(120, 84, bias=False), nn.BatchNorm1d(84), nn.ReLU(), nn.Linear(84, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))


def vgg_small():
    # workers/src/pruning/models.ts 'vgg-small': three blocks of two 3x3 conv + BN + ReLU, max-pooled; a small classifier.
    layers, c = [], 1
    for i, w in enumerate([16, 16, 32, 32, 64, 64]):
        layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
        c = w
        if i % 2 == 1:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(64 * 3 * 3, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 10)]
    return nn.Sequential(*layers)


BUILD = {'lenet5': lenet5, 'mlp': mlp, 'vgg-small': vgg_small}


def rate(step):
    """Images/s: the median over ROUNDS rounds of STEPS steps, after WARMUP warm-up steps."""
    for _ in range(WARMUP):
        step()
    sync()
    rates = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(STEPS):
            step()
        sync()
        rates.append(STEPS * BATCH / (time.perf_counter() - t0))
    return sorted(rates)[len(rates) // 2]


def bench(model):
    model = model.to(DEVICE)
    x = torch.randn(BATCH, 1, 28, 28, device=DEVICE)
    y = torch.randint(0, 10, (BATCH,), device=DEVICE)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def train_step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    train = rate(train_step)
    model.eval()
    with torch.no_grad():
        infer = rate(lambda: model(x))
    return {'train': train, 'infer': infer}


def sgemm_gflops(n=1024, reps=5):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


torch.manual_seed(0)
print(json.dumps({'torch': torch.__version__, 'device': torch.cuda.get_device_name() if DEVICE.type == 'cuda' else 'cpu', **{m: bench(BUILD[m]()) for m in MODELS}, 'peakGflops': sgemm_gflops() if GEMM else None}))
