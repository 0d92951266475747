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
#include "fmcl/recipe.h"
#include "fmcl/rng.h"
#include "internal.h"

/* Non-finite values make every later number meaningless: say where the first one is. */
static fm_status check_finite(const float *x, int n, int dim, const char *what) {
  for (size_t i = 0; i < (size_t)n * (size_t)dim; i++)
    if (!isfinite(x[i]))
      return fm_fail(FM_ERR_NUMERIC, "%s: row %zu, column %zu (from 0) is %g; %s", what,
                     i / dim, i % dim, (double)x[i],
                     strcmp(what, "samples") == 0
                         ? "the model's velocity overflowed while sampling (train longer or "
                           "with a lower train.lr, or use more sample.steps)"
                         : "fix the data file");
  return FM_OK;
}

/* fm_evaluate_log_likelihood of points numbered from first_point in the whole set. */
static fm_status log_likelihood(const fm_eval_inputs *in, const float *x, const int *labels,
                                int n, int first_point, double *logp, long *nfe, int *exact) {
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
  fm_likelihood_params p = fm_recipe_likelihood(cfg, batch);
  p.first_point = first_point;
  p.stop = in->stop;
  p.report = in->report;
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

fm_status fm_evaluate_log_likelihood(const fm_eval_inputs *in, const float *x, const int *labels,
                                     int n, double *logp, long *nfe, int *exact) {
  return log_likelihood(in, x, labels, n, 0, logp, nfe, exact);
}

static fm_status check_dim(const fm_eval_inputs *in) {
  int dim = fm_mlp_get_shape(in->mlp)->dim;
  if (in->test->dim == dim) return FM_OK;
  return fm_fail(FM_ERR_INVALID, "evaluation: the held-out points have dimension %d, the model "
                 "%d", in->test->dim, dim);
}

fm_status fm_evaluate_metrics(const fm_eval_inputs *in, fm_eval_report *out) {
  fm_status st = FM_OK;
  const fm_config *cfg = in->cfg;
  int dim = fm_mlp_get_shape(in->mlp)->dim;
  out->has_metrics = 0;
  FM_TRY(check_dim(in));
  if (!cfg->eval.metrics || !in->samples || in->n_samples < 2 || in->test->n < 2) return FM_OK;
  double started = fm_seconds();
  int m = cfg->eval.metric_points;
  if (m > in->n_samples) m = in->n_samples;
  if (m > in->test->n) m = in->test->n;
  FM_TRY(check_finite(in->samples, m, dim, "samples"));
  FM_TRY(fm_metrics_w2(in->samples, in->test->x, m, dim, &out->w2, in->stop));
  FM_TRY(fm_metrics_energy(in->samples, m, in->test->x, m, dim, &out->energy));
  FM_TRY(fm_metrics_mmd(in->samples, m, in->test->x, m, dim, 0.0, &out->mmd2));
  out->has_metrics = 1;
  out->metric_points = m;
  out->metric_seconds = fm_seconds() - started;
fail:
  return st;
}

fm_status fm_evaluate_likelihood(const fm_eval_inputs *in, fm_eval_report *out) {
  fm_status st = FM_OK;
  const fm_config *cfg = in->cfg;
  int dim = fm_mlp_get_shape(in->mlp)->dim;
  double *logp = NULL;
  float *noisy = NULL;
  out->has_likelihood = 0;
  FM_TRY(check_dim(in));
  int n = cfg->eval.n < in->test->n ? cfg->eval.n : in->test->n;
  if (!cfg->eval.likelihood || n <= 0 || in->source) return FM_OK;
  double started = fm_seconds();
  logp = calloc((size_t)n, sizeof *logp);
  if (!logp) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory");
    goto fail;
  }
  /* A conditional model is judged by log q(x | its class). */
  const int *labels = fm_mlp_get_shape(in->mlp)->classes > 0 ? in->test->label : NULL;
  fm_ranks one = fm_ranks_single();
  const fm_ranks *ranks = in->ranks ? in->ranks : &one;
  int row0 = 0, share = fm_ranks_share(n, ranks->size, ranks->rank, &row0);
  long nfe = 0;
  /* Quantized data (pixels) get uniform noise within their bins, each point its own from
   * (seed, DEQUANTIZE, point), so the NLL bounds that of the bins (dequantization). */
  double bin = cfg->eval.dequantize > 0 ? cfg->eval.dequantize : 0;
  const float *x = in->test->x + (size_t)row0 * (size_t)dim;
  if (bin > 0 && share > 0) {
    noisy = malloc((size_t)share * (size_t)dim * sizeof *noisy);
    if (!noisy) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory for the dequantized points");
      goto fail;
    }
    for (int i = 0; i < share; i++) {
      fm_rng rng;
      fm_rng_init(&rng, cfg->seed, FM_STREAM_DEQUANTIZE, (uint32_t)(row0 + i));
      for (int d = 0; d < dim; d++) {
        size_t k = (size_t)i * (size_t)dim + (size_t)d;
        noisy[k] = (float)(x[k] + bin * fm_rng_uniform(&rng));
      }
    }
    x = noisy;
  }
  if (share > 0)
    FM_TRY(log_likelihood(in, x, labels ? labels + row0 : NULL, share, row0, logp + row0, &nfe,
                          &out->exact));
  /* The other ranks' shares are zeros here: the sum is every point's value. */
  FM_TRY(fm_ranks_sum_doubles(ranks, logp, (size_t)n));
  int most = (int)nfe;
  FM_TRY(fm_ranks_max_int(ranks, &most));
  out->likelihood_nfe = most;
  double sum = 0;
  for (int i = 0; i < n; i++) sum -= logp[i];
  out->nll = sum / n;
  /* Of the bins: their probability is the density times bin^dim. */
  out->bits_per_dim = (out->nll - (bin > 0 ? dim * log(bin) : 0)) / (dim * log(2.0));
  out->dequantize = bin;
  out->nll_points = n;
  out->probes = out->exact ? 0 : cfg->eval.probes;
  out->has_likelihood = 1;
  out->likelihood_seconds = fm_seconds() - started;
