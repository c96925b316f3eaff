/*
 * Lopper's SIMD kernels for the TF.js WASM backend (wasm32 + SIMD128), built by scripts/build-simd.sh into
 * kernels.wasm and, with relaxed SIMD's fused multiply-add, kernels-fma.wasm (both committed, with their base64
 * copies in kernels-wasm.ts). The module imports the TF.js WASM backend's own memory, so it reads and writes
 * tensors where they lie. It must never use linear memory of its own: no static data, no stack arrays (the build
 * checks that the module has no data segment and does not touch the stack pointer). All pointers are byte offsets
 * into that memory; all counts are in floats.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/*
 * c + a * b for the convolution and GEMM accumulations. Built with -mrelaxed-simd (kernels-fma.wasm) it is
 * f32x4.relaxed_madd, one fused multiply-add on CPUs with FMA (rounding once, so results differ from the plain module
 * in the last bits); the plain SIMD128 module (kernels.wasm) multiplies and adds. Elementwise kernels (BatchNorm,
 * Adam) keep the separate multiply and add in both modules, so that they match TF.js's rounding.
 */
#ifdef __wasm_relaxed_simd__
#define MADD(a, b, c) __builtin_wasm_relaxed_madd_f32x4((a), (b), (c))
#else
#define MADD(a, b, c) wasm_f32x4_add((c), wasm_f32x4_mul((a), (b)))
#endif

/* y[i] = x[i] * s[i % L] + t[i % L] for i < n; s and t hold a per-channel vector tiled to L, a multiple of 4. */
EXPORT(lopper_affine)
void lopper_affine(const float *x, const float *s, const float *t, float *y, int n, int L) {
  int i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; j += 4)
      wasm_v128_store(y + i + j, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + i + j), wasm_v128_load(s + j)), wasm_v128_load(t + j)));
  for (int j = 0; i + j < n; j++) y[i + j] = x[i + j] * s[j] + t[j];
}

/*
 * y[i] = a[i] * s[i % L] + b[i] * u[i % L] + t[i % L] for i < n (per-channel vectors tiled to L, a multiple of 4): the
 * BatchNorm training gradient dx = dy * A + x * B + D in one pass.
 */
EXPORT(lopper_affine2)
void lopper_affine2(const float *a, const float *b, const float *s, const float *u, const float *t, float *y, int n, int L) {
  int i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; j += 4) {
      const v128_t p = wasm_f32x4_mul(wasm_v128_load(a + i + j), wasm_v128_load(s + j));
      const v128_t q = wasm_f32x4_mul(wasm_v128_load(b + i + j), wasm_v128_load(u + j));
      wasm_v128_store(y + i + j, wasm_f32x4_add(wasm_f32x4_add(p, q), wasm_v128_load(t + j)));
    }
  for (int j = 0; i + j < n; j++) y[i + j] = a[i + j] * s[j] + b[i + j] * u[j] + t[j];
}

/* y[i] = x[i] / d[i % L] for i < n (a correctly rounded division, as the stock RealDiv); d tiled as in lopper_affine. */
EXPORT(lopper_div_channels)
void lopper_div_channels(const float *x, const float *d, float *y, int n, int L) {
  int i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; j += 4) wasm_v128_store(y + i + j, wasm_f32x4_div(wasm_v128_load(x + i + j), wasm_v128_load(d + j)));
  for (int j = 0; i + j < n; j++) y[i + j] = x[i + j] / d[j];
}

/*
 * Column sums of x viewed as rows of L floats (n floats, L a multiple of 4; a last partial row is added to the first
 * entries): acc[j] = sum over rows r of x[r * L + j], or with sq = 1 of (x[r * L + j] - mean[j])^2 (mean tiled to L).
 * Blocks of 64 rows are summed first and then added to the total (acc[L..2L) is the block's scratch), which keeps
 * float32 rounding error near that of pairwise summation. Inlined with a constant sq into the two exports below.
 */
static inline void column_sums(const float *x, const float *mean, float *acc, int n, int L, int sq) {
  float *blk = acc + L;
  for (int j = 0; j < L; j += 4) wasm_v128_store(acc + j, wasm_f32x4_splat(0.0f));
  int i = 0;
  while (i + L <= n) {
    for (int j = 0; j < L; j += 4) wasm_v128_store(blk + j, wasm_f32x4_splat(0.0f));
    for (int r = 0; r < 64 && i + L <= n; r++, i += L)
      for (int j = 0; j < L; j += 4) {
        v128_t v = wasm_v128_load(x + i + j);
        if (sq) { v = wasm_f32x4_sub(v, wasm_v128_load(mean + j)); v = wasm_f32x4_mul(v, v); }
        wasm_v128_store(blk + j, wasm_f32x4_add(wasm_v128_load(blk + j), v));
      }
    for (int j = 0; j < L; j += 4) wasm_v128_store(acc + j, wasm_f32x4_add(wasm_v128_load(acc + j), wasm_v128_load(blk + j)));
  }
  for (int j = 0; i + j < n; j++) acc[j] += sq ? (x[i + j] - mean[j]) * (x[i + j] - mean[j]) : x[i + j];
}

/* acc[0..L) = column sums of x (Sum/Mean over leading axes, BatchNorm's batch mean). */
EXPORT(lopper_row_sum)
void lopper_row_sum(const float *x, float *acc, int n, int L) { column_sums(x, 0, acc, n, L, 0); }

/* acc[0..L) = column sums of (x - mean)^2: the centred sums of squares of BatchNorm's batch variance. */
EXPORT(lopper_sq_dev_sum)
void lopper_sq_dev_sum(const float *x, const float *mean, float *acc, int n, int L) { column_sums(x, mean, acc, n, L, 1); }

/* A pooling window's first and past-the-end input index on one axis (output index o, stride s, padding before pad,
   size f), clamped to the input's n entries. */
static inline int window_start(int o, int s, int pad) { const int i = o * s - pad; return i < 0 ? 0 : i; }
static inline int window_end(int o, int s, int pad, int f, int n) { const int i = o * s - pad + f; return i > n ? n : i; }

/*
 * MaxPoolGrad, NHWC: dx[argmax of each window] += dy (the first maximum in scan order wins, as in TF.js).
 * Windows of fh x fw with strides sh, sw and padding top/left; out has the input's shape.
 */
EXPORT(lopper_maxpool_grad)
void lopper_maxpool_grad(const float *x, const float *dy, float *out, int B, int H, int W, int C, int OH, int OW,
                         int sh, int sw, int fh, int fw, int top, int left) {
  const int n = B * H * W * C;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  if (fh == 2 && fw == 2 && sh == 2 && sw == 2 && top == 0 && left == 0 && 2 * OH <= H && 2 * OW <= W && C >= 4) {
    /* Non-overlapping 2x2 windows inside the input (a 'same' window that reaches past an odd edge takes the general
       path): four channel vectors compared at once; every window entry is written (dy or 0), so
       only the rows and columns no window covers (an odd H or W) are zeroed. Channels past the last whole vector go in
       one more vector ending at channel C - 1, which recomputes and rewrites a few channels with the same values. */
    const int row = W * C;
    if (H != 2 * OH || W != 2 * OW)
      for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
          for (int w = (h < 2 * OH ? 2 * OW : 0); w < W; w++)
            for (int c = 0; c < C; c++) out[((b * H + h) * W + w) * C + c] = 0.0f;
    for (int b = 0; b < B; b++)
      for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
          const int p = ((b * H + 2 * oh) * W + 2 * ow) * C;
          const float *g = dy + ((b * OH + oh) * OW + ow) * C;
          for (int c = 0; c < C; c += 4) {
            if (c + 4 > C) c = C - 4;
            v128_t a = wasm_v128_load(x + p + c), bb = wasm_v128_load(x + p + C + c);
            v128_t cc = wasm_v128_load(x + p + row + c), d = wasm_v128_load(x + p + row + C + c);
            v128_t best = a;
            v128_t mb = wasm_f32x4_gt(bb, best); best = wasm_v128_bitselect(bb, best, mb);
            v128_t mc = wasm_f32x4_gt(cc, best); best = wasm_v128_bitselect(cc, best, mc);
            v128_t md = wasm_f32x4_gt(d, best);
            v128_t gv = wasm_v128_load(g + c);
            /* The last window entry that beat every earlier one is the first maximum. */
            v128_t wd = md, wc = wasm_v128_andnot(mc, md), wb = wasm_v128_andnot(wasm_v128_andnot(mb, mc), md);
            v128_t wa = wasm_v128_not(wasm_v128_or(wasm_v128_or(wb, wc), wd));
            wasm_v128_store(out + p + c, wasm_v128_and(gv, wa));
            wasm_v128_store(out + p + C + c, wasm_v128_and(gv, wb));
            wasm_v128_store(out + p + row + c, wasm_v128_and(gv, wc));
            wasm_v128_store(out + p + row + C + c, wasm_v128_and(gv, wd));
          }
        }
    return;
  }
  int z = 0;
  for (; z + 4 <= n; z += 4) wasm_v128_store(out + z, zero);
  for (; z < n; z++) out[z] = 0.0f;
  for (int b = 0; b < B; b++)
    for (int oh = 0; oh < OH; oh++) {
      const int h0 = window_start(oh, sh, top), h1 = window_end(oh, sh, top, fh, H);
      for (int ow = 0; ow < OW; ow++) {
        const int w0 = window_start(ow, sw, left), w1 = window_end(ow, sw, left, fw, W);
        const float *g = dy + ((b * OH + oh) * OW + ow) * C;
        for (int c = 0; c < C; c++) {
          int at = -1;
          float best = 0.0f;
          for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++) {
              const int i = ((b * H + h) * W + w) * C + c;
              if (at < 0 || x[i] > best) { best = x[i]; at = i; }
            }
          if (at >= 0) out[at] += g[c];
        }
      }
    }
}

