/* The adaptive Dormand-Prince solver on ODEs with closed-form solutions: the error follows
 * the tolerance, evaluation counts, backwards integration, clear failures on blow-up and
 * NaN, and the device error norm against a C reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* Right-hand sides, one work-item per element (f_spiral: per element of a pair). */
static const char *ode_source =
    "__kernel void f_cos(__global const float *x, __global float *out, float t, uint n) {\n"
    "  uint i = get_global_id(0);\n"
    "  if (i < n) out[i] = cos(t) * x[i];\n"
    "}\n"
    "__kernel void f_gauss(__global const float *x, __global float *out, float t, uint n) {\n"
    "  uint i = get_global_id(0);\n"
    "  if (i < n) out[i] = -2.0f * t * x[i];\n"
    "}\n"
    /* (x, y)' = (a x - w y, w x + a y) for consecutive pairs: a growing rotation. */
    "__kernel void f_spiral(__global const float *x, __global float *out, float t, uint n) {\n"
    "  uint i = get_global_id(0);\n"
    "  if (i >= n) return;\n"
    "  uint p = i & ~1u;\n"
    "  float a = 0.3f, w = 3.0f;\n"
    "  out[i] = (i & 1u) ? w * x[p] + a * x[p + 1] : a * x[p] - w * x[p + 1];\n"
    "}\n"
    "__kernel void f_square(__global const float *x, __global float *out, float t, uint n) {\n"
    "  uint i = get_global_id(0);\n"
    "  if (i < n) out[i] = x[i] * x[i];\n"
    "}\n"
    "__kernel void f_nan_after_half(__global const float *x, __global float *out, float t,\n"
    "                               uint n) {\n"
    "  uint i = get_global_id(0);\n"
    "  if (i < n) out[i] = t < 0.5f ? -x[i] : (i == 7 ? NAN : -x[i]);\n"
    "}\n";

/* The closed-form solution from (t0, x0) at t1, in double. */
static void exact(const char *name, const float *x0, size_t n, double t0, double t1,
                  double *want) {
  if (strcmp(name, "f_cos") == 0) {
    for (size_t i = 0; i < n; i++) want[i] = x0[i] * exp(sin(t1) - sin(t0));
  } else if (strcmp(name, "f_gauss") == 0) {
    for (size_t i = 0; i < n; i++) want[i] = x0[i] * exp(-(t1 * t1 - t0 * t0));
  } else if (strcmp(name, "f_spiral") == 0) {
    double dt = t1 - t0, g = exp(0.3 * dt), c = cos(3.0 * dt), s = sin(3.0 * dt);
    for (size_t i = 0; i + 1 < n; i += 2) {
      want[i] = g * (c * x0[i] - s * x0[i + 1]);
      want[i + 1] = g * (s * x0[i] + c * x0[i + 1]);
    }
  } else {
    ck_abort_msg("no closed form for %s", name);
  }
}

typedef struct solve_result {
  fm_status status;
  double max_error; /* max |got - want| */
  double scaled;    /* max |got - want| / (atol + rtol |want|) */
  fm_solver_stats stats;
  long nfe; /* through fm_solver_integrate's argument */
} solve_result;

/* Solves ODE `name` for n random starting values in [-2, 2] from t0 to t1 at rtol = atol
 * = tol and compares with the closed form. */
static solve_result solve(const char *name, size_t n, double t0, double t1, double tol) {
  float *x0 = malloc(n * sizeof *x0);
  double *want = malloc(n * sizeof *want);
  test_fill_uniform(x0, n, 3, -2.0f, 2.0f);
  test_ode o = test_ode_make(ode_source, name, n);
  cl_mem x = test_upload(x0, n);
  fm_solver *s = NULL;
  ck_fm(fm_solver_create(test_device(), FM_SOLVER_DOPRI5, n, &s));
  fm_tolerance tl;
  fm_solver_default_tolerance(&tl);
  tl.rtol = tl.atol = tol;
  ck_fm(fm_solver_set_tolerance(s, &tl));
  solve_result r = {0};
  r.status = fm_solver_integrate(s, x, n, t0, t1, 0, test_ode_rhs, &o, &r.nfe);
  r.stats = *fm_solver_get_stats(s);
  float *got = test_download(x, n);
  exact(name, x0, n, t0, t1, want);
  for (size_t i = 0; i < n; i++) {
    double e = fabs(got[i] - want[i]);
    r.max_error = fmax(r.max_error, e);
    r.scaled = fmax(r.scaled, e / (tol + tol * fabs(want[i])));
  }
  free(got);
  free(want);
  free(x0);
  fm_solver_destroy(s);
  fm_device_release(test_device(), x);
  clReleaseKernel(o.k);
  return r;
}

