/* The probability path: for each batch row, draw a data point x1 and a time t, a source
 * point x0 ~ N(0, I), and write x_t and the conditional velocity u_t. Every number comes
 * from Philox at (row, block, step, stream), so a step is the same on every run. */

/* condot (Lipman et al. 2022): x_t = t x1 + (1 - (1 - sigma_min) t) x0,
 * u_t = x1 - (1 - sigma_min) x0. */
__kernel void fm_path_condot(__global const float *data, uint n_data, uint dim,
                             __global float *x_t, __global float *t_out, __global float *u,
                             uint n, uint2 key, uint step, float sigma_min) {
  uint i = get_global_id(0);
  if (i >= n) return;
  uint4 r = fm_philox((uint4)(i, 0, step, FM_STREAM_BATCH), key);
  uint idx = mul_hi(r.x, n_data); /* uniform on [0, n_data) without a modulo */
  float t = fm_uniform(r.y);
  t_out[i] = t;
  float a = t, s = 1.0f - (1.0f - sigma_min) * t, ds = -(1.0f - sigma_min);
  __global const float *x1 = data + (size_t)idx * dim;
  for (uint b = 0; 4 * b < dim; b++) {
    uint4 q = fm_philox((uint4)(i, b, step, FM_STREAM_NOISE), key);
    float2 z0 = fm_normal2(q.x, q.y), z1 = fm_normal2(q.z, q.w);
    float z[4] = {z0.x, z0.y, z1.x, z1.y};
    for (uint j = 0; j < 4 && 4 * b + j < dim; j++) {
      uint d = 4 * b + j;
      size_t at = (size_t)i * dim + d;
      x_t[at] = a * x1[d] + s * z[j];
      u[at] = x1[d] + ds * z[j];
    }
  }
}