/*
 * MaxPool, NHWC: out[b][oh][ow][c] = max over the window's entries inside the input (fh x fw, strides sh, sw, padding
 * top/left), -inf for a window with none; NaN entries are skipped (pmax keeps the running maximum when the entry is not
 * greater), as in the cpu backend. Channel vectors as in lopper_maxpool_grad: the last one ends at channel C - 1.
 * Fewer than 4 channels with 2x2 windows of stride 2 inside the input: one vector per output pixel starting at its
 * first channel, whose lanes past C (the next pixels') are rewritten by the next pixels' stores (they come later); the
 * last pixels, whose vector would read past the input or write past the output, go through the scalar loop.
 */
/* The maximum of channel c over the 2x2 window at p (NaN entries skipped): the scalar form of the vector loop. */
static inline float max2x2(const float *p, int c, int C, int row) {
  float m = -__builtin_inff();
  const float v[4] = { p[c], p[C + c], p[row + c], p[row + C + c] };
  for (int k = 0; k < 4; k++) if (v[k] > m) m = v[k];
  return m;
}

EXPORT(lopper_maxpool)
void lopper_maxpool(const float *x, float *out, int B, int H, int W, int C, int OH, int OW, int sh, int sw, int fh, int fw,
                    int top, int left) {
  const v128_t ninf = wasm_f32x4_splat(-__builtin_inff());
  const int row = W * C;
  if (fh == 2 && fw == 2 && sh == 2 && sw == 2 && top == 0 && left == 0 && 2 * OH <= H && 2 * OW <= W) {
    /* Output pixels q < qv take the vector path: for C < 4 those whose vector neither reads past the input nor writes
       past the output (all but the last few). */
    const int n = B * OH * OW, nin = B * H * W * C;
    int qv = n;
    if (C < 4)
      while (qv > 0) {
        const int q = qv - 1, b = q / (OH * OW), oh = (q / OW) % OH, ow = q % OW;
        if (q * C + 4 <= n * C && ((b * H + 2 * oh + 1) * W + 2 * ow + 1) * C + 4 <= nin) break;
        qv--;
      }
    for (int b = 0, q = 0; b < B; b++)
      for (int oh = 0; oh < OH; oh++, q += OW) {
        const float *p = x + (b * H + 2 * oh) * row;
        float *o = out + q * C;
        const int nv = qv - q < 0 ? 0 : (qv - q < OW ? qv - q : OW); /* this row's pixels on the vector path */
        int ow = 0;
        if (C <= 4)
          for (; ow < nv; ow++, p += 2 * C, o += C) {
            v128_t m = wasm_f32x4_pmax(ninf, wasm_v128_load(p));
            m = wasm_f32x4_pmax(m, wasm_v128_load(p + C));
            m = wasm_f32x4_pmax(m, wasm_v128_load(p + row));
            m = wasm_f32x4_pmax(m, wasm_v128_load(p + row + C));
            wasm_v128_store(o, m);
          }
        else
          for (; ow < nv; ow++, p += 2 * C, o += C)
            for (int c = 0; c < C; c += 4) {
              if (c + 4 > C) c = C - 4;
              v128_t m = wasm_f32x4_pmax(ninf, wasm_v128_load(p + c));
              m = wasm_f32x4_pmax(m, wasm_v128_load(p + C + c));
              m = wasm_f32x4_pmax(m, wasm_v128_load(p + row + c));
              m = wasm_f32x4_pmax(m, wasm_v128_load(p + row + C + c));
              wasm_v128_store(o + c, m);
            }
        for (; ow < OW; ow++, p += 2 * C, o += C)
          for (int c = 0; c < C; c++) o[c] = max2x2(p, c, C, row);
      }
    return;
  }
  for (int b = 0; b < B; b++)
    for (int oh = 0; oh < OH; oh++) {
      const int h0 = window_start(oh, sh, top), h1 = window_end(oh, sh, top, fh, H);
      for (int ow = 0; ow < OW; ow++) {
        float *o = out + ((b * OH + oh) * OW + ow) * C;
        const int w0 = window_start(ow, sw, left), w1 = window_end(ow, sw, left, fw, W);
        int c = 0;
        if (C >= 4)
          for (; c < C; c += 4) {
            if (c + 4 > C) c = C - 4;
            v128_t m = ninf;
            for (int h = h0; h < h1; h++)
              for (int w = w0; w < w1; w++) m = wasm_f32x4_pmax(m, wasm_v128_load(x + ((b * H + h) * W + w) * C + c));
            wasm_v128_store(o + c, m);
          }
        for (; c < C; c++) {
          float m = -__builtin_inff();
          for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++) {
              const float v = x[((b * H + h) * W + w) * C + c];
              if (v > m) m = v;
            }
          o[c] = m;
        }
      }
    }
}

/* 4 floats of channels c.. of a pixel, zero past C (rem = C - c > 0). */
static inline v128_t load_channels(const float *p, int rem) {
  if (rem >= 4) return wasm_v128_load(p);
  return wasm_f32x4_make(p[0], rem > 1 ? p[1] : 0.0f, rem > 2 ? p[2] : 0.0f, 0.0f);
}

static inline void store_lanes(float *p, v128_t v, int rem) {
  if (rem >= 4) { wasm_v128_store(p, v); return; }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (rem > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (rem > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

/*
 * Conv2DBackpropInput for few input channels, straight from dy (no dilation, no flipped filter, no padding copy): a dy
 * pixel reaches, through filter row ky, KW adjacent dx pixels of CI channels, one contiguous run of KW*CI floats, which
 * gains sum over co of dy[co] * Wt[ky][co][kx*CI + ci]. That run (up to 12 vectors: KW*CI <= 48) is accumulated in
 * registers over the CO channels and then added to dx; runs clipped by the edges start further into Wt's row. Wt is
 * [KH][CO][L], L = KW*CI rounded up to a multiple of 4, with 4 floats to spare at its end (the last vector of a clipped
 * run may read past its row; those lanes are never stored). dx ([B, H, W, CI]) is zeroed here first.
 */
static inline __attribute__((always_inline)) void transpose_run(const float *g, const float *wr, float *d, int CO, int L, int len, const int NV) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  v128_t a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z, a9 = z, a10 = z, a11 = z;
  for (int co = 0; co < CO; co++, wr += L) {
    const v128_t s = wasm_v128_load32_splat(g + co);
    a0 = MADD(s, wasm_v128_load(wr), a0);
    if (NV > 1) a1 = MADD(s, wasm_v128_load(wr + 4), a1);
    if (NV > 2) a2 = MADD(s, wasm_v128_load(wr + 8), a2);
    if (NV > 3) a3 = MADD(s, wasm_v128_load(wr + 12), a3);
    if (NV > 4) a4 = MADD(s, wasm_v128_load(wr + 16), a4);
    if (NV > 5) a5 = MADD(s, wasm_v128_load(wr + 20), a5);
    if (NV > 6) a6 = MADD(s, wasm_v128_load(wr + 24), a6);
    if (NV > 7) a7 = MADD(s, wasm_v128_load(wr + 28), a7);
    if (NV > 8) a8 = MADD(s, wasm_v128_load(wr + 32), a8);
    if (NV > 9) a9 = MADD(s, wasm_v128_load(wr + 36), a9);
    if (NV > 10) a10 = MADD(s, wasm_v128_load(wr + 40), a10);
    if (NV > 11) a11 = MADD(s, wasm_v128_load(wr + 44), a11);
  }
#define RUN_ADD(j, A) if (NV > j) store_lanes(d + 4 * j, wasm_f32x4_add(load_channels(d + 4 * j, len - 4 * j), A), len - 4 * j);
  RUN_ADD(0, a0) RUN_ADD(1, a1) RUN_ADD(2, a2) RUN_ADD(3, a3) RUN_ADD(4, a4) RUN_ADD(5, a5)
  RUN_ADD(6, a6) RUN_ADD(7, a7) RUN_ADD(8, a8) RUN_ADD(9, a9) RUN_ADD(10, a10) RUN_ADD(11, a11)
#undef RUN_ADD
}

/* One dy pixel's run (nv vectors) through one filter row. */
static void transpose_single(const float *g, const float *wr, float *d, int CO, int L, int len, int nv) {
  switch (nv) {
    case 1: transpose_run(g, wr, d, CO, L, len, 1); break;
    case 2: transpose_run(g, wr, d, CO, L, len, 2); break;
    case 3: transpose_run(g, wr, d, CO, L, len, 3); break;
    case 4: transpose_run(g, wr, d, CO, L, len, 4); break;
    case 5: transpose_run(g, wr, d, CO, L, len, 5); break;
    case 6: transpose_run(g, wr, d, CO, L, len, 6); break;
    case 7: transpose_run(g, wr, d, CO, L, len, 7); break;
    case 8: transpose_run(g, wr, d, CO, L, len, 8); break;
    case 9: transpose_run(g, wr, d, CO, L, len, 9); break;
    case 10: transpose_run(g, wr, d, CO, L, len, 10); break;
    case 11: transpose_run(g, wr, d, CO, L, len, 11); break;
    default: transpose_run(g, wr, d, CO, L, len, 12); break;
  }
}

/* Two dy pixels (g0, g1) on the same filter row: up to 4 vectors of a run each, every Wt vector loaded once for both. */
static inline __attribute__((always_inline)) void transpose_run2(const float *g0, const float *g1, const float *wr, float *d0, float *d1,
    int CO, int L, int len, const int NV) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  v128_t a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
  for (int co = 0; co < CO; co++, wr += L) {
    const v128_t s = wasm_v128_load32_splat(g0 + co), t = wasm_v128_load32_splat(g1 + co);
    v128_t w = wasm_v128_load(wr);
    a0 = MADD(s, w, a0); b0 = MADD(t, w, b0);
    if (NV > 1) { w = wasm_v128_load(wr + 4); a1 = MADD(s, w, a1); b1 = MADD(t, w, b1); }
    if (NV > 2) { w = wasm_v128_load(wr + 8); a2 = MADD(s, w, a2); b2 = MADD(t, w, b2); }
    if (NV > 3) { w = wasm_v128_load(wr + 12); a3 = MADD(s, w, a3); b3 = MADD(t, w, b3); }
  }
#define RUN_ADD2(j, A, B) if (NV > j) { \
    store_lanes(d0 + 4 * j, wasm_f32x4_add(load_channels(d0 + 4 * j, len - 4 * j), A), len - 4 * j); \
    store_lanes(d1 + 4 * j, wasm_f32x4_add(load_channels(d1 + 4 * j, len - 4 * j), B), len - 4 * j); }
  RUN_ADD2(0, a0, b0) RUN_ADD2(1, a1, b1) RUN_ADD2(2, a2, b2) RUN_ADD2(3, a3, b3)
#undef RUN_ADD2
}

