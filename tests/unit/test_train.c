/* Training: the loss falls, the same seed gives the same loss curve and parameters bit for
 * bit, and a short run learns 8gaussians well enough to put samples on its modes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static fm_config small_config(const char *data, uint64_t seed) {
  fm_config cfg;
  fm_config_defaults(&cfg);
  snprintf(cfg.data.name, sizeof cfg.data.name, "%s", data);
  cfg.seed = seed;
  cfg.model.n_hidden = 2;
  cfg.model.hidden[0] = cfg.model.hidden[1] = 64;
  cfg.train.batch = 256;
  cfg.train.lr = 3e-3;
  return cfg;
}

typedef struct trained {
  fm_mlp *mlp;
  fm_trainer *tr;
  fm_points data;
} trained;

static trained setup(const fm_config *cfg, int n_train) {
  trained t;
  ck_fm(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TRAIN, n_train, &t.data));
  fm_mlp_shape shape = fm_recipe_mlp_shape(cfg, 2);
  ck_fm(fm_mlp_create(test_device(), &shape, 2048, &t.mlp));
  ck_fm(fm_mlp_init(t.mlp, cfg->seed));
  ck_fm(fm_trainer_create(t.mlp, cfg, &t.data, NULL, NULL, &t.tr));
  return t;
}

static void teardown(trained *t) {
  fm_trainer_destroy(t->tr);
  fm_mlp_destroy(t->mlp);
  fm_points_free(&t->data);
}

static uint64_t last_nonfinite; /* of the last loss report */

/* Runs steps, reading the mean loss every `every` steps into curve. */
static void train(trained *t, int steps, int every, double *curve) {
  for (int s = 1; s <= steps; s++) {
    ck_fm(fm_trainer_step(t->tr));
    if (s % every == 0) {
      fm_loss_report r;
      ck_fm(fm_trainer_take_loss(t->tr, &r));
      ck_assert_int_eq(r.steps, every);
      curve[s / every - 1] = r.mean;
      last_nonfinite = r.first_nonfinite_step;
    }
  }
}

START_TEST(loss_falls_during_training) {
  fm_config cfg = small_config("moons", 1);
  trained t = setup(&cfg, 5000);
  double curve[20];
  train(&t, 400, 20, curve);
  ck_assert_msg(curve[19] < 0.85 * curve[0], "loss %g -> %g", curve[0], curve[19]);
  ck_assert_uint_eq(fm_trainer_steps(t.tr), 400);
  teardown(&t);
}
END_TEST

START_TEST(same_seed_gives_the_same_loss_curve_and_weights) {
  fm_config cfg = small_config("checkerboard", 7);
  double c1[10], c2[10], c3[10];
  trained a = setup(&cfg, 3000);
  train(&a, 100, 10, c1);
  trained b = setup(&cfg, 3000);
  train(&b, 100, 10, c2);
  ck_assert_int_eq(memcmp(c1, c2, sizeof c1), 0);
  size_t n = fm_mlp_flat_size(a.mlp);
  float *pa = test_download(fm_mlp_params(a.mlp), n), *pb = test_download(fm_mlp_params(b.mlp), n);
  ck_assert_int_eq(memcmp(pa, pb, n * sizeof(float)), 0);
  free(pa), free(pb);
  teardown(&a);
  teardown(&b);

  fm_config other = small_config("checkerboard", 8);
  trained c = setup(&other, 3000);
  train(&c, 100, 10, c3);
  ck_assert_int_ne(memcmp(c1, c3, sizeof c1), 0);
  teardown(&c);
}
END_TEST

