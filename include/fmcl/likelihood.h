/* Log-likelihood of points under a flow: integrate the state and the divergence of the
 * velocity backwards from t = 1 to t = 0, then
 *   log q(x1) = log N(x0; 0, I) - integral_0^1 div v(x_t, t) dt.
 * The divergence is exact (one tangent per dimension, batched through the products) or
 * Hutchinson's estimate E[e^T J e] with Rademacher probes e fixed for the whole solve. */
#ifndef FMCL_LIKELIHOOD_H
#define FMCL_LIKELIHOOD_H

#include <stdint.h>

#include "fmcl/mlp.h"
#include "fmcl/report.h"
#include "fmcl/solver.h"

/* A velocity field with forward-mode derivatives: out (n, dim) = v(x, t) and, for k
 * tangent blocks of n rows, out_tangents (k n, dim) = J_x v . tangents (as fm_mlp_jvp). */
typedef fm_status (*fm_jvp_fn)(void *ctx, cl_mem x, float t, int n, cl_mem out, cl_mem tangents,
                               int k, cl_mem out_tangents);

typedef struct fm_field {
  fm_device *dev;
  int dim;
  fm_jvp_fn jvp;
  void *ctx;
  cl_mem labels; /* (batch) ints the field conditions on, filled per batch; NULL: none */
} fm_field;

/* Dimensions up to this get the exact divergence under FM_DIV_AUTO. */
#define FM_EXACT_DIVERGENCE_MAX_DIM 16

typedef struct fm_likelihood_params {
  fm_solver_kind solver;
  int steps;           /* fixed-step solvers */
  double rtol, atol;   /* dopri5 */
  fm_divergence divergence;
  int probes;          /* Hutchinson probes per point */
  uint64_t seed;       /* of the probes */
  int first_point;     /* the number of the first point in the whole set: point i's probes are
                          keyed by first_point + i (a rank's share gets one process's probes) */
  int batch;           /* points integrated at once */
  fm_stop_flag *stop;  /* checked between solver steps: FM_ERR_INTERRUPTED (NULL: never) */
  const fm_reporter *report; /* progress lines of a long solve; NULL: none */
} fm_likelihood_params;

typedef struct fm_likelihood_stats {
  long nfe;      /* evaluations of the field per point (the largest over the batches) */
  int exact;     /* whether the divergence was exact */
  double seconds;
} fm_likelihood_stats;

/* log q(x_i) for n points x (n, dim) on the host, into logp (n); for a conditional field,
 * log q(x_i | labels[i]) (labels may be NULL: the null class). */
fm_status fm_likelihood_eval(const fm_field *field, const fm_likelihood_params *params,
                             const float *x, const int *labels, int n, double *logp,
                             fm_likelihood_stats *stats);

/* A trained model as a field: t is a device buffer of at least `batch` floats that the
 * field fills with the current time; labels (at least `batch` ints, or NULL for an
 * unconditional model) receives each batch's classes. The holder must outlive the field. */
typedef struct fm_mlp_field {
  fm_mlp *mlp;
  cl_mem t;
  cl_mem labels;
} fm_mlp_field;

fm_field fm_field_of_mlp(fm_mlp_field *holder);

#endif
