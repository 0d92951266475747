/* Fixed-step ODE solvers for dx/dt = f(x, t), batched on the device: the state is n
 * floats in one buffer and f is any callback that fills a buffer of the same size. */
#ifndef FMCL_SOLVER_H
#define FMCL_SOLVER_H

#include "fmcl/config.h"
#include "fmcl/device.h"

/* Writes f(x, t) into out; x and out hold n floats. */
typedef fm_status (*fm_velocity_fn)(void *ctx, cl_mem x, float t, cl_mem out);

typedef struct fm_solver fm_solver;

/* A solver with stage buffers for states of up to capacity floats. */
fm_status fm_solver_create(fm_device *dev, fm_solver_kind kind, size_t capacity,
                           fm_solver **out);
void fm_solver_destroy(fm_solver *s);

/* Integrates x (n floats, in place) from t0 to t1 in steps equal steps; adds the number
 * of evaluations of f to *nfe. */
fm_status fm_solver_integrate(fm_solver *s, cl_mem x, size_t n, double t0, double t1, int steps,
                              fm_velocity_fn f, void *ctx, long *nfe);

/* Evaluations of f per step: 1 (euler), 2 (midpoint, heun), 4 (rk4). */
int fm_solver_stages(fm_solver_kind kind);

/* The order of accuracy: 1, 2, 2, 4. */
int fm_solver_order(fm_solver_kind kind);

#endif