fail:
  free(logp);
  free(noisy);
  return st;
}

/* ---- plots ---- */

/* Writes fig as dir/<name>.<output.plot_format> and frees it. */
static fm_status save(const fm_eval_inputs *in, fm_figure *fig, const char *dir, const char *name) {
  char path[1200];
  fm_plot_format format = in->cfg->output.plot_format;
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, fm_plot_format_names[format]);
  fm_status st = fm_figure_write(fig, path, format);
  fm_figure_free(fig);
  return st;
}

/* The training loss against the step. */
static fm_status plot_loss(const fm_eval_inputs *in, const char *dir) {
  if (!in->losses || in->n_losses < 2) return FM_OK;
  fm_plot_opts o = {.title = "Training loss", .xlabel = "step", .ylabel = "loss", .log_y = 1};
  fm_plot_series s = {.x = in->loss_steps, .y = in->losses, .n = in->n_losses};
  fm_figure fig;
  fm_status st = fm_plot_lines(&o, &s, 1, &fig, NULL);
  return st == FM_OK ? save(in, &fig, dir, "loss") : st;
}

/* The name of column c: the data file's header, or x<c>. */
static const char *column_name(const fm_eval_inputs *in, int c, char *buf, size_t size) {
  if (in->columns && in->columns[c] && in->columns[c][0]) return in->columns[c];
  snprintf(buf, size, "x%d", c);
  return buf;
}

/* The model's density in data units over the held-out points' range (plus a margin) on
 * the plot columns of 2-D data. */
