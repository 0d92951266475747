/* Philox4x32-10 counter-based random numbers, bit-identical to src/rng.c. A kernel asks
 * for the block at counter (item, block, step, stream) under the key made from the seed. */
#ifndef FMCL_RNG_CL /* one copy when a file compiled alone includes it */
#define FMCL_RNG_CL

/* The high word of a * b. Spelled as a 64-bit product, not mul_hi(): PoCL builds mul_hi
 * from 16-bit pieces (about 15 instructions), while every compiler turns this into one
 * widening multiply. */
static inline uint fm_mul_hi(uint a, uint b) { return (uint)(((ulong)a * b) >> 32); }

static inline uint4 fm_philox(uint4 c, uint2 k) {
  for (int round = 0; round < 10; round++) {
    uint lo0 = 0xD2511F53u * c.x, hi0 = fm_mul_hi(0xD2511F53u, c.x);
    uint lo1 = 0xCD9E8D57u * c.z, hi1 = fm_mul_hi(0xCD9E8D57u, c.z);
    c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += (uint2)(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

/* [0, 1) with 24 random bits: exact in float. */
static inline float fm_uniform(uint r) { return (float)(r >> 8) * (1.0f / 16777216.0f); }

/* Two standard normals from two words (Box-Muller on (0, 1] x [0, 1)). */
static inline float2 fm_normal2(uint r1, uint r2) {
  float u1 = (float)((r1 >> 8) + 1u) * (1.0f / 16777216.0f);
  float u2 = fm_uniform(r2);
  float radius = sqrt(-2.0f * log(u1));
  float angle = 6.283185307f * u2;
  return (float2)(radius * cos(angle), radius * sin(angle));
}

/* fm_philox for the four counters (c0, c1 + l, c2, c3), l = 0..3, at once: lane l of word w
 * is word w of block l. Vector words let the compiler use SIMD multiplies. */
static inline void fm_philox_x4(uint c0, uint c1, uint c2, uint c3, uint2 k, uint4 *w) {
  uint4 x = (uint4)(c0), y = (uint4)(c1) + (uint4)(0, 1, 2, 3), z = (uint4)(c2), v = (uint4)(c3);
  for (int round = 0; round < 10; round++) {
    ulong4 p0 = convert_ulong4(x) * 0xD2511F53ul, p1 = convert_ulong4(z) * 0xCD9E8D57ul;
    uint4 hi0 = convert_uint4(p0 >> 32), hi1 = convert_uint4(p1 >> 32);
    uint4 lo0 = convert_uint4(p0), lo1 = convert_uint4(p1);
    x = hi1 ^ y ^ (uint4)(k.x);
    y = lo1;
    z = hi0 ^ v ^ (uint4)(k.y);
    v = lo0;
    k += (uint2)(0x9E3779B9u, 0xBB67AE85u);
  }
  w[0] = x, w[1] = y, w[2] = z, w[3] = v;
}

/* Writes dim standard normals to out: values 4b .. 4b + 3 come from the block at counter
 * (item, b, step, stream) through fm_normal2 of its words (x, y) and (z, w). Four blocks
 * at a time in float8 arithmetic, which PoCL turns into SIMD code (the scalar builtins
 * stay scalar calls). */
static inline void fm_normal_row(__global float *out, uint dim, uint item, uint step, uint stream,
                          uint2 key) {
  for (uint b = 0; 4 * b < dim; b += 4) {
    uint4 w[4];
    fm_philox_x4(item, b, step, stream, key, w);
    uint8 r1 = (uint8)(w[0], w[2]), r2 = (uint8)(w[1], w[3]);
    float8 u1 = convert_float8((r1 >> 8) + 1u) * (1.0f / 16777216.0f);
    float8 u2 = convert_float8(r2 >> 8) * (1.0f / 16777216.0f);
    float8 radius = sqrt(-2.0f * log(u1)), angle = 6.283185307f * u2, c;
    float8 s = radius * sincos(angle, &c);
    c *= radius;
    float16 z = (float16)(c.s0, s.s0, c.s4, s.s4, c.s1, s.s1, c.s5, s.s5, c.s2, s.s2, c.s6,
                          s.s6, c.s3, s.s3, c.s7, s.s7);
    uint left = dim - 4 * b;
    if (left >= 16) {
      vstore16(z, 0, out + 4 * b);
    } else {
      float tmp[16];
      vstore16(z, 0, tmp);
      for (uint j = 0; j < left; j++) out[4 * b + j] = tmp[j];
    }
  }
}

/* Fills x (n, dim) with standard normals: local row i is global row r = row0 + i, and its
 * block b comes from counter (r, b, 0, stream). */
__kernel void fm_rng_normal_rows(__global float *x, uint n, uint dim, uint2 key, uint row0,
                                 uint stream) {
  uint i = get_global_id(0);
  if (i >= n) return;
  fm_normal_row(x + (size_t)i * dim, dim, row0 + i, 0, stream, key);
}

#endif /* FMCL_RNG_CL */
