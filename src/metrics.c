/* Sample-quality metrics: the exact W2 through the assignment solver, and the energy
 * distance and MMD as plain O(n^2) sums. Point sets are copied to double, coordinate-major,
 * so that the inner loops run over points and vectorize. */
#include "fmcl/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmcl/assignment.h"
#include "internal.h"

static fm_status check_points(const char *what, const char *set, const float *x, int n, int dim) {
  for (int i = 0; i < n; i++)
    for (int k = 0; k < dim; k++) {
      float value = x[(size_t)i * (size_t)dim + (size_t)k];
      if (!isfinite(value))
        return fm_fail(FM_ERR_NUMERIC,
                       "%s: set %s, row %d (of %d) has a non-finite coordinate (%g at column %d); "
                       "drop the row or find where the samples diverged",
                       what, set, i, n, (double)value, k);
    }
  return FM_OK;
}

/* min_points is 1, or 2 for the estimators that average over pairs of distinct points of
 * one set. */
static fm_status check_two_sets(const char *what, const float *a, int na, const float *b, int nb,
                                int dim, int min_points) {
  if (dim <= 0) return fm_fail(FM_ERR_INVALID, "%s: dim must be positive, got %d", what, dim);
  if (na < min_points || nb < min_points)
    return fm_fail(FM_ERR_INVALID, "%s: sets of %d and %d points; it needs at least %d per set%s",
                   what, na, nb, min_points,
                   min_points > 1 ? " (its within-set terms average over pairs of distinct points)" : "");
  fm_status st = check_points(what, "a", a, na, dim);
  if (st == FM_OK) st = check_points(what, "b", b, nb, dim);
  return st;
}

/* Copies the n rows of x (n, dim) into t (dim, ld) from column `at`, in double. */
static void transpose_in(const float *x, int n, int dim, double *t, int ld, int at) {
  for (int i = 0; i < n; i++)
    for (int k = 0; k < dim; k++)
      t[(size_t)k * (size_t)ld + (size_t)(at + i)] = x[(size_t)i * (size_t)dim + (size_t)k];
}

/* out[j] = |p - t_j|^2 for the count points t_j, coordinate k of t_j at t[k * ld + j]. */
static void sq_dists(const double *p, const double *t, int ld, int count, int dim, double *out) {
  for (int j = 0; j < count; j++) out[j] = 0.0;
  for (int k = 0; k < dim; k++) {
    const double *tk = t + (size_t)k * (size_t)ld;
    double pk = p[k];
    for (int j = 0; j < count; j++) {
      double diff = tk[j] - pk;
      out[j] += diff * diff;
    }
  }
}

/* Coordinates of point i of t (dim, ld) into p. */
static void gather(const double *t, int ld, int dim, int i, double *p) {
  for (int k = 0; k < dim; k++) p[k] = t[(size_t)k * (size_t)ld + (size_t)i];
}

fm_status fm_metrics_w2(const float *a, const float *b, int n, int dim, double *w2,
                        fm_stop_flag *stop) {
  const char *what = "metrics w2";
  if (n > FM_W2_MAX_POINTS)
    return fm_fail(FM_ERR_INVALID,
                   "%s: %d points per set is over FM_W2_MAX_POINTS (%d): the exact W2 takes O(n^3) "
                   "time and O(n^2) memory; subsample both sets to at most %d points",
                   what, n, FM_W2_MAX_POINTS, FM_W2_MAX_POINTS);
  fm_status st = check_two_sets(what, a, n, b, n, dim, 1);
  if (st != FM_OK) return st;
  double *cost = malloc((size_t)n * (size_t)n * sizeof *cost); /* (n, n) */
  double *bt = malloc((size_t)dim * (size_t)n * sizeof *bt);     /* (dim, n) */
  double *p = malloc((size_t)dim * sizeof *p);                   /* (dim) */
  int *assign = malloc((size_t)n * sizeof *assign);              /* (n) */
  if (!cost || !bt || !p || !assign) {
    st = fm_fail(FM_ERR_NOMEM, "%s: out of host memory for the %d x %d cost matrix", what, n, n);
    goto done;
  }
  transpose_in(b, n, dim, bt, n, 0);
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < dim; k++) p[k] = a[(size_t)i * (size_t)dim + (size_t)k];
    sq_dists(p, bt, n, n, dim, cost + (size_t)i * (size_t)n);
  }
  double total = 0.0;
  st = fm_assignment_solve(cost, n, assign, &total, stop);
  if (st != FM_OK) {
    fm_fail_context(st, "%s: ", what);
    goto done;
  }
  *w2 = sqrt(fmax(total, 0.0) / n);