EXPORT(lopper_conv_transpose_rows)
void lopper_conv_transpose_rows(const float *dy, const float *Wt, float *dx, int B, int H, int W, int CI, int OH, int OW,
                                int CO, int KH, int KW, int sh, int sw, int padT, int padL, int L) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  const int n = B * H * W * CI;
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dx + i, z);
  for (; i < n; i++) dx[i] = 0.0f;
  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < OH; oy += 2)
      for (int ox = 0; ox < OW; ox++) {
        const float *g = dy + ((b * OH + oy) * OW + ox) * CO;
        const int ix0 = ox * sw - padL;
        const int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + KW > W ? W - ix0 : KW;
        if (kx1 <= kx0) continue;
        const int len = (kx1 - kx0) * CI, nv = (len + 3) >> 2;
        for (int ky = 0; ky < KH; ky++) {
          const int iy = oy * sh - padT + ky;
          float *d = dx + ((b * H + iy) * W + ix0 + kx0) * CI;
          const float *wr = Wt + ky * CO * L + kx0 * CI;
          /* dy rows oy and oy + 1 together where both reach dx through this filter row */
          const int pair = oy + 1 < OH && iy >= 0 && iy + sh < H;
          if (pair) {
            const float *g1 = g + OW * CO;
            float *d1 = d + sh * W * CI;
            for (int j = 0; j < nv; j += 4) {
              const int n = nv - j < 4 ? nv - j : 4;
              if (n == 4) transpose_run2(g, g1, wr + 4 * j, d + 4 * j, d1 + 4 * j, CO, L, len - 4 * j, 4);
              else if (n == 3) transpose_run2(g, g1, wr + 4 * j, d + 4 * j, d1 + 4 * j, CO, L, len - 4 * j, 3);
              else if (n == 2) transpose_run2(g, g1, wr + 4 * j, d + 4 * j, d1 + 4 * j, CO, L, len - 4 * j, 2);
              else transpose_run2(g, g1, wr + 4 * j, d + 4 * j, d1 + 4 * j, CO, L, len - 4 * j, 1);
            }
            continue;
          }
          for (int r = 0; r < 2 && oy + r < OH; r++) {
            const int iyr = iy + r * sh;
            if (iyr < 0 || iyr >= H) continue;
            transpose_single(g + r * OW * CO, wr, dx + ((b * H + iyr) * W + ix0 + kx0) * CI, CO, L, len, nv);
          }
        }
      }
}

/*
 * Convolution of a single-channel input (stride 1), four adjacent output pixels at a time: for every filter
 * tap, one load of four input pixels times each output channel's weight. xp is the input already padded
 * ([B, HP, WP], HP = OH + KH - 1, WP = OW + KW - 1); w is [KH, KW, CO]; bias may be 0 (none); relu != 0
 * clamps at zero. out is [B, OH, OW, CO]. Output channels go four at a time.
 */
/* a_c holds channel c0 + c of four adjacent pixels: transposed to [pixel][channel], + bias, ReLU, stored at o (stride CO). */
static inline void store_pixels(float *o, v128_t a0, v128_t a1, v128_t a2, v128_t a3, v128_t bv, int relu, int nc, int CO) {
  v128_t t0 = wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5);
  v128_t t2 = wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7);
  v128_t p[4] = {wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5), wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7),
                 wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5), wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7)};
  for (int i = 0; i < 4; i++) {
    v128_t v = wasm_f32x4_add(p[i], bv);
    if (relu) v = wasm_f32x4_max(v, wasm_f32x4_splat(0.0f));
    float *q = o + i * CO;
    if (nc == 4) wasm_v128_store(q, v);
    else {
      q[0] = wasm_f32x4_extract_lane(v, 0);
      if (nc > 1) q[1] = wasm_f32x4_extract_lane(v, 1);
      if (nc > 2) q[2] = wasm_f32x4_extract_lane(v, 2);
    }
  }
}

EXPORT(lopper_conv_cin1)
void lopper_conv_cin1(const float *xp, const float *w, const float *bias, float *out, int B, int OH, int OW, int CO,
                      int KH, int KW, int relu) {
  const int HP = OH + KH - 1, WP = OW + KW - 1;
  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < OH; oy++) {
      const float *xb = xp + (b * HP + oy) * WP;
      float *ob = out + (b * OH + oy) * OW * CO;
      int ox = 0;
      for (int c0 = 0; c0 < CO; c0 += 4) {
        const int nc = CO - c0 < 4 ? CO - c0 : 4;
        v128_t bv = wasm_f32x4_splat(0.0f);
        if (bias) bv = wasm_f32x4_make(bias[c0], nc > 1 ? bias[c0 + 1] : 0.0f, nc > 2 ? bias[c0 + 2] : 0.0f, nc > 3 ? bias[c0 + 3] : 0.0f);
        /* Eight pixels (two vectors) per pass: eight independent accumulator chains, each weight broadcast used twice. */
        for (ox = 0; ox + 8 <= OW; ox += 8) {
          v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, e0 = a0, e1 = a0, e2 = a0, e3 = a0;
          for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
              const v128_t xv = wasm_v128_load(xb + ky * WP + ox + kx), xw = wasm_v128_load(xb + ky * WP + ox + 4 + kx);
              const float *wt = w + (ky * KW + kx) * CO + c0;
              v128_t v = wasm_f32x4_splat(wt[0]);
              a0 = MADD(xv, v, a0); e0 = MADD(xw, v, e0);
              if (nc > 1) { v = wasm_f32x4_splat(wt[1]); a1 = MADD(xv, v, a1); e1 = MADD(xw, v, e1); }
              if (nc > 2) { v = wasm_f32x4_splat(wt[2]); a2 = MADD(xv, v, a2); e2 = MADD(xw, v, e2); }
              if (nc > 3) { v = wasm_f32x4_splat(wt[3]); a3 = MADD(xv, v, a3); e3 = MADD(xw, v, e3); }
            }
          store_pixels(ob + ox * CO + c0, a0, a1, a2, a3, bv, relu, nc, CO);
          store_pixels(ob + (ox + 4) * CO + c0, e0, e1, e2, e3, bv, relu, nc, CO);
        }
        for (; ox + 4 <= OW; ox += 4) {
          v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
          for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
              const v128_t xv = wasm_v128_load(xb + ky * WP + ox + kx);
              const float *wt = w + (ky * KW + kx) * CO + c0;
              a0 = MADD(xv, wasm_f32x4_splat(wt[0]), a0);
              if (nc > 1) a1 = MADD(xv, wasm_f32x4_splat(wt[1]), a1);
              if (nc > 2) a2 = MADD(xv, wasm_f32x4_splat(wt[2]), a2);
              if (nc > 3) a3 = MADD(xv, wasm_f32x4_splat(wt[3]), a3);
            }
          store_pixels(ob + ox * CO + c0, a0, a1, a2, a3, bv, relu, nc, CO);
        }
      }
      for (; ox < OW; ox++)
        for (int co = 0; co < CO; co++) {
          float s = bias ? bias[co] : 0.0f;
          for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) s += xb[ky * WP + ox + kx] * w[(ky * KW + kx) * CO + co];
          ob[ox * CO + co] = relu && s < 0.0f ? 0.0f : s;
        }
    }
}

/*
 * x ([B, H, W], one channel) zero-padded to out ([B, HP, WP]) with `top` rows above and `left` columns before each row:
 * the input of the single-channel kernels, which read every tap without bounds checks.
 */
EXPORT(lopper_pad_single)
void lopper_pad_single(const float *x, float *out, int B, int H, int W, int HP, int WP, int top, int left) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (int b = 0; b < B; b++)
    for (int y = 0; y < HP; y++) {
      float *o = out + (b * HP + y) * WP;
      const int iy = y - top;
      if (iy < 0 || iy >= H) {
        int i = 0;
        for (; i + 4 <= WP; i += 4) wasm_v128_store(o + i, z);
        for (; i < WP; i++) o[i] = 0.0f;
        continue;
      }
      const float *r = x + (b * H + iy) * W;
      int i = 0;
      for (; i < left; i++) o[i] = 0.0f;
      int j = 0;
      for (; j + 4 <= W; j += 4) wasm_v128_store(o + left + j, wasm_v128_load(r + j));
      for (; j < W; j++) o[left + j] = r[j];
      for (i = left + W; i < WP; i++) o[i] = 0.0f;
    }
}