START_TEST(nan_in_the_data_shows_in_the_loss) {
  fm_config cfg = small_config("moons", 1);
  trained t = setup(&cfg, 50);
  for (int i = 0; i < t.data.n * 2; i++) t.data.x[i] = NAN;
  fm_trainer_destroy(t.tr);
  ck_fm(fm_trainer_create(t.mlp, &cfg, &t.data, NULL, NULL, &t.tr));
  double curve[1];
  train(&t, 5, 5, curve);
  ck_assert(!isfinite(curve[0]));
  ck_assert_uint_eq(last_nonfinite, 1); /* the report names the first bad step */
  teardown(&t);
}
END_TEST

START_TEST(short_run_puts_samples_on_the_eight_modes) {
  fm_config cfg = small_config("8gaussians", 0);
  trained t = setup(&cfg, 20000);
  double curve[15];
  train(&t, 1500, 100, curve);
  enum { N = 2000 };
  float *x = malloc(N * 2 * sizeof *x);
  long nfe = 0;
  fm_sample_params sp = {.solver = FM_SOLVER_RK4, .steps = 10, .n = N, .batch = 1000, .seed = 5, .class_label = -1, .guidance = 1.0};
  ck_fm(fm_sample_generate(t.mlp, &sp, x, NULL, &nfe));
  ck_assert_int_eq(nfe, 40);
  int near = 0, per_mode[8] = {0};
  for (int i = 0; i < N; i++) {
    double d;
    per_mode[test_8g_nearest(x[2 * i], x[2 * i + 1], &d)]++;
    if (d < 3 * TEST_8G_SD) near++; /* within 3 standard deviations */
  }
  ck_assert_msg(near > 0.85 * N, "only %d of %d samples are near a mode", near, N);
  for (int k = 0; k < 8; k++)
    ck_assert_msg(per_mode[k] > 0.08 * N && per_mode[k] < 0.17 * N, "mode %d has %d samples", k,
                  per_mode[k]);
  free(x);
  teardown(&t);
}
END_TEST

START_TEST(samples_do_not_depend_on_the_sampling_batch) {
  fm_config cfg = small_config("moons", 3);
  trained t = setup(&cfg, 1000);
  double curve[1];
  train(&t, 20, 20, curve);
  enum { N = 300 };
  float a[N * 2], b[N * 2];
  long nfe;
  fm_sample_params whole = {.solver = FM_SOLVER_HEUN, .steps = 5, .n = N, .batch = 2048, .seed = 9, .class_label = -1, .guidance = 1.0};
  fm_sample_params pieces = {.solver = FM_SOLVER_HEUN, .steps = 5, .n = N, .batch = 77, .seed = 9, .class_label = -1, .guidance = 1.0};
  ck_fm(fm_sample_generate(t.mlp, &whole, a, NULL, &nfe));
  ck_fm(fm_sample_generate(t.mlp, &pieces, b, NULL, &nfe));
  double want[N * 2];
  for (int i = 0; i < N * 2; i++) want[i] = a[i];
  ck_assert_uint_eq(test_mismatches("batched samples", b, want, N * 2, 1e-5, 1e-5), 0);
  teardown(&t);
}
END_TEST

