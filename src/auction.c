/* Host side of the device's assignment solver: buffers, launches, and the record of
 * failed solves that the trainer reads when it reads the loss. */
#include "fmcl/auction.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmcl/assignment.h"
#include "internal.h"

struct fm_auction {
  fm_device *dev;
  int n_max, round_limit;
  cl_mem cost;   /* (n_max, n_max) floats */
  cl_mem icost;  /* (n_max, n_max) ints: the scaled integer costs */
  cl_mem state;  /* (FM_AUCTION_STATE_ARRAYS, n_max) ints */
  cl_mem status; /* 4 ints: see cl/auction.cl */
  cl_kernel k_costs, k_solve;
  size_t wg;     /* the solve's work-group: a power of two */
};

fm_status fm_auction_create(fm_device *dev, int n_max, int round_limit, int work_group,
                            fm_auction **out) {
  fm_status st = FM_OK;
  *out = NULL;
  if (n_max <= 0 || n_max > 16384)
    return fm_fail(FM_ERR_INVALID, "auction: batches of 1 to 16384 rows, not %d (use the host "
                   "solver, path.ot_solver=host)", n_max);
  fm_auction *a = calloc(1, sizeof *a);
  if (!a) return fm_fail(FM_ERR_NOMEM, "out of host memory for the device assignment");
  a->dev = dev;
  a->n_max = n_max;
  /* Batches of a few hundred rows take a few thousand rounds; far more is a failure. */
  a->round_limit = round_limit > 0 ? round_limit : 1000000;
  size_t n = (size_t)n_max;
  FM_TRY(fm_device_alloc(dev, n * n * sizeof(float), "ot cost matrix", &a->cost));
  FM_TRY(fm_device_alloc(dev, n * n * sizeof(int), "ot integer costs", &a->icost));
  FM_TRY(fm_device_alloc(dev, FM_AUCTION_STATE_ARRAYS * n * sizeof(int), "ot auction state",
                         &a->state));
  FM_TRY(fm_device_alloc(dev, 4 * sizeof(int), "ot auction record", &a->status));
  int fresh[4] = {0, 0, 0, -1};
  FM_TRY(fm_device_write(dev, a->status, 0, sizeof fresh, fresh));
  FM_TRY(fm_device_kernel(dev, "auction", "fm_auction_costs", &a->k_costs));
  FM_TRY(fm_device_kernel(dev, "auction", "fm_auction_solve", &a->k_solve));
  /* A GPU bids with a work-group of rows at once; a CPU runs one work-group on one core,
   * where more items only add loop overhead to every round (1 item: 14 ms a solve of 512
   * moons points, 256 items: 32 ms). */
  /* One work-group must hold the whole solve: the kernel's own limit (registers) may be
   * below the device's. */
  size_t limit = fm_device_kernel_limits(dev, a->k_solve)->max_items;
  a->wg = 1;
  if (fm_device_get_info(dev)->is_gpu)
    while (a->wg * 2 <= limit && a->wg * 2 <= FM_REDUCE_WG_MAX) a->wg *= 2;
  if (work_group > 0) {
    if ((work_group & (work_group - 1)) != 0 || (size_t)work_group > limit) {
      st = fm_fail(FM_ERR_INVALID, "auction: a work-group of %d items; a power of two up to %zu",
                   work_group, limit);
      goto fail;
    }
    a->wg = (size_t)work_group;
  }
  *out = a;
  return FM_OK;
fail:
  fm_auction_destroy(a);
  return st;
}

void fm_auction_destroy(fm_auction *a) {
  if (!a) return;
  fm_device_release(a->dev, a->cost);
  fm_device_release(a->dev, a->icost);
  fm_device_release(a->dev, a->state);
  fm_device_release(a->dev, a->status);
  free(a);
}

fm_status fm_auction_solve(fm_auction *a, cl_mem cost, int n, uint32_t step, cl_mem perm) {
  if (n <= 0 || n > a->n_max)
    return fm_fail(FM_ERR_INVALID, "auction: %d rows, room for 1 to %d", n, a->n_max);
  fm_status st = FM_OK;
  cl_kernel k = a->k_solve;
  cl_int rows = n, limit = a->round_limit, at = (cl_int)step;
  cl_uint i = 0;
  FM_CL(FM_ARG(k, i++, cost));
  FM_CL(FM_ARG(k, i++, rows));
  FM_CL(FM_ARG(k, i++, a->icost));
  FM_CL(FM_ARG(k, i++, a->state));
  FM_CL(FM_ARG(k, i++, perm));
  FM_CL(FM_ARG(k, i++, a->status));
  FM_CL(FM_ARG(k, i++, limit));
  FM_CL(FM_ARG(k, i++, at));
  FM_CL(clSetKernelArg(k, i++, a->wg * sizeof(float), NULL));
  FM_CL(clSetKernelArg(k, i++, 4 * sizeof(int), NULL));
  return fm_device_launch(a->dev, k, 1, &a->wg, &a->wg);
fail:
  return st;
}