/* o[0..CO) = the first CO lanes of (lo, hi), CO <= 8. */
static inline void store_channels(float *o, v128_t lo, v128_t hi, int CO) {
  if (CO >= 4) wasm_v128_store(o, lo);
  else {
    o[0] = wasm_f32x4_extract_lane(lo, 0);
    if (CO > 1) o[1] = wasm_f32x4_extract_lane(lo, 1);
    if (CO > 2) o[2] = wasm_f32x4_extract_lane(lo, 2);
    return;
  }
  if (CO == 8) wasm_v128_store(o + 4, hi);
  else {
    if (CO > 4) o[4] = wasm_f32x4_extract_lane(hi, 0);
    if (CO > 5) o[5] = wasm_f32x4_extract_lane(hi, 1);
    if (CO > 6) o[6] = wasm_f32x4_extract_lane(hi, 2);
  }
}

/*
 * Filter gradient of a single-channel-input convolution (stride 1): dw[ky, kx, co] = sum over images and output
 * pixels of xp[b, oy + ky, ox + kx] * dy[b, oy, ox, co]. xp is the padded input ([B, HP, WP]), dy is
 * [B, OH, OW, CO] with CO <= 8 (two channel vectors), dw is [KH, KW, CO]. Taps go four at a time (eight vector
 * accumulators); each image's sums are added to the total separately, which bounds float32 rounding error.
 */
EXPORT(lopper_conv_cin1_filter_grad)
void lopper_conv_cin1_filter_grad(const float *xp, const float *dy, float *dw, int B, int OH, int OW, int CO, int KH, int KW) {
  const int HP = OH + KH - 1, WP = OW + KW - 1, taps = KH * KW, n1 = CO - 4;
  const float *gend = dy + B * OH * OW * CO;
  for (int t0 = 0; t0 < taps; t0 += 4) {
    const int nt = taps - t0 < 4 ? taps - t0 : 4;
    /* Offsets of the group's taps in the padded input (a missing tap repeats the first; its sums are dropped). */
    const int u1 = t0 + (nt > 1 ? 1 : 0), u2 = t0 + (nt > 2 ? 2 : 0), u3 = t0 + (nt > 3 ? 3 : 0);
    const int off0 = (t0 / KW) * WP + t0 % KW, off1 = (u1 / KW) * WP + u1 % KW, off2 = (u2 / KW) * WP + u2 % KW, off3 = (u3 / KW) * WP + u3 % KW;
    v128_t s00 = wasm_f32x4_splat(0.0f), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    for (int b = 0; b < B; b++) {
      v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      for (int oy = 0; oy < OH; oy++) {
        const float *xr = xp + (b * HP + oy) * WP;
        const float *g = dy + (b * OH + oy) * OW * CO;
        for (int ox = 0; ox < OW; ox++, g += CO) {
          /* Full-vector loads wherever eight floats remain in dy: lanes past CO hold the next pixel's values, whose sums
             land in lanes that store_channels drops. Only the last pixels of dy are assembled lane by lane. */
          const int full = g + 8 <= gend;
          const v128_t g0 = CO >= 4 || full ? wasm_v128_load(g) : wasm_f32x4_make(g[0], CO > 1 ? g[1] : 0.0f, CO > 2 ? g[2] : 0.0f, 0.0f);
          const v128_t g1 = n1 >= 4 || (n1 > 0 && full) ? wasm_v128_load(g + 4) : n1 > 0 ? wasm_f32x4_make(g[4], n1 > 1 ? g[5] : 0.0f, n1 > 2 ? g[6] : 0.0f, 0.0f) : wasm_f32x4_splat(0.0f);
          const float *x = xr + ox;
          v128_t v = wasm_f32x4_splat(x[off0]);
          a00 = MADD(v, g0, a00); a01 = MADD(v, g1, a01);
          v = wasm_f32x4_splat(x[off1]);
          a10 = MADD(v, g0, a10); a11 = MADD(v, g1, a11);
          v = wasm_f32x4_splat(x[off2]);
          a20 = MADD(v, g0, a20); a21 = MADD(v, g1, a21);
          v = wasm_f32x4_splat(x[off3]);
          a30 = MADD(v, g0, a30); a31 = MADD(v, g1, a31);
        }
      }
      s00 = wasm_f32x4_add(s00, a00); s01 = wasm_f32x4_add(s01, a01); s10 = wasm_f32x4_add(s10, a10); s11 = wasm_f32x4_add(s11, a11);
      s20 = wasm_f32x4_add(s20, a20); s21 = wasm_f32x4_add(s21, a21); s30 = wasm_f32x4_add(s30, a30); s31 = wasm_f32x4_add(s31, a31);
    }
    store_channels(dw + t0 * CO, s00, s01, CO);
    if (nt > 1) store_channels(dw + (t0 + 1) * CO, s10, s11, CO);
    if (nt > 2) store_channels(dw + (t0 + 2) * CO, s20, s21, CO);
    if (nt > 3) store_channels(dw + (t0 + 3) * CO, s30, s31, CO);
  }
}

/*
 * Direct convolution (NHWC, dilation 1, any stride and padding) vectorised over output channels: a tile of NP adjacent
 * output pixels x NV vectors of 4 output channels is held in registers; for every tap and input channel, NV weight
 * vectors are loaded once and each pixel's input value is broadcast against them (NP x NV multiply-adds per NV + NP
 * loads). w is [KH, KW, C, COP], COP = CO rounded up to a multiple of 4 (its extra channels are never stored); bias
 * may be 0 (none), relu != 0 clamps at zero. Taps that fall in the padding are skipped: whole filter rows by row, and
 * filter columns for the pixels near the left and right edges, which go one at a time.
 */
/* Tile pixel p (< NP): its broadcast input value times the NV weight vectors, into its accumulators A0..A3. */
#define CONV_PIXEL(p, A0, A1, A2, A3) \
  if (p < NP) { \
    const v128_t xs = wasm_v128_load32_splat(xp + p * sw * C + ci); \
    A0 = MADD(xs, w0, A0); \
    if (NV > 1) A1 = MADD(xs, w1, A1); \
    if (NV > 2) { A2 = MADD(xs, w2, A2); A3 = MADD(xs, w3, A3); } \
  }
/* Channel vector v of tile pixel p: + bias, ReLU, stored (its channels below CO only). */
#define CONV_STORE(p, v, A) \
  if (p < NP && v < NV && CO - co - 4 * v > 0) { \
    const int rem_ = CO - co - 4 * v; \
    v128_t r_ = wasm_f32x4_add(A, bias ? load_channels(bias + co + 4 * v, rem_) : zero); \
    if (relu) r_ = wasm_f32x4_max(r_, zero); \
    store_lanes(o + p * CO + co + 4 * v, r_, rem_); \
  }

/* NP (1, 2 or 4) pixels x NV (1, 2 or 4) channel vectors, all in named registers (no stack arrays). */
static inline __attribute__((always_inline)) void conv_tile(const float *xr, const float *w, const float *bias, float *o,
    int W, int C, int CO, int COP, int KW, int sw, int ky0, int ky1, int ix0, int kx0, int kx1, int co, int relu,
    const int NP, const int NV) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t a00 = zero, a01 = zero, a02 = zero, a03 = zero, a10 = zero, a11 = zero, a12 = zero, a13 = zero;
  v128_t a20 = zero, a21 = zero, a22 = zero, a23 = zero, a30 = zero, a31 = zero, a32 = zero, a33 = zero;
  for (int ky = ky0; ky < ky1; ky++)
    for (int kx = kx0; kx < kx1; kx++) {
      const float *xp = xr + (ky * W + ix0 + kx) * C;
      const float *wp = w + (ky * KW + kx) * C * COP + co;
      for (int ci = 0; ci < C; ci++, wp += COP) {
        const v128_t w0 = wasm_v128_load(wp);
        const v128_t w1 = NV > 1 ? wasm_v128_load(wp + 4) : zero;
        const v128_t w2 = NV > 2 ? wasm_v128_load(wp + 8) : zero, w3 = NV > 2 ? wasm_v128_load(wp + 12) : zero;
        CONV_PIXEL(0, a00, a01, a02, a03)
        CONV_PIXEL(1, a10, a11, a12, a13)
        CONV_PIXEL(2, a20, a21, a22, a23)
        CONV_PIXEL(3, a30, a31, a32, a33)
      }
    }
  CONV_STORE(0, 0, a00) CONV_STORE(0, 1, a01) CONV_STORE(0, 2, a02) CONV_STORE(0, 3, a03)
  CONV_STORE(1, 0, a10) CONV_STORE(1, 1, a11) CONV_STORE(1, 2, a12) CONV_STORE(1, 3, a13)
  CONV_STORE(2, 0, a20) CONV_STORE(2, 1, a21) CONV_STORE(2, 2, a22) CONV_STORE(2, 3, a23)
  CONV_STORE(3, 0, a30) CONV_STORE(3, 1, a31) CONV_STORE(3, 2, a32) CONV_STORE(3, 3, a33)
}

