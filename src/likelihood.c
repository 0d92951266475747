/* The likelihood ODE: the solver integrates one buffer y = [x (n, dim) | l (n)] from t = 1
 * to t = 0 with dy/dt = [v(x, t), div v(x, t)], so that l(0) = -integral_0^1 div v dt and
 * log q(x1) = log N(x0; 0, I) + l(0). */
#include "fmcl/likelihood.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmcl/progress.h"
#include "internal.h"

typedef struct augmented {
  const fm_field *field;
  int n, dim, k, exact;
  cl_mem tangents, out_tangents, probes; /* (k n, dim) each; probes = tangents when exact */
  cl_kernel k_divergence;
} augmented;

/* dy/dt for the solver: v into out's x part, the divergence into its l part. */
static fm_status augmented_velocity(void *ctx, cl_mem y, float t, cl_mem out) {
  augmented *a = ctx;
  fm_status st = FM_OK;
  FM_TRY(a->field->jvp(a->field->ctx, y, t, a->n, out, a->tangents, a->k, a->out_tangents));
  cl_kernel kern = a->k_divergence;
  cl_uint offset = (cl_uint)((size_t)a->n * (size_t)a->dim), n = (cl_uint)a->n;
  cl_uint dim = (cl_uint)a->dim, k = (cl_uint)a->k, exact = (cl_uint)a->exact;
  FM_CL(FM_ARG(kern, 0, a->out_tangents));
  FM_CL(FM_ARG(kern, 1, a->probes));
  FM_CL(FM_ARG(kern, 2, out));
  FM_CL(FM_ARG(kern, 3, offset));
  FM_CL(FM_ARG(kern, 4, n));
  FM_CL(FM_ARG(kern, 5, dim));
  FM_CL(FM_ARG(kern, 6, k));
  FM_CL(FM_ARG(kern, 7, exact));
  size_t global = (size_t)a->n;
  FM_TRY(fm_device_launch(a->field->dev, kern, 1, &global, NULL));
fail:
  return st;
}

/* Fills the tangents of a batch: the basis, or Rademacher probes of points row0 ... */
static fm_status fill_tangents(fm_device *dev, augmented *a, uint64_t seed, int row0) {
  fm_status st = FM_OK;
  cl_kernel kern = NULL;
  cl_uint n = (cl_uint)a->n, dim = (cl_uint)a->dim;
  if (a->exact) {
    FM_TRY(fm_device_kernel(dev, "likelihood", "fm_basis_tangents", &kern));
    FM_CL(FM_ARG(kern, 0, a->tangents));
    FM_CL(FM_ARG(kern, 1, n));
    FM_CL(FM_ARG(kern, 2, dim));
    size_t global[2] = {(size_t)a->n, (size_t)a->dim}, local[2] = {16, 1};
    FM_TRY(fm_device_launch(dev, kern, 2, global, local));
  } else {
    FM_TRY(fm_device_kernel(dev, "likelihood", "fm_rademacher_tangents", &kern));
    cl_uint k = (cl_uint)a->k, r0 = (cl_uint)row0;
    cl_uint2 key = {{(cl_uint)seed, (cl_uint)(seed >> 32)}};
    FM_CL(FM_ARG(kern, 0, a->tangents));
    FM_CL(FM_ARG(kern, 1, n));
    FM_CL(FM_ARG(kern, 2, dim));
    FM_CL(FM_ARG(kern, 3, k));
    FM_CL(FM_ARG(kern, 4, key));
    FM_CL(FM_ARG(kern, 5, r0));
    size_t global[2] = {(size_t)a->n, (size_t)a->k}, local[2] = {16, 1};
    FM_TRY(fm_device_launch(dev, kern, 2, global, local));
  }
fail:
  return st;
}

