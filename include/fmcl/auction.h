/* Exact minibatch optimal transport on the device (cl/auction.cl): the assignment of a
 * batch's data points to its source points that minimizes the sum of squared distances,
 * solved by the auction algorithm in one work-group. A solve is two launches and no host
 * wait; the host reads the outcome only when it asks for the solves' record. */
#ifndef FMCL_AUCTION_H
#define FMCL_AUCTION_H

#include <stddef.h>
#include <stdint.h>

#include "fmcl/device.h"

typedef struct fm_auction fm_auction;

/* Buffers for problems of up to n_max rows. round_limit: rounds of bidding a solve may
 * take before it counts as failed (0: a default far above what batches need).
 * work_group: items bidding at once, a power of two (0: the device's choice, a reduction
 * work-group on a GPU and 1 on a CPU; tests run a GPU's shape on a CPU with it). */
fm_status fm_auction_create(fm_device *dev, int n_max, int round_limit, int work_group,
                            fm_auction **out);
void fm_auction_destroy(fm_auction *a);

/* perm[i] (n ints) = the column j of the optimal assignment of row i for
 * cost[i n + j] = |x1_i - x0_j|^2 (x1, x0: (n, dim)). The costs are rounded to
 * FM_AUCTION_RANGE(n) steps of the largest (below 15 rows, float precision is coarser);
 * the assignment is the exact optimum of the rounded costs, so its total is within n steps
 * of the true optimum. step is recorded
 * when the solve fails. Enqueued only. */
fm_status fm_auction_pair(fm_auction *a, cl_mem x1, cl_mem x0, int n, int dim, uint32_t step,
                          cl_mem perm);

/* The same for a given cost matrix (n, n) floats on the device (tests, other costs). */
fm_status fm_auction_solve(fm_auction *a, cl_mem cost, int n, uint32_t step, cl_mem perm);

/* What the solves so far did (waits for them). A failed solve (its round limit reached, a
 * cost not finite, prices out of range) still left a permutation, not an optimal one. */
typedef struct fm_auction_record {
  int failures;      /* solves that failed */
  int last_failure;  /* 1: round limit, 2: a cost not finite, 3: prices out of range */
  int first_failed_step; /* -1: none */
  int last_rounds;   /* rounds of bidding of the last solve */
} fm_auction_record;

fm_status fm_auction_read_record(fm_auction *a, fm_auction_record *out);

/* Solves known problems on the device (equal costs, and uniform random ones) and compares
 * each total with the host's exact solver: a driver's compiler may miscompile the solve
 * (Mesa 22's rusticl on llvmpipe does: its rounds stop early), and a wrong pairing must
 * never train a model. FM_OK with why "" when every answer is right; FM_OK with why saying
 * what went wrong when one is not (the caller solves on the host instead); an error only
 * when the device or the host fails. */
fm_status fm_auction_check(fm_auction *a, char *why, size_t why_size);

/* A failure code as words. */
const char *fm_auction_failure_str(int code);

#endif