static const char *const problems[3] = {"f_cos", "f_gauss", "f_spiral"};
static const size_t sizes[3] = {1037, 1037, 1038}; /* spiral: pairs */
static const double levels[4] = {1e-3, 1e-4, 1e-5, 1e-6};

START_TEST(dopri5_error_follows_the_tolerance) {
  for (int p = 0; p < 3; p++) {
    double prev = INFINITY;
    for (int l = 0; l < 4; l++) {
      solve_result r = solve(problems[p], sizes[p], 0.0, 2.0, levels[l]);
      ck_assert_msg(r.status == FM_OK, "%s at %g: %s", problems[p], levels[l],
                    fm_error_message());
      fprintf(stderr, "%-8s tol %.0e: max error %.3g (%.2f tolerances), nfe %ld, accepted "
              "%ld, rejected %ld\n", problems[p], levels[l], r.max_error, r.scaled, r.stats.nfe,
              r.stats.accepted, r.stats.rejected);
      /* Local error control keeps the global error within a few tolerances (the spiral's
       * full turn accumulates about 7; a double-precision run of the same algorithm
       * takes the same steps and gives the same errors). */
      ck_assert_msg(r.scaled < 10, "%s at tol %g: error %g is %.1f tolerances", problems[p],
                    levels[l], r.max_error, r.scaled);
      ck_assert_msg(r.max_error < prev / 2, "%s: error %g at tol %g is not below half of %g",
                    problems[p], r.max_error, levels[l], prev);
      prev = r.max_error;
    }
  }
}
END_TEST

START_TEST(dopri5_counts_six_evaluations_per_attempted_step_plus_two) {
  for (int p = 0; p < 3; p++) {
    long prev = 0;
    for (int l = 0; l < 4; l++) {
      solve_result r = solve(problems[p], sizes[p], 0.0, 2.0, levels[l]);
      ck_assert_int_eq(r.status, FM_OK);
      ck_assert_int_eq(r.nfe, r.stats.nfe);
      ck_assert_int_eq(r.stats.nfe, 2 + 6 * (r.stats.accepted + r.stats.rejected));
      ck_assert_msg(r.stats.nfe > prev, "%s: nfe %ld at tol %g, not more than %ld",
                    problems[p], r.stats.nfe, levels[l], prev);
      prev = r.stats.nfe;
    }
  }
  ck_assert_int_eq(fm_solver_stages(FM_SOLVER_DOPRI5), 6);
  ck_assert_int_eq(fm_solver_order(FM_SOLVER_DOPRI5), 5);
}
END_TEST

START_TEST(dopri5_rejects_and_retries_steps_that_miss_the_tolerance) {
  /* -2 t x stiffens as t grows, so some proposed steps are too long; they are retried
   * and counted at six evaluations each. */
  solve_result r = solve("f_gauss", 1037, 0.0, 2.0, 1e-3);
  ck_assert_int_eq(r.status, FM_OK);
  ck_assert_msg(r.stats.rejected > 0, "expected a rejected step");
  ck_assert_int_eq(r.stats.nfe, 2 + 6 * (r.stats.accepted + r.stats.rejected));
  ck_assert_msg(r.scaled < 5, "error %g", r.max_error);
}
END_TEST

START_TEST(dopri5_integrates_backwards_in_time) {
  for (int p = 0; p < 3; p++) {
    solve_result r = solve(problems[p], sizes[p], 1.0, 0.0, 1e-5);
    ck_assert_msg(r.status == FM_OK, "%s: %s", problems[p], fm_error_message());
    ck_assert_msg(r.scaled < 5, "%s from 1 to 0: error %g", problems[p], r.max_error);
    ck_assert_int_eq(r.stats.nfe, 2 + 6 * (r.stats.accepted + r.stats.rejected));
  }
  /* There and back again recovers the start. */
  enum { N = 1037 };
  float x0[N];
  test_fill_uniform(x0, N, 5, -2.0f, 2.0f);
  test_ode o = test_ode_make(ode_source, "f_gauss", N);
  cl_mem x = test_upload(x0, N);
  fm_solver *s = NULL;
  ck_fm(fm_solver_create(test_device(), FM_SOLVER_DOPRI5, N, &s));
  ck_fm(fm_solver_integrate(s, x, N, 0.0, 1.0, 0, test_ode_rhs, &o, NULL));
  ck_fm(fm_solver_integrate(s, x, N, 1.0, 0.0, 0, test_ode_rhs, &o, NULL));
  float *got = test_download(x, N);
  double want[N];
  for (int i = 0; i < N; i++) want[i] = x0[i];
  ck_assert_int_eq(test_mismatches("0 -> 1 -> 0", got, want, N, 5e-5, 5e-5), 0);
  free(got);
  fm_solver_destroy(s);
  fm_device_release(test_device(), x);
  clReleaseKernel(o.k);
}
END_TEST

