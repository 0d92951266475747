/* Philox4x32-10 counter-based random numbers, bit-identical to src/rng.c. A kernel asks
 * for the block at counter (item, block, step, stream) under the key made from the seed. */

#define FM_STREAM_BATCH 4
#define FM_STREAM_NOISE 5
#define FM_STREAM_SAMPLE 6

inline uint4 fm_philox(uint4 c, uint2 k) {
  for (int round = 0; round < 10; round++) {
    uint lo0 = 0xD2511F53u * c.x, hi0 = mul_hi(0xD2511F53u, c.x);
    uint lo1 = 0xCD9E8D57u * c.z, hi1 = mul_hi(0xCD9E8D57u, c.z);
    c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += (uint2)(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

/* [0, 1) with 24 random bits: exact in float. */
inline float fm_uniform(uint r) { return (float)(r >> 8) * (1.0f / 16777216.0f); }

/* Two standard normals from two words (Box-Muller on (0, 1] x [0, 1)). */
inline float2 fm_normal2(uint r1, uint r2) {
  float u1 = (float)((r1 >> 8) + 1u) * (1.0f / 16777216.0f);
  float u2 = fm_uniform(r2);
  float radius = sqrt(-2.0f * log(u1));
  float angle = 6.283185307f * u2;
  return (float2)(radius * cos(angle), radius * sin(angle));
}

/* Fills x (n, dim) with standard normals: local row i is global row r = row0 + i, and its
 * block b comes from counter (r, b, 0, stream). */
__kernel void fm_rng_normal_rows(__global float *x, uint n, uint dim, uint2 key, uint row0,
                                 uint stream) {
  uint i = get_global_id(0);
  if (i >= n) return;
  for (uint b = 0; 4 * b < dim; b++) {
    uint4 r = fm_philox((uint4)(row0 + i, b, 0, stream), key);
    float2 z0 = fm_normal2(r.x, r.y), z1 = fm_normal2(r.z, r.w);
    float z[4] = {z0.x, z0.y, z1.x, z1.y};
    for (uint j = 0; j < 4 && 4 * b + j < dim; j++) x[i * dim + 4 * b + j] = z[j];
  }
}