fm_status fm_likelihood_eval(const fm_field *field, const fm_likelihood_params *p,
                             const float *x, const int *labels, int n, double *logp,
                             fm_likelihood_stats *stats) {
  fm_status st = FM_OK;
  fm_device *dev = field->dev;
  int dim = field->dim;
  int exact = p->divergence == FM_DIV_EXACT ||
              (p->divergence == FM_DIV_AUTO && dim <= FM_EXACT_DIVERGENCE_MAX_DIM);
  int k = exact ? dim : p->probes;
  int batch = p->batch < n ? p->batch : n;
  augmented a = {field, 0, dim, k, exact, NULL, NULL, NULL, NULL};
  cl_mem y = NULL;
  fm_solver *solver = NULL;
  float *host = NULL;
  double started = fm_seconds();
  memset(stats, 0, sizeof *stats);
  stats->exact = exact;
  if (n < 1 || batch < 1) return fm_fail(FM_ERR_INVALID, "likelihood: no points");
  if (!exact && k < 1)
    return fm_fail(FM_ERR_INVALID, "likelihood: Hutchinson's estimate needs at least one probe");
  size_t state = (size_t)batch * (size_t)(dim + 1), tangent = (size_t)k * batch * dim;
  FM_TRY(fm_device_alloc(dev, state * sizeof(float), "likelihood state", &y));
  FM_TRY(fm_device_alloc(dev, tangent * sizeof(float), "likelihood tangents", &a.tangents));
  FM_TRY(fm_device_alloc(dev, tangent * sizeof(float), "likelihood tangents", &a.out_tangents));
  a.probes = a.tangents;
  FM_TRY(fm_device_kernel(dev, "likelihood", "fm_divergence", &a.k_divergence));
  FM_TRY(fm_solver_create(dev, p->solver, state, &solver));
  if (p->solver == FM_SOLVER_DOPRI5) {
    fm_tolerance tol = *fm_solver_get_tolerance(solver);
    tol.rtol = p->rtol;
    tol.atol = p->atol;
    FM_TRY(fm_solver_set_tolerance(solver, &tol));
  }
  host = malloc(state * sizeof *host);
  if (!host) {
    st = fm_fail(FM_ERR_NOMEM, "likelihood: out of host memory");
    goto fail;
  }
  fm_solve_progress progress = {.report = p->report, .what = "likelihood", .total = n,
                                .last = fm_seconds()};
  fm_solver_watch watch = {.stop = p->stop, .tick = fm_solve_progress_tick, .ctx = &progress};
  fm_solver_set_watch(solver, &watch);
  for (int first = 0; first < n; first += batch) {
    int rows = n - first < batch ? n - first : batch;
    progress.done = first;
    size_t xs = (size_t)rows * (size_t)dim;
    a.n = rows;
    memcpy(host, x + (size_t)first * dim, xs * sizeof *host);
    memset(host + xs, 0, (size_t)rows * sizeof *host);
    FM_TRY(fm_device_write(dev, y, 0, (xs + (size_t)rows) * sizeof *host, host));
    if (field->labels) {
      if (labels) {
        FM_TRY(fm_device_write(dev, field->labels, 0, (size_t)rows * sizeof(int), labels + first));
      } else {
        FM_TRY(fm_device_fill_int(dev, field->labels, 0, (size_t)rows, -1)); /* the null class */
      }
    }
    FM_TRY(fill_tangents(dev, &a, p->seed, p->first_point + first));
    long evals = 0;
    st = fm_solver_integrate(solver, y, xs + (size_t)rows, 1.0, 0.0, p->steps, augmented_velocity,
                             &a, &evals);
    if (st != FM_OK) {
      fm_fail_context(st, "likelihood of points %d to %d of %d: ", first + 1, first + rows, n);
      goto fail;
    }
    if (evals > stats->nfe) stats->nfe = evals;
    FM_TRY(fm_device_read(dev, y, 0, (xs + (size_t)rows) * sizeof *host, host));
    for (int i = 0; i < rows; i++) {
      double sq = 0;
      for (int d = 0; d < dim; d++) sq += (double)host[(size_t)i * dim + d] * host[(size_t)i * dim + d];
      double log_p0 = -0.5 * sq - 0.5 * dim * log(2.0 * 3.14159265358979323846);
      logp[first + i] = log_p0 + (double)host[xs + (size_t)i];
      if (!isfinite(logp[first + i])) {
        st = fm_fail(FM_ERR_NUMERIC, "likelihood: point %d has a non-finite log-likelihood (its "
                     "path left the float range); the model may have diverged", first + i);
        goto fail;
      }
    }
  }
  stats->seconds = fm_seconds() - started;
fail:
  free(host);
  fm_solver_destroy(solver);
  fm_device_release(dev, a.out_tangents);
  fm_device_release(dev, a.tangents);
  fm_device_release(dev, y);
  return st;
}

static fm_status mlp_jvp(void *ctx, cl_mem x, float t, int n, cl_mem out, cl_mem tangents, int k,
                         cl_mem out_tangents) {
  fm_mlp_field *f = ctx;
  fm_status st = fm_device_fill(fm_mlp_device(f->mlp), f->t, 0, (size_t)n, t);
  if (st != FM_OK) return st;
  return fm_mlp_jvp(f->mlp, x, f->t, f->labels, n, out, tangents, k, out_tangents);
}

fm_field fm_field_of_mlp(fm_mlp_field *holder) {
  fm_field field = {fm_mlp_device(holder->mlp), fm_mlp_get_shape(holder->mlp)->dim, mlp_jvp,
                    holder, holder->labels};
  return field;
}
