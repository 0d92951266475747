/* Metrics: the assignment solver against all permutations, W2 against brute force and its
 * closed forms (shifts, sorted 1-D matching), the energy distance and MMD against direct
 * formulas written here, and the refusals of bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmcl/metrics.h"
#include "support.h"

/* ---- references, written independently of src/metrics.c ---- */

/* Least total of cost (n, n) over all permutations, by recursion over the rows. */
static double brute_rec(const double *cost, int n, int row, int *used, double sum) {
  if (row == n) return sum;
  double best = INFINITY;
  for (int j = 0; j < n; j++)
    if (!used[j]) {
      used[j] = 1;
      double t = brute_rec(cost, n, row + 1, used, sum + cost[row * n + j]);
      used[j] = 0;
      if (t < best) best = t;
    }
  return best;
}

static double brute_min(const double *cost, int n) {
  int used[16] = {0};
  return brute_rec(cost, n, 0, used, 0.0);
}

static double dist2(const float *x, const float *y, int dim) {
  double s = 0;
  for (int k = 0; k < dim; k++) s += ((double)x[k] - y[k]) * ((double)x[k] - y[k]);
  return s;
}

/* Checks that assign is a permutation of 0..n-1 and that total is its cost. */
static void check_permutation(const double *cost, int n, const int *assign, double total) {
  char *seen = calloc(n, 1);
  double sum = 0;
  for (int i = 0; i < n; i++) {
    ck_assert_msg(assign[i] >= 0 && assign[i] < n, "row %d assigned to column %d", i, assign[i]);
    ck_assert_msg(!seen[assign[i]], "column %d assigned twice", assign[i]);
    seen[assign[i]] = 1;
    sum += cost[(size_t)i * n + assign[i]];
  }
  ck_assert_msg(fabs(sum - total) <= 1e-9 * (1 + fabs(sum)), "total %.17g, sum of assigned %.17g", total, sum);
  free(seen);
}

/* Shuffles the rows of x (n, dim), Fisher-Yates from a seed. */
static void shuffle_rows(float *x, int n, int dim, unsigned seed) {
  float *u = malloc(n * sizeof *u), *tmp = malloc(dim * sizeof *tmp);
  test_fill_uniform(u, n, seed, 0.0f, 1.0f);
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(u[i] * (i + 1));
    if (j > i) j = i;
    memcpy(tmp, x + i * dim, dim * sizeof *tmp);
    memcpy(x + i * dim, x + j * dim, dim * sizeof *tmp);
    memcpy(x + j * dim, tmp, dim * sizeof *tmp);
  }
  free(tmp);
  free(u);
}

