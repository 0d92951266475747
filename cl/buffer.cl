/* Buffer helpers as kernels, so every device (and the oclgrind simulator's checks) sees
 * the writes. */

/* x[offset + i] = value for i < n. */
__kernel void fm_fill(__global float *x, uint offset, uint n, float value) {
  uint i = get_global_id(0);
  if (i < n) x[offset + i] = value;
}

/* out[i] = a x[i] + b y[i] (out may be x or y). */
__kernel void fm_combine(__global float *out, __global const float *x, __global const float *y,
                         float a, float b, uint n) {
  uint i = get_global_id(0);
  if (i < n) out[i] = a * x[i] + b * y[i];
}

/* x[offset + i] = value for i < n, for int buffers (labels). */
__kernel void fm_fill_int(__global int *x, uint offset, uint n, int value) {
  uint i = get_global_id(0);
  if (i < n) x[offset + i] = value;
}
