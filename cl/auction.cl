/* Exact minibatch optimal transport on the device: Bertsekas' auction algorithm with
 * epsilon scaling, run by one work-group so a whole solve is one launch and the host never
 * waits for it.
 *   costs   cost[i n + j] = |x1_i - x0_j|^2 (rows: data points, columns: source points)
 *   solve   rounds the costs to integers (the largest to FM_AUCTION_RANGE(n); below 15
 *           rows float precision is coarser than that), scales them by n + 1 and runs the
 *           auction down to epsilon 1: an assignment within n epsilon of the optimum of
 *           integer costs that are multiples of n + 1 is optimal, so the result is the exact
 *           optimum of the rounded costs.
 * Rows bid in parallel (Jacobi rounds): every unassigned row bids for its best column at
 * the price that leaves it indifferent to its second best plus epsilon; each column takes
 * its highest bid (ties: the lowest row) through 32-bit atomics. Every barrier after the
 * reduction fences global and local memory: the state lives in global memory. */

#ifndef FMCL_JOINED
#include "../include/fmcl/constants.h"
#endif

/* The solve's state, n ints each, in one buffer of FM_AUCTION_STATE_ARRAYS n ints. */
#define A_PRICE 0
#define A_OWNER 1  /* row holding each column, -1 */
#define A_COL 2    /* column held by each row, -1 */
#define A_BID_COL 3
#define A_BID 4
#define A_BEST 5   /* highest bid on each column this round */
#define A_WINNER 6 /* lowest row making it */
#define A_LIST 7   /* the rows bidding this round, and those of the next */
#define A_NEXT 8

__kernel void fm_auction_costs(__global const float *x1, __global const float *x0, uint n, uint dim,
                               __global float *cost) {
  uint i = get_global_id(1), j = get_global_id(0);
  if (i >= n || j >= n) return;
  float c = 0.0f;
  for (uint d = 0; d < dim; d++) {
    float diff = x1[i * dim + d] - x0[j * dim + d];
    c += diff * diff;
  }
  cost[i * n + j] = c;
}

/* Folds value v of column j into a top two (best value b1 at column j1, second b2). */
static inline void fm_auction_keep(int v, int j, int *b1, int *j1, int *b2) {
  if (v > *b1) {
    *b2 = *b1, *b1 = v, *j1 = j;
  } else if (v > *b2) {
    *b2 = v;
  }
}

/* Row i's bid: its best column and the price it offers for it. Values are -cost - price;
 * eight columns at a time (explicit vectors, which CPU compilers keep as SIMD), the rest
 * one by one. Among tied lanes the scan starts at lane i % 8, so identical columns spread
 * over the rows that want them instead of all drawing the first. */
static inline long fm_auction_bid(__global const int *ci, __global const int *price, int n,
                                  int i, int eps, int *col) {
  int8 b1 = (int8)(INT_MIN), b2 = (int8)(INT_MIN), j1 = (int8)(0);
  int8 lane = (int8)(0, 1, 2, 3, 4, 5, 6, 7);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    int8 v = -vload8(0, ci + j) - vload8(0, price + j);
    int8 better = v > b1;
    b2 = max(b2, min(b1, v));
    b1 = max(b1, v);
    j1 = select(j1, lane + j, better);
  }
  int best = INT_MIN, second = INT_MIN, at = 0;
  int lanes1[8], lanes2[8], cols[8];
  vstore8(b1, 0, lanes1);
  vstore8(b2, 0, lanes2);
  vstore8(j1, 0, cols);
  if (j > 0)
    for (int k = 0; k < 8; k++) {
      int l = (k + i) & 7;
      fm_auction_keep(lanes1[l], cols[l], &best, &at, &second);
      fm_auction_keep(lanes2[l], cols[l], &best, &at, &second);
    }
  for (; j < n; j++) fm_auction_keep(-ci[j] - price[j], j, &best, &at, &second);
  *col = at;
  if (n == 1) second = best;
  return (long)price[at] + ((long)best - (long)second) + eps;
}

/* One work-group of a power-of-two size; range: that many items. status (4 ints, kept
 * across solves): [0] solves that failed, [1] the last failure (1: round limit, 2: a cost
 * not finite, 3: prices out of range), [2] rounds of the last solve, [3] step of the first
 * failure (-1: none). A failed solve still leaves a permutation in perm (the unassigned
 * rows take the free columns in order), never an invalid one; the host reads status and
 * turns to its own solver. */