/* n standard normal rows of dim, shifted by shift[k] (Box-Muller from test_fill_uniform). */
static float *gaussian(int n, int dim, unsigned seed, const float *shift) {
  float *x = malloc((size_t)n * dim * sizeof *x), *u = malloc(2 * (size_t)n * dim * sizeof *u);
  test_fill_uniform(u, 2 * (size_t)n * dim, seed, 0.0f, 1.0f);
  for (int m = 0; m < n * dim; m++) {
    double r = sqrt(-2.0 * log(1.0 - u[2 * m])), a = 2.0 * 3.14159265358979 * u[2 * m + 1];
    x[m] = (float)(r * cos(a)) + shift[m % dim];
  }
  free(u);
  return x;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- assignment ---- */

START_TEST(assignment_matches_brute_force_on_small_matrices) {
  double cost[49];
  float u[49];
  int assign[7];
  unsigned seed = 1;
  for (int n = 1; n <= 7; n++)
    for (int kind = 0; kind < 3; kind++)
      for (int rep = 0; rep < 60; rep++, seed++) {
        test_fill_uniform(u, n * n, seed, -1.0f, 1.0f);
        for (int k = 0; k < n * n; k++) {
          if (kind == 0) cost[k] = 10.0 * u[k];              /* continuous, signed */
          else if (kind == 1) cost[k] = floor(3.0 * u[k]);   /* -3..2: many ties */
          else cost[k] = 1e6 * u[k] * u[k] * u[k] - 5e5;     /* wide range, negative */
        }
        double total;
        ck_fm(fm_assignment_solve(cost, n, assign, &total, NULL));
        check_permutation(cost, n, assign, total);
        double want = brute_min(cost, n);
        ck_assert_msg(fabs(total - want) <= 1e-9 * (1 + fabs(want)),
                      "n %d kind %d seed %u: total %.17g, brute force %.17g", n, kind, seed, total, want);
      }
}
END_TEST

START_TEST(assignment_workspace_is_reusable_and_refuses_a_larger_n) {
  fm_assignment *ws;
  ck_fm(fm_assignment_create(7, &ws));
  double cost[64];
  float u[64];
  int assign[8];
  for (int rep = 0; rep < 40; rep++) {
    int n = 1 + rep % 7;
    test_fill_uniform(u, n * n, 500 + rep, 0.0f, 4.0f);
    for (int k = 0; k < n * n; k++) cost[k] = u[k];
    double total;
    ck_fm(fm_assignment_run(ws, cost, n, assign, &total));
    check_permutation(cost, n, assign, total);
    ck_assert_msg(fabs(total - brute_min(cost, n)) <= 1e-9, "rep %d (n %d)", rep, n);
  }
  ck_assert_int_eq(fm_assignment_run(ws, cost, 8, assign, NULL), FM_ERR_INVALID);
  ck_assert_msg(strstr(fm_error_message(), "n_max 7"), "%s", fm_error_message());
  fm_assignment_destroy(ws);
  fm_assignment_destroy(NULL);
  ck_assert_int_eq(fm_assignment_create(0, &ws), FM_ERR_INVALID);
  ck_assert_ptr_null(ws);
}
END_TEST

START_TEST(assignment_refuses_a_non_finite_cost_naming_the_entry) {
  double cost[16] = {0};
  int assign[4];
  cost[2 * 4 + 3] = NAN;
  ck_assert_int_eq(fm_assignment_solve(cost, 4, assign, NULL, NULL), FM_ERR_NUMERIC);
  ck_assert_msg(strstr(fm_error_message(), "cost[2][3]"), "%s", fm_error_message());
  cost[2 * 4 + 3] = -INFINITY;
  ck_assert_int_eq(fm_assignment_solve(cost, 4, assign, NULL, NULL), FM_ERR_NUMERIC);
  ck_assert_int_eq(fm_assignment_solve(cost, 0, assign, NULL, NULL), FM_ERR_INVALID);
}
END_TEST

/* Too big for brute force: checks that no exchange of two rows' columns lowers the total
 * (a condition every optimum meets) and that the total is no worse than the identity. */
START_TEST(assignment_of_2000_points_admits_no_improving_swap) {
  const int n = 2000;
  float *a = malloc(2 * n * sizeof *a), *b = malloc(2 * n * sizeof *b);
  double *cost = malloc((size_t)n * n * sizeof *cost);
  int *assign = malloc(n * sizeof *assign);
  test_fill_uniform(a, 2 * n, 71, -1.0f, 1.0f);
  test_fill_uniform(b, 2 * n, 72, -1.0f, 1.0f);
  double identity = 0;
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) cost[(size_t)i * n + j] = dist2(a + 2 * i, b + 2 * j, 2);
    identity += cost[(size_t)i * n + i];
  }
  double total, t0 = now_s();
  ck_fm(fm_assignment_solve(cost, n, assign, &total, NULL));
  fprintf(stderr, "assignment of %d x %d (2-D squared distances): %.3f s\n", n, n, now_s() - t0);
  check_permutation(cost, n, assign, total);
  ck_assert(total < identity);
  for (int i = 0; i < n; i++)
    for (int k = i + 1; k < n; k++) {
      const double *ci = cost + (size_t)i * n, *ck = cost + (size_t)k * n;
      double now = ci[assign[i]] + ck[assign[k]], swapped = ci[assign[k]] + ck[assign[i]];
      ck_assert_msg(now <= swapped + 1e-12, "rows %d, %d: %.17g > %.17g swapped", i, k, now, swapped);
    }
  free(assign);
  free(cost);
  free(b);
  free(a);
}
END_TEST

/* ---- W2 ---- */

