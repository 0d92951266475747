/* Host side of the probability path: one kernel launch per batch, or for minibatch
 * optimal transport a draw and a combine with the assignment between them: solved on the
 * device (ot with path.ot_solver device) or on the host. */
#include "fmcl/path.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmcl/assignment.h"
#include "fmcl/auction.h"
#include "fmcl/progress.h"
#include "fmcl/rng.h"
#include "internal.h"

struct fm_path {
  fm_device *dev;
  fm_path_params p;
  int batch, dim;
  cl_mem x0, x1; /* (batch, dim) drawn points */
  cl_mem perm;   /* (batch) ints: the source point of each row */
  cl_kernel k_draw, k_combine, k_sample; /* k_sample: draw and combine in one */
  /* ot: host copies, the cost matrix and the assignment workspace; ot_class: the rows'
   * classes, the rows in class order and a class's assignment */
  float *h0, *h1;
  double *cost;
  int *assign, *h_labels, *order, *sub;
  double *u, *v, *w;         /* sinkhorn's scalings and column sums */
  double plan_error;         /* sinkhorn: the plans' column marginal errors, summed */
  fm_assignment *solver;
  fm_auction *auction; /* ot on the device; NULL once its failure turned the path to the host */
  int auction_failures; /* failed device solves reported so far */
  char auction_refused[512]; /* why the device's solver was not used, until reported */
  double ot_seconds;
  long ot_count;
};

void fm_path_coefficients(const fm_path_params *p, double t, double *a, double *s, double *da,
                          double *ds) {
  const double half_pi = 1.5707963267948966;
  switch (p->scheduler) {
  case FM_SCHED_CONDOT:
    *a = t, *da = 1.0;
    *s = 1.0 - (1.0 - p->sigma_min) * t, *ds = -(1.0 - p->sigma_min);
    return;
  case FM_SCHED_COSINE:
    *a = sin(half_pi * t), *da = half_pi * cos(half_pi * t);
    *s = cos(half_pi * t), *ds = -half_pi * sin(half_pi * t);
    return;
  case FM_SCHED_LINEAR_VP:
    *a = t, *da = 1.0;
    *s = sqrt((1.0 - t) * (1.0 + t)), *ds = -t / *s;
    return;
  case FM_SCHED_VP: {
    double r = 1.0 - t, bmin = p->beta_min, bmax = p->beta_max;
    double T = 0.5 * r * r * (bmax - bmin) + r * bmin, dT = -r * (bmax - bmin) - bmin;
    *a = exp(-0.5 * T), *da = -0.5 * dT * *a;
    *s = sqrt(-expm1(-T)), *ds = 0.5 * exp(-T) * dT / *s;
    return;
  }
  case FM_SCHED_POLYNOMIAL:
    *a = pow(t, p->exponent), *da = p->exponent * pow(t, p->exponent - 1.0);
    *s = 1.0 - *a, *ds = -*da;
    return;
  }
}

fm_status fm_path_create(fm_device *dev, const fm_path_params *params, int batch, int dim,
                         fm_path **out) {
  fm_status st = FM_OK;
  *out = NULL;
  fm_path *p = calloc(1, sizeof *p);
  if (!p) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the path");
  p->dev = dev;
  p->p = *params;
  p->batch = batch;
  p->dim = dim;
  size_t rows = (size_t)batch, values = rows * (size_t)dim;
  FM_TRY(fm_device_alloc(dev, values * sizeof(float), "batch x0", &p->x0));
  FM_TRY(fm_device_alloc(dev, values * sizeof(float), "batch x1", &p->x1));
  FM_TRY(fm_device_alloc(dev, rows * sizeof(int), "batch pairing", &p->perm));
  FM_TRY(fm_device_kernel(dev, "path", "fm_path_draw", &p->k_draw));
  FM_TRY(fm_device_kernel(dev, "path", "fm_path_combine", &p->k_combine));
  FM_TRY(fm_device_kernel(dev, "path", "fm_path_sample_rows", &p->k_sample));
  if (params->coupling != FM_COUPLING_INDEPENDENT && params->coupling != FM_COUPLING_PAIRS) {
    p->h0 = malloc(values * sizeof *p->h0);
    p->h1 = malloc(values * sizeof *p->h1);
    p->cost = malloc(rows * rows * sizeof *p->cost);
    p->assign = malloc(rows * sizeof *p->assign);
    p->h_labels = malloc(rows * sizeof *p->h_labels);
    p->order = malloc(rows * sizeof *p->order);
    p->sub = malloc(rows * sizeof *p->sub);
    p->u = malloc(rows * sizeof *p->u);
    p->v = malloc(rows * sizeof *p->v);
    p->w = malloc(rows * sizeof *p->w);
    if (!p->h0 || !p->h1 || !p->cost || !p->assign || !p->h_labels || !p->order || !p->sub ||
        !p->u || !p->v || !p->w) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory for the ot coupling of batch %d", batch);
      goto fail;
    }
    FM_TRY(fm_assignment_create(batch, &p->solver));
    if (params->coupling == FM_COUPLING_OT && params->ot_solver == FM_OT_SOLVER_DEVICE) {
      FM_TRY(fm_auction_create(dev, batch, params->auction_round_limit, 0, &p->auction));
      FM_TRY(fm_auction_check(p->auction, p->auction_refused, sizeof p->auction_refused));
      if (p->auction_refused[0]) {
        fm_auction_destroy(p->auction);
        p->auction = NULL;
      }
    }
  }
  *out = p;
  return FM_OK;