static fm_status plot_density(const fm_eval_inputs *in, const char *dir) {
  const fm_points *test = in->test;
  const fm_config *cfg = in->cfg;
  int g = cfg->eval.density_grid;
  const char *skip = NULL;
  if (g < 2 || test->n < 1 || in->source) return FM_OK; /* not asked for, or no density */
  if (test->dim != 2)
    skip = "the density map is drawn for 2-D data only";
  /* A conditional model shows its null-class (unconditional) density, which it learned only
   * with label dropout. */
  else if (cfg->model.classes > 0 && cfg->train.label_dropout <= 0)
    skip = "a class-conditional model trained without train.label_dropout has no "
           "unconditional density to draw";
  if (skip) {
    fm_report(in->report, FM_REPORT_INFO, "no density.%s: %s",
              fm_plot_format_names[cfg->output.plot_format], skip);
    return FM_OK;
  }
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
  if (st != FM_OK) {
    fm_fail_context(st, "density map: ");
    goto done;
  }
  for (int i = 0; i < g * g; i++) v[i] = (float)exp(logp[i]);
  fm_plot_grid grid = {.v = v, .nx = g, .ny = g, .xmin = lo[0], .xmax = hi[0], .ymin = lo[1],
                       .ymax = hi[1], .label = "density"};
  char xb[16], yb[16];
  fm_plot_opts o = {.title = "Learned density", .xlabel = column_name(in, 0, xb, sizeof xb),
                    .ylabel = column_name(in, 1, yb, sizeof yb)};
  fm_figure fig;
  st = fm_plot_heatmap(&o, &grid, &fig, NULL);
  if (st == FM_OK) st = save(in, &fig, dir, "density");
done:
  free(x);
  free(v);
  free(logp);
  return st;
}

/* ---- image data ---- */

static const char *const fashion_mnist_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static const char *class_name(const fm_config *cfg, int c, char *buf, size_t size) {
  if (strcmp(cfg->data.name, FM_FASHION_MNIST) == 0 && !cfg->data.path[0] && c < 10)
    return fashion_mnist_classes[c];
  snprintf(buf, size, "class %d", c);
  return buf;
}

enum { IMAGE_COLS = 8, MAX_IMAGE_ROWS = 16, PATH_ROWS = 4 };

/* Checks that output.image_shape holds dim pixels. */
static fm_status check_image_shape(const fm_config *cfg, int dim) {
  int h = cfg->output.image_shape[0], w = cfg->output.image_shape[1];
  if (h * w != dim)
    return fm_fail(FM_ERR_CONFIG, "config: output.image_shape: %d x %d is %d pixels, the data "
                   "has %d values a point; set the images' shape, or [] for points", h, w,
                   h * w, dim);
  return FM_OK;
}

/* The grid of samples: a row per class (or rows of 8 samples), grey from lo to hi. */
static fm_status sample_grid(const fm_config *cfg, const float *samples, const int *labels,
                             int n, int dim, double lo, double hi, const char *title,
                             fm_figure *fig) {
  fm_status st = check_image_shape(cfg, dim);
  if (st != FM_OK) return st;
  int by_class = labels && cfg->model.classes > 0;
  int rows = by_class ? cfg->model.classes : (n + IMAGE_COLS - 1) / IMAGE_COLS;
  rows = rows > MAX_IMAGE_ROWS ? MAX_IMAGE_ROWS : rows;
  size_t area = (size_t)dim, cells = (size_t)rows * IMAGE_COLS;
  float *x = calloc(cells * area, sizeof *x);
  unsigned char *present = calloc(cells, 1);
  char names[MAX_IMAGE_ROWS][32];
  const char *row_labels[MAX_IMAGE_ROWS];
  if (!x || !present) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory for the image plots");
    goto fail;
  }
  /* Each row's first samples: of its class, or the next eight. */
  int filled[MAX_IMAGE_ROWS] = {0};
  for (int i = 0; i < n; i++) {
    int r = by_class ? labels[i] : i / IMAGE_COLS;
    if (r < 0 || r >= rows || filled[r] == IMAGE_COLS) continue;
    size_t k = (size_t)r * IMAGE_COLS + filled[r]++;
    memcpy(x + k * area, samples + (size_t)i * area, area * sizeof *x);
    present[k] = 1;
  }
  for (int r = 0; r < rows; r++) row_labels[r] = class_name(cfg, r, names[r], sizeof names[r]);
  fm_plot_opts o = {.title = title};
  fm_plot_image_grid g = {.x = x, .present = present, .rows = rows, .cols = IMAGE_COLS,
                          .height = cfg->output.image_shape[0],
                          .width = cfg->output.image_shape[1], .vmin = lo, .vmax = hi,
                          .row_labels = by_class ? row_labels : NULL};
  st = fm_plot_images(&o, &g, fig);