START_TEST(w2_of_a_set_with_a_shuffled_copy_is_zero) {
  const int n = 300, dim = 3;
  float *a = malloc(n * dim * sizeof *a), *b = malloc(n * dim * sizeof *b);
  test_fill_uniform(a, n * dim, 11, -2.0f, 2.0f);
  memcpy(b, a, n * dim * sizeof *a);
  shuffle_rows(b, n, dim, 12);
  double w2 = -1;
  ck_fm(fm_metrics_w2(a, b, n, dim, &w2, NULL));
  ck_assert_msg(w2 >= 0 && w2 <= 1e-12, "w2 %g", w2);
  free(b);
  free(a);
}
END_TEST

/* For b = a + s, every permutation costs sum |a_i - a_p(i)|^2 + n |s|^2 (the cross term
 * sums to zero), so W2 = |s|. The points lie on a grid of 1/1024 so that a + s is exact. */
START_TEST(w2_of_a_shifted_shuffled_copy_is_the_shift_length) {
  const int n = 400, dim = 3;
  const float s[3] = {1.25f, -2.5f, 0.75f};
  float *a = malloc(n * dim * sizeof *a), *b = malloc(n * dim * sizeof *b);
  test_fill_uniform(a, n * dim, 21, 0.0f, 4.0f);
  for (int m = 0; m < n * dim; m++) {
    a[m] = floorf(a[m] * 1024.0f) / 1024.0f;
    b[m] = a[m] + s[m % dim];
  }
  shuffle_rows(b, n, dim, 22);
  double w2, want = sqrt(1.25 * 1.25 + 2.5 * 2.5 + 0.75 * 0.75);
  ck_fm(fm_metrics_w2(a, b, n, dim, &w2, NULL));
  ck_assert_msg(fabs(w2 - want) <= 1e-12 * want, "w2 %.17g, |s| %.17g", w2, want);
  free(b);
  free(a);
}
END_TEST

START_TEST(w2_matches_brute_force_on_small_sets) {
  float a[7 * 3], b[7 * 3];
  double cost[49];
  unsigned seed = 300;
  for (int n = 1; n <= 7; n++)
    for (int dim = 1; dim <= 3; dim++)
      for (int rep = 0; rep < 10; rep++, seed += 2) {
        test_fill_uniform(a, n * dim, seed, -3.0f, 3.0f);
        test_fill_uniform(b, n * dim, seed + 1, -1.0f, 5.0f);
        for (int i = 0; i < n; i++)
          for (int j = 0; j < n; j++) cost[i * n + j] = dist2(a + i * dim, b + j * dim, dim);
        double w2, want = sqrt(brute_min(cost, n) / n);
        ck_fm(fm_metrics_w2(a, b, n, dim, &w2, NULL));
        ck_assert_msg(fabs(w2 - want) <= 1e-12 * (1 + want), "n %d dim %d: w2 %.17g, brute force %.17g",
                      n, dim, w2, want);
      }
}
END_TEST

static int cmp_float(const void *x, const void *y) {
  float p = *(const float *)x, q = *(const float *)y;
  return (p > q) - (p < q);
}

/* In one dimension the optimal coupling for a convex cost matches the sorted sets. */
START_TEST(w2_in_one_dimension_is_the_sorted_matching) {
  const int n = 500;
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  test_fill_uniform(a, n, 31, -1.0f, 1.0f);
  test_fill_uniform(b, n, 32, 0.0f, 3.0f);
  for (int i = 0; i < n; i++) b[i] = b[i] * b[i]; /* skewed, unlike a */
  double w2;
  ck_fm(fm_metrics_w2(a, b, n, 1, &w2, NULL));
  qsort(a, n, sizeof *a, cmp_float);
  qsort(b, n, sizeof *b, cmp_float);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  double want = sqrt(sum / n);
  ck_assert_msg(fabs(w2 - want) <= 1e-12 * want, "w2 %.17g, sorted %.17g", w2, want);
  free(b);
  free(a);
}
END_TEST

/* ---- energy distance and MMD ---- */