EXPORT(lopper_conv_direct)
void lopper_conv_direct(const float *x, const float *w, const float *bias, float *out, int B, int H, int W, int C,
                        int OH, int OW, int CO, int COP, int KH, int KW, int sh, int sw, int padT, int padL, int relu) {
  /* Output columns [oxa, oxb) read no padding: ox*sw - padL >= 0 and ox*sw - padL + KW <= W. */
  int oxa = (padL + sw - 1) / sw, oxb = W - KW + padL >= 0 ? (W - KW + padL) / sw + 1 : 0;
  if (oxa > OW) oxa = OW;
  if (oxb > OW) oxb = OW;
  if (oxb < oxa) oxb = oxa;
  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < OH; oy++) {
      const int iy0 = oy * sh - padT;
      const int ky0 = iy0 < 0 ? -iy0 : 0, ky1 = iy0 + KH > H ? H - iy0 : KH;
      const float *xr = x + (b * H + iy0) * W * C;
      float *ob = out + (b * OH + oy) * OW * CO;
      for (int co = 0; co < COP;) {
        const int nv = COP - co >= 16 ? 4 : COP - co >= 8 ? 2 : 1;
        for (int ox = 0; ox < OW;) {
          const int ix0 = ox * sw - padL;
          float *o = ob + ox * CO;
          if (ox < oxa || ox >= oxb) {
            const int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + KW > W ? W - ix0 : KW;
            if (nv == 4) conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, kx0, kx1, co, relu, 1, 4);
            else if (nv == 2) conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, kx0, kx1, co, relu, 1, 2);
            else conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, kx0, kx1, co, relu, 1, 1);
            ox++;
          } else if (nv == 4 && ox + 2 <= oxb) {
            conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, 0, KW, co, relu, 2, 4);
            ox += 2;
          } else if (nv < 4 && ox + 4 <= oxb) {
            if (nv == 2) conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, 0, KW, co, relu, 4, 2);
            else conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, 0, KW, co, relu, 4, 1);
            ox += 4;
          } else {
            if (nv == 4) conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, 0, KW, co, relu, 1, 4);
            else if (nv == 2) conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, 0, KW, co, relu, 1, 2);
            else conv_tile(xr, w, bias, o, W, C, CO, COP, KW, sw, ky0, ky1, ix0, 0, KW, co, relu, 1, 1);
            ox++;
          }
        }
        co += 4 * nv;
      }
    }
}

/*
 * One Adam step for one variable, in TF.js's order of float32 operations (bit-identical to tf.train.adam):
 * m' = m*b1 + g*c1, v' = v*b2 + (g*g)*c2, x' = ((m'/oma1) / (sqrt(v'/oma2) + eps)) * neglr + x, where c = 1 - b,
 * oma = 1 - beta^t and neglr = -learning rate, all rounded to float32 by the caller's conversion.
 */
EXPORT(lopper_adam)
void lopper_adam(const float *x, const float *g, const float *m, const float *v, float *xo, float *mo, float *vo, int n,
                 float b1, float b2, float c1, float c2, float oma1, float oma2, float eps, float neglr) {
  const v128_t B1 = wasm_f32x4_splat(b1), B2 = wasm_f32x4_splat(b2), C1 = wasm_f32x4_splat(c1), C2 = wasm_f32x4_splat(c2);
  const v128_t O1 = wasm_f32x4_splat(oma1), O2 = wasm_f32x4_splat(oma2), E = wasm_f32x4_splat(eps), L = wasm_f32x4_splat(neglr);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t gv = wasm_v128_load(g + i);
    const v128_t m1 = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), B1), wasm_f32x4_mul(gv, C1));
    const v128_t v1 = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), B2), wasm_f32x4_mul(wasm_f32x4_mul(gv, gv), C2));
    const v128_t step = wasm_f32x4_div(wasm_f32x4_div(m1, O1), wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(v1, O2)), E));
    wasm_v128_store(mo + i, m1);
    wasm_v128_store(vo + i, v1);
    wasm_v128_store(xo + i, wasm_f32x4_add(wasm_f32x4_mul(step, L), wasm_v128_load(x + i)));
  }
  for (; i < n; i++) {
    const float m1 = m[i] * b1 + g[i] * c1;
    const float v1 = v[i] * b2 + (g[i] * g[i]) * c2;
    mo[i] = m1;
    vo[i] = v1;
    xo[i] = ((m1 / oma1) / (__builtin_sqrtf(v1 / oma2) + eps)) * neglr + x[i];
  }
}

/*
 * The two per-channel sums of BatchNorm's gradient, in one pass over x and dy (rows of L, L a multiple of 4;
 * mean tiled to L): acc[0..L) = sum of dy, acc[L..2L) = sum of dy * (x - mean). acc[2L..4L) is block scratch:
 * blocks of 64 rows are summed first, as in lopper_row_sum.
 */
EXPORT(lopper_bn_grad_sums)
void lopper_bn_grad_sums(const float *x, const float *dy, const float *mean, float *acc, int n, int L) {
  float *sd = acc, *sx = acc + L, *bd = acc + 2 * L, *bx = acc + 3 * L;
  for (int j = 0; j < 2 * L; j += 4) wasm_v128_store(acc + j, wasm_f32x4_splat(0.0f));
  int i = 0;
  while (i + L <= n) {
    for (int j = 0; j < 2 * L; j += 4) wasm_v128_store(bd + j, wasm_f32x4_splat(0.0f));
    for (int r = 0; r < 64 && i + L <= n; r++, i += L)
      for (int j = 0; j < L; j += 4) {
        const v128_t g = wasm_v128_load(dy + i + j);
        const v128_t xm = wasm_f32x4_sub(wasm_v128_load(x + i + j), wasm_v128_load(mean + j));
        wasm_v128_store(bd + j, wasm_f32x4_add(wasm_v128_load(bd + j), g));
        wasm_v128_store(bx + j, wasm_f32x4_add(wasm_v128_load(bx + j), wasm_f32x4_mul(g, xm)));
      }
    for (int j = 0; j < L; j += 4) {
      wasm_v128_store(sd + j, wasm_f32x4_add(wasm_v128_load(sd + j), wasm_v128_load(bd + j)));
      wasm_v128_store(sx + j, wasm_f32x4_add(wasm_v128_load(sx + j), wasm_v128_load(bx + j)));
    }
  }
  for (int j = 0; i + j < n; j++) {
    sd[j] += dy[i + j];
    sx[j] += dy[i + j] * (x[i + j] - mean[j]);
  }
}

/*
 * Filter gradient of a convolution (NHWC, dilation 1), CO a multiple of 4: dw[ky][kx][ci][co] = sum over (b, oy, ox) of
 * x[b, oy*sh + ky - padT, ox*sw + kx - padL, ci] * dy[b, oy, ox, co]. Image by image, in blocks of output rows whose
 * dy and x rows fit in about 32 KiB (so they stay in L1 through the KH*KW taps; LeNet-5's conv2 takes a whole image per
 * block), for each tap the block's valid (oy, ox) range is accumulated in registers (two input channels times sixteen
 * or four output channels) and then added to dw (KH*KW*C*CO floats, zeroed here first). One row per block (the previous
 * form) added to dw OW times as often per image: 1.25x slower on LeNet-5's conv2 (OW 10); whole images on vgg-small's
 * 28x28x16 maps left L1 (0.95x); every image for one tap before the next streamed the images from memory KH*KW times.
 */
EXPORT(lopper_conv_filter_grad)
void lopper_conv_filter_grad(const float *x, const float *dy, float *dw, int B, int H, int W, int C, int OH, int OW, int CO,
                             int KH, int KW, int sh, int sw, int padT, int padL) {
  const int n = KH * KW * C * CO;
  for (int i = 0; i < n; i += 4) wasm_v128_store(dw + i, wasm_f32x4_splat(0.0f));
  const int xstep = sw * C, xrow = sh * W * C, grow = OW * CO;
  /* rows of dy per block: the block's dy and x rows within about 32 KiB, so that they stay in L1 through the taps */
  int R = 8192 / (OW * CO + sh * W * C);
  if (R < 1) R = 1;
  for (int b = 0; b < B; b++)
    for (int r0 = 0; r0 < OH; r0 += R)
    for (int ky = 0; ky < KH; ky++) {
      /* the oy of this block with 0 <= oy*sh + ky - padT < H */
      int oy0 = r0, oy1 = r0 + R < OH ? r0 + R : OH;
      while (oy0 < oy1 && oy0 * sh + ky - padT < 0) oy0++;
      while (oy1 > oy0 && (oy1 - 1) * sh + ky - padT >= H) oy1--;
      if (oy0 >= oy1) continue;
      for (int kx = 0; kx < KW; kx++) {
        /* the ox with 0 <= ox*sw + kx - padL < W */
        int ox0 = 0, ox1 = OW;
        while (ox0 < OW && ox0 * sw + kx - padL < 0) ox0++;
        while (ox1 > ox0 && (ox1 - 1) * sw + kx - padL >= W) ox1--;
        if (ox0 >= ox1) continue;
        const float *xs = x + ((b * H + oy0 * sh + ky - padT) * W + ox0 * sw + kx - padL) * C; /* x at (oy0, ox0), channel 0 */
        const float *gs = dy + ((b * OH + oy0) * OW + ox0) * CO;
        float *d = dw + (ky * KW + kx) * C * CO;
        for (int ci = 0; ci < C; ci += 2) {
          const int two = ci + 1 < C;
          int co = 0;
          for (; co + 16 <= CO; co += 16) {
            v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int oy = oy0; oy < oy1; oy++) {
              const float *xp = xs + (oy - oy0) * xrow + ci;
              const float *gp = gs + (oy - oy0) * grow + co;
              for (int ox = ox0; ox < ox1; ox++, xp += xstep, gp += CO) {
                const v128_t xa = wasm_f32x4_splat(xp[0]);
                const v128_t xb = wasm_f32x4_splat(two ? xp[1] : 0.0f);
                const v128_t g0 = wasm_v128_load(gp), g1 = wasm_v128_load(gp + 4), g2 = wasm_v128_load(gp + 8), g3 = wasm_v128_load(gp + 12);
                a0 = MADD(xa, g0, a0); a1 = MADD(xa, g1, a1);
                a2 = MADD(xa, g2, a2); a3 = MADD(xa, g3, a3);
                b0 = MADD(xb, g0, b0); b1 = MADD(xb, g1, b1);
                b2 = MADD(xb, g2, b2); b3 = MADD(xb, g3, b3);
              }
            }
            float *da = d + ci * CO + co;
            wasm_v128_store(da, wasm_f32x4_add(wasm_v128_load(da), a0)); wasm_v128_store(da + 4, wasm_f32x4_add(wasm_v128_load(da + 4), a1));
            wasm_v128_store(da + 8, wasm_f32x4_add(wasm_v128_load(da + 8), a2)); wasm_v128_store(da + 12, wasm_f32x4_add(wasm_v128_load(da + 12), a3));
            if (two) {
              float *db = da + CO;
              wasm_v128_store(db, wasm_f32x4_add(wasm_v128_load(db), b0)); wasm_v128_store(db + 4, wasm_f32x4_add(wasm_v128_load(db + 4), b1));
              wasm_v128_store(db + 8, wasm_f32x4_add(wasm_v128_load(db + 8), b2)); wasm_v128_store(db + 12, wasm_f32x4_add(wasm_v128_load(db + 12), b3));
            }
          }
          for (; co < CO; co += 4) {
            v128_t a0 = wasm_f32x4_splat(0.0f), b0 = a0;
            for (int oy = oy0; oy < oy1; oy++) {
              const float *xp = xs + (oy - oy0) * xrow + ci;
              const float *gp = gs + (oy - oy0) * grow + co;
              for (int ox = ox0; ox < ox1; ox++, xp += xstep, gp += CO) {
                const v128_t g0 = wasm_v128_load(gp);
                a0 = MADD(wasm_f32x4_splat(xp[0]), g0, a0);
                b0 = MADD(wasm_f32x4_splat(two ? xp[1] : 0.0f), g0, b0);
              }
            }
            float *da = d + ci * CO + co;
            wasm_v128_store(da, wasm_f32x4_add(wasm_v128_load(da), a0));
            if (two) wasm_v128_store(da + CO, wasm_f32x4_add(wasm_v128_load(da + CO), b0));
          }
        }
      }
    }
}

