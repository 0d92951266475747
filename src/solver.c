/* Euler, midpoint, Heun, RK4 and adaptive Dormand-Prince 5(4) as sequences of velocity
 * evaluations and one-pass stage combinations (cl/solver.cl); the host only enqueues, and
 * for dopri5 reads back one float per step: the error norm, reduced on the device. */
#include "fmcl/solver.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct fm_solver {
  fm_device *dev;
  fm_solver_kind kind;
  size_t capacity;
  cl_mem k[7];    /* (capacity) each: stage velocities; dopri5 uses all seven */
  cl_mem tmp;     /* (capacity): stage state; dopri5's proposed next state */
  cl_mem partial; /* (FM_REDUCE_GROUPS_MAX): dopri5's per-work-group sums of squares */
  cl_mem norm;    /* (2): dopri5's norms, read back by the host */
  cl_kernel k_axpy, k_heun, k_rk4;
  cl_kernel k_stage, k_error, k_sumsq, k_rms; /* dopri5 */
  size_t wg;                                  /* FM_REDUCE_WG of the reduction kernels */
  fm_tolerance tol;
  fm_solver_stats stats;
  fm_solver_watch watch;
};

int fm_solver_stages(fm_solver_kind kind) {
  switch (kind) {
  case FM_SOLVER_EULER: return 1;
  case FM_SOLVER_MIDPOINT:
  case FM_SOLVER_HEUN: return 2;
  case FM_SOLVER_RK4: return 4;
  case FM_SOLVER_DOPRI5: return 6;
  }
  return 0;
}

int fm_solver_order(fm_solver_kind kind) {
  switch (kind) {
  case FM_SOLVER_EULER: return 1;
  case FM_SOLVER_MIDPOINT:
  case FM_SOLVER_HEUN: return 2;
  case FM_SOLVER_RK4: return 4;
  case FM_SOLVER_DOPRI5: return 5;
  }
  return 0;
}

static const fm_tolerance default_tolerance = {1e-5, 1e-5, 0.0, 100000};

fm_status fm_solver_create(fm_device *dev, fm_solver_kind kind, size_t capacity, fm_solver **out) {
  fm_status st = FM_OK;
  *out = NULL;
  fm_solver *s = calloc(1, sizeof *s);
  if (!s) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the solver");
  s->dev = dev;
  s->kind = kind;
  s->capacity = capacity;
  s->tol = default_tolerance;
  size_t bytes = capacity * sizeof(float);
  int n_k = kind == FM_SOLVER_DOPRI5 ? 7 : fm_solver_stages(kind);
  for (int i = 0; i < n_k; i++)
    FM_TRY(fm_device_alloc(dev, bytes, "solver stage", &s->k[i]));
  if (kind != FM_SOLVER_EULER) FM_TRY(fm_device_alloc(dev, bytes, "solver state", &s->tmp));
  FM_TRY(fm_device_kernel(dev, "solver", "fm_axpy", &s->k_axpy));
  FM_TRY(fm_device_kernel(dev, "solver", "fm_heun_update", &s->k_heun));
  FM_TRY(fm_device_kernel(dev, "solver", "fm_rk4_update", &s->k_rk4));
  if (kind == FM_SOLVER_DOPRI5) {
    FM_TRY(fm_device_alloc(dev, FM_REDUCE_GROUPS_MAX * sizeof(float), "solver error sums", &s->partial));
    FM_TRY(fm_device_alloc(dev, 2 * sizeof(float), "solver error norm", &s->norm));
    FM_TRY(fm_device_kernel(dev, "solver", "fm_dopri5_stage", &s->k_stage));
    FM_TRY(fm_device_kernel(dev, "solver", "fm_dopri5_error", &s->k_error));
    FM_TRY(fm_device_kernel(dev, "solver", "fm_dopri5_sumsq", &s->k_sumsq));
    FM_TRY(fm_device_kernel(dev, "solver", "fm_dopri5_rms", &s->k_rms));
    s->wg = fm_device_kernel_limits(dev, s->k_error)->reduce_wg;
  }
  *out = s;
  return FM_OK;
fail:
  fm_solver_destroy(s);
  return st;
}