done:
  free(assign);
  free(p);
  free(bt);
  free(cost);
  return st;
}

/* The kernel sums of the energy distance and the MMD share their loops: f is applied to
 * each squared distance of the pairs i < j within a set and of all pairs across. */
typedef enum pair_fn { PAIR_DISTANCE, PAIR_GAUSSIAN } pair_fn;

static void apply(pair_fn fn, double scale, double *r, int count) {
  if (fn == PAIR_DISTANCE)
    for (int j = 0; j < count; j++) r[j] = sqrt(r[j]);
  else
    for (int j = 0; j < count; j++) r[j] = exp(-r[j] * scale);
}

static double sum_of(const double *r, int count) {
  double s = 0.0;
  for (int j = 0; j < count; j++) s += r[j];
  return s;
}

/* Sums of f over the pairs: *within_a (i < j in a), *within_b (i < j in b), *cross. t is
 * (dim, na + nb), a's points first; p and r are scratch of dim and na + nb doubles. */
static void pair_sums(pair_fn fn, double scale, const double *t, int na, int nb, int dim,
                      double *p, double *r, double *within_a, double *within_b, double *cross) {
  int ld = na + nb;
  double sa = 0.0, sb = 0.0, sx = 0.0;
  for (int i = 0; i < na; i++) {
    gather(t, ld, dim, i, p);
    int count = ld - i - 1; /* the a points after i, then all of b */
    sq_dists(p, t + i + 1, ld, count, dim, r);
    apply(fn, scale, r, count);
    sa += sum_of(r, na - i - 1);
    sx += sum_of(r + (na - i - 1), nb);
  }
  for (int i = 0; i < nb; i++) {
    gather(t, ld, dim, na + i, p);
    int count = nb - i - 1;
    sq_dists(p, t + na + i + 1, ld, count, dim, r);
    apply(fn, scale, r, count);
    sb += sum_of(r, count);
  }
  *within_a = sa, *within_b = sb, *cross = sx;
}

/* The pooled sample, (dim, na + nb) in double, and scratch for pair_sums. */
static fm_status pool(const char *what, const float *a, int na, const float *b, int nb, int dim,
                      double **t, double **p, double **r) {
  int ld = na + nb;
  *t = malloc((size_t)dim * (size_t)ld * sizeof **t);
  *p = malloc((size_t)dim * sizeof **p);
  *r = malloc((size_t)ld * sizeof **r);
  if (!*t || !*p || !*r) {
    free(*t), free(*p), free(*r);
    *t = *p = *r = NULL;
    return fm_fail(FM_ERR_NOMEM, "%s: out of host memory for %d points of dim %d", what, ld, dim);
  }
  transpose_in(a, na, dim, *t, ld, 0);
  transpose_in(b, nb, dim, *t, ld, na);
  return FM_OK;
}

fm_status fm_metrics_energy(const float *a, int na, const float *b, int nb, int dim, double *e) {
  const char *what = "metrics energy";
  fm_status st = check_two_sets(what, a, na, b, nb, dim, 2);
  if (st != FM_OK) return st;
  double *t, *p, *r;
  st = pool(what, a, na, b, nb, dim, &t, &p, &r);
  if (st != FM_OK) return st;
  double sa, sb, sx;
  pair_sums(PAIR_DISTANCE, 0.0, t, na, nb, dim, p, r, &sa, &sb, &sx);
  /* Means over ordered pairs i != j: each unordered pair counts twice. */
  double xy = sx / ((double)na * nb), xx = 2.0 * sa / ((double)na * (na - 1)),
         yy = 2.0 * sb / ((double)nb * (nb - 1));
  *e = 2.0 * xy - xx - yy;
  free(r), free(p), free(t);
  return FM_OK;
}

