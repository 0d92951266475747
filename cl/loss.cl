/* The conditional flow matching loss: L = (1 / B) sum over the batch's rows of the sum over
 * dimensions of (v - u)^2, its gradient dL/dv, and a running sum of L kept on the device so
 * the host reads it only when it logs. B is the whole batch, of which these rows may be a
 * share (one process of several). The sum is a two-pass tree (cl/reduce.cl comes first). */

/* What the runtime puts in front of this file in its program (src/kernels.c), for a
 * compiler given the file alone (clang by hand, an editor). */
#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#include "reduce.cl"
#endif

/* dv = (2 / B) (v - u) for rows i < n, and partial[g] = sum of |v_i - u_i|^2 over
 * work-group g's rows (items stride over n). */
__kernel __attribute__((reqd_work_group_size(FM_REDUCE_WG, 1, 1)))
void fm_cfm_loss(__global const float *v, __global const float *u, __global float *dv,
                 __global float *partial, uint n, uint dim, float scale) {
  __local float part[FM_REDUCE_WG];
  float s = 0.0f;
  for (uint i = get_global_id(0); i < n; i += get_global_size(0))
    for (uint d = 0; d < dim; d++) {
      size_t at = (size_t)i * dim + d;
      float diff = v[at] - u[at];
      dv[at] = scale * diff;
      s += diff * diff;
    }
  s = fm_group_sum(part, s);
  if (get_local_id(0) == 0) partial[get_group_id(0)] = s;
}

/* acc[0] += sum(partial[0..groups)) / total, acc[1] += 1, and the first step whose loss is
 * not finite is kept in acc[2] (as uint bits; 0 while all are finite). One work-group. */
__kernel __attribute__((reqd_work_group_size(FM_REDUCE_WG, 1, 1)))
void fm_accumulate_mean(__global const float *partial, uint groups, float total,
                        __global float *acc, uint step) {
  __local float part[FM_REDUCE_WG];
  float s = 0.0f;
  for (uint i = get_local_id(0); i < groups; i += FM_REDUCE_WG) s += partial[i];
  s = fm_group_sum(part, s);
  if (get_local_id(0) == 0) {
    float mean = s / total;
    acc[0] += mean;
    acc[1] += 1.0f;
    __global uint *first_bad = (__global uint *)(acc + 2);
    if (!FM_FINITE_BITS(as_uint(mean)) && *first_bad == 0) *first_bad = step;
  }
}