fail:
  fm_path_destroy(p);
  return st;
}

void fm_path_destroy(fm_path *p) {
  if (!p) return;
  fm_device_release(p->dev, p->x0);
  fm_device_release(p->dev, p->x1);
  fm_device_release(p->dev, p->perm);
  fm_assignment_destroy(p->solver);
  fm_auction_destroy(p->auction);
  free(p->h0);
  free(p->h1);
  free(p->cost);
  free(p->assign);
  free(p->h_labels);
  free(p->order);
  free(p->sub);
  free(p->u);
  free(p->v);
  free(p->w);
  free(p);
}

double fm_path_coupling_seconds(const fm_path *p, long *count) {
  if (count) *count = p->ot_count;
  return p->ot_seconds;
}

fm_status fm_path_check_coupling(fm_path *p, char *warning, size_t size) {
  if (size) warning[0] = '\0';
  if (p->auction_refused[0]) { /* said once */
    snprintf(warning, size, "path.ot_solver device: %s, so the host solves every batch's "
             "assignment (path.ot_solver=host says so without the check)", p->auction_refused);
    p->auction_refused[0] = '\0';
    return FM_OK;
  }
  if (!p->auction) return FM_OK;
  fm_auction_record rec;
  fm_status st = fm_auction_read_record(p->auction, &rec);
  if (st != FM_OK || rec.failures == 0) return st;
  snprintf(warning, size, "path.ot_solver device: the device's assignment failed at step %d "
           "(%s); %d step%s paired their batch validly but not optimally; the rest of the run "
           "solves it on the host (path.ot_solver=host)", rec.first_failed_step,
           fm_auction_failure_str(rec.last_failure), rec.failures, rec.failures == 1 ? "" : "s");
  p->auction_failures = rec.failures;
  fm_auction_destroy(p->auction);
  p->auction = NULL;
  return FM_OK;
}

int fm_path_device_coupling(const fm_path *p) { return p->auction != NULL; }

double fm_path_plan_error(const fm_path *p) {
  if (p->p.coupling != FM_COUPLING_SINKHORN || p->ot_count == 0) return -1;
  return p->plan_error / (double)p->ot_count;
}

/* cost[i n + j] = |x1_i - x0_j|^2 of the rows listed (all n rows: rows NULL). */
static void squared_distances(const fm_path *p, const int *rows, int m, double *cost) {
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++) {
      size_t i = (size_t)(rows ? rows[a] : a), j = (size_t)(rows ? rows[b] : b);
      double c = 0;
      for (int d = 0; d < p->dim; d++) {
        double diff = (double)p->h1[i * p->dim + d] - p->h0[j * p->dim + d];
        c += diff * diff;
      }
      cost[(size_t)a * m + b] = c;
    }
}

/* The entropic coupling: Sinkhorn's scalings of K = exp(-C / (ot_reg max C)) to uniform
 * marginals (rounds until the plan's column marginals are within 1e-6 in L1, at most
 * 1000; the rows are exact after every round), then row i's source point drawn from row i
 * of the plan with its own random number. */