__kernel void fm_auction_solve(__global const float *cost, int n, __global int *icost,
                               __global int *state, __global int *perm, __global int *status,
                               int round_limit, int step, __local float *scratch,
                               __local int *shared /* 4 ints */) {
  int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
  size_t nn = (size_t)n * (size_t)n;
  __global int *price = state + A_PRICE * n, *owner = state + A_OWNER * n;
  __global int *col = state + A_COL * n, *bid_col = state + A_BID_COL * n;
  __global int *bid = state + A_BID * n, *best = state + A_BEST * n;
  __global int *winner = state + A_WINNER * n;
  __global int *list = state + A_LIST * n, *next = state + A_NEXT * n;

  /* The largest cost; a cost that is NaN, infinite or negative counts as infinite. */
  float largest = 0.0f;
  for (size_t k = (size_t)lid; k < nn; k += (size_t)wg) {
    float c = cost[k];
    largest = (FM_FINITE_BITS(as_uint(c)) && c >= 0.0f) ? fmax(largest, c) : INFINITY;
  }
  scratch[lid] = largest;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int width = wg / 2; width > 0; width /= 2) {
    if (lid < width) scratch[lid] = fmax(scratch[lid], scratch[lid + width]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  largest = scratch[0];
  int range = FM_AUCTION_RANGE(n), failure = 0, rounds = 0;
  if (!FM_FINITE_BITS(as_uint(largest))) {
    failure = 2;
  } else {
    /* cost / largest first, as range / largest may overflow; costs all below FLT_MIN
     * count as equal. */
    float inverse = largest >= FLT_MIN ? 1.0f / largest : 0.0f;
    for (size_t k = (size_t)lid; k < nn; k += (size_t)wg)
      icost[k] = (int)rint(cost[k] * inverse * (float)range) * (n + 1);
    for (int j = lid; j < n; j += wg) price[j] = 0;
    int top = range * (n + 1);
    int eps = max(1, top / FM_AUCTION_FIRST_EPS);
    if (lid == 0) shared[1] = 0;
    for (;;) { /* one phase per epsilon: every row starts unassigned */
      /* Prices matter only relative to each other: starting each phase from the lowest at
       * 0 keeps them from climbing a whole cost range per phase. */
      barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
      if (lid == 0) {
        int lowest = INT_MAX;
        for (int k = 0; k < n; k++) lowest = min(lowest, price[k]);
        shared[3] = lowest;
      }
      barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
      int lowest = shared[3];
      for (int k = lid; k < n; k += wg) price[k] -= lowest;
      __global int *bidders = list, *later = next;
      for (int k = lid; k < n; k += wg) {
        col[k] = -1, owner[k] = -1;
        best[k] = INT_MIN, winner[k] = INT_MAX;
        bidders[k] = k;
      }
      if (lid == 0) shared[0] = n, shared[2] = 0;
      barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
      int left = n, stop = 0;
      for (;;) {
        /* Every item reads the round's outcome before any item writes the next one's. */
        left = shared[0], stop = shared[1];
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
        if (left == 0 || stop != 0 || rounds == round_limit) break;
        rounds++;
        if (lid == 0) shared[2] = 0;
        for (int k = lid; k < left; k += wg) {
          int i = bidders[k], j;
          long offer = fm_auction_bid(icost + (size_t)i * (size_t)n, price, n, i, eps, &j);
          if (offer > INT_MAX / 2) { /* prices stay below half the int range */
            shared[1] = 3;
            offer = INT_MAX / 2;
          }
          bid_col[i] = j, bid[i] = (int)offer;
          atomic_max(&best[j], (int)offer);
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
        for (int k = lid; k < left; k += wg) {
          int i = bidders[k];
          if (bid[i] == best[bid_col[i]]) atomic_min(&winner[bid_col[i]], i);
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
        /* Winners take their columns; the rows they displace and the rows outbid bid next. */
        for (int k = lid; k < left; k += wg) {
          int i = bidders[k], j = bid_col[i], out = i;
          if (winner[j] == i) {
            out = owner[j];
            owner[j] = i, col[i] = j, price[j] = best[j];
            if (out >= 0) col[out] = -1;
          }
          if (out >= 0) later[atomic_inc(&shared[2])] = out;
        }
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
        for (int k = lid; k < left; k += wg) {
          int j = bid_col[bidders[k]];
          best[j] = INT_MIN, winner[j] = INT_MAX;
        }
        if (lid == 0) shared[0] = shared[2];
        __global int *swap = bidders;
        bidders = later, later = swap;
        barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
      }
      if (stop != 0) failure = stop;
      else if (left > 0) failure = 1;
      if (failure || eps == 1) break;
      eps = max(1, eps / FM_AUCTION_EPS_FACTOR);
    }
  }
  barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {
    if (failure) { /* complete a permutation: free rows take the free columns in order */
      for (int k = 0; k < n; k++) owner[k] = -1;
      if (failure == 2)
        for (int k = 0; k < n; k++) col[k] = -1;
      for (int k = 0; k < n; k++)
        if (col[k] >= 0) owner[col[k]] = k;
      int free_col = 0;
      for (int k = 0; k < n; k++) {
        if (col[k] >= 0) continue;
        while (owner[free_col] >= 0) free_col++;
        col[k] = free_col, owner[free_col] = k;
      }
      status[0] += 1;
      status[1] = failure;
      if (status[3] < 0) status[3] = step;
    }
    status[2] = rounds;
  }
  barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
  for (int i = lid; i < n; i += wg) perm[i] = col[i];
}
