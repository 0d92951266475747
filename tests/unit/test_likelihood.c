/* Likelihood: against a flow whose density is known in closed form (the Gaussian path to a
 * rotated anisotropic Gaussian), Hutchinson's estimate against the exact divergence within
 * its standard error, and a trained-model density that integrates to one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define PI 3.14159265358979323846

/* The target N(mu, R diag(s^2) R^T), R a rotation by theta. Along the straight path from
 * N(0, I) its marginal velocity is v = mu + M(t) (x - t mu), M = R diag(c) R^T with
 * c_d = (t s_d^2 - (1 - t)) / (t^2 s_d^2 + (1 - t)^2); the Jacobian is M(t). */
static const double MU[2] = {1.0, -0.5}, S[2] = {0.5, 1.5}, THETA = 0.6;

static const char *gauss_source =
    "__kernel void f_gauss(__global const float *x, __global float *out,\n"
    "                      __global const float *tg, __global float *out_tg, uint n, uint k,\n"
    "                      float t, float2 mu, float2 s, float theta) {\n"
    "  uint r = get_global_id(0);\n"
    "  if (r >= n * k) return;\n"
    "  float c0 = (t * s.x * s.x - (1 - t)) / (t * t * s.x * s.x + (1 - t) * (1 - t));\n"
    "  float c1 = (t * s.y * s.y - (1 - t)) / (t * t * s.y * s.y + (1 - t) * (1 - t));\n"
    "  float co = cos(theta), si = sin(theta);\n"
    "  float m00 = co * co * c0 + si * si * c1, m01 = co * si * (c0 - c1);\n"
    "  float m11 = si * si * c0 + co * co * c1;\n"
    "  float2 a = vload2(r, tg);\n"
    "  vstore2((float2)(m00 * a.x + m01 * a.y, m01 * a.x + m11 * a.y), r, out_tg);\n"
    "  if (r < n) {\n"
    "    float2 d = vload2(r, x) - t * mu;\n"
    "    vstore2(mu + (float2)(m00 * d.x + m01 * d.y, m01 * d.x + m11 * d.y), r, out);\n"
    "  }\n"
    "}\n";

typedef struct gauss_field {
  cl_kernel k;
} gauss_field;

static fm_status gauss_jvp(void *ctx, cl_mem x, float t, int n, cl_mem out, cl_mem tangents, int k,
                           cl_mem out_tangents) {
  gauss_field *g = ctx;
  cl_uint un = (cl_uint)n, uk = (cl_uint)k;
  cl_float2 mu = {{(float)MU[0], (float)MU[1]}}, s = {{(float)S[0], (float)S[1]}};
  float theta = (float)THETA;
  clSetKernelArg(g->k, 0, sizeof x, &x);
  clSetKernelArg(g->k, 1, sizeof out, &out);
  clSetKernelArg(g->k, 2, sizeof tangents, &tangents);
  clSetKernelArg(g->k, 3, sizeof out_tangents, &out_tangents);
  clSetKernelArg(g->k, 4, sizeof un, &un);
  clSetKernelArg(g->k, 5, sizeof uk, &uk);
  clSetKernelArg(g->k, 6, sizeof t, &t);
  clSetKernelArg(g->k, 7, sizeof mu, &mu);
  clSetKernelArg(g->k, 8, sizeof s, &s);
  clSetKernelArg(g->k, 9, sizeof theta, &theta);
  size_t rows = (size_t)n * (size_t)k;
  return fm_device_launch(test_device(), g->k, 1, &rows, NULL);
}

static gauss_field gauss;
static cl_program gauss_program;

static fm_field gauss_field_make(void) {
  if (!gauss_program) {
    ck_fm(fm_device_build(test_device(), "test gauss field", gauss_source, "", &gauss_program));
    cl_int err;
    gauss.k = clCreateKernel(gauss_program, "f_gauss", &err);
    ck_assert_int_eq(err, CL_SUCCESS);
  }
  fm_field f = {.dev = test_device(), .dim = 2, .jvp = gauss_jvp, .ctx = &gauss};
  return f;
}

/* log N(x; mu, R diag(s^2) R^T). */
static double gauss_logp(const float *x) {
  double dx = x[0] - MU[0], dy = x[1] - MU[1], co = cos(THETA), si = sin(THETA);
  double u = co * dx + si * dy, w = -si * dx + co * dy; /* R^T (x - mu) */
  return -0.5 * (u * u / (S[0] * S[0]) + w * w / (S[1] * S[1])) - log(2 * PI * S[0] * S[1]);
}

static fm_likelihood_params params(fm_divergence div, int probes) {
  fm_likelihood_params p = {.solver = FM_SOLVER_RK4, .steps = 200, .rtol = 1e-5, .atol = 1e-5, .divergence = div, .probes = probes, .seed = 3, .batch = 97};
  return p;
}

START_TEST(likelihood_matches_the_closed_form_density) {
  fm_field f = gauss_field_make();
  enum { N = 300 };
  float x[N * 2];
  test_fill_uniform(x, N * 2, 1, -2.5f, 2.5f);
  double logp[N];
  fm_likelihood_params p = params(FM_DIV_EXACT, 0);
  fm_likelihood_stats stats;
  ck_fm(fm_likelihood_eval(&f, &p, x, NULL, N, logp, &stats));
  ck_assert_int_eq(stats.exact, 1);
  ck_assert_int_eq(stats.nfe, 800);
  double worst = 0;
  for (int i = 0; i < N; i++) worst = fmax(worst, fabs(logp[i] - gauss_logp(x + 2 * i)));
  ck_assert_msg(worst < 2e-3, "largest log-density error %g", worst);
  /* Coarser steps give larger errors: the check is not vacuous. */
  p.steps = 2;
  ck_fm(fm_likelihood_eval(&f, &p, x, NULL, N, logp, &stats));
  double coarse = 0;
  for (int i = 0; i < N; i++) coarse = fmax(coarse, fabs(logp[i] - gauss_logp(x + 2 * i)));
  ck_assert_msg(coarse > 10 * worst, "2 steps: error %g, 200 steps: %g", coarse, worst);
}
END_TEST