fail:
  free(x);
  free(present);
  return st;
}

fm_status fm_evaluate_sample_images(const fm_config *cfg, const float *x, const int *labels,
                                    int n, int dim, const char *title, const char *path) {
  fm_status st = FM_OK;
  double lo = -1, hi = 1;
  if (strcmp(cfg->data.name, FM_FASHION_MNIST) != 0 || cfg->data.path[0]) {
    lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < (size_t)n * (size_t)dim; i++) lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    if (!(lo < hi)) lo = -1, hi = 1;
  }
  fm_figure fig;
  FM_TRY(sample_grid(cfg, x, labels, n, dim, lo, hi, title, &fig));
  st = fm_figure_write(&fig, path, cfg->output.plot_format);
  fm_figure_free(&fig);
fail:
  return st;
}

/* samples.png and trajectories.png as images: a row per class (or rows of 8 samples), and
 * the first samples from noise to the end, the held-out data's range from black to white. */
static fm_status plot_images(const fm_eval_inputs *in, const char *dir) {
  const fm_config *cfg = in->cfg;
  int h = cfg->output.image_shape[0], w = cfg->output.image_shape[1], dim = in->test->dim;
  fm_status st = FM_OK;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < (size_t)in->test->n * dim; i++)
    lo = fmin(lo, in->test->x[i]), hi = fmax(hi, in->test->x[i]);
  if (!(lo < hi)) lo = -1, hi = 1;
  int by_class = in->sample_labels && cfg->model.classes > 0;
  fm_figure fig;
  FM_TRY(sample_grid(cfg, in->samples, in->sample_labels, in->n_samples, dim, lo, hi,
                     by_class ? "Samples, a row per class" : "Samples", &fig));
  FM_TRY(save(in, &fig, dir, "samples"));
  if (!in->trajectory || in->n_times < 2) return FM_OK;
  /* The first few samples at eight times from t = 0 to 1. */
  size_t area = (size_t)dim;
  float *x = calloc((size_t)PATH_ROWS * IMAGE_COLS * area, sizeof *x);
  if (!x) return fm_fail(FM_ERR_NOMEM, "out of host memory for the image plots");
  char names[PATH_ROWS][32], times[IMAGE_COLS][16];
  const char *row_labels[PATH_ROWS], *col_labels[IMAGE_COLS];
  int paths = in->n_samples < PATH_ROWS ? in->n_samples : PATH_ROWS;
  int cols = in->n_times < IMAGE_COLS ? in->n_times : IMAGE_COLS;
  for (int c = 0; c < cols; c++) {
    int s = (int)lround((double)c * (in->n_times - 1) / (cols - 1));
    snprintf(times[c], sizeof times[c], "t = %.2f",
             in->times ? in->times[s] : (double)s / (in->n_times - 1));
    col_labels[c] = times[c];
    for (int r = 0; r < paths; r++)
      memcpy(x + ((size_t)r * cols + c) * area,
             in->trajectory + ((size_t)s * in->n_samples + r) * area, area * sizeof *x);
  }
  for (int r = 0; r < paths; r++)
    row_labels[r] = by_class ? class_name(cfg, in->sample_labels[r], names[r], sizeof names[r])
                             : "";
  fm_plot_opts t = {.title = "From noise (t = 0) to samples (t = 1)"};
  fm_plot_image_grid tg = {.x = x, .rows = paths, .cols = cols, .height = h, .width = w,
                           .vmin = lo, .vmax = hi, .row_labels = by_class ? row_labels : NULL,
                           .col_labels = col_labels};
  if ((st = fm_plot_images(&t, &tg, &fig)) == FM_OK) st = save(in, &fig, dir, "trajectories");
  free(x);