START_TEST(dopri5_is_deterministic) {
  solve_result a = solve("f_spiral", 1038, 0.0, 2.0, 1e-5);
  solve_result b = solve("f_spiral", 1038, 0.0, 2.0, 1e-5);
  ck_assert(a.max_error == b.max_error);
  ck_assert_int_eq(a.stats.accepted, b.stats.accepted);
  ck_assert_int_eq(a.stats.rejected, b.stats.rejected);
}
END_TEST

/* Runs dx/dt = f from x0 (n copies of v, or the given values) and returns the status;
 * x_after receives element 0 of the final (last accepted) state. */
static fm_status run_failing(const char *name, const float *x0, size_t n, double t0, double t1,
                             const fm_tolerance *tl, fm_solver_stats *stats, float *x_after) {
  test_ode o = test_ode_make(ode_source, name, n);
  cl_mem x = test_upload(x0, n);
  fm_solver *s = NULL;
  ck_fm(fm_solver_create(test_device(), FM_SOLVER_DOPRI5, n, &s));
  if (tl) ck_fm(fm_solver_set_tolerance(s, tl));
  long nfe = 0;
  fm_status st = fm_solver_integrate(s, x, n, t0, t1, 0, test_ode_rhs, &o, &nfe);
  *stats = *fm_solver_get_stats(s);
  ck_assert_int_eq(nfe, stats->nfe);
  float *got = test_download(x, n);
  *x_after = got[0];
  free(got);
  fm_solver_destroy(s);
  fm_device_release(test_device(), x);
  clReleaseKernel(o.k);
  return st;
}

START_TEST(dopri5_stops_clearly_when_the_solution_blows_up) {
  /* x' = x^2, x(0) = 10: x = 10 / (1 - 10 t), infinite at t = 0.1. */
  enum { N = 37 };
  float x0[N];
  for (int i = 0; i < N; i++) x0[i] = 10.0f;
  fm_solver_stats stats;
  float last;
  fm_status st = run_failing("f_square", x0, N, 0.0, 1.0, NULL, &stats, &last);
  const char *msg = fm_error_message();
  fprintf(stderr, "blow-up: %s\n  (%ld accepted, %ld rejected, nfe %ld, last state %g)\n", msg,
          stats.accepted, stats.rejected, stats.nfe, (double)last);
  ck_assert_int_eq(st, FM_ERR_NUMERIC);
  const char *at = strstr(msg, " at t = ");
  ck_assert_msg(strstr(msg, "step size") && at, "message: %s", msg);
  /* Near the singularity (float rounding of the state moves it by about 1e-7). */
  double t_stop = atof(at + 8);
  ck_assert_msg(fabs(t_stop - 0.1) < 1e-5, "stopped at t = %g", t_stop);
  ck_assert_msg(strstr(msg, "rtol"), "message names no remedy: %s", msg);
  /* Bounded by the step floor, far below the default max_steps. */
  ck_assert_msg(stats.accepted + stats.rejected < 2000, "%ld steps", stats.accepted + stats.rejected);
  ck_assert_int_eq(stats.nfe, 2 + 6 * (stats.accepted + stats.rejected));
  /* x holds the last accepted state, close to the singularity. */
  ck_assert_msg(isfinite(last) && last > 1e4f, "last state %g", (double)last);
}
END_TEST

START_TEST(dopri5_stops_after_max_steps) {
  enum { N = 37 };
  float x0[N];
  test_fill_uniform(x0, N, 1, 0.5f, 2.0f);
  fm_tolerance tl = {.rtol = 1e-7, .atol = 1e-7, .max_steps = 10};
  fm_solver_stats stats;
  float last;
  fm_status st = run_failing("f_cos", x0, N, 0.0, 20.0, &tl, &stats, &last);
  const char *msg = fm_error_message();
  ck_assert_int_eq(st, FM_ERR_NUMERIC);
  ck_assert_msg(strstr(msg, "max_steps = 10") && strstr(msg, "step size"), "message: %s", msg);
  ck_assert_int_eq(stats.accepted + stats.rejected, 10);
  ck_assert_int_eq(stats.nfe, 2 + 60);
}
END_TEST