/* Mean and standard error of a - b. */
static void difference(const double *a, const double *b, int n, double *mean, double *se) {
  double s = 0, s2 = 0;
  for (int i = 0; i < n; i++) s += a[i] - b[i];
  *mean = s / n;
  for (int i = 0; i < n; i++) s2 += (a[i] - b[i] - *mean) * (a[i] - b[i] - *mean);
  *se = sqrt(s2 / (n - 1) / n);
}

START_TEST(hutchinson_agrees_with_the_exact_divergence_within_its_error) {
  fm_field f = gauss_field_make();
  enum { N = 2000 };
  float *x = malloc(N * 2 * sizeof *x);
  test_fill_uniform(x, N * 2, 2, -2.0f, 2.0f);
  double *exact = malloc(N * sizeof *exact), *hutch = malloc(N * sizeof *hutch);
  fm_likelihood_params pe = params(FM_DIV_EXACT, 0), ph = params(FM_DIV_HUTCHINSON, 2);
  pe.steps = ph.steps = 40;
  fm_likelihood_stats stats;
  ck_fm(fm_likelihood_eval(&f, &pe, x, NULL, N, exact, &stats));
  ck_fm(fm_likelihood_eval(&f, &ph, x, NULL, N, hutch, &stats));
  ck_assert_int_eq(stats.exact, 0);
  double mean, se;
  difference(hutch, exact, N, &mean, &se);
  /* The probes matter (the estimate varies per point) but average out. */
  ck_assert_msg(se > 1e-4, "Hutchinson's estimate did not vary: standard error %g", se);
  ck_assert_msg(fabs(mean) < 4 * se, "mean difference %g, standard error %g", mean, se);
  /* The same seed gives the same probes, whatever the batch size. */
  double *again = malloc(N * sizeof *again);
  ph.batch = 333;
  ck_fm(fm_likelihood_eval(&f, &ph, x, NULL, N, again, &stats));
  for (int i = 0; i < N; i++) ck_assert_double_eq_tol(again[i], hutch[i], 1e-4);
  free(x), free(exact), free(hutch), free(again);
}
END_TEST

START_TEST(model_density_integrates_to_one) {
  fm_mlp_shape shape = {.dim = 2, .time_features = 1, .n_hidden = 2, .hidden = {16, 16}, .activation = FM_ACT_TANH};
  fm_mlp *mlp = NULL;
  ck_fm(fm_mlp_create(test_device(), &shape, 4096, &mlp));
  ck_fm(fm_mlp_init(mlp, 4));
  cl_mem t = test_zeros(4096);
  fm_mlp_field holder = {.mlp = mlp, .t = t};
  fm_field f = fm_field_of_mlp(&holder);
  enum { G = 90 };
  const double lo = -6, hi = 6, cell = (hi - lo) / G;
  float *x = malloc(G * G * 2 * sizeof *x);
  for (int i = 0; i < G; i++)
    for (int j = 0; j < G; j++) {
      x[2 * (i * G + j)] = (float)(lo + (j + 0.5) * cell);
      x[2 * (i * G + j) + 1] = (float)(lo + (i + 0.5) * cell);
    }
  double *logp = malloc(G * G * sizeof *logp);
  fm_likelihood_params p = params(FM_DIV_AUTO, 0);
  p.steps = 20;
  p.batch = 4096;
  fm_likelihood_stats stats;
  ck_fm(fm_likelihood_eval(&f, &p, x, NULL, G * G, logp, &stats));
  double mass = 0;
  for (int i = 0; i < G * G; i++) mass += exp(logp[i]) * cell * cell;
  ck_assert_msg(fabs(mass - 1) < 0.02, "the density integrates to %g", mass);
  /* And it is not the source's N(0, I): the model moved the mass. */
  double moved = 0;
  for (int i = 0; i < G * G; i++) {
    double sq = (double)x[2 * i] * x[2 * i] + (double)x[2 * i + 1] * x[2 * i + 1];
    moved = fmax(moved, fabs(logp[i] - (-0.5 * sq - log(2 * PI))));
  }
  ck_assert_msg(moved > 0.05, "log-density differs from N(0, I) by at most %g", moved);
  free(x), free(logp);
  fm_device_release(test_device(), t);
  fm_mlp_destroy(mlp);
}
END_TEST

START_TEST(likelihood_refuses_bad_requests) {
  fm_field f = gauss_field_make();
  float x[2] = {0, 0};
  double logp[1];
  fm_likelihood_stats stats;
  fm_likelihood_params p = params(FM_DIV_HUTCHINSON, 0);
  ck_assert_int_eq(fm_likelihood_eval(&f, &p, x, NULL, 1, logp, &stats), FM_ERR_INVALID);
  p = params(FM_DIV_EXACT, 0);
  ck_assert_int_eq(fm_likelihood_eval(&f, &p, x, NULL, 0, logp, &stats), FM_ERR_INVALID);
}
END_TEST

int main(void) {
  Suite *s = suite_create("likelihood");
  TCase *tc = tcase_create("likelihood");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, likelihood_matches_the_closed_form_density);
  tcase_add_test(tc, hutchinson_agrees_with_the_exact_divergence_within_its_error);
  tcase_add_test(tc, model_density_integrates_to_one);
  tcase_add_test(tc, likelihood_refuses_bad_requests);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
