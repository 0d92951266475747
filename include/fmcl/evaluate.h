/* How good a trained model is, and pictures of it: the likelihood of held-out points,
 * sample-quality metrics against them, and the run folder's plots. Everything here is in
 * data units; a model trained on standardized data is mapped back. */
#ifndef FMCL_EVALUATE_H
#define FMCL_EVALUATE_H

#include "fmcl/config.h"
#include "fmcl/data.h"
#include "fmcl/mlp.h"
#include "fmcl/ranks.h"
#include "fmcl/report.h"

/* The model and the data it is judged on. */
typedef struct fm_eval_inputs {
  fm_mlp *mlp;
  const fm_config *cfg;          /* eval.*, sample.batch, seed, output.plot_dims */
  const fm_points *test;         /* held-out points */
  const float *samples;          /* (n_samples, dim) generated points, or NULL */
  const int *sample_labels;      /* (n_samples) their classes (a conditional model), or NULL */
  int n_samples;
  const double *mean, *std;      /* the data's standardization, or NULL */
  const float *trajectory;       /* (n_times, n_samples, dim) or NULL */
  const double *times;           /* (n_times) the trajectory's times, or NULL */
  int n_times;
  const double *loss_steps, *losses; /* the training loss curve (n_losses points), or NULL */
  int n_losses;
  const char *source;            /* a data set the model starts from ("moons"); NULL: N(0, I) */
  const char *const *columns;    /* the data's column names (dim), or NULL for x0, x1, ... */
  const fm_reporter *report;     /* long solves' progress, plots left out and why */
  fm_stop_flag *stop;            /* a stop request ends any of these with FM_ERR_INTERRUPTED */
  const fm_ranks *ranks;         /* the held-out NLL is split over them; NULL: one process */
} fm_eval_inputs;

typedef struct fm_eval_report {
  int has_likelihood;
  double nll;          /* mean negative log-likelihood of held-out points, nats */
  double bits_per_dim; /* nll / (dim ln 2); of the bins for dequantized data */
  double dequantize;   /* the bin width the held-out points were dequantized with; 0: none */
  int nll_points;
  int exact;           /* exact divergence (else Hutchinson) */
  int probes;
  long likelihood_nfe;
  double likelihood_seconds;
  int has_metrics;
  double w2, energy, mmd2;
  int metric_points;
  double metric_seconds;
} fm_eval_report;

/* The metrics the config asks for (eval.metrics) of the samples against the held-out
 * points into out (has_metrics). A non-finite sample is an error naming it. */
fm_status fm_evaluate_metrics(const fm_eval_inputs *in, fm_eval_report *out);

/* The held-out NLL the config asks for (eval.likelihood, over the first eval.n points)
 * into out (has_likelihood); nothing for a model that starts from a data set, whose
 * density is unknown. With several ranks a collective: each rank integrates its share of
 * the points (with the probes one process gives them) and every rank gets the mean. */
fm_status fm_evaluate_likelihood(const fm_eval_inputs *in, fm_eval_report *out);

/* log q(x) in data units for n points x (n, dim) on the host (eval.* settings); for a
 * conditional model log q(x | labels[i]) (labels NULL: the null class). */
fm_status fm_evaluate_log_likelihood(const fm_eval_inputs *in, const float *x, const int *labels,
                                     int n, double *logp, long *nfe, int *exact);

/* The run folder's plots: samples.png (samples over held-out points), loss.png (with a
 * loss curve), trajectories.png (with a trajectory) and, for 2-D data, density.png (the
 * model's density on an eval.density_grid grid). For image data (output.image_shape) the
 * samples are a grid of images, a row per class, and the trajectories a few images from
 * noise to sample. A plot left out is reported with why. */
fm_status fm_evaluate_plots(const fm_eval_inputs *in, const char *dir);

/* The picture of image samples (cfg's output.image_shape) as samples.png draws them: n
 * samples x (n, dim), a row per class with labels (else rows of 8), grey from -1 to 1 for
 * Fashion-MNIST or over the samples' own range; written to path in output.plot_format. */
fm_status fm_evaluate_sample_images(const fm_config *cfg, const float *x, const int *labels,
                                    int n, int dim, const char *title, const char *path);

#endif
