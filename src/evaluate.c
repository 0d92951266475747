/* Evaluation of a trained model: likelihood of held-out points (through the likelihood
 * module, in data units), metrics of samples against them, and the plots of a run folder. */
#include "fmcl/evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmcl/likelihood.h"
#include "fmcl/metrics.h"
#include "fmcl/plot.h"
#include "fmcl/progress.h"
#include "internal.h"

/* Non-finite values make every later number meaningless: say where the first one is. */
static fm_status check_finite(const float *x, int n, int dim, const char *what) {
  for (size_t i = 0; i < (size_t)n * (size_t)dim; i++)
    if (!isfinite(x[i]))
      return fm_fail(FM_ERR_NUMERIC, "%s: row %zu, column %zu is %g; %s", what, i / dim + 1,
                     i % dim + 1, (double)x[i],
                     strcmp(what, "samples") == 0
                         ? "the model's velocity overflowed while sampling (train longer or "
                           "with a lower train.lr, or use more sample.steps)"
                         : "fix the data file");
  return FM_OK;
}

fm_status fm_evaluate_log_likelihood(const fm_eval_inputs *in, const float *x, const int *labels,
                                     int n, double *logp, long *nfe, int *exact) {
  fm_status st = FM_OK;
  const fm_config *cfg = in->cfg;
  fm_mlp *mlp = in->mlp;
  int dim = fm_mlp_get_shape(mlp)->dim;
  float *model_x = NULL;
  cl_mem t = NULL, label_buffer = NULL;
  FM_TRY(check_finite(x, n, dim, "likelihood data"));
  model_x = malloc((size_t)n * (size_t)dim * sizeof *model_x);
  if (!model_x) return fm_fail(FM_ERR_NOMEM, "out of host memory");
  memcpy(model_x, x, (size_t)n * (size_t)dim * sizeof *model_x);
  /* The model saw (x - mean) / std; its density there, times the Jacobian 1 / prod std. */
  double log_jacobian = 0;
  if (in->mean) {
    fm_points_standardize(model_x, n, dim, in->mean, in->std);
    for (int d = 0; d < dim; d++) log_jacobian -= log(in->std[d]);
  }
  int batch = cfg->sample.batch < fm_mlp_capacity(mlp) ? cfg->sample.batch : fm_mlp_capacity(mlp);
  FM_TRY(fm_device_alloc(fm_mlp_device(mlp), (size_t)batch * sizeof(float), "likelihood times", &t));
  if (fm_mlp_get_shape(mlp)->classes > 0)
    FM_TRY(fm_device_alloc(fm_mlp_device(mlp), (size_t)batch * sizeof(int), "likelihood classes",
                           &label_buffer));
  fm_mlp_field holder = {mlp, t, label_buffer};
  fm_field field = fm_field_of_mlp(&holder);
  fm_likelihood_params p = {cfg->eval.solver, cfg->eval.steps, cfg->eval.rtol, cfg->eval.atol,
                            (fm_divergence)cfg->eval.divergence, cfg->eval.probes, cfg->seed,
                            batch};
  fm_likelihood_stats stats;
  FM_TRY(fm_likelihood_eval(&field, &p, model_x, labels, n, logp, &stats));
  for (int i = 0; i < n; i++) logp[i] += log_jacobian;
  if (nfe) *nfe = stats.nfe;
  if (exact) *exact = stats.exact;
fail:
  fm_device_release(fm_mlp_device(mlp), label_buffer);
  fm_device_release(fm_mlp_device(mlp), t);
  free(model_x);
  return st;
}

