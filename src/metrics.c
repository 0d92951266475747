/* Sample-quality metrics: the linear assignment solver (Jonker-Volgenant), the exact W2
 * built on it, and the energy distance and MMD as plain O(n^2) sums. Point sets are copied
 * to double, coordinate-major, so that the inner loops run over points and vectorize. */
#include "fmcl/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct fm_assignment {
  int n_max;
  double *v;             /* (n) column potentials */
  double *d;             /* (n) shortest path length from the free row to each column */
  int *x;                /* (n) column of each row, -1 when free */
  int *y;                /* (n) row of each column, -1 when free */
  int *cols;             /* (n) columns ordered ready | scan | todo during a search */
  int *pred;             /* (n) row before each column on its shortest path */
  int *free_rows;        /* (n) rows left free by the initialisation */
  unsigned char *unique; /* (n) row is the column minimum of exactly one column */
};

fm_status fm_assignment_create(int n_max, fm_assignment **out) {
  *out = NULL;
  if (n_max <= 0)
    return fm_fail(FM_ERR_INVALID, "assignment: n_max must be positive, got %d", n_max);
  fm_assignment *ws = calloc(1, sizeof *ws);
  if (!ws) goto nomem;
  size_t n = (size_t)n_max;
  ws->n_max = n_max;
  ws->v = malloc(n * sizeof *ws->v);
  ws->d = malloc(n * sizeof *ws->d);
  ws->x = malloc(n * sizeof *ws->x);
  ws->y = malloc(n * sizeof *ws->y);
  ws->cols = malloc(n * sizeof *ws->cols);
  ws->pred = malloc(n * sizeof *ws->pred);
  ws->free_rows = malloc(n * sizeof *ws->free_rows);
  ws->unique = malloc(n * sizeof *ws->unique);
  if (!ws->v || !ws->d || !ws->x || !ws->y || !ws->cols || !ws->pred || !ws->free_rows ||
      !ws->unique)
    goto nomem;
  *out = ws;
  return FM_OK;
nomem:
  fm_assignment_destroy(ws);
  return fm_fail(FM_ERR_NOMEM, "assignment: out of host memory for a workspace of n_max %d", n_max);
}

void fm_assignment_destroy(fm_assignment *ws) {
  if (!ws) return;
  free(ws->v);
  free(ws->d);
  free(ws->x);
  free(ws->y);
  free(ws->cols);
  free(ws->pred);
  free(ws->free_rows);
  free(ws->unique);
  free(ws);
}

/* Column reduction and reduction transfer (JV section 4.1): v[j] is the column minimum and
 * each column goes to the row of its minimum if that row is still free; a row that won a
 * single column hands that column the gap to its second-best reduced cost, which keeps
 * every reduced cost non-negative and makes later searches shorter. Returns the number of
 * free rows. Row potentials stay implicit: u[i] = c[i][x[i]] - v[x[i]]. JV's next step,
 * augmenting row reduction, is left out: on squared distances between 2-D points it lowers
 * potentials in tiny steps and made n = 2000 nine times slower (3.0 s against 0.35 s). */
static int reduce_columns(fm_assignment *ws, const double *c, int n) {
  double *v = ws->v;
  int *x = ws->x, *y = ws->y;
  for (int j = 0; j < n; j++) v[j] = c[j], y[j] = 0;
  for (int i = 1; i < n; i++) {
    const double *ci = c + (size_t)i * (size_t)n;
    for (int j = 0; j < n; j++)
      if (ci[j] < v[j]) v[j] = ci[j], y[j] = i;
  }
  for (int i = 0; i < n; i++) x[i] = -1, ws->unique[i] = 1;
  for (int j = n - 1; j >= 0; j--) {
    int i = y[j];
    if (x[i] < 0) {
      x[i] = j;
    } else {
      ws->unique[i] = 0;
      y[j] = -1;
    }
  }
  int n_free = 0;
  for (int i = 0; i < n; i++) {
    if (x[i] < 0) {
      ws->free_rows[n_free++] = i;
    } else if (ws->unique[i] && n > 1) {
      const double *ci = c + (size_t)i * (size_t)n;
      int j = x[i];
      double second = INFINITY;
      for (int k = 0; k < n; k++)
        if (k != j && ci[k] - v[k] < second) second = ci[k] - v[k];
      v[j] -= second;
    }
  }
  return n_free;
}

