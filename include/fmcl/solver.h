/* ODE solvers for dx/dt = f(x, t), batched on the device: the state is n floats in one
 * buffer and f is any callback that fills a buffer of the same size. Fixed steps (euler,
 * midpoint, heun, rk4) and adaptive Dormand-Prince 5(4) (dopri5). */
#ifndef FMCL_SOLVER_H
#define FMCL_SOLVER_H

#include "fmcl/device.h"
#include "fmcl/report.h"
#include "fmcl/types.h"

/* Writes f(x, t) into out; x and out hold n floats. */
typedef fm_status (*fm_velocity_fn)(void *ctx, cl_mem x, float t, cl_mem out);

typedef struct fm_solver fm_solver;

/* Error control of dopri5 (the fixed-step solvers ignore it). A step is accepted when
 * the RMS over all n elements of err_i / (atol + rtol max(|x_i|, |x_new_i|)) is at most 1,
 * where err is the difference of the embedded 5th- and 4th-order solutions. */
typedef struct fm_tolerance {
  double rtol;     /* relative tolerance, >= 0 (default 1e-5) */
  double atol;     /* absolute tolerance, >= 0; rtol + atol > 0 (default 1e-5) */
  double min_step; /* the solve fails when the step size falls below this; 0 (default):
                      1e-10 of |t1 - t0| */
  long max_steps;  /* the solve fails after this many attempted (accepted + rejected)
                      steps; 0: the default, 100000 */
} fm_tolerance;

/* Counts of the last fm_solver_integrate call, also when it failed. */
typedef struct fm_solver_stats {
  long nfe;      /* evaluations of f; dopri5: 2 + 6 (accepted + rejected), or 1 when
                    the start is already NaN or Inf */
  long accepted; /* steps taken; for the fixed-step solvers, steps */
  long rejected; /* dopri5 steps whose error was too large and were retried smaller */
} fm_solver_stats;

/* A solver with stage buffers for states of up to capacity floats (dopri5: eight such
 * buffers, the fixed-step solvers up to five), with the default tolerance. */
fm_status fm_solver_create(fm_device *dev, fm_solver_kind kind, size_t capacity,
                           fm_solver **out);
void fm_solver_destroy(fm_solver *s);

/* Sets the tolerance for the following solves. FM_ERR_INVALID, naming the field, for a
 * negative or non-finite value or rtol = atol = 0; the tolerance is then unchanged.
 * Float32 state limits what is reachable: below about rtol = 1e-6 rounding, not the
 * tolerance, decides the accuracy. */
fm_status fm_solver_set_tolerance(fm_solver *s, const fm_tolerance *tol);
const fm_tolerance *fm_solver_get_tolerance(const fm_solver *s);

/* The defaults above, which a new solver starts with: rtol = atol = 1e-5, min_step 0
 * (1e-10 of the interval), max_steps 100000. */
void fm_solver_default_tolerance(fm_tolerance *out);

/* Integrates x (n floats, in place) from t0 to t1 (t1 < t0 integrates backwards) and
 * adds the number of evaluations of f to *nfe (nfe may be NULL).
 * Fixed-step solvers take `steps` equal steps. dopri5 ignores `steps`: it chooses its
 * first step automatically (Hairer-Norsett-Wanner, 2 evaluations, the first of which is
 * also the first stage of the first step) and adapts it to the tolerance; each attempted
 * step costs 6 evaluations (first-same-as-last), and only one float per step is read back
 * to the host (blocking). It fails with FM_ERR_NUMERIC and a message naming t, the step
 * size and the step counts when the step size falls below the floor (fm_tolerance's
 * min_step), after max_steps attempted steps, or when the state or its velocity is NaN or
 * Inf; x then holds the last accepted state. */
fm_status fm_solver_integrate(fm_solver *s, cl_mem x, size_t n, double t0, double t1, int steps,
                              fm_velocity_fn f, void *ctx, long *nfe);

/* What a long solve obeys and reports: a stop request (checked before every step; the
 * fixed-step solvers wait for the device every FM_SOLVER_SYNC_EVERY steps so the request
 * is seen within that many) ends the solve with FM_ERR_INTERRUPTED naming where it was,
 * x holding the state reached; tick, when set, is called after every step with the time
 * reached. */
typedef struct fm_solver_watch {
  fm_stop_flag *stop;
  void (*tick)(void *ctx, double t);
  void *ctx;
} fm_solver_watch;

#define FM_SOLVER_SYNC_EVERY 16

/* Watches the following solves (NULL: none). */
void fm_solver_set_watch(fm_solver *s, const fm_solver_watch *watch);

/* Evaluations, accepted and rejected steps of the last fm_solver_integrate call. */
const fm_solver_stats *fm_solver_get_stats(const fm_solver *s);

/* Evaluations of f per step: 1 (euler), 2 (midpoint, heun), 4 (rk4), 6 (dopri5, per
 * attempted step: its tableau has 7 stages, but the last stage of an accepted step is the
 * first of the next, and a rejected step keeps its first stage). */
int fm_solver_stages(fm_solver_kind kind);

/* The order of accuracy: 1, 2, 2, 4, 5 (dopri5 advances with its 5th-order solution and
 * estimates the error with the embedded 4th-order one). */
int fm_solver_order(fm_solver_kind kind);

#endif
