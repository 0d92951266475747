/* The thin layers on GPUs (cl/mlp.cl comes first): the input layer, whose input is only x,
 * t, the time features and the classes (at most FM_THIN_IN columns), and the output layer
 * of a low-dimensional field (at most FM_GEMM_THIN columns). A matrix product there would
 * be mostly padding, so each of these kernels does a layer's whole step at once, with the
 * column sums of the backward pass reduced in the same launch. Work-groups are
 * (FM_COLS_X, FM_COLS_Y): 16 neighbouring columns, rows of items striding over the
 * batch. */

/* What the runtime puts in front of this file in its program (src/kernels.c), for a
 * compiler given the file alone (clang by hand, an editor). */
#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#include "mlp.cl" /* and what mlp.cl takes */
#endif

/* Column p of input row i (as fm_mlp_input writes it). */
static inline float fm_input_feature(__global const float *x, float ti, int label, uint i, uint p,
                                     uint dim, uint n_freq) {
  if (p < dim) return x[(size_t)i * dim + p];
  if (p == dim) return ti;
  uint q = p - dim - 1;
  if (q < 2 * n_freq) {
    float a = 2.0f * FM_PI * (float)(q / 2 + 1) * ti;
    return q % 2 == 0 ? sin(a) : cos(a);
  }
  return (int)(q - 2 * n_freq) == label ? 1.0f : 0.0f;
}

/* The input layer: its input rows (written to input as well, for the weight gradient),
 * z = input W^T + b with W (width, in) at params[w_at], H = act(z), and D = act'(z) when
 * keep_d. The work-group's input rows are staged in local memory once. Range (width
 * rounded up, n rounded up). */
#define FM_THIN_INPUT(act)                                                                 \
  __kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))                 \
  void fm_thin_input_##act(__global const float *x, __global const float *t,              \
                           __global const int *labels, int has_labels,                    \
                           __global float *input, uint n, uint dim, uint n_freq,          \
                           uint n_classes, __global const float *params, uint w_at,       \
                           uint b_at, uint width, int keep_d, __global float *D,          \
                           __global float *H) {                                           \
    __local float rows[FM_COLS_Y * FM_THIN_IN];                                            \
    uint in = dim + 1 + 2 * n_freq + n_classes, row0 = get_group_id(1) * FM_COLS_Y;        \
    uint lid = get_local_id(1) * FM_COLS_X + get_local_id(0);                              \
    for (uint e = lid; e < FM_COLS_Y * in; e += FM_COLS_X * FM_COLS_Y) {                   \
      uint r = e / in, p = e % in, i = row0 + r;                                           \
      float v = 0.0f;                                                                      \
      if (i < n) {                                                                         \
        v = fm_input_feature(x, t[i], has_labels ? labels[i] : -1, i, p, dim, n_freq);     \
        if (get_group_id(0) == 0) input[(size_t)i * in + p] = v;                           \
      }                                                                                    \
      rows[r * FM_THIN_IN + p] = v;                                                        \
    }                                                                                      \
    barrier(CLK_LOCAL_MEM_FENCE);                                                          \
    uint j = get_global_id(0), i = get_global_id(1);                                       \
    if (i >= n || j >= width) return;                                                      \
    __global const float *w = params + w_at + (size_t)j * in;                              \
    __local const float *row = rows + get_local_id(1) * FM_THIN_IN;                        \
    float z = 0.0f;                                                                        \
    for (uint p = 0; p < in; p++) z += row[p] * w[p];                                      \
    float d;                                                                               \
    size_t at = (size_t)i * width + j;                                                     \
    H[at] = fm_act_##act(z + params[b_at + j], &d);                                        \
    if (keep_d) D[at] = d;                                                                 \
  }

FM_THIN_INPUT(silu)
FM_THIN_INPUT(relu)
FM_THIN_INPUT(tanh)
FM_THIN_INPUT(gelu)

/* The output layer: out (n, dim) = H (n, k) W^T + b for dim <= FM_GEMM_THIN, W (dim, k) at
 * params[w_at]. Each row of items shares a row of H, item x summing columns x, x + 16, ...
 * Range (FM_COLS_X, n rounded up). */
__kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))
void fm_thin_output(__global const float *H, uint n, uint k, __global const float *params,
                    uint w_at, uint b_at, uint dim, __global float *out) {
  __local float part[FM_REDUCE_WG];
  uint i = get_global_id(1), lx = get_local_id(0);
  float acc[FM_GEMM_THIN];
  for (uint c = 0; c < FM_GEMM_THIN; c++) acc[c] = 0.0f;
  if (i < n)
    for (uint p = lx; p < k; p += FM_COLS_X) {
      float h = H[(size_t)i * k + p];
      for (uint c = 0; c < dim; c++) acc[c] += h * params[w_at + c * k + p];
    }
  for (uint c = 0; c < dim; c++) {
    float s = fm_group_row_sum(part, acc[c]);
    if (lx == 0 && i < n) out[(size_t)i * dim + c] = s + params[b_at + c];
  }
}

