/* Sampling's time grids: the shifted and explicit grids' times, the states kept on them,
 * one solver step per interval (and the evaluations it costs), and an explicit uniform
 * grid giving the points of plain uniform steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static fm_mlp *small_model(void) {
  fm_mlp_shape shape = {.dim = 2, .n_hidden = 2, .hidden = {16, 16}, .activation = FM_ACT_SILU};
  fm_mlp *m = NULL;
  ck_fm(fm_mlp_create(test_device(), &shape, 256, &m));
  ck_fm(fm_mlp_init(m, 3));
  return m;
}

START_TEST(the_shift_moves_the_grid_towards_the_data) {
  fm_sample_params p = {.solver = FM_SOLVER_EULER, .steps = 4, .time_shift = 3};
  ck_assert(!fm_sample_grid_is_uniform(&p));
  for (int i = 0; i <= 4; i++) {
    double t = i / 4.0, want = 3 * t / (1 + 2 * t);
    ck_assert_msg(fabs(fm_sample_grid_time(&p, i) - want) < 1e-15, "t %d: %g, want %g", i,
                  fm_sample_grid_time(&p, i), want);
  }
  ck_assert_double_eq(fm_sample_grid_time(&p, 0), 0.0);
  ck_assert_double_eq(fm_sample_grid_time(&p, 4), 1.0);
  /* An explicit grid, shifted too; the states are kept on its times. */
  const double times[] = {0, 0.1, 0.5, 0.9, 1};
  fm_sample_params q = {.solver = FM_SOLVER_EULER, .steps = 4, .times = times, .save_every = 2};
  double kept[8];
  ck_assert_int_eq(fm_sample_save_times(&q, kept, 8), 3);
  ck_assert_double_eq(kept[0], 0.0);
  ck_assert_double_eq(kept[1], 0.5);
  ck_assert_double_eq(kept[2], 1.0);
  q.time_shift = 0.5;
  ck_assert_double_eq_tol(fm_sample_grid_time(&q, 2), 0.5 * 0.5 / (1 - 0.5 * 0.5), 1e-15);
  fm_sample_params uniform = {.solver = FM_SOLVER_EULER, .steps = 4, .time_shift = 1};
  ck_assert(fm_sample_grid_is_uniform(&uniform));
  uniform.time_shift = 0; /* unset: no shift */
  ck_assert(fm_sample_grid_is_uniform(&uniform));
}
END_TEST

START_TEST(an_explicit_uniform_grid_samples_the_points_of_uniform_steps) {
  fm_mlp *m = small_model();
  enum { N = 100, STEPS = 5 };
  double times[STEPS + 1];
  for (int i = 0; i <= STEPS; i++) times[i] = (double)i / STEPS;
  float plain[N * 2], grid[N * 2];
  long nfe_plain = 0, nfe_grid = 0;
  fm_sample_params p = {.solver = FM_SOLVER_RK4, .steps = STEPS, .n = N, .batch = 64, .seed = 4};
  ck_fm(fm_sample_generate(m, &p, plain, NULL, &nfe_plain));
  p.times = times;
  p.time_shift = 1.0 + 1e-12; /* not uniform to the sampler: one call per interval */
  ck_assert(!fm_sample_grid_is_uniform(&p));
  ck_fm(fm_sample_generate(m, &p, grid, NULL, &nfe_grid));
  ck_assert_int_eq(nfe_plain, 4 * STEPS);
  ck_assert_int_eq(nfe_grid, 4 * STEPS);
  double worst = 0;
  for (int i = 0; i < N * 2; i++) worst = fmax(worst, fabs((double)plain[i] - grid[i]));
  ck_assert_msg(worst < 1e-5, "largest difference %g", worst);
  fm_mlp_destroy(m);
}
END_TEST

/* A coarse grid is a different integration: its points differ from uniform steps', and
 * the states it keeps are the ones at its own times. */
START_TEST(a_shifted_grid_takes_its_own_steps_and_keeps_its_own_states) {
  fm_mlp *m = small_model();
  enum { N = 50, STEPS = 3 };
  float plain[N * 2], shifted[N * 2], path[4 * N * 2];
  long nfe = 0;
  fm_sample_params p = {.solver = FM_SOLVER_EULER, .steps = STEPS, .n = N, .batch = 64, .seed = 9};
  ck_fm(fm_sample_generate(m, &p, plain, NULL, &nfe));
  p.time_shift = 4;
  p.save_every = 1;
  ck_fm(fm_sample_generate(m, &p, shifted, path, &nfe));
  ck_assert_int_eq(nfe, STEPS);
  double moved = 0;
  for (int i = 0; i < N * 2; i++) moved = fmax(moved, fabs((double)plain[i] - shifted[i]));
  ck_assert_msg(moved > 1e-4, "a shifted grid gave the uniform grid's points");
  /* The last kept state is the sample; every kept state is the one an explicit grid of
   * the shifted times keeps, to the bit. */
  ck_assert_int_eq(memcmp(path + 3 * N * 2, shifted, sizeof shifted), 0);
  double times[STEPS + 1];
  for (int i = 0; i <= STEPS; i++) times[i] = fm_sample_grid_time(&p, i);
  float explicit[N * 2], explicit_path[4 * N * 2];
  fm_sample_params q = p;
  q.time_shift = 1;
  q.times = times;
  ck_fm(fm_sample_generate(m, &q, explicit, explicit_path, &nfe));
  ck_assert_int_eq(memcmp(explicit_path, path, sizeof path), 0);
  fm_mlp_destroy(m);
}
END_TEST

START_TEST(describe_names_every_time_of_a_grid) {
  const double times[] = {0, 0.5, 0.8, 1};
  fm_sample_params p = {.solver = FM_SOLVER_RK4, .steps = 3, .times = times};
  char text[512];
  fm_sample_describe(&p, text, sizeof text);
  ck_assert_str_eq(text, "rk4, 3 steps at t = 0, 0.5, 0.8, 1");
  fm_sample_params u = {.solver = FM_SOLVER_RK4, .steps = 25};
  fm_sample_describe(&u, text, sizeof text);
  ck_assert_str_eq(text, "rk4, 25 steps");
}
END_TEST

int main(void) {
  Suite *s = suite_create("sample");
  TCase *tc = tcase_create("sample");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, the_shift_moves_the_grid_towards_the_data);
  tcase_add_test(tc, an_explicit_uniform_grid_samples_the_points_of_uniform_steps);
  tcase_add_test(tc, a_shifted_grid_takes_its_own_steps_and_keeps_its_own_states);
  tcase_add_test(tc, describe_names_every_time_of_a_grid);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