fm_status fm_auction_pair(fm_auction *a, cl_mem x1, cl_mem x0, int n, int dim, uint32_t step,
                          cl_mem perm) {
  if (n <= 0 || n > a->n_max)
    return fm_fail(FM_ERR_INVALID, "auction: %d rows, room for 1 to %d", n, a->n_max);
  fm_status st = FM_OK;
  cl_kernel k = a->k_costs;
  cl_uint rows = (cl_uint)n, d = (cl_uint)dim, i = 0;
  FM_CL(FM_ARG(k, i++, x1));
  FM_CL(FM_ARG(k, i++, x0));
  FM_CL(FM_ARG(k, i++, rows));
  FM_CL(FM_ARG(k, i++, d));
  FM_CL(FM_ARG(k, i++, a->cost));
  size_t local[2] = {16, 16}, global[2] = {(size_t)n, (size_t)n};
  FM_TRY(fm_device_launch(a->dev, k, 2, global, local));
  return fm_auction_solve(a, a->cost, n, step, perm);
fail:
  return st;
}

fm_status fm_auction_read_record(fm_auction *a, fm_auction_record *out) {
  int s[4];
  fm_status st = fm_device_read(a->dev, a->status, 0, sizeof s, s);
  if (st != FM_OK) return st;
  out->failures = s[0];
  out->last_failure = s[1];
  out->last_rounds = s[2];
  out->first_failed_step = s[3];
  return FM_OK;
}

/* One known problem solved on the device against the host: *wrong set when the device's
 * answer fails, is not a permutation, or is not optimal. */
static fm_status check_one(fm_auction *a, const float *cost, int n, cl_mem perm, int *wrong) {
  fm_status st = FM_OK;
  size_t nn = (size_t)n * (size_t)n;
  double *c = malloc(nn * sizeof *c), largest = 0, device = 0, host = 0;
  int *got = malloc((size_t)n * sizeof *got), *used = calloc((size_t)n, sizeof *used);
  int *assign = malloc((size_t)n * sizeof *assign);
  fm_auction_record rec;
  *wrong = 0;
  if (!c || !got || !used || !assign) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory checking the device's assignment");
    goto fail;
  }
  FM_TRY(fm_device_write(a->dev, a->cost, 0, nn * sizeof(float), cost));
  FM_TRY(fm_auction_solve(a, a->cost, n, 0, perm));
  FM_TRY(fm_device_read(a->dev, perm, 0, (size_t)n * sizeof(int), got));
  FM_TRY(fm_auction_read_record(a, &rec));
  for (size_t k = 0; k < nn; k++) c[k] = cost[k], largest = fmax(largest, c[k]);
  FM_TRY(fm_assignment_solve(c, n, assign, &host, NULL));
  for (int i = 0; i < n && !*wrong; i++) {
    *wrong = got[i] < 0 || got[i] >= n || used[got[i]]++;
    if (!*wrong) device += c[(size_t)i * (size_t)n + (size_t)got[i]];
  }
  /* Within the rounding of the costs to FM_AUCTION_RANGE(n) steps of the largest. */
  if (rec.failures || fabs(device - host) > n * largest / FM_AUCTION_RANGE(n) + 1e-9 * host)
    *wrong = 1;
fail:
  free(c), free(got), free(used), free(assign);
  return st;
}

fm_status fm_auction_check(fm_auction *a, char *why, size_t why_size) {
  fm_status st = FM_OK;
  int n = a->n_max < 100 ? a->n_max : 100, wrong = 0, limit = a->round_limit;
  float *cost = malloc((size_t)n * (size_t)n * sizeof *cost);
  cl_mem perm = NULL;
  if (why_size) why[0] = '\0';
  if (!cost) return fm_fail(FM_ERR_NOMEM, "out of host memory checking the device's assignment");
  a->round_limit = 1000000; /* these problems need a few thousand rounds */
  FM_TRY(fm_device_alloc(a->dev, (size_t)n * sizeof(int), "ot check pairing", &perm));
  const char *problem = "equal costs";
  for (int k = 0; k < n * n; k++) cost[k] = 1.0f;
  FM_TRY(check_one(a, cost, n, perm, &wrong));
  if (!wrong) {
    problem = "uniform random costs";
    uint64_t x = 88172645463325252ull;
    for (int k = 0; k < n * n; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      cost[k] = (float)(x >> 40) / 16777216.0f;
    }
    FM_TRY(check_one(a, cost, n, perm, &wrong));
  }
  if (wrong)
    snprintf(why, why_size, "the device's assignment solver gave a wrong answer on a known "
             "problem (%s, %d rows) on %s (driver %s)", problem, n,
             fm_device_get_info(a->dev)->name, fm_device_get_info(a->dev)->driver);
  /* The record starts clean for the solves that count. */
  int fresh[4] = {0, 0, 0, -1};
  FM_TRY(fm_device_write(a->dev, a->status, 0, sizeof fresh, fresh));
fail:
  a->round_limit = limit;
  fm_device_release(a->dev, perm);
  free(cost);
  return st;
}

const char *fm_auction_failure_str(int code) {
  switch (code) {
  case 0: return "none";
  case 1: return "its round limit was reached";
  case 2: return "a cost was not finite (a data or source point is NaN or infinite)";
  case 3: return "its prices left the integer range";
  }
  return "unknown";
}
