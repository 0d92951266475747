/* Fixed-step solvers on ODEs with closed-form solutions: accuracy, order of convergence,
 * evaluation counts, and integration backwards in time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "support.h"

/* dx/dt = cos(t) x, so x(t) = x(t0) exp(sin t - sin t0). */
static const char *ode_source =
    "__kernel void f_cos(__global const float *x, __global float *out, float t, uint n) {\n"
    "  uint i = get_global_id(0);\n"
    "  if (i < n) out[i] = cos(t) * x[i];\n"
    "}\n";

/* Largest relative error of solving from t0 to t1 in steps, over 37 starting values. */
static double solve_error(fm_solver_kind kind, double t0, double t1, int steps, long *nfe) {
  enum { N = 37 };
  float x0[N];
  test_fill_uniform(x0, N, 1, 0.5f, 2.0f);
  test_ode o = test_ode_make(ode_source, "f_cos", N);
  cl_mem x = test_upload(x0, N);
  fm_solver *s = NULL;
  ck_fm(fm_solver_create(test_device(), kind, N, &s));
  long evals = 0;
  ck_fm(fm_solver_integrate(s, x, N, t0, t1, steps, test_ode_rhs, &o, &evals));
  float *got = test_download(x, N);
  double worst = 0;
  for (int i = 0; i < N; i++) {
    double want = x0[i] * exp(sin(t1) - sin(t0));
    worst = fmax(worst, fabs(got[i] - want) / fabs(want));
  }
  if (nfe) *nfe = evals;
  free(got);
  fm_solver_destroy(s);
  fm_device_release(test_device(), x);
  clReleaseKernel(o.k);
  return worst;
}

START_TEST(every_solver_tracks_the_closed_form_solution) {
  const double tol[4] = {2e-2, 2e-4, 2e-4, 2e-6};
  for (int kind = 0; kind < 4; kind++) {
    double err = solve_error((fm_solver_kind)kind, 0.0, 1.0, 64, NULL);
    ck_assert_msg(err < tol[kind], "%s: error %g", fm_solver_name((fm_solver_kind)kind), err);
  }
}
END_TEST

START_TEST(every_solver_converges_at_its_order) {
  /* Step counts where the error is far above float rounding yet in the asymptotic range. */
  const int coarse[4] = {16, 16, 8, 2};
  for (int kind = 0; kind < 4; kind++) {
    fm_solver_kind k = (fm_solver_kind)kind;
    double e1 = solve_error(k, 0.0, 2.0, coarse[kind], NULL);
    double e2 = solve_error(k, 0.0, 2.0, 2 * coarse[kind], NULL);
    double e4 = solve_error(k, 0.0, 2.0, 4 * coarse[kind], NULL);
    double order1 = log2(e1 / e2), order2 = log2(e2 / e4);
    fprintf(stderr, "%s: errors %.3g %.3g %.3g, observed order %.2f %.2f\n", fm_solver_name(k), e1, e2, e4, order1, order2);
    ck_assert_msg(fabs(order2 - fm_solver_order(k)) < 0.35,
                  "%s: observed order %.2f then %.2f (errors %g %g %g), expected %d",
                  fm_solver_name(k), order1, order2, e1, e2, e4, fm_solver_order(k));
  }
}
END_TEST

START_TEST(evaluation_count_is_steps_times_stages) {
  const int stages[4] = {1, 2, 2, 4};
  for (int kind = 0; kind < 4; kind++) {
    long nfe = 0;
    solve_error((fm_solver_kind)kind, 0.0, 1.0, 7, &nfe);
    ck_assert_int_eq(nfe, 7 * stages[kind]);
    ck_assert_int_eq(fm_solver_stages((fm_solver_kind)kind), stages[kind]);
  }
}
END_TEST

START_TEST(solvers_integrate_backwards_in_time) {
  double err = solve_error(FM_SOLVER_RK4, 1.0, 0.0, 32, NULL);
  ck_assert_msg(err < 1e-5, "rk4 backwards: error %g", err);
}
END_TEST

START_TEST(solver_refuses_bad_arguments) {
  fm_solver *s = NULL;
  ck_fm(fm_solver_create(test_device(), FM_SOLVER_EULER, 10, &s));
  cl_mem x = test_zeros(20);
  test_ode o = test_ode_make(ode_source, "f_cos", 20);
  ck_assert_int_eq(fm_solver_integrate(s, x, 20, 0, 1, 4, test_ode_rhs, &o, NULL),
                   FM_ERR_INVALID);
  ck_assert_int_eq(fm_solver_integrate(s, x, 10, 0, 1, 0, test_ode_rhs, &o, NULL),
                   FM_ERR_INVALID);
  clReleaseKernel(o.k);
  fm_device_release(test_device(), x);
  fm_solver_destroy(s);
}
END_TEST

int main(void) {
  Suite *s = suite_create("solver");
  TCase *tc = tcase_create("solver");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, every_solver_tracks_the_closed_form_solution);
  tcase_add_test(tc, every_solver_converges_at_its_order);
  tcase_add_test(tc, evaluation_count_is_steps_times_stages);
  tcase_add_test(tc, solvers_integrate_backwards_in_time);
  tcase_add_test(tc, solver_refuses_bad_arguments);
  suite_add_tcase(s, tc);
  int rc = test_run_suite(s);
  return rc;
}
