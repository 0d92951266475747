/* Combinations of ODE stages, each one pass over the state (n floats): the fixed-step
 * solvers' updates, and dopri5's stages and device-side error norm. */

/* What the runtime puts in front of this file in its program (src/kernels.c), for a
 * compiler given the file alone (clang by hand, an editor). */
#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#include "reduce.cl"
#endif

/* y = x + h k (Euler step, midpoint and Heun predictors; y may be x). */
__kernel void fm_axpy(__global float *y, __global const float *x, __global const float *k,
                      float h, uint n) {
  uint i = get_global_id(0);
  if (i >= n) return;
  y[i] = x[i] + h * k[i];
}

/* x += h/2 (k1 + k2) (Heun). */
__kernel void fm_heun_update(__global float *x, __global const float *k1,
                             __global const float *k2, float h, uint n) {
  uint i = get_global_id(0);
  if (i >= n) return;
  x[i] += 0.5f * h * (k1[i] + k2[i]);
}

/* x += h/6 (k1 + 2 k2 + 2 k3 + k4) (classical Runge-Kutta). */
__kernel void fm_rk4_update(__global float *x, __global const float *k1,
                            __global const float *k2, __global const float *k3,
                            __global const float *k4, float h, uint n) {
  uint i = get_global_id(0);
  if (i >= n) return;
  x[i] += (h / 6.0f) * (k1[i] + 2.0f * (k2[i] + k3[i]) + k4[i]);
}

/* Dormand-Prince 5(4) (dopri5). The tableau lives on the host, which passes each
 * combination's coefficients already multiplied by the step size (in double, then
 * rounded once), so these kernels are plain one-pass combinations and reductions. */

/* The reductions are cl/reduce.cl's trees (that file comes first in the program). */

/* out = y + sum_{j < m} c_j k_j, m in 1..5 (unused k arguments are never read). Forms
 * the stage states y + h sum_j a_sj k_j and the 5th-order solution y + h sum_j b_j k_j. */
__kernel void fm_dopri5_stage(__global float *out, __global const float *y,
                              __global const float *k1, __global const float *k2,
                              __global const float *k3, __global const float *k4,
                              __global const float *k5, float c1, float c2, float c3,
                              float c4, float c5, uint m, uint n) {
  uint i = get_global_id(0);
  if (i >= n) return;
  float acc = c1 * k1[i];
  if (m > 1) acc += c2 * k2[i];
  if (m > 2) acc += c3 * k3[i];
  if (m > 3) acc += c4 * k4[i];
  if (m > 4) acc += c5 * k5[i];
  out[i] = y[i] + acc;
}

/* (num / scale)^2, and 0 for num == 0 (so a zero scale with a zero error is not 0/0). */
static inline float scaled_square(float num, float scale) {
  float r = num == 0.0f ? 0.0f : num / scale;
  return r * r;
}

/* Per work-group partial sums of the squared scaled error of a dopri5 step:
 *   err_i = sum_j e_j k_j[i]   (e_j = h (b_j - b*_j), j = 1, 3, 4, 5, 6, 7)
 *   partial[g] = sum over the group's i of (err_i / (atol + rtol max(|y_i|, |ynew_i|)))^2
 * Any number of groups works (each item strides over the state), so the summation order
 * depends only on n and the launch shape. Non-finite values are encoded for the host: NaN
 * when the accepted state y or its velocity k1 is not finite (an error), +Inf when only the
 * trial step is (overflow or NaN in a stage: reject and shrink the step). */
__kernel __attribute__((reqd_work_group_size(FM_REDUCE_WG, 1, 1)))
void fm_dopri5_error(__global float *partial, __global const float *y,
                     __global const float *ynew, __global const float *k1,
                     __global const float *k3, __global const float *k4,
                     __global const float *k5, __global const float *k6,
                     __global const float *k7, float e1, float e3, float e4, float e5,
                     float e6, float e7, float atol, float rtol, uint n) {
  __local float part[FM_REDUCE_WG];
  float acc = 0.0f;
  for (uint i = get_global_id(0); i < n; i += get_global_size(0)) {
    float err = e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i];
    float yi = y[i], yn = ynew[i];
    float v = scaled_square(err, atol + rtol * fmax(fabs(yi), fabs(yn)));
    if (!FM_FINITE_BITS(as_uint(yi)) || !FM_FINITE_BITS(as_uint(k1[i]))) v = NAN;
    else if (!FM_FINITE_BITS(as_uint(v)) || !FM_FINITE_BITS(as_uint(yn))) v = INFINITY;
    acc += v;
  }
  float sum = fm_group_sum(part, acc);
  if (get_local_id(0) == 0) partial[get_group_id(0)] = sum;
}

/* Per work-group partial sums of ((a_i - cb b_i) / (atol + rtol |y_i|))^2, the norms of
 * the automatic first step. NaN when a, b or y is not finite; +Inf on overflow. */
__kernel __attribute__((reqd_work_group_size(FM_REDUCE_WG, 1, 1)))
void fm_dopri5_sumsq(__global float *partial, __global const float *a,
                     __global const float *b, float cb, __global const float *y, float atol,
                     float rtol, uint n) {
  __local float part[FM_REDUCE_WG];
  float acc = 0.0f;
  for (uint i = get_global_id(0); i < n; i += get_global_size(0)) {
    float ai = a[i], bi = b[i], yi = y[i];
    float v = scaled_square(ai - cb * bi, atol + rtol * fabs(yi));
    if (!FM_FINITE_BITS(as_uint(ai)) || !FM_FINITE_BITS(as_uint(bi)) ||
        !FM_FINITE_BITS(as_uint(yi)))
      v = NAN;
    else if (!FM_FINITE_BITS(as_uint(v))) v = INFINITY;
    acc += v;
  }
  float sum = fm_group_sum(part, acc);
  if (get_local_id(0) == 0) partial[get_group_id(0)] = sum;
}

/* result[slot] = sqrt(sum(partial[0..groups)) / n): the RMS from the partial sums, in one
 * work-group so the order is fixed. */
__kernel __attribute__((reqd_work_group_size(FM_REDUCE_WG, 1, 1)))
void fm_dopri5_rms(__global float *result, __global const float *partial, uint groups, uint n,
                   uint slot) {
  __local float part[FM_REDUCE_WG];
  float acc = 0.0f;
  for (uint i = get_local_id(0); i < groups; i += FM_REDUCE_WG) acc += partial[i];
  float sum = fm_group_sum(part, acc);
  if (get_local_id(0) == 0) result[slot] = sqrt(sum / (float)n);
}
