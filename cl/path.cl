/* The probability path over a batch (cl/rng.cl comes first):
 *   draw     picks each row's data point x1, source point x0 and time t;
 *   combine  writes x_t = a(t) x1 + s(t) x0 (+ sigma e) and u_t = a' x1 + s' x0, pairing
 *            row i's x1 with the x0 of row perm[i] (minibatch optimal transport) or with
 *            its own.
 * An independent coupling does both in one launch (fm_path_sample_rows); minibatch optimal
 * transport draws (fm_path_draw), solves the assignment on the host, then combines
 * (fm_path_combine).
 * Every number comes from Philox at (row, block, step, stream), so a step is the same on
 * every run. */

/* What the runtime puts in front of this file in its program (src/kernels.c), for a
 * compiler given the file alone (clang by hand, an editor). */
#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#include "rng.cl"
#endif

/* a(t), s(t) and their derivatives; p = (sigma_min, beta_min, beta_max, exponent). */
static inline void fm_schedule(int kind, float4 p, float t, float *a, float *s, float *da, float *ds) {
  const float half_pi = 1.5707963268f;
  if (kind == FM_CODE_SCHED_CONDOT) {
    *a = t, *da = 1.0f;
    *s = 1.0f - (1.0f - p.x) * t, *ds = -(1.0f - p.x);
  } else if (kind == FM_CODE_SCHED_COSINE) {
    *a = sin(half_pi * t), *da = half_pi * cos(half_pi * t);
    *s = cos(half_pi * t), *ds = -half_pi * sin(half_pi * t);
  } else if (kind == FM_CODE_SCHED_LINEAR_VP) {
    /* (1 - t)(1 + t), not 1 - t^2: near t = 1 the difference would round to 0. */
    *a = t, *da = 1.0f;
    *s = sqrt((1.0f - t) * (1.0f + t)), *ds = -t / *s;
  } else if (kind == FM_CODE_SCHED_VP) {
    /* -expm1(-T), not 1 - exp(-T): near t = 1, T is tiny and s must not round to 0. */
    float r = 1.0f - t;
    float T = 0.5f * r * r * (p.z - p.y) + r * p.y, dT = -r * (p.z - p.y) - p.y;
    *a = exp(-0.5f * T), *da = -0.5f * dT * *a;
    *s = sqrt(-expm1(-T)), *ds = 0.5f * exp(-T) * dT / *s;
  } else {
    float tn = pow(t, p.w);
    *a = tn, *da = p.w * pow(t, p.w - 1.0f);
    *s = 1.0f - tn, *ds = -*da;
  }
}

/* Row i of the buffers, row r of the step's batch (the random numbers' counters use r, so
 * one rank's share of the rows is what one process draws there): x1 = data[j] with j
 * uniform; x0 ~ N(0, I), or source[j'] with j' uniform when n_source > 0 (source[j], the
 * data point's partner, when paired); t uniform on [0, 1), sigmoid(time.x + time.y z) with
 * z ~ N(0, 1), or 0 (FM_CODE_TIME_START); with labels, the row's class is
 * labels[j], or the null class -1 with chance label_dropout. */
static inline void fm_draw_row(uint i, uint r, __global const float *data, uint n_data,
                               __global const float *source, uint n_source, int paired,
                               uint dim, __global float *x0, __global float *x1, __global float *t_out,
                               uint2 key, uint step, int time_kind, float2 time,
                               __global const int *labels, int has_labels, float label_dropout,
                               __global int *row_labels) {
  uint4 b = fm_philox((uint4)(r, 0, step, FM_STREAM_BATCH), key);
  uint j = fm_mul_hi(b.x, n_data);
  if (has_labels) {
    uint4 q = fm_philox((uint4)(r, 0, step, FM_STREAM_LABEL), key);
    row_labels[i] = fm_uniform(q.x) < label_dropout ? -1 : labels[j];
  }
  float t = fm_uniform(b.y);
  if (time_kind == FM_CODE_TIME_LOGIT_NORMAL) {
    float z = fm_normal2(b.z, b.w).x;
    t = 1.0f / (1.0f + exp(-(time.x + time.y * z)));
  } else if (time_kind == FM_CODE_TIME_START) {
    t = 0.0f;
  }
  t_out[i] = t;
  __global const float *picked = data + (size_t)j * dim;
  __global float *row0 = x0 + (size_t)i * dim, *row1 = x1 + (size_t)i * dim;
  for (uint d = 0; d < dim; d++) row1[d] = picked[d];
  if (n_source > 0) {
    uint4 q = fm_philox((uint4)(r, 0, step, FM_STREAM_SOURCE), key);
    __global const float *src = source + (size_t)(paired ? j : fm_mul_hi(q.x, n_source)) * dim;
    for (uint d = 0; d < dim; d++) row0[d] = src[d];
    return;
  }
  fm_normal_row(row0, dim, r, step, FM_STREAM_NOISE, key);
}