START_TEST(trajectories_keep_the_states_at_the_saved_times) {
  fm_config cfg = small_config("moons", 3);
  trained t = setup(&cfg, 1000);
  double curve[1];
  train(&t, 20, 20, curve);
  enum { N = 50, STEPS = 10 };
  fm_sample_params p = {.solver = FM_SOLVER_RK4, .steps = STEPS, .n = N, .batch = 2048, .seed = 9, .save_every = 4, .class_label = -1, .guidance = 1.0};
  double times[8];
  ck_assert_int_eq(fm_sample_save_times(&p, times, 8), 4); /* 0, 0.4, 0.8, 1 */
  ck_assert_double_eq(times[1], 0.4);
  ck_assert_double_eq(times[3], 1.0);
  float end[N * 2], plain[N * 2], traj[4 * N * 2];
  long nfe;
  ck_fm(fm_sample_generate(t.mlp, &p, end, traj, &nfe));
  ck_assert_int_eq(nfe, 4 * STEPS);
  p.save_every = 0;
  ck_fm(fm_sample_generate(t.mlp, &p, plain, NULL, &nfe));
  double want[N * 2];
  for (int i = 0; i < N * 2; i++) want[i] = plain[i];
  /* Saving on the way changes nothing at the end... */
  ck_assert_uint_eq(test_mismatches("end with saves", end, want, N * 2, 1e-5, 1e-5), 0);
  /* ...and the last saved state is the end, the first the source noise. */
  ck_assert_uint_eq(test_mismatches("last saved", traj + 3 * N * 2, want, N * 2, 0, 0), 0);
  cl_mem noise = test_zeros(N * 2);
  ck_fm(fm_sample_normal_rows(test_device(), noise, N, 2, 9, FM_STREAM_SAMPLE, 0));
  float *x0 = test_download(noise, N * 2);
  for (int i = 0; i < N * 2; i++) want[i] = x0[i];
  ck_assert_uint_eq(test_mismatches("first saved", traj, want, N * 2, 0, 0), 0);
  free(x0);
  fm_device_release(test_device(), noise);
  teardown(&t);
}
END_TEST

START_TEST(dopri5_on_a_trained_model_agrees_with_many_rk4_steps) {
  fm_config cfg = small_config("moons", 4);
  trained t = setup(&cfg, 5000);
  double curve[3];
  train(&t, 300, 100, curve);
  enum { N = 200 };
  float fine[N * 2], adaptive[N * 2], loose[N * 2];
  long nfe_fine, nfe_tight, nfe_loose;
  fm_sample_params rk4 = {.solver = FM_SOLVER_RK4, .steps = 400, .n = N, .batch = 2048, .seed = 11, .class_label = -1, .guidance = 1.0};
  fm_sample_params tight = {.solver = FM_SOLVER_DOPRI5, .n = N, .batch = 2048, .seed = 11, .rtol = 1e-6, .atol = 1e-6, .class_label = -1, .guidance = 1.0};
  fm_sample_params coarse = {.solver = FM_SOLVER_DOPRI5, .n = N, .batch = 2048, .seed = 11, .rtol = 1e-2, .atol = 1e-2, .class_label = -1, .guidance = 1.0};
  ck_fm(fm_sample_generate(t.mlp, &rk4, fine, NULL, &nfe_fine));
  ck_fm(fm_sample_generate(t.mlp, &tight, adaptive, NULL, &nfe_tight));
  ck_fm(fm_sample_generate(t.mlp, &coarse, loose, NULL, &nfe_loose));
  double want[N * 2], err_tight = 0, err_loose = 0;
  for (int i = 0; i < N * 2; i++) {
    want[i] = fine[i];
    err_tight = fmax(err_tight, fabs(adaptive[i] - fine[i]));
    err_loose = fmax(err_loose, fabs(loose[i] - fine[i]));
  }
  ck_assert_uint_eq(test_mismatches("dopri5 vs rk4", adaptive, want, N * 2, 1e-3, 1e-3), 0);
  /* The tolerance is what buys the accuracy, at a cost in evaluations. */
  ck_assert_msg(err_loose > err_tight, "loose %g, tight %g", err_loose, err_tight);
  ck_assert_msg(nfe_tight > nfe_loose, "NFE tight %ld, loose %ld", nfe_tight, nfe_loose);
  teardown(&t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("train");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, loss_falls_during_training);
  tcase_add_test(tc, same_seed_gives_the_same_loss_curve_and_weights);
  tcase_add_test(tc, nan_in_the_data_shows_in_the_loss);
  tcase_add_test(tc, short_run_puts_samples_on_the_eight_modes);
  tcase_add_test(tc, samples_do_not_depend_on_the_sampling_batch);
  tcase_add_test(tc, trajectories_keep_the_states_at_the_saved_times);
  tcase_add_test(tc, dopri5_on_a_trained_model_agrees_with_many_rk4_steps);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