/* ReLU's gradient in one pass: out = dy * (x > 0 ? 1 : 0), the product TF.js forms from Step and Multiply (same -0 and NaN). */
EXPORT(lopper_relu_grad)
void lopper_relu_grad(const float *x, const float *dy, float *out, int n) {
  const v128_t zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  int i = 0;
  // dy * step(x), step as TF.js's Step: 1 above zero, 0 at or below, NaN for NaN
  for (; i + 4 <= n; i += 4) {
    const v128_t xv = wasm_v128_load(x + i);
    const v128_t s = wasm_v128_or(wasm_v128_and(wasm_f32x4_gt(xv, zero), one), wasm_v128_and(wasm_f32x4_ne(xv, xv), xv));
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), s));
  }
  for (; i < n; i++) out[i] = dy[i] * (x[i] != x[i] ? x[i] : x[i] > 0.0f ? 1.0f : 0.0f);
}

/*
 * Winograd F(2x2, 3x3) (Lavin & Gray 2016) for 3x3 convolutions with stride and dilation 1, NHWC: every 2x2 block of
 * output pixels costs 16 products per (input, output) channel pair instead of 36. Y = A^T [ (G g G^T) . (B^T d B) ] A
 * with d a 4x4 input tile; the 16 element-wise products over channels become 16 matrix products per chunk of tiles.
 * Transforms: B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 * A^T = [1 1 1 0; 0 1 -1 -1].
 */

/*
 * U[xi][c][co] (16 x CP x COP, zero where c >= C or co >= CO) = (G g G^T)[xi] of the 3x3 filter g = w[.][.][c][co] of a
 * [3][3][C][CO] filter.
 */
EXPORT(lopper_winograd_filter)
void lopper_winograd_filter(const float *w, float *U, int C, int CO, int CP, int COP) {
  const int n = 16 * CP * COP;
  for (int i = 0; i < n; i += 4) wasm_v128_store(U + i, wasm_f32x4_splat(0.0f));
  for (int c = 0; c < C; c++)
    for (int co = 0; co < CO; co++) {
      float g00, g01, g02, g10, g11, g12, g20, g21, g22;
#define TAP(ky, kx) w[((ky) * 3 + (kx)) * C * CO + c * CO + co]
      g00 = TAP(0, 0); g01 = TAP(0, 1); g02 = TAP(0, 2);
      g10 = TAP(1, 0); g11 = TAP(1, 1); g12 = TAP(1, 2);
      g20 = TAP(2, 0); g21 = TAP(2, 1); g22 = TAP(2, 2);
#undef TAP
      /* rows: G g (4 x 3) */
      const float r00 = g00, r01 = g01, r02 = g02;
      const float r10 = 0.5f * (g00 + g10 + g20), r11 = 0.5f * (g01 + g11 + g21), r12 = 0.5f * (g02 + g12 + g22);
      const float r20 = 0.5f * (g00 - g10 + g20), r21 = 0.5f * (g01 - g11 + g21), r22 = 0.5f * (g02 - g12 + g22);
      const float r30 = g20, r31 = g21, r32 = g22;
      /* columns: (G g) G^T (4 x 4) */
#define COLS(i, a, b, e) \
      U[((i) * 4 + 0) * CP * COP + c * COP + co] = (a); \
      U[((i) * 4 + 1) * CP * COP + c * COP + co] = 0.5f * ((a) + (b) + (e)); \
      U[((i) * 4 + 2) * CP * COP + c * COP + co] = 0.5f * ((a) - (b) + (e)); \
      U[((i) * 4 + 3) * CP * COP + c * COP + co] = (e);
      COLS(0, r00, r01, r02) COLS(1, r10, r11, r12) COLS(2, r20, r21, r22) COLS(3, r30, r31, r32)
#undef COLS
    }
}

/* One row of the GEMM microkernel: acc += splat(a) * (b0, b1). */
#define MAC2(a, lo, hi) { const v128_t s_ = wasm_f32x4_splat(a); lo = MADD(s_, b0, lo); hi = MADD(s_, b1, hi); }
#define MAC1(a, lo) { lo = MADD(wasm_f32x4_splat(a), b0, lo); }

/* Zeroes row t of each of the 16 matrices (TC rows of `width` floats, a multiple of 4) of a chunk buffer: padding tiles. */
static inline void winograd_zero_row(float *buf, int t, int TC, int width) {
  for (int xi = 0; xi < 16; xi++)
    for (int c = 0; c < width; c += 4) wasm_v128_store(buf + (xi * TC + t) * width + c, wasm_f32x4_splat(0.0f));
}

/*
 * Input transform of tiles t0 .. t0+n-1 (of TH x TW per image): V[xi][t][c] = (B^T d B)[xi] with d the 4x4 input tile at
 * (2 th - padT, 2 tw - padL), zero outside the image and for c >= C; rows n .. nr-1 of V are zeroed.
 */
static void winograd_inputs(const float *x, float *V, int t0, int n, int nr, int TH, int TW, int H, int W, int C, int CP,
                            int padT, int padL, int TC) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int t = 0; t < nr; t++) {
    if (t >= n) { winograd_zero_row(V, t, TC, CP); continue; }
    const int tile = t0 + t, b = tile / (TH * TW), th = (tile / TW) % TH, tw = tile % TW;
    const int iy0 = 2 * th - padT, ix0 = 2 * tw - padL;
    const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= H && ix0 + 4 <= W;
    for (int c = 0; c < CP; c += 4) {
      const int rem = C - c;
      v128_t d[4][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          const int iy = iy0 + i, ix = ix0 + j;
          d[i][j] = (inside || (iy >= 0 && iy < H && ix >= 0 && ix < W)) ? load_channels(x + ((b * H + iy) * W + ix) * C + c, rem) : zero;
        }
      for (int j = 0; j < 4; j++) {
        const v128_t s0 = wasm_f32x4_sub(d[0][j], d[2][j]), s1 = wasm_f32x4_add(d[1][j], d[2][j]);
        const v128_t s2 = wasm_f32x4_sub(d[2][j], d[1][j]), s3 = wasm_f32x4_sub(d[1][j], d[3][j]);
        d[0][j] = s0; d[1][j] = s1; d[2][j] = s2; d[3][j] = s3;
      }
      for (int i = 0; i < 4; i++) {
        float *v = V + (i * 4 * TC + t) * CP + c;
        wasm_v128_store(v, wasm_f32x4_sub(d[i][0], d[i][2]));
        wasm_v128_store(v + TC * CP, wasm_f32x4_add(d[i][1], d[i][2]));
        wasm_v128_store(v + 2 * TC * CP, wasm_f32x4_sub(d[i][2], d[i][1]));
        wasm_v128_store(v + 3 * TC * CP, wasm_f32x4_sub(d[i][1], d[i][3]));
      }
    }
  }
}

/*
 * The Winograd convolution itself: x [B, H, W, C] -> out [B, OH, OW, CO], stride 1, padding padT/padL before (the rest
 * of the 3x3 window past the image reads zeros), U from lopper_winograd_filter, bias (0 = none) and ReLU fused.
 * Tiles of 2x2 output pixels are taken TC at a time (TC a multiple of 6): V (16 x TC x CP floats) holds their transformed
 * inputs, M (16 x TC x COP) the 16 products V[xi] U[xi], each computed six tiles by eight output channels in registers.
 */
