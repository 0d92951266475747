/* The device's assignment solver against the host's Jonker-Volgenant solver: the same
 * total cost on random, tied, duplicated and structured costs at sizes that are not powers
 * of two, a permutation always, and failures recorded, never hidden. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

typedef struct outcome {
  int *perm;
  fm_auction_record record;
} outcome;

/* The work-group of the solves: the device's own (0), and 64 items bidding at once as on a
 * GPU, or as many as the kernel allows when that is fewer (set by each test's loop index). */
static int work_group;
static const int work_groups[] = {0, 64};

/* Sets work_group for loop index i; 0 (the test is skipped, saying why) when the device's
 * solver fails fm_auction_check at that work-group, whose solves fmcl then never uses. */
static int use_work_group(int i) {
  static int checked[2], trusted[2];
  fm_device *dev = test_device();
  work_group = work_groups[i];
  if (work_group) {
    cl_kernel k = NULL;
    ck_fm(fm_device_kernel(dev, "auction", "fm_auction_solve", &k));
    while ((size_t)work_group > fm_device_kernel_limits(dev, k)->max_items) work_group /= 2;
  }
  if (!checked[i] && test_device_is_simulator()) {
    checked[i] = trusted[i] = 1; /* oclgrind: minutes of solves the tests repeat anyway */
  } else if (!checked[i]) {
    fm_auction *a = NULL;
    char why[512];
    ck_fm(fm_auction_create(dev, 128, 0, work_group, &a));
    ck_fm(fm_auction_check(a, why, sizeof why));
    fm_auction_destroy(a);
    checked[i] = 1;
    trusted[i] = !why[0];
    if (why[0]) fprintf(stderr, "skipped at work-group %d: %s; fmcl solves on the host there\n",
                        work_group, why);
  }
  return trusted[i];
}

/* Solves cost (n, n) on the device with a fresh solver made for n_max rows (0: n); perm
 * is malloc'd. */
static outcome device_solve_in(const float *cost, int n, int n_max, int round_limit,
                               uint32_t step) {
  fm_device *dev = test_device();
  fm_auction *a = NULL;
  ck_fm(fm_auction_create(dev, n_max > 0 ? n_max : n, round_limit, work_group, &a));
  cl_mem c = test_upload(cost, (size_t)n * (size_t)n), perm = NULL;
  ck_fm(fm_device_alloc(dev, (size_t)n * sizeof(int), "perm", &perm));
  ck_fm(fm_auction_solve(a, c, n, step, perm));
  outcome out = {.perm = malloc((size_t)n * sizeof(int))};
  ck_fm(fm_device_read(dev, perm, 0, (size_t)n * sizeof(int), out.perm));
  ck_fm(fm_auction_read_record(a, &out.record));
  fm_device_release(dev, c);
  fm_device_release(dev, perm);
  fm_auction_destroy(a);
  return out;
}

static outcome device_solve(const float *cost, int n, int round_limit, uint32_t step) {
  return device_solve_in(cost, n, 0, round_limit, step);
}

static void assert_permutation(const int *perm, int n) {
  int *used = calloc((size_t)n, sizeof *used);
  for (int i = 0; i < n; i++) {
    ck_assert_msg(perm[i] >= 0 && perm[i] < n, "row %d got column %d of %d", i, perm[i], n);
    ck_assert_msg(used[perm[i]]++ == 0, "column %d is taken twice", perm[i]);
  }
  free(used);
}

/* The auction's total against the host's optimum: equal within the rounding of the costs
 * to FM_AUCTION_RANGE(n) steps of the largest (at most one step per row). */
static void assert_optimal_in(const float *cost, int n, int n_max, const char *what) {
  outcome got = device_solve_in(cost, n, n_max, 0, 0);
  ck_assert_msg(got.record.failures == 0, "%s, n %d, work-group %d: the solve failed (%s)", what, n, work_group,
                fm_auction_failure_str(got.record.last_failure));
  assert_permutation(got.perm, n);
  size_t nn = (size_t)n * (size_t)n;
  double *c = malloc(nn * sizeof *c), largest = 0, auction = 0, host = 0;
  for (size_t k = 0; k < nn; k++) c[k] = cost[k], largest = fmax(largest, c[k]);
  int *assign = malloc((size_t)n * sizeof *assign);
  ck_fm(fm_assignment_solve(c, n, assign, &host, NULL));
  for (int i = 0; i < n; i++) auction += c[(size_t)i * n + (size_t)got.perm[i]];
  double bound = n * largest / FM_AUCTION_RANGE(n) + 1e-9 * fabs(host);
  ck_assert_msg(fabs(auction - host) <= bound, "%s, n %d, work-group %d: auction total %.9g, host %.9g (bound "
                "%.3g)", what, n, work_group, auction, host, bound);
  free(c), free(assign), free(got.perm);
}

static void assert_optimal(const float *cost, int n, const char *what) {
  assert_optimal_in(cost, n, 0, what);
}

START_TEST(auction_matches_the_host_optimum_on_random_costs) {
  if (!use_work_group(_i)) return;
  /* Multiples of 8 take only the bid's vector lanes, the others a scalar tail too. */
  const int sizes[] = {1, 2, 3, 8, 16, 37, 64, 100, 257, 512, 513};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    int n = sizes[s];
    if (n > 100 && test_device_is_simulator()) continue; /* thousands of rounds */
    float *cost = malloc((size_t)n * (size_t)n * sizeof *cost);
    test_fill_uniform(cost, (size_t)n * (size_t)n, 40u + (unsigned)n, 0, 10);
    assert_optimal(cost, n, "uniform costs");
    if (n > 1) assert_optimal_in(cost, n - 1, n, "fewer rows than the room");
    free(cost);
  }
}
END_TEST