/* Dijkstra over columns from the free row f with reduced costs (JV section 4.3). cols
 * holds the columns in three runs: [0, lo) are done (their distance is final), [lo, hi)
 * are at the current least distance and wait to be scanned, [hi, n) are the rest. Ties
 * at the least distance are taken as a group, so a plateau is scanned once. The potentials
 * of the done columns move by their distance once, at the end. Returns the free column the
 * path ends in; pred[] holds the path. */
static int shortest_path(fm_assignment *ws, const double *c, int n, int f) {
  double *v = ws->v, *d = ws->d;
  int *cols = ws->cols, *pred = ws->pred;
  const int *y = ws->y;
  const double *cf = c + (size_t)f * (size_t)n;
  for (int j = 0; j < n; j++) cols[j] = j, pred[j] = f, d[j] = cf[j] - v[j];
  int lo = 0, hi = 0, n_done = 0, end = -1;
  double least = 0.0;
  while (end < 0) {
    if (lo == hi) {
      /* Bring the columns at the least distance to the front of the todo run. */
      n_done = lo;
      least = d[cols[lo]];
      hi = lo + 1;
      for (int k = lo + 1; k < n; k++) {
        int j = cols[k];
        if (d[j] <= least) {
          if (d[j] < least) hi = lo, least = d[j];
          cols[k] = cols[hi];
          cols[hi++] = j;
        }
      }
      for (int k = lo; k < hi; k++)
        if (y[cols[k]] < 0) {
          end = cols[k];
          break;
        }
      if (end >= 0) break;
    }
    /* Scan one column: relax the todo columns through the row assigned to it. */
    int j = cols[lo++], i = y[j];
    const double *ci = c + (size_t)i * (size_t)n;
    double h = ci[j] - v[j] - least;
    for (int k = hi; k < n; k++) {
      int jj = cols[k];
      double reduced = ci[jj] - v[jj] - h;
      if (reduced < d[jj]) {
        d[jj] = reduced;
        pred[jj] = i;
        if (reduced == least) {
          if (y[jj] < 0) {
            end = jj;
            break;
          }
          cols[k] = cols[hi];
          cols[hi++] = jj;
        }
      }
    }
  }
  for (int k = 0; k < n_done; k++) v[cols[k]] += d[cols[k]] - least;
  return end;
}

fm_status fm_assignment_run(fm_assignment *ws, const double *cost, int n, int *assign,
                            double *total) {
  if (n <= 0) return fm_fail(FM_ERR_INVALID, "assignment: n must be positive, got %d", n);
  if (n > ws->n_max)
    return fm_fail(FM_ERR_INVALID,
                   "assignment: n %d is over the workspace's n_max %d; create it with a larger n_max",
                   n, ws->n_max);
  size_t nn = (size_t)n * (size_t)n;
  for (size_t k = 0; k < nn; k++)
    if (!isfinite(cost[k]))
      return fm_fail(FM_ERR_INVALID,
                     "assignment: cost[%zu][%zu] is %g; costs must be finite (to forbid a pair, "
                     "give it a large finite cost)",
                     k / (size_t)n, k % (size_t)n, cost[k]);
  int n_free = reduce_columns(ws, cost, n);
  while (n_free > 0) {
    int f = ws->free_rows[--n_free];
    int j = shortest_path(ws, cost, n, f), i;
    do { /* flip the path: each row on it takes the column after it */
      i = ws->pred[j];
      ws->y[j] = i;
      int next = ws->x[i];
      ws->x[i] = j;
      j = next;
    } while (i != f);
  }
  double sum = 0.0;
  for (int i = 0; i < n; i++) {
    assign[i] = ws->x[i];
    sum += cost[(size_t)i * (size_t)n + (size_t)ws->x[i]];
  }
  if (total) *total = sum;
  return FM_OK;
}

fm_status fm_assignment_solve(const double *cost, int n, int *assign, double *total) {
  if (n <= 0) return fm_fail(FM_ERR_INVALID, "assignment: n must be positive, got %d", n);
  fm_assignment *ws = NULL;
  fm_status st = fm_assignment_create(n, &ws);
  if (st == FM_OK) st = fm_assignment_run(ws, cost, n, assign, total);
  fm_assignment_destroy(ws);
  return st;
}

/* ---- point sets ---- */

static fm_status check_points(const char *what, const char *set, const float *x, int n, int dim) {
  for (int i = 0; i < n; i++)
    for (int k = 0; k < dim; k++) {
      float value = x[(size_t)i * (size_t)dim + (size_t)k];
      if (!isfinite(value))
        return fm_fail(FM_ERR_INVALID,
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

fm_status fm_metrics_w2(const float *a, const float *b, int n, int dim, double *w2) {
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
  st = fm_assignment_solve(cost, n, assign, &total);
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
