/* Counter-based random numbers (Philox4x32-10). The same function runs on the host and in
 * the kernels (cl/rng.cl), so a number depends only on (seed, stream, counter): runs are
 * reproducible, resumable and comparable across devices. */
#ifndef FMCL_RNG_H
#define FMCL_RNG_H

#include <stdint.h>

/* Streams (FM_STREAM_*) keep the uses of one seed apart; fmcl/constants.h lists them for
 * the host and the kernels alike. */
#include "fmcl/constants.h"

/* One Philox4x32-10 block: four 32-bit words from a 128-bit counter and a 64-bit key. */
void fm_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* A sequential host stream for one item: counter (item, block, 0, stream). */
typedef struct fm_rng {
  uint32_t key[2];
  uint32_t counter[4];
  uint32_t words[4];
  int next;
} fm_rng;

void fm_rng_init(fm_rng *rng, uint64_t seed, uint32_t stream, uint32_t item);
/* The same with the counters (item, block, step, stream) of a training step's draws. */
void fm_rng_init_step(fm_rng *rng, uint64_t seed, uint32_t stream, uint32_t item,
                      uint32_t step);
uint32_t fm_rng_u32(fm_rng *rng);
/* In [0, 1), 24 random bits, exactly as the kernels make them. */
double fm_rng_uniform(fm_rng *rng);
double fm_rng_normal(fm_rng *rng);

#endif
