/* Every kernel at forced work-group limits: a device opened with at most 1, 2, 8 or 32
 * work-items per group (what a driver may allow a kernel: registers on a GPU, 32 on Mesa's
 * llvmpipe) builds its programs for that size and gives the results of the device's own
 * limits, on every provider: training (ot on the device, clipping, EMA), an MLP and a
 * residual model, every solver, exact and Hutchinson likelihoods. The workload launches
 * every kernel whose results depend on its work-group size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { STEPS = 6, N = 67, SOLVERS = 5, CASES = 8 };

static const size_t limits[] = {1, 2, 8, 32};

/* The models trained: each provider on an MLP and a residual model, and fmcl's GPU products
 * (whose fused epilogue is a kernel per activation) and the thin-layer kernels of the GPU
 * path in every activation. */
typedef struct model_case {
  fm_gemm_provider provider;
  int residual;
  fm_activation activation;
} model_case;

static const model_case cases[CASES] = {
    {FM_GEMM_FMCL, 0, FM_ACT_SILU},     {FM_GEMM_FMCL, 1, FM_ACT_GELU},
    {FM_GEMM_CLBLAST, 0, FM_ACT_RELU},  {FM_GEMM_CLBLAST, 1, FM_ACT_TANH},
    {FM_GEMM_FMCL_GPU, 0, FM_ACT_SILU}, {FM_GEMM_FMCL_GPU, 1, FM_ACT_RELU},
    {FM_GEMM_FMCL_GPU, 0, FM_ACT_TANH}, {FM_GEMM_FMCL_GPU, 1, FM_ACT_GELU}};

typedef struct outcome {
  double loss[STEPS];
  float samples[SOLVERS][N * 2];
  double logp_exact[N], logp_probes[N];
} outcome;

static fm_device *open_limited(size_t limit) {
  fm_device_select sel = {.kind = FM_DEVICE_AUTO, .index = -1, .max_work_group = limit};
  const char *index = getenv("FMCL_TEST_DEVICE");
  if (index && *index) sel.index = atoi(index);
  fm_device *dev = NULL;
  ck_fm(fm_device_open(&sel, &dev));
  return dev;
}

/* Trains the case's model on dev for STEPS steps, then samples and evaluates it. */
static void workload(fm_device *dev, const model_case *c, outcome *out) {
  int residual = c->residual;
  fm_config cfg;
  fm_config_defaults(&cfg);
  snprintf(cfg.data.name, sizeof cfg.data.name, "8gaussians");
  cfg.seed = 5;
  cfg.model.n_hidden = residual ? 3 : 2;
  int hidden[3] = {32, 48, 32};
  for (int l = 0; l < 3; l++) cfg.model.hidden[l] = residual ? hidden[l] : 40;
  cfg.model.residual = residual;
  cfg.model.activation = c->activation;
  cfg.train.batch = 100;
  cfg.train.lr = 3e-3;
  cfg.train.grad_clip = 1.0;
  cfg.train.ema = 0.9;
  cfg.path.coupling = FM_COUPLING_OT;
  fm_points data;
  ck_fm(fm_toy_generate(cfg.data.name, cfg.seed, FM_STREAM_DATA_TRAIN, 500, &data));
  fm_mlp_shape shape = fm_recipe_mlp_shape(&cfg, 2);
  fm_mlp *mlp = NULL;
  fm_trainer *tr = NULL;
  ck_fm(fm_mlp_create(dev, &shape, 128, &mlp));
  ck_fm(fm_mlp_set_gemm(mlp, c->provider));
  ck_fm(fm_mlp_init(mlp, cfg.seed));
  ck_fm(fm_trainer_create(mlp, &cfg, &data, NULL, NULL, &tr));
  for (int s = 0; s < STEPS; s++) {
    fm_loss_report r;
    ck_fm(fm_trainer_step(tr));
    ck_fm(fm_trainer_take_loss(tr, &r));
    out->loss[s] = r.mean;
  }
  static const fm_solver_kind solvers[SOLVERS] = {FM_SOLVER_EULER, FM_SOLVER_MIDPOINT,
                                                  FM_SOLVER_HEUN, FM_SOLVER_RK4,
                                                  FM_SOLVER_DOPRI5};
  for (int k = 0; k < SOLVERS; k++) {
    fm_sample_params p = {.solver = solvers[k], .steps = 4, .n = N, .batch = N, .seed = 9,
                          .rtol = 1e-4, .atol = 1e-4, .class_label = -1, .guidance = 1.0};
    long nfe = 0;
    ck_fm(fm_sample_generate(mlp, &p, out->samples[k], NULL, &nfe));
  }
  cl_mem t = NULL;
  ck_fm(fm_device_alloc(dev, N * sizeof(float), "likelihood times", &t));
  fm_mlp_field holder = {mlp, t, NULL};
  fm_field field = fm_field_of_mlp(&holder);
  fm_likelihood_params exact = {.solver = FM_SOLVER_RK4, .steps = 8, .divergence = FM_DIV_EXACT,
                                .seed = 3, .batch = N};
  fm_likelihood_params probes = {.solver = FM_SOLVER_DOPRI5, .rtol = 1e-4, .atol = 1e-4,
                                 .divergence = FM_DIV_HUTCHINSON, .probes = 2, .seed = 3,
                                 .batch = N};
  fm_likelihood_stats stats;
  ck_fm(fm_likelihood_eval(&field, &exact, data.x, NULL, N, out->logp_exact, &stats));
  ck_fm(fm_likelihood_eval(&field, &probes, data.x, NULL, N, out->logp_probes, &stats));
  fm_device_release(dev, t);
  fm_trainer_destroy(tr);
  fm_mlp_destroy(mlp);
  fm_points_free(&data);
}

