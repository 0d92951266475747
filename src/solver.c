/* Euler, midpoint, Heun and RK4 as sequences of velocity evaluations and one-pass stage
 * combinations (cl/solver.cl); the host only enqueues. */
#include "fmcl/solver.h"

#include <stdlib.h>

#include "internal.h"

struct fm_solver {
  fm_device *dev;
  fm_solver_kind kind;
  size_t capacity;
  cl_mem k[4]; /* stage velocities */
  cl_mem tmp;  /* stage state */
  cl_kernel k_axpy, k_heun, k_rk4;
};

int fm_solver_stages(fm_solver_kind kind) {
  switch (kind) {
  case FM_SOLVER_EULER: return 1;
  case FM_SOLVER_MIDPOINT:
  case FM_SOLVER_HEUN: return 2;
  case FM_SOLVER_RK4: return 4;
  }
  return 0;
}

/* For these explicit methods the order equals the number of stages. */
int fm_solver_order(fm_solver_kind kind) { return fm_solver_stages(kind); }

fm_status fm_solver_create(fm_device *dev, fm_solver_kind kind, size_t capacity, fm_solver **out) {
  fm_status st = FM_OK;
  *out = NULL;
  fm_solver *s = calloc(1, sizeof *s);
  if (!s) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the solver");
  s->dev = dev;
  s->kind = kind;
  s->capacity = capacity;
  size_t bytes = capacity * sizeof(float);
  for (int i = 0; i < fm_solver_stages(kind); i++)
    FM_TRY(fm_device_alloc(dev, bytes, "solver stage", &s->k[i]));
  if (kind != FM_SOLVER_EULER) FM_TRY(fm_device_alloc(dev, bytes, "solver state", &s->tmp));
  FM_TRY(fm_device_kernel(dev, "solver", "fm_axpy", &s->k_axpy));
  FM_TRY(fm_device_kernel(dev, "solver", "fm_heun_update", &s->k_heun));
  FM_TRY(fm_device_kernel(dev, "solver", "fm_rk4_update", &s->k_rk4));
  *out = s;
  return FM_OK;
fail:
  fm_solver_destroy(s);
  return st;
}

void fm_solver_destroy(fm_solver *s) {
  if (!s) return;
  for (int i = 0; i < 4; i++) fm_device_release(s->dev, s->k[i]);
  fm_device_release(s->dev, s->tmp);
  free(s);
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

fm_status fm_solver_integrate(fm_solver *s, cl_mem x, size_t n, double t0, double t1, int steps,
                              fm_velocity_fn f, void *ctx, long *nfe) {
  fm_status st = FM_OK;
  if (n > s->capacity)
    return fm_fail(FM_ERR_INVALID, "solver: state of %zu floats, capacity %zu", n, s->capacity);
  if (steps < 1) return fm_fail(FM_ERR_INVALID, "solver: steps must be positive, got %d", steps);
  double dt = (t1 - t0) / steps;
  float h = (float)dt;
  for (int i = 0; i < steps; i++) {
    /* Times from the step index, not by accumulation, so the last stage ends at t1. */
    double t = t0 + dt * i;
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
    }
    if (nfe) *nfe += fm_solver_stages(s->kind);
  }
fail:
  return st;
}
