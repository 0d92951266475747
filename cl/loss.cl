/* The conditional flow matching loss: L = mean over the batch of sum over dimensions of
 * (v - u)^2, its gradient dL/dv, and a running sum of L kept on the device so the host
 * reads it only when it logs. */

#ifndef FM_REDUCE_WG
#define FM_REDUCE_WG 64
#endif

/* dv = scale (v - u) with scale = 2 / n; row_loss[i] = sum_d (v - u)^2. */
__kernel void fm_cfm_loss(__global const float *v, __global const float *u, __global float *dv,
                          __global float *row_loss, uint n, uint dim, float scale) {
  uint i = get_global_id(0);
  if (i >= n) return;
  float s = 0.0f;
  for (uint d = 0; d < dim; d++) {
    size_t at = (size_t)i * dim + d;
    float diff = v[at] - u[at];
    dv[at] = scale * diff;
    s += diff * diff;
  }
  row_loss[i] = s;
}

/* acc[0] += mean(row_loss[0..n)), acc[1] += 1, and the first step whose loss is not finite
 * is kept in acc[2] (as uint bits; 0 while all are finite). One work-group of FM_REDUCE_WG
 * items; the summation order is fixed, so the result is the same on every run of the same
 * device. */
__kernel __attribute__((reqd_work_group_size(FM_REDUCE_WG, 1, 1)))
void fm_accumulate_mean(__global const float *row_loss, uint n, __global float *acc, uint step) {
  __local float part[FM_REDUCE_WG];
  uint lid = get_local_id(0);
  float s = 0.0f;
  for (uint i = lid; i < n; i += FM_REDUCE_WG) s += row_loss[i];
  part[lid] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint stride = FM_REDUCE_WG / 2; stride > 0; stride >>= 1) {
    if (lid < stride) part[lid] += part[lid + stride];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid == 0) {
    float mean = part[0] / (float)n;
    acc[0] += mean;
    acc[1] += 1.0f;
    __global uint *first_bad = (__global uint *)(acc + 2);
    if (!isfinite(mean) && *first_bad == 0) *first_bad = step;
  }
}