/* Direct formulas: means over ordered pairs, i != j within a set. */
static double ref_energy(const float *a, int na, const float *b, int nb, int dim) {
  double xy = 0, xx = 0, yy = 0;
  for (int i = 0; i < na; i++)
    for (int j = 0; j < nb; j++) xy += sqrt(dist2(a + i * dim, b + j * dim, dim));
  for (int i = 0; i < na; i++)
    for (int j = 0; j < na; j++)
      if (i != j) xx += sqrt(dist2(a + i * dim, a + j * dim, dim));
  for (int i = 0; i < nb; i++)
    for (int j = 0; j < nb; j++)
      if (i != j) yy += sqrt(dist2(b + i * dim, b + j * dim, dim));
  return 2 * xy / (na * nb) - xx / (na * (na - 1.0)) - yy / (nb * (nb - 1.0));
}

static double ref_mmd2(const float *a, int na, const float *b, int nb, int dim, double h) {
  double xy = 0, xx = 0, yy = 0;
  for (int i = 0; i < na; i++)
    for (int j = 0; j < nb; j++) xy += exp(-dist2(a + i * dim, b + j * dim, dim) / (2 * h * h));
  for (int i = 0; i < na; i++)
    for (int j = 0; j < na; j++)
      if (i != j) xx += exp(-dist2(a + i * dim, a + j * dim, dim) / (2 * h * h));
  for (int i = 0; i < nb; i++)
    for (int j = 0; j < nb; j++)
      if (i != j) yy += exp(-dist2(b + i * dim, b + j * dim, dim) / (2 * h * h));
  return xx / (na * (na - 1.0)) + yy / (nb * (nb - 1.0)) - 2 * xy / (na * nb);
}

#define CLOSE(got, want, rtol) (fabs((got) - (want)) <= 1e-14 + (rtol) * fabs(want))

START_TEST(energy_and_mmd_match_the_direct_formulas_and_are_symmetric) {
  float a[13 * 5], b[9 * 5];
  for (int dim = 1; dim <= 5; dim += 2)
    for (int rep = 0; rep < 4; rep++) {
      int na = 13 - rep, nb = 2 + 2 * rep;
      test_fill_uniform(a, na * dim, 40 + rep, -1.0f, 2.0f);
      test_fill_uniform(b, nb * dim, 50 + rep, -0.5f, 3.0f);
      double e, e_swapped, want = ref_energy(a, na, b, nb, dim);
      ck_fm(fm_metrics_energy(a, na, b, nb, dim, &e));
      ck_fm(fm_metrics_energy(b, nb, a, na, dim, &e_swapped));
      ck_assert_msg(CLOSE(e, want, 1e-12), "dim %d: energy %.17g, direct %.17g", dim, e, want);
      ck_assert_msg(CLOSE(e_swapped, e, 1e-12), "energy not symmetric: %.17g, %.17g", e, e_swapped);
      double m, m_swapped, mwant = ref_mmd2(a, na, b, nb, dim, 0.7);
      ck_fm(fm_metrics_mmd(a, na, b, nb, dim, 0.7, &m));
      ck_fm(fm_metrics_mmd(b, nb, a, na, dim, 0.7, &m_swapped));
      ck_assert_msg(CLOSE(m, mwant, 1e-12), "dim %d: mmd2 %.17g, direct %.17g", dim, m, mwant);
      ck_assert_msg(CLOSE(m_swapped, m, 1e-12), "mmd2 not symmetric: %.17g, %.17g", m, m_swapped);
    }
}
END_TEST

/* With the U-statistics the estimate for two identical sets is -2/n times their mean
 * pairwise distance: near zero, not zero. */
START_TEST(energy_of_identical_sets_is_minus_two_over_n_of_the_mean_distance) {
  const int n = 200, dim = 2;
  float *a = malloc(n * dim * sizeof *a);
  test_fill_uniform(a, n * dim, 61, -1.0f, 1.0f);
  double mean = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if (i != j) mean += sqrt(dist2(a + i * dim, a + j * dim, dim));
  mean /= n * (n - 1.0);
  double e;
  ck_fm(fm_metrics_energy(a, n, a, n, dim, &e));
  ck_assert_msg(CLOSE(e, -2.0 * mean / n, 1e-9), "energy %.17g, want %.17g", e, -2.0 * mean / n);
  free(a);
}
END_TEST

/* Population values for N(0, I) against N(mu, I) in dim 2, kernel bandwidth 1:
 * MMD^2 = 2 (1/3) (1 - exp(-|mu|^2 / 6)), energy = 2 E|Z + mu| - 2 E|Z| with Z ~ N(0, 2I). */