void fm_solver_destroy(fm_solver *s) {
  if (!s) return;
  fm_device_release(s->dev, s->norm);
  fm_device_release(s->dev, s->partial);
  fm_device_release(s->dev, s->tmp);
  for (int i = 6; i >= 0; i--) fm_device_release(s->dev, s->k[i]);
  free(s);
}

/* Whether v is a finite number >= 0. */
static int nonnegative(double v) { return isfinite(v) && v >= 0; }

fm_status fm_solver_set_tolerance(fm_solver *s, const fm_tolerance *tol) {
  if (!nonnegative(tol->rtol))
    return fm_fail(FM_ERR_INVALID, "solver tolerance: rtol: expected a finite number >= 0, "
                   "got %g", tol->rtol);
  if (!nonnegative(tol->atol))
    return fm_fail(FM_ERR_INVALID, "solver tolerance: atol: expected a finite number >= 0, "
                   "got %g", tol->atol);
  if (tol->rtol == 0 && tol->atol == 0)
    return fm_fail(FM_ERR_INVALID, "solver tolerance: rtol and atol are both 0; set at least "
                   "one to a positive value (e.g. 1e-5)");
  if (!nonnegative(tol->min_step))
    return fm_fail(FM_ERR_INVALID, "solver tolerance: min_step: expected a finite number >= 0 "
                   "(0 for 1e-10 of the interval), got %g", tol->min_step);
  if (tol->max_steps < 0)
    return fm_fail(FM_ERR_INVALID, "solver tolerance: max_steps: expected a number >= 0 (0 "
                   "for the default %ld), got %ld", default_tolerance.max_steps, tol->max_steps);
  s->tol = *tol;
  if (s->tol.max_steps == 0) s->tol.max_steps = default_tolerance.max_steps;
  return FM_OK;
}

const fm_tolerance *fm_solver_get_tolerance(const fm_solver *s) { return &s->tol; }

void fm_solver_default_tolerance(fm_tolerance *out) { *out = default_tolerance; }

const fm_solver_stats *fm_solver_get_stats(const fm_solver *s) { return &s->stats; }

void fm_solver_set_watch(fm_solver *s, const fm_solver_watch *watch) {
  fm_solver_watch none = {0};
  s->watch = watch ? *watch : none;
}

/* Before a step: FM_ERR_INTERRUPTED when a stop was asked for. */
static fm_status check_stop(const fm_solver *s, double t, double t0, double t1) {
  if (!fm_stop_requested(s->watch.stop)) return FM_OK;
  return fm_fail(FM_ERR_INTERRUPTED, "interrupted at t = %.4g of a solve from %g to %g, after %ld "
                 "steps", t, t0, t1, s->stats.accepted);
}

static void tick(const fm_solver *s, double t) {
  if (s->watch.tick) s->watch.tick(s->watch.ctx, t);
}

/* y = x + h k */
static fm_status axpy(fm_solver *s, cl_mem y, cl_mem x, cl_mem k, float h, size_t n) {
  fm_status st = FM_OK;
  cl_kernel kern = s->k_axpy;
  cl_uint un = (cl_uint)n;
  FM_CL(FM_ARG(kern, 0, y));
  FM_CL(FM_ARG(kern, 1, x));
  FM_CL(FM_ARG(kern, 2, k));
  FM_CL(FM_ARG(kern, 3, h));
  FM_CL(FM_ARG(kern, 4, un));
  FM_TRY(fm_device_launch(s->dev, kern, 1, &n, NULL));
fail:
  return st;
}

