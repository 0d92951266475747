/* Batched generation: source noise on the device, the solver with the model as its
 * velocity, one read of each finished batch. */
#include "fmcl/sample.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmcl/data.h"
#include "fmcl/progress.h"
#include "fmcl/rng.h"
#include "internal.h"

typedef struct model_velocity {
  fm_device *dev;
  fm_mlp *mlp;
  cl_mem t;      /* (rows): the current time, broadcast */
  cl_mem labels; /* (rows) classes, or NULL */
  cl_mem uncond; /* (rows, dim): the null-class velocity, for guidance */
  float guidance;
  int rows;
  cl_kernel k_combine;
} model_velocity;

static fm_status velocity(void *ctx, cl_mem x, float t, cl_mem out) {
  model_velocity *mv = ctx;
  fm_status st = FM_OK;
  FM_TRY(fm_device_fill(mv->dev, mv->t, 0, (size_t)mv->rows, t));
  FM_TRY(fm_mlp_evaluate(mv->mlp, x, mv->t, mv->labels, mv->rows, out));
  if (mv->uncond) {
    /* Classifier-free guidance: out = (1 - w) v(null) + w v(class). */
    FM_TRY(fm_mlp_evaluate(mv->mlp, x, mv->t, NULL, mv->rows, mv->uncond));
    cl_kernel k = mv->k_combine;
    float a = 1.0f - mv->guidance, b = mv->guidance;
    cl_uint n = (cl_uint)((size_t)mv->rows * (size_t)fm_mlp_get_shape(mv->mlp)->dim);
    FM_CL(FM_ARG(k, 0, out));
    FM_CL(FM_ARG(k, 1, mv->uncond));
    FM_CL(FM_ARG(k, 2, out));
    FM_CL(FM_ARG(k, 3, a));
    FM_CL(FM_ARG(k, 4, b));
    FM_CL(FM_ARG(k, 5, n));
    size_t global = n;
    FM_TRY(fm_device_launch(mv->dev, k, 1, &global, NULL));
  }
fail:
  return st;
}

fm_status fm_sample_normal_rows(fm_device *dev, cl_mem x, int n, int dim, uint64_t seed,
                                uint32_t stream, uint32_t first_row) {
  fm_status st = FM_OK;
  cl_kernel k = NULL;
  FM_TRY(fm_device_kernel(dev, "rng", "fm_rng_normal_rows", &k));
  cl_uint un = (cl_uint)n, ud = (cl_uint)dim, row0 = first_row, us = stream;
  cl_uint2 key = {{(cl_uint)seed, (cl_uint)(seed >> 32)}};
  FM_CL(FM_ARG(k, 0, x));
  FM_CL(FM_ARG(k, 1, un));
  FM_CL(FM_ARG(k, 2, ud));
  FM_CL(FM_ARG(k, 3, key));
  FM_CL(FM_ARG(k, 4, row0));
  FM_CL(FM_ARG(k, 5, us));
  size_t global = (size_t)n;
  FM_TRY(fm_device_launch(dev, k, 1, &global, NULL));
fail:
  return st;
}

int fm_sample_grid_is_uniform(const fm_sample_params *p) {
  return !p->times && (p->time_shift == 0.0 || p->time_shift == 1.0);
}

double fm_sample_grid_time(const fm_sample_params *p, int i) {
  double t = p->times ? p->times[i] : (double)i / p->steps;
  double s = p->time_shift;
  if (s == 0.0 || s == 1.0 || i == 0 || i == p->steps) return t; /* the ends stay exact */
  return s * t / (1.0 + (s - 1.0) * t);
}

void fm_sample_describe(const fm_sample_params *p, char *out, size_t size) {
  if (p->solver == FM_SOLVER_DOPRI5) {
    snprintf(out, size, "dopri5 (rtol %g, atol %g)", p->rtol, p->atol);
    return;
  }
  int used = snprintf(out, size, "%s, %d steps", fm_solver_name(p->solver), p->steps);
  if (fm_sample_grid_is_uniform(p)) return;
  if (p->steps > 32) {
    snprintf(out + used, size - (size_t)used, " on a grid of its own (summary.json lists it)");
    return;
  }
  for (int i = 0; i <= p->steps && used > 0 && (size_t)used < size; i++)
    used += snprintf(out + used, size - (size_t)used, "%s%.4g", i ? ", " : " at t = ",
                     fm_sample_grid_time(p, i));
}

/* The grid steps at which states are kept (see fm_sample_save_times) into marks, and
 * their times into times (at most max), either NULL; returns how many. */
static int save_steps(const fm_sample_params *p, int *marks, double *times, int max) {
  int every = p->save_every > 0 && p->save_every < p->steps ? p->save_every : p->steps;
  int count = 0;
  for (int step = 0;; step += every) {
    if (step > p->steps) step = p->steps;
    if (marks) marks[count] = step;
    if (times && count < max) times[count] = fm_sample_grid_time(p, step);
    count++;
    if (step == p->steps) break;
  }
  return count;
}