/* x_t and u_t of row i from x1[i] and x0[perm[i]] (x0[i] when use_perm is 0), plus sigma
 * times N(0, I) noise on x_t when sigma > 0 (u_t is unchanged: the noise does not move). */
static inline void fm_combine_row(uint i, uint r, __global const float *x0,
                                  __global const float *x1,
                                  __global const float *t_in, __global const int *perm,
                                  int use_perm, __global float *x_t, __global float *u, uint dim,
                                  int sched_kind, float4 sched, float sigma, uint2 key,
                                  uint step) {
  float a, s, da, ds;
  fm_schedule(sched_kind, sched, t_in[i], &a, &s, &da, &ds);
  __global const float *p0 = x0 + (size_t)(use_perm ? perm[i] : (int)i) * dim;
  __global const float *p1 = x1 + (size_t)i * dim;
  for (uint b = 0; 4 * b < dim; b++) {
    float e[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (sigma > 0.0f) {
      uint4 q = fm_philox((uint4)(r, b, step, FM_STREAM_PATH_NOISE), key);
      float2 z0 = fm_normal2(q.x, q.y), z1 = fm_normal2(q.z, q.w);
      e[0] = z0.x, e[1] = z0.y, e[2] = z1.x, e[3] = z1.y;
    }
    for (uint j = 0; j < 4 && 4 * b + j < dim; j++) {
      uint d = 4 * b + j;
      size_t at = (size_t)i * dim + d;
      x_t[at] = a * p1[d] + s * p0[d] + sigma * e[j];
      u[at] = da * p1[d] + ds * p0[d];
    }
  }
}

#define FM_DRAW_PARAMS                                                                     \
  __global const float *data, uint n_data, __global const float *source, uint n_source,   \
      int paired, uint dim, __global float *x0, __global float *x1, __global float *t, uint n,        \
      uint first, uint2 key, uint step, int time_kind, float2 time, __global const int *labels, \
      int has_labels, float label_dropout, __global int *row_labels
#define FM_DRAW_ARGS                                                                       \
  data, n_data, source, n_source, paired, dim, x0, x1, t, key, step, time_kind, time, labels,     \
      has_labels, label_dropout, row_labels

__kernel void fm_path_draw(FM_DRAW_PARAMS) {
  uint i = get_global_id(0);
  if (i < n) fm_draw_row(i, first + i, FM_DRAW_ARGS);
}

__kernel void fm_path_combine(__global const float *x0, __global const float *x1,
                              __global const float *t, __global const int *perm, int use_perm,
                              __global float *x_t, __global float *u, uint n, uint dim,
                              int sched_kind, float4 sched, float sigma, uint first, uint2 key,
                              uint step) {
  uint i = get_global_id(0);
  if (i < n) fm_combine_row(i, first + i, x0, x1, t, perm, use_perm, x_t, u, dim, sched_kind,
                            sched, sigma, key, step);
}

/* Draw and combine of an independent coupling in one pass: the item that writes row i's
 * x0 and x1 reads them back. */
__kernel void fm_path_sample_rows(FM_DRAW_PARAMS, __global float *x_t, __global float *u,
                                  int sched_kind, float4 sched, float sigma) {
  uint i = get_global_id(0);
  if (i >= n) return;
  fm_draw_row(i, first + i, FM_DRAW_ARGS);
  fm_combine_row(i, first + i, x0, x1, t, row_labels, 0, x_t, u, dim, sched_kind, sched, sigma,
                 key, step);
}