START_TEST(dopri5_honours_an_explicit_min_step) {
  enum { N = 37 };
  float x0[N];
  test_fill_uniform(x0, N, 1, 0.5f, 2.0f);
  fm_tolerance tl = {.rtol = 1e-6, .atol = 1e-6, .min_step = 0.05}; /* tol 1e-6 needs steps far below 0.05 */
  fm_solver_stats stats;
  float last;
  fm_status st = run_failing("f_spiral", x0, 36, 0.0, 2.0, &tl, &stats, &last);
  ck_assert_int_eq(st, FM_ERR_NUMERIC);
  ck_assert_msg(strstr(fm_error_message(), "min_step"), "message: %s", fm_error_message());
}
END_TEST

START_TEST(dopri5_reports_nan_in_the_state) {
  enum { N = 1037 };
  float x0[N];
  test_fill_uniform(x0, N, 1, 0.5f, 2.0f);
  x0[500] = NAN;
  fm_solver_stats stats;
  float last;
  fm_status st = run_failing("f_cos", x0, N, 0.0, 1.0, NULL, &stats, &last);
  ck_assert_int_eq(st, FM_ERR_NUMERIC);
  ck_assert_msg(strstr(fm_error_message(), "NaN"), "message: %s", fm_error_message());
  ck_assert_int_eq(stats.nfe, 1); /* found before the first step */
  ck_assert_int_eq(stats.accepted + stats.rejected, 0);
}
END_TEST

START_TEST(dopri5_reports_a_velocity_that_turns_nan) {
  /* f is NaN in one element from t = 0.5 on: steps shrink towards 0.5 until the floor. */
  enum { N = 1037 };
  float x0[N];
  test_fill_uniform(x0, N, 1, 0.5f, 2.0f);
  fm_solver_stats stats;
  float last;
  fm_status st = run_failing("f_nan_after_half", x0, N, 0.0, 1.0, NULL, &stats, &last);
  const char *msg = fm_error_message();
  fprintf(stderr, "NaN at t >= 0.5: %s\n  (%ld accepted, %ld rejected)\n", msg, stats.accepted,
          stats.rejected);
  ck_assert_int_eq(st, FM_ERR_NUMERIC);
  ck_assert_msg(strstr(msg, "step size") && strstr(msg, "NaN"), "message: %s", msg);
  ck_assert_msg(stats.accepted + stats.rejected < 2000, "%ld steps", stats.accepted + stats.rejected);
  ck_assert_msg(isfinite(last), "the last accepted state is not finite: %g", (double)last);
}
END_TEST

START_TEST(dopri5_does_nothing_on_an_empty_interval) {
  enum { N = 37 };
  float x0[N];
  test_fill_uniform(x0, N, 1, 0.5f, 2.0f);
  test_ode o = test_ode_make(ode_source, "f_cos", N);
  cl_mem x = test_upload(x0, N);
  fm_solver *s = NULL;
  ck_fm(fm_solver_create(test_device(), FM_SOLVER_DOPRI5, N, &s));
  long nfe = 0;
  ck_fm(fm_solver_integrate(s, x, N, 0.5, 0.5, 0, test_ode_rhs, &o, &nfe));
  ck_assert_int_eq(nfe, 0);
  float *got = test_download(x, N);
  ck_assert(memcmp(got, x0, sizeof x0) == 0);
  free(got);
  fm_solver_destroy(s);
  fm_device_release(test_device(), x);
  clReleaseKernel(o.k);
}
END_TEST