static fm_status heun_update(fm_solver *s, cl_mem x, float h, size_t n) {
  fm_status st = FM_OK;
  cl_kernel kern = s->k_heun;
  cl_uint un = (cl_uint)n;
  FM_CL(FM_ARG(kern, 0, x));
  FM_CL(FM_ARG(kern, 1, s->k[0]));
  FM_CL(FM_ARG(kern, 2, s->k[1]));
  FM_CL(FM_ARG(kern, 3, h));
  FM_CL(FM_ARG(kern, 4, un));
  FM_TRY(fm_device_launch(s->dev, kern, 1, &n, NULL));
fail:
  return st;
}

static fm_status rk4_update(fm_solver *s, cl_mem x, float h, size_t n) {
  fm_status st = FM_OK;
  cl_kernel kern = s->k_rk4;
  cl_uint un = (cl_uint)n;
  FM_CL(FM_ARG(kern, 0, x));
  for (cl_uint i = 0; i < 4; i++) FM_CL(FM_ARG(kern, 1 + i, s->k[i]));
  FM_CL(FM_ARG(kern, 5, h));
  FM_CL(FM_ARG(kern, 6, un));
  FM_TRY(fm_device_launch(s->dev, kern, 1, &n, NULL));
fail:
  return st;
}

static fm_status fixed_steps(fm_solver *s, cl_mem x, size_t n, double t0, double t1, int steps,
                             fm_velocity_fn f, void *ctx) {
  fm_status st = FM_OK;
  if (steps < 1) return fm_fail(FM_ERR_INVALID, "solver: steps must be positive, got %d", steps);
  double dt = (t1 - t0) / steps;
  float h = (float)dt;
  for (int i = 0; i < steps; i++) {
    /* Times from the step index, not by accumulation, so the last stage ends at t1. */
    double t = t0 + dt * i;
    if (s->watch.stop && i > 0 && i % FM_SOLVER_SYNC_EVERY == 0) FM_TRY(fm_device_finish(s->dev));
    FM_TRY(check_stop(s, t, t0, t1));
    switch (s->kind) {
    case FM_SOLVER_EULER:
      FM_TRY(f(ctx, x, (float)t, s->k[0]));
      FM_TRY(axpy(s, x, x, s->k[0], h, n));
      break;
    case FM_SOLVER_MIDPOINT:
      FM_TRY(f(ctx, x, (float)t, s->k[0]));
      FM_TRY(axpy(s, s->tmp, x, s->k[0], 0.5f * h, n));
      FM_TRY(f(ctx, s->tmp, (float)(t + 0.5 * dt), s->k[1]));
      FM_TRY(axpy(s, x, x, s->k[1], h, n));
      break;
    case FM_SOLVER_HEUN:
      FM_TRY(f(ctx, x, (float)t, s->k[0]));
      FM_TRY(axpy(s, s->tmp, x, s->k[0], h, n));
      FM_TRY(f(ctx, s->tmp, (float)(t + dt), s->k[1]));
      FM_TRY(heun_update(s, x, h, n));
      break;
    case FM_SOLVER_RK4:
      FM_TRY(f(ctx, x, (float)t, s->k[0]));
      FM_TRY(axpy(s, s->tmp, x, s->k[0], 0.5f * h, n));
      FM_TRY(f(ctx, s->tmp, (float)(t + 0.5 * dt), s->k[1]));
      FM_TRY(axpy(s, s->tmp, x, s->k[1], 0.5f * h, n));
      FM_TRY(f(ctx, s->tmp, (float)(t + 0.5 * dt), s->k[2]));
      FM_TRY(axpy(s, s->tmp, x, s->k[2], h, n));
      FM_TRY(f(ctx, s->tmp, (float)(t + dt), s->k[3]));
      FM_TRY(rk4_update(s, x, h, n));
      break;
    case FM_SOLVER_DOPRI5: FM_ASSERT(0); break;
    }
    s->stats.nfe += fm_solver_stages(s->kind);
    s->stats.accepted++;
    tick(s, t + dt);
  }
fail:
  return st;
}

