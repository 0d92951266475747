/* Tangents, probes and divergences for the likelihood (cl/rng.cl comes first). Tangent
 * buffers hold k blocks of n rows of dim floats. */

/* What the runtime puts in front of this file in its program (src/kernels.c), for a
 * compiler given the file alone (clang by hand, an editor). */
#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#include "rng.cl"
#endif

/* Block d of n rows is the basis vector e_d: the exact divergence needs all dim of them. */
__kernel void fm_basis_tangents(__global float *tangents, uint n, uint dim) {
  uint i = get_global_id(0), d = get_global_id(1);
  if (i >= n || d >= dim) return;
  __global float *row = tangents + ((size_t)d * n + i) * dim;
  for (uint c = 0; c < dim; c++) row[c] = c == d ? 1.0f : 0.0f;
}

/* Rademacher probes (+1 or -1 with equal chance) for k blocks of n rows: block j, point
 * row0 + i takes bits of counter (row0 + i, j, 0, FM_STREAM_PROBE), so a point's probes do
 * not depend on the batching. Range (n, k). */
__kernel void fm_rademacher_tangents(__global float *tangents, uint n, uint dim, uint k,
                                     uint2 key, uint row0) {
  uint i = get_global_id(0), j = get_global_id(1);
  if (i >= n || j >= k) return;
  __global float *row = tangents + ((size_t)j * n + i) * dim;
  uint4 bits = (uint4)(0);
  for (uint c = 0; c < dim; c++) {
    if (c % 128 == 0) bits = fm_philox((uint4)(row0 + i, j, c / 128, FM_STREAM_PROBE), key);
    uint word = c % 128 / 32;
    uint w = word == 0 ? bits.x : word == 1 ? bits.y : word == 2 ? bits.z : bits.w;
    row[c] = (w >> (c % 32)) & 1u ? 1.0f : -1.0f;
  }
}

/* out[offset + i] = div v at point i from J tangents jt (k blocks): exact when the
 * tangents were the basis (the sum of block d's component d), else the mean over the
 * probes e of e^T J e. */
__kernel void fm_divergence(__global const float *jt, __global const float *probes,
                            __global float *out, uint offset, uint n, uint dim, uint k,
                            uint exact) {
  uint i = get_global_id(0);
  if (i >= n) return;
  float s = 0.0f;
  for (uint j = 0; j < k; j++) {
    __global const float *row = jt + ((size_t)j * n + i) * dim;
    if (exact) {
      s += row[j];
    } else {
      __global const float *e = probes + ((size_t)j * n + i) * dim;
      for (uint c = 0; c < dim; c++) s += e[c] * row[c];
    }
  }
  out[offset + i] = exact ? s : s / (float)k;
}