fail:
  return st;
}

fm_status fm_evaluate_plots(const fm_eval_inputs *in, const char *dir) {
  fm_status st = FM_OK;
  const fm_config *cfg = in->cfg;
  int dim = fm_mlp_get_shape(in->mlp)->dim;
  int cx = cfg->output.plot_dims[0], cy = cfg->output.plot_dims[1];
  char xb[16], yb[16];
  if (dim == 1) cx = cy = 0;
  if (cx >= dim || cy >= dim)
    return fm_fail(FM_ERR_CONFIG, "config: output.plot_dims: [%d, %d] for data of dimension %d; "
                   "choose coordinates below %d", cx, cy, dim, dim);
  fm_plot_opts o = {.xlabel = column_name(in, cx, xb, sizeof xb),
                    .ylabel = column_name(in, cy, yb, sizeof yb)};
  fm_figure fig;
  const char *font = fm_plot_font_problem();
  if (font) fm_report(in->report, FM_REPORT_WARNING, "%s", font);
  if (cfg->output.n_image_shape == 2 && in->samples && in->n_samples > 0) {
    FM_TRY(plot_images(in, dir));
  } else if (in->samples && in->n_samples > 0) {
    fm_plot_points sets[2] = {
        {.x = in->test->x, .n = in->test->n, .dim = dim, .cx = cx, .cy = cy,
         .color = FM_COLOR_GREY, .label = "held-out data"},
        {.x = in->samples, .n = in->n_samples, .dim = dim, .cx = cx, .cy = cy,
         .color = FM_COLOR_BLUE, .label = "samples"}};
    o.title = "Samples over held-out data";
    int first = in->test->n > 0 ? 0 : 1;
    FM_TRY(fm_plot_scatter(&o, sets + first, 2 - first, &fig, NULL));
    FM_TRY(save(in, &fig, dir, "samples"));
  }
  if (cfg->output.n_image_shape != 2 && in->trajectory && in->n_times >= 2 &&
      in->n_samples > 0) {
    /* A few hundred paths show the flow; thousands hide it. */
    int n = in->n_samples < 300 ? in->n_samples : 300;
    float *sub = malloc((size_t)in->n_times * (size_t)n * (size_t)dim * sizeof *sub);
    if (!sub) return fm_fail(FM_ERR_NOMEM, "out of host memory");
    for (int s = 0; s < in->n_times; s++)
      memcpy(sub + (size_t)s * n * dim, in->trajectory + (size_t)s * in->n_samples * dim,
             (size_t)n * dim * sizeof *sub);
    char title[160], start[96];
    snprintf(start, sizeof start, "%s, t=0", in->source ? in->source : "noise");
    snprintf(title, sizeof title, "Trajectories from %s (t = 0) to samples (t = 1)",
             in->source ? in->source : "noise");
    o.title = title;
    o.start_label = start;
    st = fm_plot_trajectories(&o, sub, in->n_times, n, dim, cx, cy, &fig, NULL);
    free(sub);
    FM_TRY(st);
    FM_TRY(save(in, &fig, dir, "trajectories"));
  }
  FM_TRY(plot_loss(in, dir));
  FM_TRY(plot_density(in, dir));
fail:
  return st;
}