/* The output layer's gradients: dW (dim, k) = G^T H and db = column sums of G, for G
 * (n, dim <= FM_GEMM_THIN) and H (n, k), into grads at w_at and b_at. A work-group per 16
 * columns of H sums over the whole batch; the first one writes db. Every barrier is
 * reached by every item (no barrier under a condition: PoCL mishandles some). Range (k
 * rounded up, FM_COLS_Y). */
__kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))
void fm_thin_output_grad(__global const float *G, __global const float *H, uint n, uint dim,
                         uint k, __global float *grads, uint w_at, uint b_at) {
  __local float part[FM_REDUCE_WG];
  uint j = get_global_id(0);
  int first = get_group_id(0) == 0;
  float acc[FM_GEMM_THIN], bias[FM_GEMM_THIN];
  for (uint c = 0; c < FM_GEMM_THIN; c++) acc[c] = bias[c] = 0.0f;
  for (uint i = get_local_id(1); i < n; i += FM_COLS_Y) {
    float h = j < k ? H[(size_t)i * k + j] : 0.0f;
    for (uint c = 0; c < dim; c++) {
      float g = G[(size_t)i * dim + c];
      acc[c] += g * h;
      bias[c] += g;
    }
  }
  for (uint c = 0; c < dim; c++) {
    float s = fm_group_column_sum(part, acc[c]);
    if (get_local_id(1) == 0 && j < k) grads[w_at + c * k + j] = s;
    s = fm_group_column_sum(part, bias[c]);
    if (first && get_local_id(1) == 0 && get_local_id(0) == 0) grads[b_at + c] = s;
  }
}

/* The input layer's gradients: dW (width, in) = G^T X and db = column sums of G, for G
 * (n, width) and X (n, in <= FM_THIN_IN), into grads at w_at and b_at. A work-group per 16
 * columns of G sums over the whole batch. Range (width rounded up, FM_COLS_Y). */
__kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))
void fm_thin_input_grad(__global const float *G, __global const float *X, uint n, uint width,
                        uint in, __global float *grads, uint w_at, uint b_at) {
  __local float part[FM_REDUCE_WG];
  uint j = get_global_id(0);
  float acc[FM_THIN_IN], bias = 0.0f;
  for (uint q = 0; q < FM_THIN_IN; q++) acc[q] = 0.0f;
  for (uint i = get_local_id(1); i < n; i += FM_COLS_Y) {
    float g = j < width ? G[(size_t)i * width + j] : 0.0f;
    bias += g;
    for (uint q = 0; q < in; q++) acc[q] += g * X[(size_t)i * in + q];
  }
  for (uint q = 0; q < in; q++) {
    float s = fm_group_column_sum(part, acc[q]);
    if (get_local_id(1) == 0 && j < width) grads[w_at + (size_t)j * in + q] = s;
  }
  bias = fm_group_column_sum(part, bias);
  if (get_local_id(1) == 0 && j < width) grads[b_at + j] = bias;
}

/* The gradient passed back through the output layer: G (n, k) = (dV (n, dim) W) * D, W
 * (dim, k) at params[w_at], with the first pass of G's column sums as fm_times_partials.
 * Range (k rounded up, groups FM_COLS_Y). */
__kernel __attribute__((reqd_work_group_size(FM_COLS_X, FM_COLS_Y, 1)))
void fm_thin_output_back(__global const float *dV, uint n, uint dim, __global const float *params,
                         uint w_at, uint k, __global const float *D, __global float *G,
                         int want_partial, __global float *partial, uint ldp, uint at) {
  __local float part[FM_REDUCE_WG];
  uint j = get_global_id(0);
  float w[FM_GEMM_THIN], s = 0.0f;
  for (uint c = 0; c < FM_GEMM_THIN; c++) w[c] = c < dim && j < k ? params[w_at + c * k + j] : 0.0f;
  if (j < k)
    for (uint i = get_global_id(1); i < n; i += get_global_size(1)) {
      float g = 0.0f;
      for (uint c = 0; c < dim; c++) g += dV[(size_t)i * dim + c] * w[c];
      size_t e = (size_t)i * k + j;
      g *= D[e];
      G[e] = g;
      s += g;
    }
  s = fm_group_column_sum(part, s);
  if (want_partial && get_local_id(1) == 0 && j < k) partial[get_group_id(1) * ldp + at + j] = s;
}
