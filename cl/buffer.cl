/* Buffer helpers as kernels, so every device (and the oclgrind simulator's checks) sees
 * the writes. */

/* x[offset + i] = value for i < n. */
__kernel void fm_fill(__global float *x, uint offset, uint n, float value) {
  uint i = get_global_id(0);
  if (i < n) x[offset + i] = value;
}