fm_status fm_evaluate(const fm_eval_inputs *in, fm_eval_report *out) {
  fm_status st = FM_OK;
  const fm_config *cfg = in->cfg;
  int dim = fm_mlp_get_shape(in->mlp)->dim;
  double *logp = NULL;
  memset(out, 0, sizeof *out);
  if (in->test->dim != dim)
    return fm_fail(FM_ERR_INVALID, "evaluation: the held-out points have dimension %d, the "
                   "model %d", in->test->dim, dim);
  if (cfg->eval.metrics && in->samples && in->n_samples >= 2 && in->test->n >= 2) {
    double started = fm_seconds();
    int m = cfg->eval.metric_points;
    if (m > in->n_samples) m = in->n_samples;
    if (m > in->test->n) m = in->test->n;
    FM_TRY(check_finite(in->samples, m, dim, "samples"));
    FM_TRY(fm_metrics_w2(in->samples, in->test->x, m, dim, &out->w2));
    FM_TRY(fm_metrics_energy(in->samples, m, in->test->x, m, dim, &out->energy));
    FM_TRY(fm_metrics_mmd(in->samples, m, in->test->x, m, dim, 0.0, &out->mmd2));
    out->has_metrics = 1;
    out->metric_points = m;
    out->metric_seconds = fm_seconds() - started;
  }
  int n = cfg->eval.n < in->test->n ? cfg->eval.n : in->test->n;
  if (cfg->eval.likelihood && n > 0) {
    double started = fm_seconds();
    logp = malloc((size_t)n * sizeof *logp);
    if (!logp) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory");
      goto fail;
    }
    /* A conditional model is judged by log q(x | its class). */
    const int *labels = fm_mlp_get_shape(in->mlp)->classes > 0 ? in->test->label : NULL;
    FM_TRY(fm_evaluate_log_likelihood(in, in->test->x, labels, n, logp, &out->likelihood_nfe,
                                      &out->exact));
    double sum = 0;
    for (int i = 0; i < n; i++) sum -= logp[i];
    out->nll = sum / n;
    out->bits_per_dim = out->nll / (dim * log(2.0));
    out->nll_points = n;
    out->probes = out->exact ? 0 : cfg->eval.probes;
    out->has_likelihood = 1;
    out->likelihood_seconds = fm_seconds() - started;
  }
fail:
  free(logp);
  return st;
}

/* ---- plots ---- */

static fm_status save(fm_image *img, const char *dir, const char *name) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  fm_status st = fm_image_write_png(img, path);
  fm_image_free(img);
  return st;
}

/* The training loss against the step. */
static fm_status plot_loss(const fm_eval_inputs *in, const char *dir) {
  if (!in->losses || in->n_losses < 2) return FM_OK;
  fm_plot_opts o = {.title = "Training loss", .xlabel = "step", .ylabel = "loss", .log_y = 1};
  fm_plot_series s = {.x = in->loss_steps, .y = in->losses, .n = in->n_losses};
  fm_image img;
  fm_status st = fm_plot_lines(&o, &s, 1, &img, NULL);
  return st == FM_OK ? save(&img, dir, "loss.png") : st;
}

/* The model's density in data units over the held-out points' range (plus a margin) on
 * the plot columns of 2-D data. */