static fm_status plan_pairs(fm_path *p, int n, int row0, uint64_t seed, uint32_t step) {
  double *k = p->cost, *u = p->u, *v = p->v, *cols = p->w, largest = 0, target = 1.0 / n;
  double error = 2;
  squared_distances(p, NULL, n, k);
  for (size_t i = 0; i < (size_t)n * n; i++) {
    if (!isfinite(k[i]))
      return fm_fail(FM_ERR_NUMERIC, "sinkhorn coupling: a squared distance in the batch is "
                     "not finite (a data or source point is NaN or infinite)");
    largest = k[i] > largest ? k[i] : largest;
  }
  double scale = 1.0 / (p->p.ot_reg * (largest > 0 ? largest : 1));
  for (size_t i = 0; i < (size_t)n * n; i++) k[i] = exp(-k[i] * scale);
  for (int i = 0; i < n; i++) u[i] = 1;
  for (int round = 0; round <= 1000; round++) {
    for (int j = 0; j < n; j++) cols[j] = 0;
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) cols[j] += k[(size_t)i * n + j] * u[i];
    if (round > 0) { /* the plan of the last round, whose rows are exact */
      error = 0;
      for (int j = 0; j < n; j++) error += fabs(v[j] * cols[j] - target);
      if (error < 1e-6 || round == 1000) break; /* 1000 rounds: this plan's error */
    }
    for (int j = 0; j < n; j++) {
      if (!(cols[j] > 0) || !isfinite(cols[j])) goto underflow;
      v[j] = target / cols[j];
    }
    for (int i = 0; i < n; i++) {
      double row = 0;
      for (int j = 0; j < n; j++) row += k[(size_t)i * n + j] * v[j];
      if (!(row > 0) || !isfinite(row)) goto underflow;
      u[i] = target / row;
    }
  }
  p->plan_error += error;
  for (int i = 0; i < n; i++) { /* row i of the plan sums to u_i (K v)_i = 1 / n */
    fm_rng rng;
    fm_rng_init_step(&rng, seed, FM_STREAM_PLAN, (uint32_t)(row0 + i), step);
    double pick = fm_rng_uniform(&rng) * target, sum = 0;
    int j = 0;
    for (; j < n - 1; j++) {
      sum += u[i] * k[(size_t)i * n + j] * v[j];
      if (pick < sum) break;
    }
    p->assign[i] = j;
  }
  return FM_OK;
underflow:
  return fm_fail(FM_ERR_NUMERIC, "path.ot_reg %g is too small for this batch: the sinkhorn "
                 "plan underflowed to zero; raise it (0.05 is common) or use ot", p->p.ot_reg);
}

/* The rows in order of their classes (row_labels; the null class of label dropout is one
 * more), each class's rows in batch order; returns how many classes there are and their
 * first rows in starts (with starts[count] = n). ot: one class of every row. */
static int class_order(fm_path *p, int n, int *starts) {
  int count = 0, placed = 0;
  if (p->p.coupling == FM_COUPLING_OT) {
    for (int i = 0; i < n; i++) p->order[i] = i;
    starts[0] = 0, starts[1] = n;
    return 1;
  }
  for (int i = 0; i < n; i++) p->sub[i] = 0; /* placed */
  for (int i = 0; i < n; i++) {
    if (p->sub[i]) continue;
    starts[count++] = placed;
    for (int j = i; j < n; j++)
      if (!p->sub[j] && p->h_labels[j] == p->h_labels[i]) p->order[placed++] = j, p->sub[j] = 1;
  }
  starts[count] = n;
  return count;
}

/* The minibatch coupling: row i's data point x1_i takes source point x0_perm[i], the
 * permutation minimizing the sum of squared distances (ot_class: among those that keep
 * every row's source point among the rows of its class; sinkhorn: drawn from the entropic
 * plan, so a source point may serve several rows). */
static fm_status couple(fm_path *p, int n, cl_mem row_labels, int row0, uint64_t seed,
                        uint32_t step) {
  fm_status st = FM_OK;
  double started = fm_seconds();
  size_t values = (size_t)n * (size_t)p->dim;
  int *starts = NULL;
  if (p->p.coupling == FM_COUPLING_OT_CLASS && !row_labels)
    return fm_fail(FM_ERR_INVALID, "path: the ot_class coupling needs the rows' classes");
  FM_TRY(fm_device_read(p->dev, p->x0, 0, values * sizeof(float), p->h0));
  FM_TRY(fm_device_read(p->dev, p->x1, 0, values * sizeof(float), p->h1));
  if (row_labels) FM_TRY(fm_device_read(p->dev, row_labels, 0, (size_t)n * sizeof(int), p->h_labels));
  starts = malloc(((size_t)n + 1) * sizeof *starts);
  if (!starts) return fm_fail(FM_ERR_NOMEM, "out of host memory for the ot coupling");
  int classes = p->p.coupling == FM_COUPLING_SINKHORN ? 0 : class_order(p, n, starts);
  if (p->p.coupling == FM_COUPLING_SINKHORN) FM_TRY(plan_pairs(p, n, row0, seed, step));
  for (int c = 0; c < classes; c++) {
    const int *rows = p->order + starts[c];
    int m = starts[c + 1] - starts[c];
    squared_distances(p, rows, m, p->cost);
    FM_TRY(fm_assignment_run(p->solver, p->cost, m, p->sub, NULL));
    for (int a = 0; a < m; a++) p->assign[rows[a]] = rows[p->sub[a]];
  }
  FM_TRY(fm_device_write(p->dev, p->perm, 0, (size_t)n * sizeof(int), p->assign));
  p->ot_seconds += fm_seconds() - started;
  p->ot_count++;
fail:
  free(starts);
  return st;
}

