/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011). */
#include "fmcl/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void fm_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

void fm_rng_init(fm_rng *rng, uint64_t seed, uint32_t stream, uint32_t item) {
  rng->key[0] = (uint32_t)seed;
  rng->key[1] = (uint32_t)(seed >> 32);
  rng->counter[0] = item;
  rng->counter[1] = 0;
  rng->counter[2] = 0;
  rng->counter[3] = stream;
  rng->next = 4;
}

void fm_rng_init_step(fm_rng *rng, uint64_t seed, uint32_t stream, uint32_t item,
                      uint32_t step) {
  fm_rng_init(rng, seed, stream, item);
  rng->counter[2] = step;
}

uint32_t fm_rng_u32(fm_rng *rng) {
  if (rng->next == 4) {
    fm_philox4x32(rng->counter, rng->key, rng->words);
    rng->counter[1]++;
    rng->next = 0;
  }
  return rng->words[rng->next++];
}

double fm_rng_uniform(fm_rng *rng) { return (double)(fm_rng_u32(rng) >> 8) * (1.0 / 16777216.0); }

double fm_rng_normal(fm_rng *rng) {
  /* Box-Muller on (0, 1] x [0, 1); one of the pair is dropped to keep the stream simple. */
  double u1 = (double)((fm_rng_u32(rng) >> 8) + 1) * (1.0 / 16777216.0);
  double u2 = fm_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
