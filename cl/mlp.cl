/* MLP kernels around the matrix products (cl/activation.cl and cl/reduce.cl come first):
 * the input features, bias + activation forward (keeping the activation's derivative), the
 * product with that derivative backward with the first pass of the bias gradient, and the
 * tangents of forward-mode derivatives. Matrices are row-major (rows = batch); 2-D ranges are (column, row) so no
 * kernel divides an index. */

/* What the runtime puts in front of this file in its program (src/kernels.c), for a
 * compiler given the file alone (clang by hand, an editor). */
#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#include "activation.cl"
#include "reduce.cl"
#endif

#ifndef FM_PI
#define FM_PI 3.14159265358979f
#endif

/* Input row i: [x_i (dim), t_i, sin(2 pi k t_i), cos(2 pi k t_i) for k = 1..n_freq, the
 * one-hot of class labels[i] (n_classes columns; all zero for the null class -1, or when
 * has_labels is 0)]. */
__kernel void fm_mlp_input(__global const float *x, __global const float *t,
                           __global const int *labels, int has_labels, __global float *in, uint n,
                           uint dim, uint n_freq, uint n_classes) {
  uint i = get_global_id(0);
  if (i >= n) return;
  uint width = dim + 1 + 2 * n_freq + n_classes;
  __global float *row = in + (size_t)i * width;
  for (uint d = 0; d < dim; d++) row[d] = x[(size_t)i * dim + d];
  float ti = t[i];
  row[dim] = ti;
  for (uint k = 1; k <= n_freq; k++) {
    float a = 2.0f * FM_PI * (float)k * ti;
    row[dim + 2 * k - 1] = sin(a);
    row[dim + 2 * k] = cos(a);
  }
  int label = has_labels ? labels[i] : -1;
  for (uint c = 0; c < n_classes; c++) row[dim + 1 + 2 * n_freq + c] = (int)c == label ? 1.0f : 0.0f;
}

/* With z = zd + bias (zd holding the product A W^T): h = act(z), and zd becomes act'(z),
 * which the backward pass and the tangents use. The bias is params[bias_at ...]. Range
 * (width, n). */
#define FM_BIAS_ACT(act)                                                                   \
  __kernel void fm_bias_##act(__global float *zd, __global float *h,                      \
                              __global const float *params, uint bias_at, uint n,         \
                              uint width) {                                               \
    uint j = get_global_id(0), i = get_global_id(1);                                        \
    if (j >= width || i >= n) return;                                                       \
    size_t at = (size_t)i * width + j;                                                      \
    float d;                                                                                \
    h[at] = fm_act_##act(zd[at] + params[bias_at + j], &d);                                 \
    zd[at] = d;                                                                             \
  }

FM_BIAS_ACT(silu)
FM_BIAS_ACT(relu)
FM_BIAS_ACT(tanh)
FM_BIAS_ACT(gelu)

/* g (n, width) *= d, with d = act'(z) from the forward pass: the gradient at the
 * activation's output becomes the gradient at its input. With want_partial, also the first
 * pass of its column sums (the layer's bias gradient): partial[gy ldp + at + j] over row
 * group gy's rows (items stride over n). Range (width rounded up, groups FM_COLS_Y). */
__kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))
void fm_times_partials(__global float *g, __global const float *d, uint n, uint width,
                       int want_partial, __global float *partial, uint ldp, uint at) {
  __local float part[FM_REDUCE_WG];
  uint j = get_global_id(0);
  float s = 0.0f;
  if (j < width)
    for (uint i = get_global_id(1); i < n; i += get_global_size(1)) {
      size_t e = (size_t)i * width + j;
      float v = g[e] * d[e];
      g[e] = v;
      s += v;
    }
  s = fm_group_column_sum(part, s);
  if (want_partial && get_local_id(1) == 0 && j < width)
    partial[get_group_id(1) * ldp + at + j] = s;
}

/* y (n, width) += params[bias_at ...], the output layer (no activation). Range (width, n). */
__kernel void fm_bias_add(__global float *y, __global const float *params, uint bias_at, uint n,
                          uint width) {
  uint j = get_global_id(0), i = get_global_id(1);
  if (j >= width || i >= n) return;
  y[(size_t)i * width + j] += params[bias_at + j];
}

/* dst[dst_at + c * ld + r] = src[at + r * cols + c]: a (rows, cols) block transposed, its
 * rows ld apart (ld >= rows). Work-item (c, b) moves rows 16b .. 16b + 15 of column c: 16
 * reads that neighbouring items take from neighbouring floats, one float16 write (one float
 * per item ran 3x slower on PoCL). Range (cols, ceil(rows / 16)). */
__kernel void fm_transpose(__global const float *src, uint at, __global float *dst, uint dst_at,
                           uint rows, uint cols, uint ld) {
  uint c = get_global_id(0), r0 = get_global_id(1) * 16;
  if (c >= cols || r0 >= rows) return;
  src += at + (size_t)r0 * cols + c;
  dst += dst_at + (size_t)c * ld + r0;
  if (r0 + 16 <= rows) {
    float16 v = (float16)(src[0], src[cols], src[2 * cols], src[3 * cols], src[4 * cols],
                          src[5 * cols], src[6 * cols], src[7 * cols], src[8 * cols],
                          src[9 * cols], src[10 * cols], src[11 * cols], src[12 * cols],
                          src[13 * cols], src[14 * cols], src[15 * cols]);
    vstore16(v, 0, dst);
  } else {
    for (uint r = 0; r < rows - r0; r++) dst[r] = src[(size_t)r * cols];
  }
}