fm_status fm_path_sample(fm_path *p, cl_mem data, cl_mem labels, int n_data, cl_mem source,
                         int n_source, int n, int row0, uint64_t seed, uint32_t step, cl_mem x_t,
                         cl_mem t, cl_mem u, cl_mem row_labels) {
  fm_status st = FM_OK;
  if (n > p->batch) return fm_fail(FM_ERR_INVALID, "path: batch of %d, room for %d", n, p->batch);
  cl_uint nd = (cl_uint)n_data, ns = (cl_uint)(source ? n_source : 0), dim = (cl_uint)p->dim;
  cl_uint un = (cl_uint)n, s = step, first = (cl_uint)row0;
  cl_uint2 key = {{(cl_uint)seed, (cl_uint)(seed >> 32)}};
  cl_int time_kind = (cl_int)p->p.time_sampling;
  cl_float2 time = {{p->p.time_mean, p->p.time_std}};
  cl_mem src = source ? source : data; /* any valid buffer when unused */
  cl_int use_perm = p->p.coupling != FM_COUPLING_INDEPENDENT && p->p.coupling != FM_COUPLING_PAIRS;
  cl_int paired = p->p.coupling == FM_COUPLING_PAIRS;
  if (paired && n_source != n_data)
    return fm_fail(FM_ERR_INVALID, "path: the pairs coupling needs one source point per data "
                   "point, got %d and %d", n_source, n_data);
  cl_kernel k = use_perm ? p->k_draw : p->k_sample;
  cl_uint i = 0;
  FM_CL(FM_ARG(k, i++, data));
  FM_CL(FM_ARG(k, i++, nd));
  FM_CL(FM_ARG(k, i++, src));
  FM_CL(FM_ARG(k, i++, ns));
  FM_CL(FM_ARG(k, i++, paired));
  FM_CL(FM_ARG(k, i++, dim));
  FM_CL(FM_ARG(k, i++, p->x0));
  FM_CL(FM_ARG(k, i++, p->x1));
  FM_CL(FM_ARG(k, i++, t));
  FM_CL(FM_ARG(k, i++, un));
  FM_CL(FM_ARG(k, i++, first));
  FM_CL(FM_ARG(k, i++, key));
  FM_CL(FM_ARG(k, i++, s));
  FM_CL(FM_ARG(k, i++, time_kind));
  FM_CL(FM_ARG(k, i++, time));
  cl_int has_labels = labels && row_labels;
  cl_mem label_in = has_labels ? labels : p->perm, label_out = has_labels ? row_labels : p->perm;
  float dropout = p->p.label_dropout;
  FM_CL(FM_ARG(k, i++, label_in));
  FM_CL(FM_ARG(k, i++, has_labels));
  FM_CL(FM_ARG(k, i++, dropout));
  FM_CL(FM_ARG(k, i++, label_out));
  cl_int kind = (cl_int)p->p.scheduler;
  cl_float4 sched = {{p->p.sigma_min, p->p.beta_min, p->p.beta_max, p->p.exponent}};
  float sigma = p->p.sigma;
  size_t global = (size_t)n;
  if (!use_perm) {
    FM_CL(FM_ARG(k, i++, x_t));
    FM_CL(FM_ARG(k, i++, u));
    FM_CL(FM_ARG(k, i++, kind));
    FM_CL(FM_ARG(k, i++, sched));
    FM_CL(FM_ARG(k, i++, sigma));
    return fm_device_launch(p->dev, k, 1, &global, NULL);
  }
  FM_TRY(fm_device_launch(p->dev, k, 1, &global, NULL));
  if (p->auction) {
    FM_TRY(fm_auction_pair(p->auction, p->x1, p->x0, n, p->dim, step, p->perm));
  } else {
    FM_TRY(couple(p, n, has_labels ? row_labels : NULL, row0, seed, step));
  }
  k = p->k_combine;
  i = 0;
  FM_CL(FM_ARG(k, i++, p->x0));
  FM_CL(FM_ARG(k, i++, p->x1));
  FM_CL(FM_ARG(k, i++, t));
  FM_CL(FM_ARG(k, i++, p->perm));
  FM_CL(FM_ARG(k, i++, use_perm));
  FM_CL(FM_ARG(k, i++, x_t));
  FM_CL(FM_ARG(k, i++, u));
  FM_CL(FM_ARG(k, i++, un));
  FM_CL(FM_ARG(k, i++, dim));
  FM_CL(FM_ARG(k, i++, kind));
  FM_CL(FM_ARG(k, i++, sched));
  FM_CL(FM_ARG(k, i++, sigma));
  FM_CL(FM_ARG(k, i++, first));
  FM_CL(FM_ARG(k, i++, key));
  FM_CL(FM_ARG(k, i++, s));
  FM_TRY(fm_device_launch(p->dev, k, 1, &global, NULL));
fail:
  return st;
}