START_TEST(tolerance_rejects_bad_values_and_keeps_the_old_one) {
  fm_solver *s = NULL;
  ck_fm(fm_solver_create(test_device(), FM_SOLVER_DOPRI5, 8, &s));
  const fm_tolerance *now = fm_solver_get_tolerance(s);
  ck_assert(now->rtol == 1e-5 && now->atol == 1e-5 && now->max_steps == 100000);
  fm_tolerance bad[5] = {{.rtol = -1, .atol = 1e-5},
                         {.rtol = 1e-5, .atol = NAN},
                         {.rtol = 0, .atol = 0},
                         {.rtol = 1e-5, .atol = 1e-5, .min_step = -1},
                         {.rtol = 1e-5, .atol = 1e-5, .max_steps = -3}};
  const char *field[5] = {"rtol", "atol", "both 0", "min_step", "max_steps"};
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(fm_solver_set_tolerance(s, &bad[i]), FM_ERR_INVALID);
    ck_assert_msg(strstr(fm_error_message(), field[i]), "message: %s", fm_error_message());
  }
  ck_assert(now->rtol == 1e-5 && now->atol == 1e-5);
  fm_tolerance pure_relative = {.rtol = 1e-4};
  ck_fm(fm_solver_set_tolerance(s, &pure_relative));
  ck_assert_int_eq(fm_solver_get_tolerance(s)->max_steps, 100000);
  fm_solver_destroy(s);
}
END_TEST

START_TEST(fixed_step_solvers_report_their_steps) {
  enum { N = 37 };
  float x0[N];
  test_fill_uniform(x0, N, 1, 0.5f, 2.0f);
  test_ode o = test_ode_make(ode_source, "f_cos", N);
  cl_mem x = test_upload(x0, N);
  fm_solver *s = NULL;
  ck_fm(fm_solver_create(test_device(), FM_SOLVER_RK4, N, &s));
  ck_fm(fm_solver_integrate(s, x, N, 0.0, 1.0, 7, test_ode_rhs, &o, NULL));
  const fm_solver_stats *st = fm_solver_get_stats(s);
  ck_assert_int_eq(st->nfe, 28);
  ck_assert_int_eq(st->accepted, 7);
  ck_assert_int_eq(st->rejected, 0);
  fm_solver_destroy(s);
  fm_device_release(test_device(), x);
  clReleaseKernel(o.k);
}
END_TEST

/* ---- the device error norm against a C reference ---------------------------------- */

static size_t compile_wg(cl_kernel k) {
  size_t wg[3] = {0, 0, 0};
  cl_device_id id = fm_device_get_info(test_device())->id;
  ck_assert_int_eq(clGetKernelWorkGroupInfo(k, id, CL_KERNEL_COMPILE_WORK_GROUP_SIZE,
                                            sizeof wg, wg, NULL), CL_SUCCESS);
  ck_assert(wg[0] > 0);
  return wg[0];
}

enum { NE = 1037 };

/* Host copies of the error kernel's inputs: y, ynew, k1, k3..k7. */
typedef struct norm_inputs {
  float v[8][NE];
  float e[6];
  float atol, rtol;
} norm_inputs;

static double norm_reference(const norm_inputs *in) {
  double sum = 0;
  for (int i = 0; i < NE; i++) {
    double err = 0;
    for (int j = 0; j < 6; j++) err += (double)in->e[j] * in->v[2 + j][i];
    double scale = in->atol + in->rtol * fmax(fabs(in->v[0][i]), fabs(in->v[1][i]));
    sum += (err / scale) * (err / scale);
  }
  return sqrt(sum / NE);
}

/* Runs fm_dopri5_error with `groups` work-groups, then fm_dopri5_rms; returns the norm. */
static float norm_device(const norm_inputs *in, size_t groups) {
  cl_kernel ke = NULL, kr = NULL;
  ck_fm(fm_device_kernel(test_device(), "solver", "fm_dopri5_error", &ke));
  ck_fm(fm_device_kernel(test_device(), "solver", "fm_dopri5_rms", &kr));
  size_t wg = compile_wg(ke);
  ck_assert_int_eq(compile_wg(kr), wg);
  cl_mem buf[8], partial = test_zeros(groups), result = test_zeros(2);
  for (int j = 0; j < 8; j++) buf[j] = test_upload(in->v[j], NE);
  cl_uint n = NE, ug = (cl_uint)groups, slot = 1;
  clSetKernelArg(ke, 0, sizeof partial, &partial);
  for (cl_uint j = 0; j < 8; j++) clSetKernelArg(ke, 1 + j, sizeof buf[j], &buf[j]);
  for (cl_uint j = 0; j < 6; j++) clSetKernelArg(ke, 9 + j, sizeof(float), &in->e[j]);
  clSetKernelArg(ke, 15, sizeof(float), &in->atol);
  clSetKernelArg(ke, 16, sizeof(float), &in->rtol);
  clSetKernelArg(ke, 17, sizeof n, &n);
  size_t global = groups * wg;
  ck_fm(fm_device_launch(test_device(), ke, 1, &global, &wg));
  clSetKernelArg(kr, 0, sizeof result, &result);
  clSetKernelArg(kr, 1, sizeof partial, &partial);
  clSetKernelArg(kr, 2, sizeof ug, &ug);
  clSetKernelArg(kr, 3, sizeof n, &n);
  clSetKernelArg(kr, 4, sizeof slot, &slot);
  ck_fm(fm_device_launch(test_device(), kr, 1, &wg, &wg));
  float *got = test_download(result, 2);
  float norm = got[1];
  free(got);
  for (int j = 0; j < 8; j++) fm_device_release(test_device(), buf[j]);
  fm_device_release(test_device(), partial);
  fm_device_release(test_device(), result);
  return norm;
}