START_TEST(mmd_and_energy_separate_shifted_gaussians_and_not_two_draws) {
  const int n = 400, dim = 2;
  const float zero[2] = {0, 0}, mu[2] = {3, 0};
  float *a = gaussian(n, dim, 81, zero), *same = gaussian(n, dim, 82, zero),
        *far = gaussian(n, dim, 83, mu);
  double m_same, m_far, e_same, e_far;
  ck_fm(fm_metrics_mmd(a, n, same, n, dim, 1.0, &m_same));
  ck_fm(fm_metrics_mmd(a, n, far, n, dim, 1.0, &m_far));
  ck_fm(fm_metrics_energy(a, n, same, n, dim, &e_same));
  ck_fm(fm_metrics_energy(a, n, far, n, dim, &e_far));
  double m_pop = 2.0 / 3.0 * (1 - exp(-9.0 / 6.0));
  ck_assert_msg(fabs(m_far - m_pop) < 0.05, "mmd2 far %g, population %g", m_far, m_pop);
  ck_assert_msg(fabs(m_same) < 0.02, "mmd2 of two draws %g", m_same);
  ck_assert_msg(e_far > 1.0 && fabs(e_same) < 0.05, "energy far %g, same %g", e_far, e_same);
  free(far);
  free(same);
  free(a);
}
END_TEST

static int cmp_double(const void *x, const void *y) {
  double p = *(const double *)x, q = *(const double *)y;
  return (p > q) - (p < q);
}

START_TEST(median_distance_is_the_lower_median_of_the_pooled_pairs) {
  float a[40 * 3], b[31 * 3], pooled[71 * 3];
  double d[71 * 70 / 2];
  for (int rep = 0; rep < 6; rep++) {
    int na = 40 - 5 * rep, nb = 1 + 6 * rep, dim = 1 + rep % 3, n = na + nb;
    test_fill_uniform(a, na * dim, 90 + rep, -1.0f, 1.0f);
    test_fill_uniform(b, nb * dim, 95 + rep, 0.0f, 2.0f);
    if (rep % 2) /* coarse grid: many equal distances */
      for (int m = 0; m < na * dim; m++) a[m] = roundf(a[m] * 2.0f);
    memcpy(pooled, a, na * dim * sizeof *a);
    memcpy(pooled + na * dim, b, nb * dim * sizeof *b);
    int pairs = 0;
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++) d[pairs++] = sqrt(dist2(pooled + i * dim, pooled + j * dim, dim));
    qsort(d, pairs, sizeof *d, cmp_double);
    double median;
    ck_fm(fm_metrics_median_distance(a, na, b, nb, dim, &median));
    ck_assert_msg(median == d[(pairs - 1) / 2], "rep %d: median %.17g, sorted %.17g", rep, median,
                  d[(pairs - 1) / 2]);
    if (na >= 2 && nb >= 2) { /* bandwidth 0 picks the median */
      double m0, m;
      ck_fm(fm_metrics_mmd(a, na, b, nb, dim, 0.0, &m0));
      ck_fm(fm_metrics_mmd(a, na, b, nb, dim, median, &m));
      ck_assert_msg(m0 == m, "rep %d: mmd2 %.17g with bandwidth 0, %.17g with the median", rep, m0, m);
    }
  }
}
END_TEST

START_TEST(median_heuristic_refuses_coincident_points) {
  float a[10 * 2] = {0}, b[10 * 2] = {0};
  b[0] = 1.0f;
  double m;
  ck_assert_int_eq(fm_metrics_mmd(a, 10, b, 10, 2, 0.0, &m), FM_ERR_INVALID);
  ck_assert_msg(strstr(fm_error_message(), "positive bandwidth"), "%s", fm_error_message());
  ck_assert_int_eq(fm_metrics_mmd(a, 10, b, 10, 2, NAN, &m), FM_ERR_INVALID);
}
END_TEST

/* ---- refusals ---- */