int fm_sample_save_times(const fm_sample_params *p, double *times, int max) {
  if (p->steps < 1) { /* an adaptive solver without a step grid: the ends only */
    if (times && max >= 2) times[0] = 0.0, times[1] = 1.0;
    return 2;
  }
  return save_steps(p, NULL, times, max);
}

/* fm_sample_generate, with *evals_total the model evaluations of every batch together. */
static fm_status generate(fm_mlp *mlp, const fm_sample_params *p, float *out, float *trajectory,
                          long *nfe, long *evals_total) {
  fm_status st = FM_OK;
  fm_device *dev = NULL;
  const fm_mlp_shape *shape = fm_mlp_get_shape(mlp);
  int dim = shape->dim;
  int batch = p->batch < fm_mlp_capacity(mlp) ? p->batch : fm_mlp_capacity(mlp);
  if (batch > p->n) batch = p->n;
  cl_mem x = NULL, t = NULL, labels = NULL, uncond = NULL;
  int *host_labels = NULL;
  fm_solver *solver = NULL;
  double *times = NULL;
  int *marks = NULL; /* the grid step of each saved time, when the grid is not uniform */
  cl_kernel k_combine = NULL;
  *nfe = 0;
  *evals_total = 0;
  if (p->n <= 0) return FM_OK;
  int uniform = fm_sample_grid_is_uniform(p) || p->solver == FM_SOLVER_DOPRI5;
  int n_times = fm_sample_save_times(p, NULL, 0);
  times = malloc((size_t)n_times * sizeof *times);
  if (!uniform) marks = malloc((size_t)n_times * sizeof *marks);
  if (!times || (!uniform && !marks)) {
    free(times);
    return fm_fail(FM_ERR_NOMEM, "out of host memory");
  }
  fm_sample_save_times(p, times, n_times);
  if (marks) save_steps(p, marks, NULL, 0);
  dev = fm_mlp_device(mlp);
  FM_TRY(fm_device_alloc(dev, (size_t)batch * (size_t)dim * sizeof(float), "sample state", &x));
  FM_TRY(fm_device_alloc(dev, (size_t)batch * sizeof(float), "sample times", &t));
  FM_TRY(fm_solver_create(dev, p->solver, (size_t)batch * (size_t)dim, &solver));
  if (p->classes > 0) {
    FM_TRY(fm_device_alloc(dev, (size_t)batch * sizeof(int), "sample classes", &labels));
    host_labels = malloc((size_t)batch * sizeof *host_labels);
    if (!host_labels) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory");
      goto fail;
    }
    if (p->guidance != 1.0) {
      FM_TRY(fm_device_alloc(dev, (size_t)batch * (size_t)dim * sizeof(float), "guidance",
                             &uncond));
      FM_TRY(fm_device_kernel(dev, "buffer", "fm_combine", &k_combine));
    }
  }
  if (p->solver == FM_SOLVER_DOPRI5) {
    fm_tolerance tol = *fm_solver_get_tolerance(solver);
    tol.rtol = p->rtol;
    tol.atol = p->atol;
    FM_TRY(fm_solver_set_tolerance(solver, &tol));
  }
  fm_solve_progress progress = {.report = p->report, .what = "sampling", .total = p->n,
                                .last = fm_seconds()};
  fm_solver_watch watch = {.stop = p->stop, .tick = fm_solve_progress_tick, .ctx = &progress};
  fm_solver_set_watch(solver, &watch);
  size_t plane = (size_t)p->n * (size_t)dim; /* one saved time of the trajectory */
  uint32_t stream = p->stream ? p->stream : FM_STREAM_SAMPLE;
  for (int first = 0; first < p->n; first += batch) {
    progress.done = first;
    int rows = p->n - first < batch ? p->n - first : batch;
    size_t values = (size_t)rows * (size_t)dim;
    float *dst = out + (size_t)first * (size_t)dim;
    model_velocity mv = {dev, mlp, t, labels, uncond, (float)p->guidance, rows, k_combine};
    if (labels) {
      for (int i = 0; i < rows; i++) {
        int c = p->class_label;
        if (c < 0) {
          fm_rng rng;
          fm_rng_init(&rng, p->seed, FM_STREAM_LABEL, (uint32_t)(p->first_point + first + i));
          c = (int)(((uint64_t)fm_rng_u32(&rng) * (uint64_t)p->classes) >> 32);
        }
        host_labels[i] = c;
        if (p->labels) p->labels[first + i] = c;
      }
      FM_TRY(fm_device_write(dev, labels, 0, (size_t)rows * sizeof(int), host_labels));
    }
    long evals = 0;
    if (p->source) {
      /* Source points picked on the host, one upload per batch. */
      for (int i = 0; i < rows; i++) {
        fm_rng rng;
        fm_rng_init(&rng, p->seed, stream, (uint32_t)(p->first_point + first + i));
        size_t j = (size_t)(((uint64_t)fm_rng_u32(&rng) * (uint64_t)p->n_source) >> 32);
        memcpy(dst + (size_t)i * dim, p->source + j * (size_t)dim, (size_t)dim * sizeof(float));
      }
      FM_TRY(fm_device_write(dev, x, 0, values * sizeof(float), dst));
    } else {
      FM_TRY(fm_sample_normal_rows(dev, x, rows, dim, p->seed, stream,
                                    (uint32_t)(p->first_point + first)));
    }
    /* Segment by segment between the saved times; fixed-step solvers take the same steps
     * as one pass from 0 to 1 would, and on another grid one step per interval of it. */
    for (int j = 0; j < n_times; j++) {
      if (j > 0) {
        if (uniform) {
          int seg_steps = (int)((times[j] - times[j - 1]) * p->steps + 0.5);
          st = fm_solver_integrate(solver, x, values, times[j - 1], times[j],
                                   seg_steps > 0 ? seg_steps : 1, velocity, &mv, &evals);
        } else {
          for (int i = marks[j - 1]; i < marks[j] && st == FM_OK; i++)
            st = fm_solver_integrate(solver, x, values, fm_sample_grid_time(p, i),
                                     fm_sample_grid_time(p, i + 1), 1, velocity, &mv, &evals);
        }
        if (st != FM_OK) {
          fm_fail_context(st, "sampling points %d to %d of %d: ", first + 1, first + rows, p->n);
          goto fail;
        }
      }
      if (trajectory)
        FM_TRY(fm_device_read(dev, x, 0, values * sizeof(float),
                              trajectory + (size_t)j * plane + (size_t)first * (size_t)dim));
    }
    FM_TRY(fm_device_read(dev, x, 0, values * sizeof(float), dst));
    if (evals > *nfe) *nfe = evals;
    *evals_total += evals;
  }