static void fill_inputs(norm_inputs *in) {
  for (int j = 0; j < 8; j++) test_fill_uniform(in->v[j], NE, 10 + (unsigned)j, -3.0f, 3.0f);
  const float e[6] = {0.0123f, -0.0425f, 0.0369f, -0.0508f, 0.0419f, -0.025f};
  memcpy(in->e, e, sizeof e);
  in->atol = 1e-3f;
  in->rtol = 1e-2f;
}

START_TEST(error_norm_kernel_matches_a_c_reference) {
  static norm_inputs in;
  fill_inputs(&in);
  double want = norm_reference(&in);
  cl_kernel ke = NULL;
  ck_fm(fm_device_kernel(test_device(), "solver", "fm_dopri5_error", &ke));
  size_t wg = compile_wg(ke);
  /* One item per element (1037 is not a multiple of the group size), and fewer groups so
   * each item strides over several elements. */
  size_t shapes[3] = {(NE + wg - 1) / wg, 3, 1};
  for (int i = 0; i < 3; i++) {
    double got = norm_device(&in, shapes[i]);
    fprintf(stderr, "error norm, %zu groups of %zu: %.9g, reference %.9g\n", shapes[i], wg, got,
            want);
    ck_assert_msg(fabs(got - want) <= 1e-5 * want, "%zu groups: got %.9g, want %.9g", shapes[i],
                  got, want);
  }
}
END_TEST

START_TEST(error_norm_kernel_flags_non_finite_values) {
  static norm_inputs in;
  /* NaN in the accepted state: NaN, an error for the host. */
  fill_inputs(&in);
  in.v[0][1036] = NAN;
  ck_assert(isnan(norm_device(&in, 3)));
  fill_inputs(&in);
  in.v[2][17] = INFINITY; /* k1 */
  ck_assert(isnan(norm_device(&in, 3)));
  /* Non-finite only in the trial step: +Inf, a rejection. */
  fill_inputs(&in);
  in.v[1][600] = INFINITY; /* ynew */
  float v = norm_device(&in, 3);
  ck_assert_msg(isinf(v) && v > 0, "got %g", (double)v);
  fill_inputs(&in);
  in.v[4][0] = NAN; /* k4 */
  v = norm_device(&in, 3);
  ck_assert_msg(isinf(v) && v > 0, "got %g", (double)v);
}
END_TEST

int main(void) {
  Suite *s = suite_create("dopri5");
  TCase *tc = tcase_create("dopri5");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, dopri5_error_follows_the_tolerance);
  tcase_add_test(tc, dopri5_counts_six_evaluations_per_attempted_step_plus_two);
  tcase_add_test(tc, dopri5_rejects_and_retries_steps_that_miss_the_tolerance);
  tcase_add_test(tc, dopri5_integrates_backwards_in_time);
  tcase_add_test(tc, dopri5_is_deterministic);
  tcase_add_test(tc, dopri5_stops_clearly_when_the_solution_blows_up);
  tcase_add_test(tc, dopri5_stops_after_max_steps);
  tcase_add_test(tc, dopri5_honours_an_explicit_min_step);
  tcase_add_test(tc, dopri5_reports_nan_in_the_state);
  tcase_add_test(tc, dopri5_reports_a_velocity_that_turns_nan);
  tcase_add_test(tc, dopri5_does_nothing_on_an_empty_interval);
  tcase_add_test(tc, tolerance_rejects_bad_values_and_keeps_the_old_one);
  tcase_add_test(tc, fixed_step_solvers_report_their_steps);
  tcase_add_test(tc, error_norm_kernel_matches_a_c_reference);
  tcase_add_test(tc, error_norm_kernel_flags_non_finite_values);
  suite_add_tcase(s, tc);
  int rc = test_run_suite(s);
  return rc;
}