/* Bits of a non-negative double, in the same order as its value. */
static uint64_t key_of(double value) {
  uint64_t key;
  memcpy(&key, &value, sizeof key);
  return key;
}

/* The squared distance of rank `rank` among the pairs i < j of t (dim, n), by radix
 * selection on the bits, 16 at a time from the top: each pass counts the pairs whose
 * higher bits match the prefix found so far. The distances are recomputed each pass, by
 * the same code, so they agree bit for bit. */
static double select_sq_dist(const double *t, int n, int dim, uint64_t rank, double *p, double *r,
                             uint64_t *counts /* (65536) */) {
  uint64_t prefix = 0;
  for (int shift = 48; shift >= 0; shift -= 16) {
    uint64_t high = shift == 48 ? 0 : ~UINT64_C(0) << (shift + 16);
    memset(counts, 0, 65536 * sizeof *counts);
    for (int i = 0; i < n - 1; i++) {
      gather(t, n, dim, i, p);
      int count = n - i - 1;
      sq_dists(p, t + i + 1, n, count, dim, r);
      for (int j = 0; j < count; j++) {
        uint64_t key = key_of(r[j]);
        if ((key & high) == prefix) counts[(key >> shift) & 0xFFFF]++;
      }
    }
    uint64_t bin = 0;
    while (rank >= counts[bin]) rank -= counts[bin++];
    prefix |= bin << shift;
  }
  double value;
  memcpy(&value, &prefix, sizeof value);
  return value;
}

fm_status fm_metrics_median_distance(const float *a, int na, const float *b, int nb, int dim,
                                     double *median) {
  const char *what = "metrics median distance";
  fm_status st = check_two_sets(what, a, na, b, nb, dim, 1);
  if (st != FM_OK) return st;
  double *t, *p, *r;
  st = pool(what, a, na, b, nb, dim, &t, &p, &r);
  if (st != FM_OK) return st;
  uint64_t *counts = malloc(65536 * sizeof *counts);
  if (!counts) {
    st = fm_fail(FM_ERR_NOMEM, "%s: out of host memory", what);
  } else {
    int n = na + nb;
    uint64_t pairs = (uint64_t)n * (uint64_t)(n - 1) / 2;
    *median = sqrt(select_sq_dist(t, n, dim, (pairs - 1) / 2, p, r, counts));
  }
  free(counts);
  free(r), free(p), free(t);
  return st;
}

fm_status fm_metrics_mmd(const float *a, int na, const float *b, int nb, int dim, double bandwidth,
                         double *mmd2) {
  const char *what = "metrics mmd";
  if (isnan(bandwidth) || isinf(bandwidth))
    return fm_fail(FM_ERR_INVALID,
                   "%s: bandwidth is %g; pass a positive number, or 0 for the median heuristic",
                   what, bandwidth);
  fm_status st = check_two_sets(what, a, na, b, nb, dim, 2);
  if (st != FM_OK) return st;
  if (bandwidth <= 0.0) {
    st = fm_metrics_median_distance(a, na, b, nb, dim, &bandwidth);
    if (st != FM_OK) return fm_fail_context(st, "%s: ", what);
    if (bandwidth <= 0.0)
      return fm_fail(FM_ERR_INVALID,
                     "%s: the median pairwise distance is 0 (most points coincide), so the median "
                     "heuristic gives no bandwidth; pass a positive bandwidth",
                     what);
  }
  double *t, *p, *r;
  st = pool(what, a, na, b, nb, dim, &t, &p, &r);
  if (st != FM_OK) return st;
  double sa, sb, sx;
  pair_sums(PAIR_GAUSSIAN, 1.0 / (2.0 * bandwidth * bandwidth), t, na, nb, dim, p, r, &sa, &sb, &sx);
  double xx = 2.0 * sa / ((double)na * (na - 1)), yy = 2.0 * sb / ((double)nb * (nb - 1)),
         xy = sx / ((double)na * nb);
  *mmd2 = xx + yy - 2.0 * xy;
  free(r), free(p), free(t);
  return FM_OK;
}