/* ---- dopri5 ---------------------------------------------------------------------- */

/* The Dormand-Prince tableau (Dormand and Prince 1980; Hairer, Norsett and Wanner,
 * Solving ODEs I, table 5.2). Stage s (2..7) is evaluated at t + C[s] h on
 * y + h sum_j A[s][j] k_j; row 7 is the 5th-order solution, so k7 = f(t + h, y_new) is the
 * next step's k1 (first same as last). E = b - b*, the 5th- minus the 4th-order weights,
 * over k1, k3, k4, k5, k6, k7 (e2 = 0). */
static const double C[8] = {0, 0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
static const double A[8][6] = {
    [2] = {1.0 / 5},
    [3] = {3.0 / 40, 9.0 / 40},
    [4] = {44.0 / 45, -56.0 / 15, 32.0 / 9},
    [5] = {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    [6] = {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    [7] = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
};
static const double E[6] = {71.0 / 57600,  -71.0 / 16695, 71.0 / 1920,
                            -17253.0 / 339200, 22.0 / 525, -1.0 / 40};

/* Step-size control (Hairer-Norsett-Wanner II.4, as in scipy and torchdiffeq). */
#define SAFETY 0.9
#define MIN_FACTOR 0.2
#define MAX_FACTOR 10.0
#define ERROR_EXPONENT (-1.0 / 5) /* -1 / (order of the error estimate + 1) */

static fm_status eval(fm_solver *s, fm_velocity_fn f, void *ctx, cl_mem x, double t, cl_mem out) {
  s->stats.nfe++;
  return f(ctx, x, (float)t, out);
}

/* out = y + h sum_{j < m} coef[j] ks[j], m <= 5, in one pass. */
static fm_status combine(fm_solver *s, cl_mem out, cl_mem y, cl_uint m, const cl_mem *ks,
                         const double *coef, double h, size_t n) {
  fm_status st = FM_OK;
  cl_kernel kern = s->k_stage;
  cl_uint un = (cl_uint)n;
  FM_ASSERT(m >= 1 && m <= 5);
  for (cl_uint j = 0; j < 5; j++) {
    /* Unused arguments still need values; the kernel never reads them. */
    float c = j < m ? (float)(h * coef[j]) : 0.0f;
    FM_CL(FM_ARG(kern, 2 + j, ks[j < m ? j : 0]));
    FM_CL(FM_ARG(kern, 7 + j, c));
  }
  FM_CL(FM_ARG(kern, 0, out));
  FM_CL(FM_ARG(kern, 1, y));
  FM_CL(FM_ARG(kern, 12, m));
  FM_CL(FM_ARG(kern, 13, un));
  FM_TRY(fm_device_launch(s->dev, kern, 1, &n, NULL));
fail:
  return st;
}

/* out = y + h sum_j A[row][j] k_j over the row's nonzero coefficients. */
static fm_status stage(fm_solver *s, cl_mem out, cl_mem y, const cl_mem *k, int row, double h,
                       size_t n) {
  cl_mem ks[5];
  double coef[5];
  cl_uint m = 0;
  for (int j = 0; j < 6; j++) {
    if (A[row][j] == 0) continue;
    FM_ASSERT(m < 5);
    ks[m] = k[j];
    coef[m++] = A[row][j];
  }
  return combine(s, out, y, m, ks, coef, h, n);
}

/* norm[slot] = sqrt(sum(partial) / n), after a first pass filled `groups` partial sums. */
static fm_status rms(fm_solver *s, size_t groups, size_t n, cl_uint slot) {
  fm_status st = FM_OK;
  cl_kernel kern = s->k_rms;
  cl_uint ug = (cl_uint)groups, un = (cl_uint)n;
  FM_CL(FM_ARG(kern, 0, s->norm));
  FM_CL(FM_ARG(kern, 1, s->partial));
  FM_CL(FM_ARG(kern, 2, ug));
  FM_CL(FM_ARG(kern, 3, un));
  FM_CL(FM_ARG(kern, 4, slot));
  FM_TRY(fm_device_launch(s->dev, kern, 1, &s->wg, &s->wg));
fail:
  return st;
}

/* The step's error norm into norm[0] (not read here): err = h sum_j E_j k_j, scaled by
 * atol + rtol max(|y|, |ynew|), RMS over the n elements. */
static fm_status error_norm(fm_solver *s, cl_mem y, cl_mem ynew, const cl_mem *k, double h,
                            size_t n) {
  fm_status st = FM_OK;
  cl_kernel kern = s->k_error;
  const int ks[6] = {0, 2, 3, 4, 5, 6};
  float atol = (float)s->tol.atol, rtol = (float)s->tol.rtol;
  cl_uint un = (cl_uint)n;
  FM_CL(FM_ARG(kern, 0, s->partial));
  FM_CL(FM_ARG(kern, 1, y));
  FM_CL(FM_ARG(kern, 2, ynew));
  for (cl_uint j = 0; j < 6; j++) {
    float e = (float)(h * E[j]);
    FM_CL(FM_ARG(kern, 3 + j, k[ks[j]]));
    FM_CL(FM_ARG(kern, 9 + j, e));
  }
  FM_CL(FM_ARG(kern, 15, atol));
  FM_CL(FM_ARG(kern, 16, rtol));
  FM_CL(FM_ARG(kern, 17, un));
  size_t groups = fm_reduce_groups(s->wg, n), global = groups * s->wg;
  FM_TRY(fm_device_launch(s->dev, kern, 1, &global, &s->wg));
  FM_TRY(rms(s, groups, n, 0));
fail:
  return st;
}

/* norm[slot] = RMS of (a - cb b) / (atol + rtol |y|). */
static fm_status scaled_norm(fm_solver *s, cl_mem a, cl_mem b, float cb, cl_mem y, size_t n,
                             cl_uint slot) {
  fm_status st = FM_OK;
  cl_kernel kern = s->k_sumsq;
  float atol = (float)s->tol.atol, rtol = (float)s->tol.rtol;
  cl_uint un = (cl_uint)n;
  FM_CL(FM_ARG(kern, 0, s->partial));
  FM_CL(FM_ARG(kern, 1, a));
  FM_CL(FM_ARG(kern, 2, b));
  FM_CL(FM_ARG(kern, 3, cb));
  FM_CL(FM_ARG(kern, 4, y));
  FM_CL(FM_ARG(kern, 5, atol));
  FM_CL(FM_ARG(kern, 6, rtol));
  FM_CL(FM_ARG(kern, 7, un));
  size_t groups = fm_reduce_groups(s->wg, n), global = groups * s->wg;
  FM_TRY(fm_device_launch(s->dev, kern, 1, &global, &s->wg));
  FM_TRY(rms(s, groups, n, slot));
fail:
  return st;
}

/* The first step size (Hairer, Norsett and Wanner I, II.4; scipy's select_initial_step),
 * given f0 = f(t0, y0). Uses y1 and f1 as scratch and evaluates f once. */
static fm_status initial_step(fm_solver *s, fm_velocity_fn f, void *ctx, cl_mem y0, cl_mem f0,
                              cl_mem y1, cl_mem f1, size_t n, double t0, double dir,
                              double span, double *out) {
  fm_status st = FM_OK;
  float d[2];
  FM_TRY(scaled_norm(s, y0, y0, 0.0f, y0, n, 0));
  FM_TRY(scaled_norm(s, f0, f0, 0.0f, y0, n, 1));
  FM_TRY(fm_device_read(s->dev, s->norm, 0, sizeof d, d));
  if (isnan(d[0]) || isnan(d[1])) {
    st = fm_fail(FM_ERR_NUMERIC, "dopri5: the state or its velocity at t0 = %g contains NaN "
                 "or Inf (scaled norms %g and %g); check the input and the model for NaN",
                 t0, (double)d[0], (double)d[1]);
    goto fail;
  }
  double d0 = d[0], d1 = d[1];
  double h0 = (d0 < 1e-5 || d1 < 1e-5 || !isfinite(d0 / d1)) ? 1e-6 : 0.01 * d0 / d1;
  h0 = fmin(h0, span);
  const double one = 1.0;
  FM_TRY(combine(s, y1, y0, 1, &f0, &one, dir * h0, n)); /* y1 = y0 + dir h0 f0 */
  FM_TRY(eval(s, f, ctx, y1, t0 + dir * h0, f1));
  FM_TRY(scaled_norm(s, f1, f0, 1.0f, y0, n, 0));
  FM_TRY(fm_device_read(s->dev, s->norm, 0, sizeof d[0], d));
  double d2 = d[0] / h0, h1;
  if (!isfinite(d2)) h1 = h0; /* f1 overflowed: keep the tiny probe step, control takes over */
  else if (d1 <= 1e-15 && d2 <= 1e-15) h1 = fmax(1e-6, h0 * 1e-3);
  else h1 = pow(0.01 / fmax(d1, d2), -ERROR_EXPONENT);
  *out = fmin(fmin(100 * h0, h1), span);
fail:
  return st;
}

/* Swaps two buffer handles (the state and the proposal; k1 and k7 after an accepted step),
 * so nothing is copied per step. */
static void swap(cl_mem *a, cl_mem *b) {
  cl_mem t = *a;
  *a = *b;
  *b = t;
}

static fm_status dopri5(fm_solver *s, cl_mem x, size_t n, double t0, double t1,
                        fm_velocity_fn f, void *ctx) {
  fm_status st = FM_OK;
  fm_solver_stats *stats = &s->stats;
  const fm_tolerance *tol = &s->tol;
  double span = fabs(t1 - t0), dir = t1 > t0 ? 1.0 : -1.0;
  if (n == 0 || span == 0) return FM_OK;
  if (!isfinite(span))
    return fm_fail(FM_ERR_INVALID, "dopri5: cannot integrate from t0 = %g to t1 = %g", t0, t1);
  /* y is the accepted state and ynew the proposal; they trade places on acceptance, so y
   * is x after an even number of accepted steps and s->tmp after an odd one. */
  cl_mem y = x, ynew = s->tmp, k[7];
  memcpy(k, s->k, sizeof k);
  double t = t0, h = 0;
  double floor = tol->min_step > 0 ? tol->min_step : 1e-10 * span;
  const char *floor_from = tol->min_step > 0 ? "min_step" : "1e-10 of |t1 - t0|";
  int after_reject = 0, trial_not_finite = 0;

  FM_TRY(eval(s, f, ctx, y, t0, k[0]));
  FM_TRY(initial_step(s, f, ctx, y, k[0], ynew, k[1], n, t0, dir, span, &h));
  while (t != t1) {
    FM_TRY(check_stop(s, t, t0, t1));
    long attempts = stats->accepted + stats->rejected;
    /* Double t has about 16 digits; a step below a few of its ulps would not move it. */
    double h_min = fmax(floor, 64 * DBL_EPSILON * fmax(fabs(t), fabs(t1)));
    if (!(h >= h_min)) {
      st = fm_fail(FM_ERR_NUMERIC,
                   "dopri5: step size %.3g at t = %.9g fell below the floor %.3g (%s) after %ld "
                   "steps (%ld accepted, %ld rejected, %ld evaluations) integrating from %g to "
                   "%g; %sthe solution may blow up near t or be too stiff for rtol %g, atol %g: "
                   "raise rtol/atol, lower min_step, or check the model for NaN",
                   h, t, h_min, floor_from, attempts, stats->accepted, stats->rejected,
                   stats->nfe, t0, t1,
                   trial_not_finite ? "the last trial step gave NaN or Inf; " : "", tol->rtol,
                   tol->atol);
      goto fail;
    }
    if (attempts >= tol->max_steps) {
      st = fm_fail(FM_ERR_NUMERIC,
                   "dopri5: reached max_steps = %ld steps (%ld accepted, %ld rejected, %ld "
                   "evaluations) at t = %.9g with step size %.3g integrating from %g to %g; "
                   "raise rtol/atol (now %g, %g) or max_steps, or check the model for NaN",
                   tol->max_steps, stats->accepted, stats->rejected, stats->nfe, t, h, t0, t1,
                   tol->rtol, tol->atol);
      goto fail;
    }
    /* The step that lands on t1 is shortened to end there exactly. */
    double t_new = t + dir * h;
    if (dir * (t_new - t1) >= 0) t_new = t1;
    double hs = t_new - t; /* signed */

    for (int row = 2; row <= 6; row++) {
      FM_TRY(stage(s, ynew, y, k, row, hs, n));
      FM_TRY(eval(s, f, ctx, ynew, t + C[row] * hs, k[row - 1]));
    }
    FM_TRY(stage(s, ynew, y, k, 7, hs, n)); /* the 5th-order solution */
    FM_TRY(eval(s, f, ctx, ynew, t_new, k[6]));
    FM_TRY(error_norm(s, y, ynew, k, hs, n));
    float norm_f = 0;
    FM_TRY(fm_device_read(s->dev, s->norm, 0, sizeof norm_f, &norm_f));
    double norm = norm_f;
    if (isnan(norm)) {
      st = fm_fail(FM_ERR_NUMERIC,
                   "dopri5: the state or its velocity at t = %.9g is NaN or Inf (step size "
                   "%.3g, after %ld steps, %ld evaluations); check the model for NaN",
                   t, fabs(hs), attempts, stats->nfe);
      goto fail;
    }
    trial_not_finite = isinf(norm);
    if (norm <= 1) {
      double factor = norm == 0 ? MAX_FACTOR
                                : fmin(MAX_FACTOR, SAFETY * pow(norm, ERROR_EXPONENT));
      if (after_reject) factor = fmin(1.0, factor);
      t = t_new;
      swap(&y, &ynew);
      swap(&k[0], &k[6]);
      stats->accepted++;
      after_reject = 0;
      h = fabs(hs) * factor;
      tick(s, t);
    } else {
      /* Inf (a trial stage overflowed or gave NaN) shrinks by the largest factor. */
      double factor = fmax(MIN_FACTOR, SAFETY * pow(norm, ERROR_EXPONENT));
      stats->rejected++;
      after_reject = 1;
      h = fabs(hs) * factor;
    }
  }
fail:
  /* x gets the last accepted state, on success and on failure alike. */
  if (y != x) {
    fm_status copied = fm_device_copy(s->dev, y, 0, x, 0, n * sizeof(float));
    if (st == FM_OK) st = copied;
  }
  return st;
}

fm_status fm_solver_integrate(fm_solver *s, cl_mem x, size_t n, double t0, double t1, int steps,
                              fm_velocity_fn f, void *ctx, long *nfe) {
  fm_status st = FM_OK;
  memset(&s->stats, 0, sizeof s->stats);
  if (n > s->capacity)
    return fm_fail(FM_ERR_INVALID, "solver: state of %zu floats, capacity %zu", n, s->capacity);
  if (s->kind == FM_SOLVER_DOPRI5) st = dopri5(s, x, n, t0, t1, f, ctx);
  else st = fixed_steps(s, x, n, t0, t1, steps, f, ctx);
  if (nfe) *nfe += s->stats.nfe;
  return st;
}
