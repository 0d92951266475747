/* Counter-based random numbers (Philox4x32-10). The same function runs on the host and in
 * the kernels (cl/rng.cl), so a number depends only on (seed, stream, counter): runs are
 * reproducible, resumable and comparable across devices. */
#ifndef FMCL_RNG_H
#define FMCL_RNG_H

#include <stdint.h>

/* Streams keep the uses of one seed apart. The kernels use the same numbers. */
enum {
  FM_STREAM_INIT = 1,       /* model initialisation */
  FM_STREAM_DATA_TRAIN = 2, /* toy training set */
  FM_STREAM_DATA_TEST = 3,  /* toy held-out set */
  FM_STREAM_BATCH = 4,      /* training batch indices and times */
  FM_STREAM_NOISE = 5,      /* training source samples x0 */
  FM_STREAM_SAMPLE = 6,     /* source samples for generation */
  FM_STREAM_PROBE = 7,      /* Hutchinson probes (cl/likelihood.cl) */
  FM_STREAM_PATH_NOISE = 8, /* noise around the path (cl/path.cl) */
  FM_STREAM_SOURCE = 9,     /* source points of a training batch (cl/path.cl) */
  FM_STREAM_SOURCE_DATA = 10, /* a toy source set */
  FM_STREAM_LABEL = 11        /* label dropout (cl/path.cl) and sampled classes */
};

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
uint32_t fm_rng_u32(fm_rng *rng);
/* In [0, 1), 24 random bits, exactly as the kernels make them. */
double fm_rng_uniform(fm_rng *rng);
double fm_rng_normal(fm_rng *rng);

#endif