EXPORT(lopper_winograd_conv)
void lopper_winograd_conv(const float *x, const float *U, const float *bias, float *out, float *V, float *M, int B, int H,
                          int W, int C, int OH, int OW, int CO, int CP, int COP, int padT, int padL, int relu, int TC) {
  const int TH = (OH + 1) / 2, TW = (OW + 1) / 2, NT = B * TH * TW;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int t0 = 0; t0 < NT; t0 += TC) {
    const int n = NT - t0 < TC ? NT - t0 : TC;
    const int nr = (n + 5) / 6 * 6;
    winograd_inputs(x, V, t0, n, nr, TH, TW, H, W, C, CP, padT, padL, TC);
    /* 16 products: M[xi] (nr x COP) = V[xi] (nr x CP) U[xi] (CP x COP) */
    for (int xi = 0; xi < 16; xi++) {
      const float *Vx = V + xi * TC * CP, *Ux = U + xi * CP * COP;
      float *Mx = M + xi * TC * COP;
      int co = 0;
      for (; co + 8 <= COP; co += 8)
        for (int t = 0; t < nr; t += 6) {
          v128_t c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
          const float *a = Vx + t * CP;
          const float *u = Ux + co;
          for (int k = 0; k < CP; k++, u += COP) {
            const v128_t b0 = wasm_v128_load(u), b1 = wasm_v128_load(u + 4);
            MAC2(a[k], c00, c01) MAC2(a[CP + k], c10, c11) MAC2(a[2 * CP + k], c20, c21)
            MAC2(a[3 * CP + k], c30, c31) MAC2(a[4 * CP + k], c40, c41) MAC2(a[5 * CP + k], c50, c51)
          }
          float *m = Mx + t * COP + co;
          wasm_v128_store(m, c00); wasm_v128_store(m + 4, c01); m += COP;
          wasm_v128_store(m, c10); wasm_v128_store(m + 4, c11); m += COP;
          wasm_v128_store(m, c20); wasm_v128_store(m + 4, c21); m += COP;
          wasm_v128_store(m, c30); wasm_v128_store(m + 4, c31); m += COP;
          wasm_v128_store(m, c40); wasm_v128_store(m + 4, c41); m += COP;
          wasm_v128_store(m, c50); wasm_v128_store(m + 4, c51);
        }
      if (co < COP)
        for (int t = 0; t < nr; t += 6) {
          v128_t c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero;
          const float *a = Vx + t * CP;
          const float *u = Ux + co;
          for (int k = 0; k < CP; k++, u += COP) {
            const v128_t b0 = wasm_v128_load(u);
            MAC1(a[k], c0) MAC1(a[CP + k], c1) MAC1(a[2 * CP + k], c2) MAC1(a[3 * CP + k], c3) MAC1(a[4 * CP + k], c4) MAC1(a[5 * CP + k], c5)
          }
          float *m = Mx + t * COP + co;
          wasm_v128_store(m, c0); wasm_v128_store(m + COP, c1); wasm_v128_store(m + 2 * COP, c2);
          wasm_v128_store(m + 3 * COP, c3); wasm_v128_store(m + 4 * COP, c4); wasm_v128_store(m + 5 * COP, c5);
        }
    }
    /* output transform: out = A^T m A (+ bias, ReLU) */
    for (int t = 0; t < n; t++) {
      const int tile = t0 + t, b = tile / (TH * TW), th = (tile / TW) % TH, tw = tile % TW;
      const int oy = 2 * th, ox = 2 * tw;
      const int two_y = oy + 1 < OH, two_x = ox + 1 < OW;
      float *o = out + ((b * OH + oy) * OW + ox) * CO;
      for (int co = 0; co < CO; co += 4) {
        const float *m = M + t * COP + co;
        v128_t a0[4], a1[4];
        for (int l = 0; l < 4; l++) {
          const v128_t m0 = wasm_v128_load(m + l * TC * COP), m1 = wasm_v128_load(m + (4 + l) * TC * COP);
          const v128_t m2 = wasm_v128_load(m + (8 + l) * TC * COP), m3 = wasm_v128_load(m + (12 + l) * TC * COP);
          a0[l] = wasm_f32x4_add(wasm_f32x4_add(m0, m1), m2);
          a1[l] = wasm_f32x4_sub(wasm_f32x4_sub(m1, m2), m3);
        }
        v128_t y00 = wasm_f32x4_add(wasm_f32x4_add(a0[0], a0[1]), a0[2]), y01 = wasm_f32x4_sub(wasm_f32x4_sub(a0[1], a0[2]), a0[3]);
        v128_t y10 = wasm_f32x4_add(wasm_f32x4_add(a1[0], a1[1]), a1[2]), y11 = wasm_f32x4_sub(wasm_f32x4_sub(a1[1], a1[2]), a1[3]);
        const int rem = CO - co;
        if (bias) {
          const v128_t bv = load_channels(bias + co, rem);
          y00 = wasm_f32x4_add(y00, bv); y01 = wasm_f32x4_add(y01, bv); y10 = wasm_f32x4_add(y10, bv); y11 = wasm_f32x4_add(y11, bv);
        }
        if (relu) { y00 = wasm_f32x4_max(y00, zero); y01 = wasm_f32x4_max(y01, zero); y10 = wasm_f32x4_max(y10, zero); y11 = wasm_f32x4_max(y11, zero); }
        store_lanes(o + co, y00, rem);
        if (two_x) store_lanes(o + CO + co, y01, rem);
        if (two_y) {
          store_lanes(o + OW * CO + co, y10, rem);
          if (two_x) store_lanes(o + (OW + 1) * CO + co, y11, rem);
        }
      }
    }
  }
}

/*
 * Filter gradient of a 3x3 convolution (stride and dilation 1, NHWC) by Winograd F(2x2, 3x3): with U = G g G^T and
 * Y = A^T (U . V) A per tile, dU = sum over tiles of V . (A dY A^T) and dg = G^T dU G. V (16 x TC x CP) and Wd
 * (16 x TC x COP) hold a chunk's transformed inputs and output gradients, dU (16 x CP x COP) the running sums, each
 * product six input by eight output channels in registers over the chunk's tiles. dw [3][3][C][CO] is written at the end.
 */
