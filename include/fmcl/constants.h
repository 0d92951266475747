/* Numbers the host code and the OpenCL kernels share, in one place. Only preprocessor
 * definitions, valid in C and in OpenCL C: the C side includes this header, and every
 * kernel program is built with it in front of its sources. */
#ifndef FMCL_CONSTANTS_H
#define FMCL_CONSTANTS_H

/* Random-number streams: the uses of one seed kept apart (counter word 3 of Philox). */
#define FM_STREAM_INIT 1        /* model initialisation */
#define FM_STREAM_DATA_TRAIN 2  /* toy training set */
#define FM_STREAM_DATA_TEST 3   /* toy held-out set, and a data file's split */
#define FM_STREAM_BATCH 4       /* training batch indices and times */
#define FM_STREAM_NOISE 5       /* training source samples x0 */
#define FM_STREAM_SAMPLE 6      /* source samples for generation */
#define FM_STREAM_PROBE 7       /* Hutchinson probes */
#define FM_STREAM_PATH_NOISE 8  /* noise around the path */
#define FM_STREAM_SOURCE 9      /* source points of a training batch */
#define FM_STREAM_SOURCE_DATA 10 /* a toy source set */
#define FM_STREAM_LABEL 11      /* label dropout and sampled classes */
#define FM_STREAM_PLAN 12       /* pairs drawn from the sinkhorn coupling's plan */
#define FM_STREAM_REFLOW 13     /* the source points a teacher carries to reflow pairs */
#define FM_STREAM_DEQUANTIZE 14 /* the uniform noise added to quantized held-out points */

/* The path's codes, the values of fm_scheduler and fm_time_sampling (fmcl/types.h). */
#define FM_CODE_SCHED_CONDOT 0
#define FM_CODE_SCHED_COSINE 1
#define FM_CODE_SCHED_LINEAR_VP 2
#define FM_CODE_SCHED_VP 3
#define FM_CODE_SCHED_POLYNOMIAL 4
#define FM_CODE_TIME_UNIFORM 0
#define FM_CODE_TIME_LOGIT_NORMAL 1
#define FM_CODE_TIME_START 2

/* fmcl's products for CPUs (cl/gemm.cl): a work-item computes an FM_GEMM_TILE_M x
 * FM_GEMM_TILE_N tile of C; widths up to FM_GEMM_THIN take the thin kernels. */
#define FM_GEMM_TILE_M 8
#define FM_GEMM_TILE_N 32
#define FM_GEMM_THIN 8

/* fmcl's products for GPUs (cl/gemm_gpu.cl), defaults of their -D options: a work-group of
 * FM_GPU_WG_N x FM_GPU_WG_M items computes a (FM_GPU_WG_M FM_GPU_ITEM_M) x
 * (FM_GPU_WG_N FM_GPU_ITEM_N) tile of C through FM_GPU_TILE_K-deep panels in local
 * memory. */
#define FM_GPU_DEFAULT_WG_M 16
#define FM_GPU_DEFAULT_WG_N 16
#define FM_GPU_DEFAULT_ITEM_M 4
#define FM_GPU_DEFAULT_ITEM_N 4
#define FM_GPU_DEFAULT_TILE_K 16

/* The widest input layer (x, t, time features, classes) that the GPU path computes with
 * its thin-layer kernels (cl/mlp_thin.cl) instead of a product. */
#define FM_THIN_IN 16

/* Work-group size of the tree reductions (a power of two): the programs are built with the
 * device's own value, the largest power of two up to FM_REDUCE_WG_MAX it allows. */
#define FM_REDUCE_WG_MAX 256

/* The device's assignment solver (cl/auction.cl): integer costs up to
 * FM_AUCTION_RANGE(n), times n + 1 (an eighth of the int range), keep every bid below half
 * of it; epsilon
 * starts at the largest scaled cost / FM_AUCTION_FIRST_EPS and falls by
 * FM_AUCTION_EPS_FACTOR per phase; the state is FM_AUCTION_STATE_ARRAYS arrays of n ints. */
#define FM_AUCTION_RANGE(n) (2147483647 / (8 * ((n) + 1)))
#define FM_AUCTION_FIRST_EPS 8
#define FM_AUCTION_EPS_FACTOR 8
#define FM_AUCTION_STATE_ARRAYS 9

/* Whether the bits of a float (read as a 32-bit unsigned int: as_uint in OpenCL C) are a
 * finite number. The kernels test the exponent rather than call isfinite or compare NaNs:
 * a compiler that assumes finite math may fold those away. */
#define FM_FINITE_BITS(bits) (((bits) & 0x7f800000u) != 0x7f800000u)

/* Work-groups of the first pass of a two-pass reduction, at most. */
#define FM_REDUCE_GROUPS_MAX 256

#endif