START_TEST(auction_matches_the_host_optimum_on_ties_and_structure) {
  if (!use_work_group(_i)) return;
  enum { N = 61 };
  static float cost[N * N];
  /* All costs equal: every permutation is optimal. */
  for (int k = 0; k < N * N; k++) cost[k] = 1;
  assert_optimal(cost, N, "equal costs");
  /* All zero: the scale degenerates. */
  memset(cost, 0, sizeof cost);
  assert_optimal(cost, N, "zero costs");
  /* Three values only: plateaus of ties everywhere. */
  for (int k = 0; k < N * N; k++) cost[k] = (float)((k * 7919) % 3);
  assert_optimal(cost, N, "costs in {0, 1, 2}");
  /* c_ij = i j: the optimum pairs opposite ends (the identity is the worst). */
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) cost[i * N + j] = (float)(i * j);
  assert_optimal(cost, N, "costs i j");
  /* One cheap column wanted by every row: a price war. */
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) cost[i * N + j] = j == 0 ? 0.0f : 100.0f + (float)((i + j) % 5);
  assert_optimal(cost, N, "one cheap column");
}
END_TEST

/* Squared distances built on the device, with repeated points on both sides (identical
 * rows and identical columns), against the host's optimum of the same distances. */
START_TEST(auction_pairs_points_with_duplicates_optimally) {
  if (!use_work_group(_i)) return;
  enum { N = 50, DIM = 3 };
  float x1[N * DIM], x0[N * DIM];
  test_fill_uniform(x1, N * DIM, 7, -2, 2);
  test_fill_uniform(x0, N * DIM, 8, -2, 2);
  for (int i = 10; i < 20; i++) memcpy(x1 + i * DIM, x1, DIM * sizeof(float));
  for (int j = 30; j < 45; j++) memcpy(x0 + j * DIM, x0 + 5 * DIM, DIM * sizeof(float));
  fm_device *dev = test_device();
  fm_auction *a = NULL;
  ck_fm(fm_auction_create(dev, N, 0, work_group, &a));
  cl_mem b1 = test_upload(x1, N * DIM), b0 = test_upload(x0, N * DIM), perm = NULL;
  ck_fm(fm_device_alloc(dev, N * sizeof(int), "perm", &perm));
  ck_fm(fm_auction_pair(a, b1, b0, N, DIM, 0, perm));
  int got[N];
  ck_fm(fm_device_read(dev, perm, 0, sizeof got, got));
  fm_auction_record rec;
  ck_fm(fm_auction_read_record(a, &rec));
  ck_assert_int_eq(rec.failures, 0);
  assert_permutation(got, N);
  static double c[N * N];
  double largest = 0, host = 0, auction = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int d = 0; d < DIM; d++) s += pow((double)x1[i * DIM + d] - x0[j * DIM + d], 2);
      c[i * N + j] = s, largest = fmax(largest, s);
    }
  int assign[N];
  ck_fm(fm_assignment_solve(c, N, assign, &host, NULL));
  for (int i = 0; i < N; i++) auction += c[i * N + got[i]];
  ck_assert_msg(fabs(auction - host) <= N * largest / FM_AUCTION_RANGE(N) + 1e-5,
                "auction %.9g, host %.9g", auction, host);
  fm_device_release(dev, b1);
  fm_device_release(dev, b0);
  fm_device_release(dev, perm);
  fm_auction_destroy(a);
}
END_TEST

/* A solve cut short by its round limit, or given a cost that is not finite, is recorded
 * (with the step of the first failure) and still leaves a permutation. */
START_TEST(a_failed_solve_is_recorded_and_still_a_permutation) {
  if (!use_work_group(_i)) return;
  enum { N = 37 };
  static float cost[N * N];
  test_fill_uniform(cost, N * N, 9, 0, 1);
  outcome cut = device_solve(cost, N, 1, 12);
  ck_assert_int_eq(cut.record.failures, 1);
  ck_assert_int_eq(cut.record.last_failure, 1);
  ck_assert_int_eq(cut.record.first_failed_step, 12);
  ck_assert_int_eq(cut.record.last_rounds, 1);
  assert_permutation(cut.perm, N);
  cost[5 * N + 3] = NAN;
  outcome nan = device_solve(cost, N, 0, 4);
  ck_assert_int_eq(nan.record.failures, 1);
  ck_assert_int_eq(nan.record.last_failure, 2);
  ck_assert_int_eq(nan.record.first_failed_step, 4);
  assert_permutation(nan.perm, N);
  cost[5 * N + 3] = INFINITY;
  outcome inf = device_solve(cost, N, 0, 4);
  ck_assert_int_eq(inf.record.last_failure, 2);
  free(cut.perm), free(nan.perm), free(inf.perm);
  /* A whole solve within the default limit is not a failure. */
  cost[5 * N + 3] = 0.5f;
  outcome whole = device_solve(cost, N, 0, 4);
  ck_assert_int_eq(whole.record.failures, 0);
  ck_assert_int_eq(whole.record.first_failed_step, -1);
  ck_assert(whole.record.last_rounds > 1);
  free(whole.perm);
}
END_TEST

int main(void) {
  Suite *s = suite_create("auction");
  TCase *tc = tcase_create("auction");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, auction_matches_the_host_optimum_on_random_costs, 0, 2);
  tcase_add_loop_test(tc, auction_matches_the_host_optimum_on_ties_and_structure, 0, 2);
  tcase_add_loop_test(tc, auction_pairs_points_with_duplicates_optimally, 0, 2);
  tcase_add_loop_test(tc, a_failed_solve_is_recorded_and_still_a_permutation, 0, 2);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