EXPORT(lopper_winograd_filter_grad)
void lopper_winograd_filter_grad(const float *x, const float *dy, float *dw, float *V, float *Wd, float *dU, int B, int H,
                                 int W, int C, int OH, int OW, int CO, int CP, int COP, int padT, int padL, int TC) {
  const int TH = (OH + 1) / 2, TW = (OW + 1) / 2, NT = B * TH * TW;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < 16 * CP * COP; i += 4) wasm_v128_store(dU + i, zero);
  for (int t0 = 0; t0 < NT; t0 += TC) {
    const int n = NT - t0 < TC ? NT - t0 : TC;
    const int nr = (n + 5) / 6 * 6;
    winograd_inputs(x, V, t0, n, nr, TH, TW, H, W, C, CP, padT, padL, TC);
    /* Wd[xi][t][co] = (A y A^T)[xi], y the 2x2 block of dy of tile t (zero outside OH x OW), A = [1 0; 1 1; 1 -1; 0 -1] */
    for (int t = 0; t < nr; t++) {
      if (t >= n) { winograd_zero_row(Wd, t, TC, COP); continue; }
      const int tile = t0 + t, b = tile / (TH * TW), th = (tile / TW) % TH, tw = tile % TW;
      const int oy = 2 * th, ox = 2 * tw;
      const int two_y = oy + 1 < OH, two_x = ox + 1 < OW;
      const float *g = dy + ((b * OH + oy) * OW + ox) * CO;
      for (int co = 0; co < COP; co += 4) {
        const int rem = CO - co;
        const v128_t y00 = load_channels(g + co, rem);
        const v128_t y01 = two_x ? load_channels(g + CO + co, rem) : zero;
        const v128_t y10 = two_y ? load_channels(g + OW * CO + co, rem) : zero;
        const v128_t y11 = two_x && two_y ? load_channels(g + (OW + 1) * CO + co, rem) : zero;
        /* rows: r[i][j] = (A y)[i][j] */
        const v128_t r[4][2] = {{y00, y01}, {wasm_f32x4_add(y00, y10), wasm_f32x4_add(y01, y11)},
                                {wasm_f32x4_sub(y00, y10), wasm_f32x4_sub(y01, y11)}, {wasm_f32x4_neg(y10), wasm_f32x4_neg(y11)}};
        for (int i = 0; i < 4; i++) {
          float *w = Wd + (i * 4 * TC + t) * COP + co;
          wasm_v128_store(w, r[i][0]);
          wasm_v128_store(w + TC * COP, wasm_f32x4_add(r[i][0], r[i][1]));
          wasm_v128_store(w + 2 * TC * COP, wasm_f32x4_sub(r[i][0], r[i][1]));
          wasm_v128_store(w + 3 * TC * COP, wasm_f32x4_neg(r[i][1]));
        }
      }
    }
    /* dU[xi] (CP x COP) += V[xi]^T (CP x nr) Wd[xi] (nr x COP) */
    for (int xi = 0; xi < 16; xi++) {
      const float *Vx = V + xi * TC * CP, *Wx = Wd + xi * TC * COP;
      float *Ux = dU + xi * CP * COP;
      for (int c0 = 0; c0 < CP; c0 += 6) {
        /* six rows c0 .. c0+5; rows past CP repeat the last one and are not stored */
        const int r1 = c0 + 1 < CP ? c0 + 1 : CP - 1, r2 = c0 + 2 < CP ? c0 + 2 : CP - 1, r3 = c0 + 3 < CP ? c0 + 3 : CP - 1;
        const int r4 = c0 + 4 < CP ? c0 + 4 : CP - 1, r5 = c0 + 5 < CP ? c0 + 5 : CP - 1;
        const int rows = CP - c0 < 6 ? CP - c0 : 6;
        int co = 0;
        for (; co + 8 <= COP; co += 8) {
          v128_t c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
          const float *a = Vx, *w = Wx + co;
          for (int t = 0; t < nr; t++, a += CP, w += COP) {
            const v128_t b0 = wasm_v128_load(w), b1 = wasm_v128_load(w + 4);
            MAC2(a[c0], c00, c01) MAC2(a[r1], c10, c11) MAC2(a[r2], c20, c21)
            MAC2(a[r3], c30, c31) MAC2(a[r4], c40, c41) MAC2(a[r5], c50, c51)
          }
          const v128_t acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
          for (int r = 0; r < rows; r++) {
            float *u = Ux + (c0 + r) * COP + co;
            wasm_v128_store(u, wasm_f32x4_add(wasm_v128_load(u), acc[r][0]));
            wasm_v128_store(u + 4, wasm_f32x4_add(wasm_v128_load(u + 4), acc[r][1]));
          }
        }
        if (co < COP) {
          v128_t c0v = zero, c1v = zero, c2v = zero, c3v = zero, c4v = zero, c5v = zero;
          const float *a = Vx, *w = Wx + co;
          for (int t = 0; t < nr; t++, a += CP, w += COP) {
            const v128_t b0 = wasm_v128_load(w);
            MAC1(a[c0], c0v) MAC1(a[r1], c1v) MAC1(a[r2], c2v) MAC1(a[r3], c3v) MAC1(a[r4], c4v) MAC1(a[r5], c5v)
          }
          const v128_t acc[6] = {c0v, c1v, c2v, c3v, c4v, c5v};
          for (int r = 0; r < rows; r++) {
            float *u = Ux + (c0 + r) * COP + co;
            wasm_v128_store(u, wasm_f32x4_add(wasm_v128_load(u), acc[r]));
          }
        }
      }
    }
  }
  /* dw[i][j][c][co] = (G^T dU G)[i][j], G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1] */
  for (int c = 0; c < C; c++)
    for (int co = 0; co < CO; co++) {
#define DU(k, l) dU[((k) * 4 + (l)) * CP * COP + c * COP + co]
      for (int i = 0; i < 3; i++) {
        /* q[l] = (G^T dU)[i][l] */
        float q0, q1, q2, q3;
        if (i == 0) { q0 = DU(0, 0) + 0.5f * (DU(1, 0) + DU(2, 0)); q1 = DU(0, 1) + 0.5f * (DU(1, 1) + DU(2, 1)); q2 = DU(0, 2) + 0.5f * (DU(1, 2) + DU(2, 2)); q3 = DU(0, 3) + 0.5f * (DU(1, 3) + DU(2, 3)); }
        else if (i == 1) { q0 = 0.5f * (DU(1, 0) - DU(2, 0)); q1 = 0.5f * (DU(1, 1) - DU(2, 1)); q2 = 0.5f * (DU(1, 2) - DU(2, 2)); q3 = 0.5f * (DU(1, 3) - DU(2, 3)); }
        else { q0 = 0.5f * (DU(1, 0) + DU(2, 0)) + DU(3, 0); q1 = 0.5f * (DU(1, 1) + DU(2, 1)) + DU(3, 1); q2 = 0.5f * (DU(1, 2) + DU(2, 2)) + DU(3, 2); q3 = 0.5f * (DU(1, 3) + DU(2, 3)) + DU(3, 3); }
        float *d = dw + (i * 3) * C * CO + c * CO + co;
        d[0] = q0 + 0.5f * (q1 + q2);
        d[C * CO] = 0.5f * (q1 - q2);
        d[2 * C * CO] = 0.5f * (q1 + q2) + q3;
      }
#undef DU
    }
}

/*
 * out[b, s_h*a + qh, s_w*c + qw, :] = sub[b, a, c, :] for a < AH, c < AW (rows and columns of out past H, W skipped): one
 * phase of a strided transposed convolution written into its place in the full input gradient (C channels per pixel).
 */
EXPORT(lopper_interleave)
void lopper_interleave(const float *sub, float *out, int B, int AH, int AW, int H, int W, int C, int sh, int sw, int qh, int qw) {
  for (int b = 0; b < B; b++)
    for (int a = 0; a < AH; a++) {
      const int y = sh * a + qh;
      if (y >= H) break;
      for (int c = 0; c < AW; c++) {
        const int x = sw * c + qw;
        if (x >= W) break;
        const float *s = sub + ((b * AH + a) * AW + c) * C;
        float *o = out + ((b * H + y) * W + x) * C;
        int k = 0;
        for (; k + 4 <= C; k += 4) wasm_v128_store(o + k, wasm_v128_load(s + k));
        for (; k < C; k++) o[k] = s[k];
      }
    }
}

/*
 * Matrix product C [M, N] = A [M, K] . B [K, N] (+ bias [N], ReLU), for the dense layers (MatMul, _FusedMatMul, and
 * BatchMatMul with transposes, whose strides these are). lopper_gemm_pack_b copies B, element (k, n) at b[k*sk + n*sn],
 * into panels of 8 columns ([N/8 rounded up][K][8], zero past N); lopper_gemm reads A's element (i, k) at a[i*sr + k*sk]
 * and keeps a 6 x 8 block of C in twelve registers: per k, two panel vectors and six broadcast A values.
 */
EXPORT(lopper_gemm_pack_b)
void lopper_gemm_pack_b(const float *b, float *bp, int K, int N, int sk, int sn) {
  for (int n0 = 0; n0 < N; n0 += 8) {
    float *p = bp + n0 * K;
    const int nn = N - n0 < 8 ? N - n0 : 8;
    for (int k = 0; k < K; k++, p += 8) {
      const float *r = b + k * sk + n0 * sn;
      int j = 0;
      if (sn == 1 && nn == 8) { wasm_v128_store(p, wasm_v128_load(r)); wasm_v128_store(p + 4, wasm_v128_load(r + 4)); continue; }
      for (; j < nn; j++) p[j] = r[j * sn];
      for (; j < 8; j++) p[j] = 0.0f;
    }
  }
}

#define GEMM_ROW(r, L, H) if (MR > r) { const v128_t s_ = wasm_v128_load32_splat(ak + r * sr); L = MADD(s_, b0, L); H = MADD(s_, b1, H); }
#define GEMM_STORE(r, L, H) if (MR > r) { \
    v128_t l_ = wasm_f32x4_add(L, bl), h_ = wasm_f32x4_add(H, bh); \
    if (relu) { l_ = wasm_f32x4_max(l_, z); h_ = wasm_f32x4_max(h_, z); } \
    float *o_ = c + r * N; \
    if (nn == 8) { wasm_v128_store(o_, l_); wasm_v128_store(o_ + 4, h_); } \
    else { store_lanes(o_, l_, nn); if (nn > 4) store_lanes(o_ + 4, h_, nn - 4); } \
  }

/* MR (1..6) rows of A times one panel: nn (<= 8) columns of C at c (row stride N). */
static inline __attribute__((always_inline)) void gemm_block(const float *a, const float *p, const float *bias, float *c, int N, int K,
    int sr, int sk, int nn, int relu, const int MR) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  v128_t l0 = z, h0 = z, l1 = z, h1 = z, l2 = z, h2 = z, l3 = z, h3 = z, l4 = z, h4 = z, l5 = z, h5 = z;
  const float *ak = a;
  for (int k = 0; k < K; k++, p += 8, ak += sk) {
    const v128_t b0 = wasm_v128_load(p), b1 = wasm_v128_load(p + 4);
    GEMM_ROW(0, l0, h0) GEMM_ROW(1, l1, h1) GEMM_ROW(2, l2, h2) GEMM_ROW(3, l3, h3) GEMM_ROW(4, l4, h4) GEMM_ROW(5, l5, h5)
  }
  const v128_t bl = bias ? load_channels(bias, nn) : z, bh = bias && nn > 4 ? load_channels(bias + 4, nn - 4) : z;
  GEMM_STORE(0, l0, h0) GEMM_STORE(1, l1, h1) GEMM_STORE(2, l2, h2) GEMM_STORE(3, l3, h3) GEMM_STORE(4, l4, h4) GEMM_STORE(5, l5, h5)
}
#undef GEMM_ROW
#undef GEMM_STORE

EXPORT(lopper_gemm)
void lopper_gemm(const float *a, const float *bp, const float *bias, float *c, int M, int N, int K, int sr, int sk, int relu) {
  for (int n0 = 0; n0 < N; n0 += 8) {
    const float *p = bp + n0 * K;
    const int nn = N - n0 < 8 ? N - n0 : 8;
    const float *bn = bias ? bias + n0 : 0;
    int i = 0;
    for (; i + 6 <= M; i += 6) gemm_block(a + i * sr, p, bn, c + i * N + n0, N, K, sr, sk, nn, relu, 6);
    switch (M - i) {
      case 5: gemm_block(a + i * sr, p, bn, c + i * N + n0, N, K, sr, sk, nn, relu, 5); break;
      case 4: gemm_block(a + i * sr, p, bn, c + i * N + n0, N, K, sr, sk, nn, relu, 4); break;
      case 3: gemm_block(a + i * sr, p, bn, c + i * N + n0, N, K, sr, sk, nn, relu, 3); break;
      case 2: gemm_block(a + i * sr, p, bn, c + i * N + n0, N, K, sr, sk, nn, relu, 2); break;
      case 1: gemm_block(a + i * sr, p, bn, c + i * N + n0, N, K, sr, sk, nn, relu, 1); break;
      default: break;
    }
  }
}