/* dst[dst_at + r * ld + c] = src[at + r * cols + c]: a (rows, cols) block copied with its
 * rows ld apart. Range (cols, rows). */
__kernel void fm_copy_strided(__global const float *src, uint at, __global float *dst,
                              uint dst_at, uint rows, uint cols, uint ld) {
  uint c = get_global_id(0), r = get_global_id(1);
  if (c >= cols || r >= rows) return;
  dst[dst_at + (size_t)r * ld + c] = src[at + (size_t)r * cols + c];
}

/* Tangents for forward-mode derivatives (the divergence of v): k blocks of n rows, block j
 * row i holding the direction at point i. */

/* The input layer's tangent: [tangent of x (dim), 0 for t and the time features]. */
__kernel void fm_tangent_input(__global const float *tx, __global float *tin, uint rows,
                               uint dim, uint width) {
  uint i = get_global_id(0);
  if (i >= rows) return;
  for (uint c = 0; c < width; c++) tin[(size_t)i * width + c] = c < dim ? tx[(size_t)i * dim + c] : 0.0f;
}

/* Through a hidden activation: tangent block j, row i, times act'(z) of row i (d, from the
 * forward pass). Range (width, n). */
__kernel void fm_tangent_times(__global float *tg, __global const float *d, uint n, uint k,
                               uint width) {
  uint c = get_global_id(0), i = get_global_id(1);
  if (c >= width || i >= n) return;
  float di = d[(size_t)i * width + c];
  for (uint j = 0; j < k; j++) tg[((size_t)j * n + i) * width + c] *= di;
}

/* Layer normalisation of a residual model's stream, FM_COLS_X work-items a row and
 * FM_COLS_Y rows a work-group: with has_prev, s (n, width) += prev first (the block's skip
 * connection), then y = (s - mean(s)) r with r = 1 / sqrt(var(s) + 1e-5) (PyTorch's
 * LayerNorm, without its affine parameters: the linear layer that reads y absorbs them),
 * and r kept for the backward pass. Mean, then variance about it, for accuracy. Range
 * (FM_COLS_X, n rounded up to FM_COLS_Y). */
__kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))
void fm_norm(__global float *s, __global const float *prev, int has_prev, __global float *y,
             __global float *rstd, uint n, uint width) {
  __local float part[FM_REDUCE_WG];
  uint lx = get_local_id(0), row = get_global_id(1), live = row < n;
  size_t at = (size_t)(live ? row : 0) * width;
  s += at, y += at, prev += has_prev ? at : 0;
  float sum = 0.0f;
  for (uint c = lx; live && c < width; c += FM_COLS_X) {
    float v = s[c];
    if (has_prev) {
      v += prev[c];
      s[c] = v;
    }
    sum += v;
  }
  float mean = fm_group_row_sum(part, sum) / (float)width, sq = 0.0f;
  for (uint c = lx; live && c < width; c += FM_COLS_X) {
    float e = s[c] - mean;
    sq += e * e;
  }
  float r = rsqrt(fm_group_row_sum(part, sq) / (float)width + 1e-5f);
  for (uint c = lx; live && c < width; c += FM_COLS_X) y[c] = (s[c] - mean) * r;
  if (live && lx == 0) rstd[row] = r;
}

/* Through the normalisation, laid out as fm_norm over rows rows: out = r (g - mean(g) -
 * y mean(g y)), added to out with accumulate (the stream's gradient gathers every
 * block's). The Jacobian r (I - 1 1^T / width - y y^T / width) is symmetric, so this is
 * both the gradient at s from the gradient g at y and the tangent at y from the tangent g
 * at s. Row i of g uses row i % period of y and r (a JVP's blocks of period rows). */
__kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))
void fm_norm_back(__global const float *g, __global const float *y, __global const float *rstd,
                  __global float *out, int accumulate, uint rows, uint width, uint period) {
  __local float part[FM_REDUCE_WG];
  uint lx = get_local_id(0), row = get_global_id(1), live = row < rows;
  size_t point = live ? row % period : 0, at = (size_t)(live ? row : 0) * width;
  g += at, out += at, y += point * width;
  float sg = 0.0f, sgy = 0.0f;
  for (uint c = lx; live && c < width; c += FM_COLS_X) {
    sg += g[c];
    sgy += g[c] * y[c];
  }
  float mg = fm_group_row_sum(part, sg) / (float)width;
  float mgy = fm_group_row_sum(part, sgy) / (float)width, r = rstd[point];
  for (uint c = lx; live && c < width; c += FM_COLS_X) {
    float v = r * (g[c] - mg - y[c] * mgy);
    out[c] = accumulate ? out[c] + v : v;
  }
}