static fm_status plot_density(const fm_eval_inputs *in, const char *dir) {
  const fm_points *test = in->test;
  int g = in->cfg->eval.density_grid;
  if (g < 2 || test->dim != 2 || test->n < 1) return FM_OK;
  /* A conditional model shows its null-class (unconditional) density, which it learned only
   * with label dropout. */
  if (in->cfg->model.classes > 0 && in->cfg->train.label_dropout <= 0) return FM_OK;
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (int i = 0; i < test->n; i++)
    for (int d = 0; d < 2; d++) {
      lo[d] = fmin(lo[d], test->x[2 * i + d]);
      hi[d] = fmax(hi[d], test->x[2 * i + d]);
    }
  for (int d = 0; d < 2; d++) {
    double margin = 0.1 * (hi[d] - lo[d]) + 1e-3;
    lo[d] -= margin, hi[d] += margin;
  }
  fm_status st = FM_OK;
  float *x = malloc((size_t)g * g * 2 * sizeof *x), *v = malloc((size_t)g * g * sizeof *v);
  double *logp = malloc((size_t)g * g * sizeof *logp);
  if (!x || !v || !logp) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory for the density grid");
    goto done;
  }
  for (int j = 0; j < g; j++)
    for (int i = 0; i < g; i++) {
      x[2 * (j * g + i)] = (float)(lo[0] + (i + 0.5) * (hi[0] - lo[0]) / g);
      x[2 * (j * g + i) + 1] = (float)(lo[1] + (j + 0.5) * (hi[1] - lo[1]) / g);
    }
  st = fm_evaluate_log_likelihood(in, x, NULL, g * g, logp, NULL, NULL);
  if (st != FM_OK) goto done;
  for (int i = 0; i < g * g; i++) v[i] = (float)exp(logp[i]);
  fm_plot_grid grid = {v, g, g, lo[0], hi[0], lo[1], hi[1], 0, 0, "density"};
  fm_plot_opts o = {0};
  o.title = "Learned density";
  o.xlabel = "x0";
  o.ylabel = "x1";
  fm_image img;
  st = fm_plot_heatmap(&o, &grid, &img, NULL);
  if (st == FM_OK) st = save(&img, dir, "density.png");
done:
  free(x);
  free(v);
  free(logp);
  return st;
}

fm_status fm_evaluate_plots(const fm_eval_inputs *in, const char *dir) {
  fm_status st = FM_OK;
  const fm_config *cfg = in->cfg;
  int dim = fm_mlp_get_shape(in->mlp)->dim;
  int cx = cfg->output.plot_dims[0], cy = cfg->output.plot_dims[1];
  char xl[16], yl[16];
  if (dim == 1) cx = cy = 0;
  if (cx >= dim || cy >= dim)
    return fm_fail(FM_ERR_CONFIG, "config: output.plot_dims: [%d, %d] for data of dimension %d; "
                   "choose coordinates below %d", cx, cy, dim, dim);
  snprintf(xl, sizeof xl, "x%d", cx);
  snprintf(yl, sizeof yl, "x%d", cy);
  fm_plot_opts o = {0};
  o.xlabel = xl;
  o.ylabel = yl;
  fm_image img;
  if (in->samples && in->n_samples > 0) {
    fm_plot_points sets[2] = {
        {in->test->x, in->test->n, dim, cx, cy, FM_COLOR_GREY, 0, 0, "held-out data"},
        {in->samples, in->n_samples, dim, cx, cy, FM_COLOR_BLUE, 0, 0, "samples"}};
    o.title = "Samples over held-out data";
    int first = in->test->n > 0 ? 0 : 1;
    FM_TRY(fm_plot_scatter(&o, sets + first, 2 - first, &img, NULL));
    FM_TRY(save(&img, dir, "samples.png"));
  }
  if (in->trajectory && in->n_times >= 2 && in->n_samples > 0) {
    /* A few hundred paths show the flow; thousands hide it. */
    int n = in->n_samples < 300 ? in->n_samples : 300;
    float *sub = malloc((size_t)in->n_times * (size_t)n * (size_t)dim * sizeof *sub);
    if (!sub) return fm_fail(FM_ERR_NOMEM, "out of host memory");
    for (int s = 0; s < in->n_times; s++)
      memcpy(sub + (size_t)s * n * dim, in->trajectory + (size_t)s * in->n_samples * dim,
             (size_t)n * dim * sizeof *sub);
    o.title = "Trajectories from noise (t = 0) to samples (t = 1)";
    st = fm_plot_trajectories(&o, sub, in->n_times, n, dim, cx, cy, &img, NULL);
    free(sub);
    FM_TRY(st);
    FM_TRY(save(&img, dir, "trajectories.png"));
  }
  FM_TRY(plot_loss(in, dir));
  FM_TRY(plot_density(in, dir));
fail:
  return st;
}