fail:
  free(times);
  free(marks);
  free(host_labels);
  fm_solver_destroy(solver);
  if (dev) {
    fm_device_release(dev, uncond);
    fm_device_release(dev, labels);
    fm_device_release(dev, t);
    fm_device_release(dev, x);
  }
  return st;
}

fm_status fm_sample_generate(fm_mlp *mlp, const fm_sample_params *p, float *out,
                             float *trajectory, long *nfe) {
  long total = 0;
  return generate(mlp, p, out, trajectory, nfe, &total);
}

double fm_samples_straightness(const fm_samples *s) {
  if (!s->trajectory || s->n_times < 3 || s->n < 1) return -1; /* one step is straight */
  size_t plane = (size_t)s->n * (size_t)s->dim;
  const float *first = s->trajectory, *last = s->trajectory + (size_t)(s->n_times - 1) * plane;
  double sum = 0;
  for (int k = 0; k + 1 < s->n_times; k++) {
    double dt = s->times[k + 1] - s->times[k];
    if (!(dt > 0)) continue;
    const float *a = s->trajectory + (size_t)k * plane, *b = a + plane;
    for (size_t v = 0; v < plane; v++) {
      double gap = ((double)last[v] - first[v]) - ((double)b[v] - a[v]) / dt;
      sum += dt * gap * gap;
    }
  }
  return sum / s->n;
}

void fm_samples_free(fm_samples *s) {
  free(s->x);
  free(s->labels);
  free(s->trajectory);
  free(s->times);
  memset(s, 0, sizeof *s);
}

fm_status fm_sample_draw(fm_mlp *mlp, fm_sample_params *sp, const double *mean,
                         const double *std, fm_samples *out) {
  fm_status st = FM_OK;
  memset(out, 0, sizeof *out);
  out->n = sp->n;
  out->dim = fm_mlp_get_shape(mlp)->dim;
  size_t plane = (size_t)out->n * (size_t)out->dim;
  out->n_times = sp->save_every > 0 ? fm_sample_save_times(sp, NULL, 0) : 0;
  out->x = malloc(plane * sizeof(float));
  if (sp->classes > 0) out->labels = malloc((size_t)out->n * sizeof(int));
  if (out->n_times) {
    out->trajectory = malloc((size_t)out->n_times * plane * sizeof(float));
    out->times = malloc((size_t)out->n_times * sizeof(double));
  }
  if (!out->x || (sp->classes > 0 && !out->labels) ||
      (out->n_times && (!out->trajectory || !out->times))) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory for %d samples", out->n);
    goto fail;
  }
  if (out->n_times) fm_sample_save_times(sp, out->times, out->n_times);
  sp->labels = out->labels;
  double t0 = fm_seconds();
  fm_device_counts c0, c1;
  fm_device_get_counts(fm_mlp_device(mlp), &c0);
  long evals = 0;
  FM_TRY(generate(mlp, sp, out->x, out->trajectory, &out->nfe, &evals));
  out->seconds = fm_seconds() - t0;
  fm_device_get_counts(fm_mlp_device(mlp), &c1);
  if (evals > 0) {
    out->launches_per_nfe = (double)(c1.launches - c0.launches) / (double)evals;
    out->library_calls_per_nfe = (double)(c1.library_calls - c0.library_calls) / (double)evals;
  }
  if (mean)
    for (int j = 0; j <= out->n_times; j++)
      fm_points_unstandardize(j == 0 ? out->x : out->trajectory + (size_t)(j - 1) * plane,
                              out->n, out->dim, mean, std);
  return FM_OK;
fail:
  fm_samples_free(out);
  return st;
}