START_TEST(metrics_refuse_non_finite_points_naming_the_set_and_row) {
  float a[20 * 2], b[20 * 2];
  test_fill_uniform(a, 40, 1, 0.0f, 1.0f);
  test_fill_uniform(b, 40, 2, 0.0f, 1.0f);
  double out;
  b[17 * 2 + 1] = NAN;
  ck_assert_int_eq(fm_metrics_w2(a, b, 20, 2, &out, NULL), FM_ERR_NUMERIC);
  ck_assert_msg(strstr(fm_error_message(), "set b, row 17"), "%s", fm_error_message());
  ck_assert_int_eq(fm_metrics_energy(a, 20, b, 20, 2, &out), FM_ERR_NUMERIC);
  ck_assert_msg(strstr(fm_error_message(), "set b, row 17"), "%s", fm_error_message());
  b[17 * 2 + 1] = 0.5f;
  a[3 * 2] = INFINITY;
  ck_assert_int_eq(fm_metrics_mmd(a, 20, b, 20, 2, 1.0, &out), FM_ERR_NUMERIC);
  ck_assert_msg(strstr(fm_error_message(), "set a, row 3"), "%s", fm_error_message());
  ck_assert_int_eq(fm_metrics_median_distance(a, 20, b, 20, 2, &out), FM_ERR_NUMERIC);
  ck_assert_msg(strstr(fm_error_message(), "set a, row 3"), "%s", fm_error_message());
}
END_TEST

START_TEST(metrics_refuse_bad_sizes_and_w2_over_its_limit) {
  const int n = FM_W2_MAX_POINTS + 1;
  float *a = calloc((size_t)n * 2, sizeof *a);
  double out;
  ck_assert_int_eq(fm_metrics_w2(a, a, n, 2, &out, NULL), FM_ERR_INVALID);
  char limit[32];
  snprintf(limit, sizeof limit, "(%d)", FM_W2_MAX_POINTS);
  ck_assert_msg(strstr(fm_error_message(), limit) && strstr(fm_error_message(), "O(n^3)"), "%s",
                fm_error_message());
  ck_assert_int_eq(fm_metrics_w2(a, a, 0, 2, &out, NULL), FM_ERR_INVALID);
  ck_assert_int_eq(fm_metrics_w2(a, a, 5, 0, &out, NULL), FM_ERR_INVALID);
  ck_assert_int_eq(fm_metrics_energy(a, 1, a, 5, 2, &out), FM_ERR_INVALID);
  ck_assert_int_eq(fm_metrics_energy(a, 5, a, -3, 2, &out), FM_ERR_INVALID);
  ck_assert_int_eq(fm_metrics_mmd(a, 5, a, 1, 2, 1.0, &out), FM_ERR_INVALID);
  ck_assert_int_eq(fm_metrics_median_distance(a, 0, a, 5, 2, &out), FM_ERR_INVALID);
  free(a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("metrics");
  TCase *tc = tcase_create("metrics");
  tcase_add_test(tc, assignment_matches_brute_force_on_small_matrices);
  tcase_add_test(tc, assignment_workspace_is_reusable_and_refuses_a_larger_n);
  tcase_add_test(tc, assignment_refuses_a_non_finite_cost_naming_the_entry);
  tcase_add_test(tc, assignment_of_2000_points_admits_no_improving_swap);
  tcase_add_test(tc, w2_of_a_set_with_a_shuffled_copy_is_zero);
  tcase_add_test(tc, w2_of_a_shifted_shuffled_copy_is_the_shift_length);
  tcase_add_test(tc, w2_matches_brute_force_on_small_sets);
  tcase_add_test(tc, w2_in_one_dimension_is_the_sorted_matching);
  tcase_add_test(tc, energy_and_mmd_match_the_direct_formulas_and_are_symmetric);
  tcase_add_test(tc, energy_of_identical_sets_is_minus_two_over_n_of_the_mean_distance);
  tcase_add_test(tc, mmd_and_energy_separate_shifted_gaussians_and_not_two_draws);
  tcase_add_test(tc, median_distance_is_the_lower_median_of_the_pooled_pairs);
  tcase_add_test(tc, median_heuristic_refuses_coincident_points);
  tcase_add_test(tc, metrics_refuse_non_finite_points_naming_the_set_and_row);
  tcase_add_test(tc, metrics_refuse_bad_sizes_and_w2_over_its_limit);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