/* got against want: losses and exact log-likelihoods to 1e-4 relative, samples and the
 * adaptive solver's Hutchinson estimates to 1e-3 (sums in another order round differently,
 * training carries that on, and dopri5 may then choose other steps). */
static void assert_close(const outcome *got, const outcome *want, const char *what) {
  double w[SOLVERS * N * 2];
  for (int s = 0; s < STEPS; s++)
    ck_assert_msg(fabs(got->loss[s] - want->loss[s]) <= 1e-4 * fabs(want->loss[s]) + 1e-6,
                  "%s: loss at step %d is %.8g, the device's own limits give %.8g", what, s + 1,
                  got->loss[s], want->loss[s]);
  for (int k = 0; k < SOLVERS; k++)
    for (int i = 0; i < N * 2; i++) w[k * N * 2 + i] = want->samples[k][i];
  char label[160];
  snprintf(label, sizeof label, "%s: samples (euler, midpoint, heun, rk4, dopri5)", what);
  ck_assert_uint_eq(test_mismatches(label, &got->samples[0][0], w, SOLVERS * N * 2, 1e-3, 1e-3),
                    0);
  for (int i = 0; i < N; i++) {
    ck_assert_msg(fabs(got->logp_exact[i] - want->logp_exact[i]) <=
                      1e-4 * fabs(want->logp_exact[i]) + 1e-4,
                  "%s: exact log-likelihood of point %d: %.8g, own limits %.8g", what, i,
                  got->logp_exact[i], want->logp_exact[i]);
    ck_assert_msg(fabs(got->logp_probes[i] - want->logp_probes[i]) <=
                      1e-3 * fabs(want->logp_probes[i]) + 1e-3,
                  "%s: Hutchinson log-likelihood of point %d: %.8g, own limits %.8g", what, i,
                  got->logp_probes[i], want->logp_probes[i]);
  }
}

/* The device's own results, per case, made once. */
static outcome reference[CASES];

static void make_reference(void) {
  static int made;
  if (made) return;
  for (int c = 0; c < CASES; c++) workload(test_device(), &cases[c], &reference[c]);
  made = 1;
}

START_TEST(every_kernel_gives_the_same_results_at_a_forced_limit) {
  make_reference();
  size_t limit = limits[_i];
  fm_device *dev = open_limited(limit);
  for (int c = 0; c < CASES; c++) {
    outcome got;
    char what[128];
    snprintf(what, sizeof what, "at most %zu work-items, %s, %s of %s", limit,
             fm_gemm_provider_name(cases[c].provider), cases[c].residual ? "residual model" : "MLP",
             fm_activation_name(cases[c].activation));
    workload(dev, &cases[c], &got);
    assert_close(&got, &reference[c], what);
  }
  char unlaunched[2048];
  ck_fm(fm_device_unlaunched(dev, unlaunched, sizeof unlaunched));
  ck_assert_msg(unlaunched[0] == '\0', "at most %zu work-items: kernels with a compiled-in "
                "work-group size that the workload never ran: %s", limit, unlaunched);
  fm_device_destroy(dev);
}
END_TEST

int main(void) {
  Suite *s = suite_create("limits");
  TCase *tc = tcase_create("limits");
  tcase_set_timeout(tc, 900);
  tcase_add_loop_test(tc, every_kernel_gives_the_same_results_at_a_forced_limit, 0,
                      (int)(sizeof limits / sizeof limits[0]));
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
