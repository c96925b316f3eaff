#!/usr/bin/env python3
"""Float32 error of Winograd F(m x m, 3x3) convolution against a float64 direct convolution, for the interpolation points a
larger tile would use: what decides whether Lopper's WASM kernels can move from F(2x2, 3x3) to F(4x4, 3x3) and still meet the
1e-5 relative tolerance its kernel tests hold every convolution to (against the cpu backend).

Usage: /usr/bin/python3 scripts/winograd_error.py [tiles]   (Debian's python3-numpy; default 3000 tiles per channel pair)

Each transform is built from its points by Toom-Cook (A^T and G from the points, B^T solved so that the 1-D algorithm is
exact; the printed "fit" is that solve's residual), then applied in float32 to random normal tiles and 3x3 filters scaled
by 1/sqrt(9 C), as He-initialised layers have. The error is max |y - y64| / max |y64| over every output, the measure the
kernel tests bound by 1e-5 (theirs is an RMS ratio, smaller than this maximum). "products" counts the elementwise
products per output pixel and channel pair (the GEMM work; a direct convolution has 9); "B^T nonzeros" the input
transform's work per 1-D pass.
"""
import sys

import numpy as np


def transforms(points, m, r=3):
    n = m + r - 1
    at = np.zeros((m, n))
    g = np.zeros((n, r))
    for j, p in enumerate(points):
        at[:, j] = [p ** i for i in range(m)]
        f = np.prod([p - q for q in points if q != p])
        g[j] = [p ** k / f for k in range(r)]
    at[m - 1, n - 1] = 1  # the point at infinity
    g[n - 1, r - 1] = 1
    rows, rhs = [], []
    for i in range(m):
        for k in range(r):
            for col in range(n):
                row = np.zeros((n, n))
                row[:, col] = at[i, :] * g[:, k]
                rows.append(row.ravel())
                rhs.append(1.0 if col == i + k else 0.0)
    sol = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    fit = np.abs(np.array(rows) @ sol - rhs).max()
    return at.astype(np.float32), g.astype(np.float32), sol.reshape(n, n).astype(np.float32), fit


def winograd(d, w, at, g, bt):
    u = np.einsum('ik,klcd,jl->ijcd', g, w, g).astype(np.float32)
    v = np.einsum('ik,tklc,jl->tijc', bt, d, bt).astype(np.float32)
    mm = np.einsum('tijc,ijcd->tijd', v, u).astype(np.float32)
    return np.einsum('ik,tkld,jl->tijd', at, mm, at).astype(np.float32)


def main():
    tiles = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rng = np.random.default_rng(0)
    configs = [('F(2x2, 3x3)', 2, (0, 1, -1)), ('F(4x4, 3x3)', 4, (0, 1, -1, 2, -2)),
               ('F(4x4, 3x3)', 4, (0, 1, -1, 0.5, -0.5)), ('F(4x4, 3x3)', 4, (0, 1, -1, 2, -0.5))]
    pairs = [(16, 16), (32, 32), (64, 64)]
    print(f'{tiles} random 6x6 input tiles per channel pair; error = max |y - y64| / max |y64|')
    print('| transform | points (and infinity) | products per output | B^T nonzeros | ' + ' | '.join(f'{c} -> {co}' for c, co in pairs) + ' |')
    print('| --- | --- | --- | --- | ' + ' | '.join('---' for _ in pairs) + ' |')
    for name, m, points in configs:
        at, g, bt, fit = transforms(points, m)
        assert fit < 1e-9, f'{name} {points}: the transform does not solve (residual {fit})'
        errs = []
        for c, co in pairs:
            d = rng.standard_normal((tiles, 6, 6, c)).astype(np.float32)
            w = (rng.standard_normal((3, 3, c, co)) / np.sqrt(9 * c)).astype(np.float32)
            dd, ww = d.astype(np.float64), w.astype(np.float64)
            ref = np.zeros((tiles, 4, 4, co))
            for y in range(4):
                for x in range(4):
                    ref[:, y, x, :] = np.einsum('tklc,klcd->td', dd[:, y:y + 3, x:x + 3, :], ww)
            if m == 4:
                out = winograd(d, w, at, g, bt)
            else:
                out = np.zeros((tiles, 4, 4, co), np.float32)
                for oy in (0, 2):
                    for ox in (0, 2):
                        out[:, oy:oy + 2, ox:ox + 2, :] = winograd(d[:, oy:oy + 4, ox:ox + 4, :], w, at, g, bt)
            errs.append(np.abs(out - ref).max() / np.abs(ref).max())
        n = m + 2
        print(f'| {name} | {", ".join(str(p) for p in points)} | {n * n / (m * m):.2f} | {int((np.abs(bt) > 1e-6).sum())} | '
              + ' | '.join(f'{e:.1e}' for e in errs) + ' |')


if __name__ == '__main__':
    main()
