/* Evaluation: likelihood in data units under a standardization, metrics and their
 * refusal of non-finite samples, and the plots of a run folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

static fm_mlp *small_model(void) {
  fm_mlp_shape shape = {.dim = 2, .n_hidden = 2, .hidden = {16, 16}, .activation = FM_ACT_SILU};
  fm_mlp *m = NULL;
  ck_fm(fm_mlp_create(test_device(), &shape, 512, &m));
  ck_fm(fm_mlp_init(m, 2));
  return m;
}

static fm_config eval_config(void) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  cfg.eval.solver = FM_SOLVER_RK4;
  cfg.eval.steps = 10;
  cfg.sample.batch = 512;
  cfg.eval.density_grid = 16;
  return cfg;
}

START_TEST(likelihood_in_data_units_accounts_for_standardization) {
  fm_mlp *m = small_model();
  fm_config cfg = eval_config();
  enum { N = 40 };
  float x[N * 2], z[N * 2];
  test_fill_uniform(x, N * 2, 3, -5, 15);
  const double mean[2] = {5.0, 4.0}, std[2] = {4.0, 0.5};
  memcpy(z, x, sizeof z);
  fm_points_standardize(z, N, 2, mean, std);
  fm_points none = {.dim = 2};
  fm_eval_inputs plain = {.mlp = m, .cfg = &cfg, .test = &none};
  fm_eval_inputs scaled = {.mlp = m, .cfg = &cfg, .test = &none, .mean = mean, .std = std};
  double lz[N], lx[N];
  ck_fm(fm_evaluate_log_likelihood(&plain, z, NULL, N, lz, NULL, NULL));
  ck_fm(fm_evaluate_log_likelihood(&scaled, x, NULL, N, lx, NULL, NULL));
  /* log q_x(x) = log q_z((x - mean) / std) - sum log std. */
  for (int i = 0; i < N; i++) ck_assert_double_eq_tol(lx[i], lz[i] - log(4.0) - log(0.5), 1e-9);
  fm_mlp_destroy(m);
}
END_TEST

START_TEST(metrics_refuse_non_finite_samples_naming_the_row) {
  fm_mlp *m = small_model();
  fm_config cfg = eval_config();
  cfg.eval.likelihood = 0;
  enum { N = 30 };
  float test_x[N * 2], samples[N * 2];
  test_fill_uniform(test_x, N * 2, 4, -1, 1);
  test_fill_uniform(samples, N * 2, 5, -1, 1);
  fm_points test = {.x = test_x, .n = N, .dim = 2};
  fm_eval_inputs in = {.mlp = m, .cfg = &cfg, .test = &test, .samples = samples, .n_samples = N};
  fm_eval_report rep = {0};
  ck_fm(fm_evaluate_metrics(&in, &rep));
  ck_assert(rep.has_metrics && rep.w2 > 0 && rep.metric_points == N);
  samples[2 * 7 + 1] = NAN;
  ck_assert_int_eq(fm_evaluate_metrics(&in, &rep), FM_ERR_NUMERIC);
  ck_assert_msg(strstr(fm_error_message(), "samples: row 7, column 1 (from 0)"), "%s",
                fm_error_message());
  fm_mlp_destroy(m);
}
END_TEST

START_TEST(evaluation_reports_the_likelihood_of_held_out_points) {
  fm_mlp *m = small_model();
  fm_config cfg = eval_config();
  cfg.eval.metrics = 0;
  enum { N = 50 };
  float test_x[N * 2];
  test_fill_uniform(test_x, N * 2, 6, -2, 2);
  fm_points test = {.x = test_x, .n = N, .dim = 2};
  fm_eval_inputs in = {.mlp = m, .cfg = &cfg, .test = &test};
  fm_eval_report rep = {0};
  cfg.eval.n = 20; /* a part of the held-out points */
  ck_fm(fm_evaluate_metrics(&in, &rep));
  ck_fm(fm_evaluate_likelihood(&in, &rep));
  ck_assert(rep.has_likelihood && !rep.has_metrics);
  ck_assert_int_eq(rep.nll_points, 20);
  ck_assert_int_eq(rep.likelihood_nfe, 40);
  double logp[20], mean = 0;
  ck_fm(fm_evaluate_log_likelihood(&in, test_x, NULL, 20, logp, NULL, NULL));
  for (int i = 0; i < 20; i++) mean -= logp[i] / 20;
  ck_assert_double_eq_tol(rep.nll, mean, 1e-9);
  ck_assert_double_eq_tol(rep.bits_per_dim, mean / (2 * log(2.0)), 1e-9);
  fm_mlp_destroy(m);
}
END_TEST

START_TEST(plots_are_written_for_2d_and_refused_for_bad_columns) {
  fm_mlp *m = small_model();
  fm_config cfg = eval_config();
  enum { N = 60, T = 3 };
  float test_x[N * 2], samples[N * 2], traj[T * N * 2];
  test_fill_uniform(test_x, N * 2, 7, -2, 2);
  test_fill_uniform(samples, N * 2, 8, -2, 2);
  test_fill_uniform(traj, T * N * 2, 9, -2, 2);
  fm_points test = {.x = test_x, .n = N, .dim = 2};
  const double steps[2] = {1, 2}, losses[2] = {5, 4};
  fm_eval_inputs in = {.mlp = m, .cfg = &cfg, .test = &test, .samples = samples,
                       .n_samples = N, .trajectory = traj, .n_times = T,
                       .loss_steps = steps, .losses = losses, .n_losses = 2};
  char dir[256], path[512];
  snprintf(dir, sizeof dir, "/tmp/fmcl-test-plots-%d", (int)getpid());
  snprintf(path, sizeof path, "mkdir -p %s", dir);
  ck_assert_int_eq(system(path), 0);
  ck_fm(fm_evaluate_plots(&in, dir));
  const char *files[] = {"samples.png", "trajectories.png", "loss.png", "density.png"};
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "no %s", path);
    unsigned char sig[8];
    ck_assert_int_eq(fread(sig, 1, 8, f), 8);
    ck_assert_int_eq(memcmp(sig, "\x89PNG\r\n\x1a\n", 8), 0);
    fclose(f);
  }
  cfg.output.plot_dims[1] = 5;
  ck_assert_int_eq(fm_evaluate_plots(&in, dir), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "output.plot_dims"), "%s", fm_error_message());
  snprintf(path, sizeof path, "rm -rf %s", dir);
  ck_assert_int_eq(system(path), 0);
  fm_mlp_destroy(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("evaluate");
  TCase *tc = tcase_create("evaluate");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, likelihood_in_data_units_accounts_for_standardization);
  tcase_add_test(tc, metrics_refuse_non_finite_samples_naming_the_row);
  tcase_add_test(tc, evaluation_reports_the_likelihood_of_held_out_points);
  tcase_add_test(tc, plots_are_written_for_2d_and_refused_for_bad_columns);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
