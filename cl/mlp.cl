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

/* dst[at + c * rows + r] = src[at + r * cols + c]: a (rows, cols) block transposed in place
 * of the same offset of another buffer. Work-item (c, b) moves rows 16b .. 16b + 15 of
 * column c: 16 reads that neighbouring items take from neighbouring floats, one float16
 * write (one float per item ran 3x slower on PoCL). Range (cols, ceil(rows / 16)). */
__kernel void fm_transpose(__global const float *src, __global float *dst, uint at, uint rows,
                           uint cols) {
  uint c = get_global_id(0), r0 = get_global_id(1) * 16;
  if (c >= cols || r0 >= rows) return;
  src += at + (size_t)r0 * cols + c;
  dst += at + (size_t)c * rows + r0;
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
