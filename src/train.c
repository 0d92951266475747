/* One training step = path, MLP forward, loss, MLP backward, Adam: kernel launches and
 * matrix products on one in-order queue (plus, for the ot coupling, one assignment on the
 * host), counted by the device (fm_device_get_counts). */
#include "fmcl/train.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "fmcl/loss.h"
#include "fmcl/path.h"
#include "fmcl/recipe.h"
#include "fmcl/progress.h"
#include "internal.h"

struct fm_trainer {
  fm_device *dev;
  fm_mlp *mlp;
  fm_optim *optim;
  fm_path *path;
  fm_lr_schedule lr;
  uint64_t seed;
  int batch, dim, n_data, n_source;
  fm_ranks ranks;      /* the job (one rank without MPI) */
  int row0, rows;      /* this rank's rows [row0, row0 + rows) of the global batch */
  float *host_grads;   /* (flat_size + 1): the gradient and the stop flag, summed over ranks */
  fm_allreduce_kind allreduce;
  /* train.allreduce layers: the ranges the backward pass handed over, each on its way to
   * host_grads */
  int n_ranges;
  size_t range_at[FM_RANKS_MAX_SUMS - 1], range_n[FM_RANKS_MAX_SUMS - 1];
  cl_event range_read[FM_RANKS_MAX_SUMS - 1];
  fm_stop_flag *stop;
  int stop_agreed;
  double wait_s, copy_s, mpi_s; /* summing the gradient: waiting for the backward pass,
                                   the transfers to the host and back, MPI_Allreduce */
  uint64_t step;
  fm_device_counts commands; /* commands enqueued by the steps taken in this process */
  long steps_counted;
  cl_mem data;     /* (n_data, dim) training points */
  cl_mem source;   /* (n_source, dim) source points, or NULL for N(0, I) */
  cl_mem labels;   /* (n_data) ints: the classes of a conditional model, or NULL */
  cl_mem row_labels; /* (rows) ints: the batch's classes (-1 after label dropout) */
  cl_mem x_t;      /* (rows, dim) */
  cl_mem t;        /* (rows) */
  cl_mem u;        /* (rows, dim) target velocity */
  cl_mem v;        /* (rows, dim) model velocity */
  cl_mem dv;       /* (rows, dim) dL/dv */
  cl_mem loss_partial; /* (FM_LOSS_SCRATCH) */
  cl_mem loss_acc; /* one fm_loss_sum */
};

fm_status fm_trainer_create(fm_mlp *mlp, const fm_config *cfg, const fm_points *train,
                            const fm_points *source, const fm_ranks *ranks, fm_trainer **out) {
  fm_status st = FM_OK;
  *out = NULL;
  fm_device *dev = fm_mlp_device(mlp);
  fm_ranks job = ranks ? *ranks : fm_ranks_single();
  if (cfg->train.batch < job.size)
    return fm_fail(FM_ERR_CONFIG, "train.batch %d is smaller than the %d ranks: every rank needs "
                   "at least one row of the batch; use a batch of at least %d, or fewer ranks",
                   cfg->train.batch, job.size, job.size);
  int row0 = 0, share = fm_ranks_share(cfg->train.batch, job.size, job.rank, &row0);
  if (fm_mlp_capacity(mlp) < share)
    return fm_fail(FM_ERR_INVALID, "trainer: model capacity %d < batch share %d",
                   fm_mlp_capacity(mlp), share);
  fm_trainer *tr = calloc(1, sizeof *tr);
  if (!tr) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the trainer");
  tr->dev = dev;
  tr->mlp = mlp;
  tr->lr = fm_recipe_lr(cfg);
  tr->seed = cfg->seed;
  tr->batch = cfg->train.batch;
  tr->ranks = job;
  tr->row0 = row0;
  tr->rows = share;
  tr->dim = train->dim;
  tr->n_data = train->n;
  tr->allreduce = cfg->train.allreduce;
  if (job.size > 1) {
    /* Zeroed: the alignment gaps between layers are never read back from the device. */
    tr->host_grads = calloc(fm_mlp_flat_size(mlp) + 1, sizeof *tr->host_grads);
    if (!tr->host_grads) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory for the gradient of %zu floats",
                   fm_mlp_flat_size(mlp));
      goto fail;
    }
  }
  size_t rows = (size_t)tr->rows, dim = (size_t)tr->dim;
  size_t data_bytes = (size_t)train->n * dim * sizeof(float);
  FM_TRY(fm_device_alloc(dev, data_bytes, "training data", &tr->data));
  FM_TRY(fm_device_write(dev, tr->data, 0, data_bytes, train->x));
  if (source) {
    if (source->dim != train->dim) {
      st = fm_fail(FM_ERR_CONFIG, "the source has dimension %d, the data %d; a source must have "
                   "the data's dimension", source->dim, train->dim);
      goto fail;
    }
    size_t bytes = (size_t)source->n * dim * sizeof(float);
    FM_TRY(fm_device_alloc(dev, bytes, "source data", &tr->source));
    FM_TRY(fm_device_write(dev, tr->source, 0, bytes, source->x));
    tr->n_source = source->n;
  }
  if (cfg->model.classes > 0) {
    for (int i = 0; i < train->n; i++)
      if (!train->label || train->label[i] < 0 || train->label[i] >= cfg->model.classes) {
        st = fm_fail(FM_ERR_CONFIG, "training point %d has class %d, outside 0 .. %d; set "
                     "model.classes above the largest label (or data.label_column)", i,
                     train->label ? train->label[i] : -1, cfg->model.classes - 1);
        goto fail;
      }
    FM_TRY(fm_device_alloc(dev, (size_t)train->n * sizeof(int), "training labels", &tr->labels));
    FM_TRY(fm_device_write(dev, tr->labels, 0, (size_t)train->n * sizeof(int), train->label));
    FM_TRY(fm_device_alloc(dev, rows * sizeof(int), "batch labels", &tr->row_labels));
  }
  fm_path_params path = fm_recipe_path(cfg);
  FM_TRY(fm_path_create(dev, &path, tr->rows, tr->dim, &tr->path));
  FM_TRY(fm_device_alloc(dev, rows * dim * sizeof(float), "batch x_t", &tr->x_t));
  FM_TRY(fm_device_alloc(dev, rows * sizeof(float), "batch t", &tr->t));
  FM_TRY(fm_device_alloc(dev, rows * dim * sizeof(float), "batch u_t", &tr->u));
  FM_TRY(fm_device_alloc(dev, rows * dim * sizeof(float), "batch v", &tr->v));
  FM_TRY(fm_device_alloc(dev, rows * dim * sizeof(float), "batch dL/dv", &tr->dv));
  FM_TRY(fm_device_alloc(dev, FM_LOSS_SCRATCH * sizeof(float), "loss sums", &tr->loss_partial));
  FM_TRY(fm_device_alloc(dev, sizeof(fm_loss_sum), "loss sum", &tr->loss_acc));
  FM_TRY(fm_device_fill(dev, tr->loss_acc, 0, sizeof(fm_loss_sum) / sizeof(float), 0.0f));
  fm_adam_params adam = fm_recipe_adam(cfg);
  FM_TRY(fm_optim_create(dev, fm_mlp_flat_size(mlp), &adam, &tr->optim));
  FM_TRY(fm_optim_reset_ema(tr->optim, fm_mlp_params(mlp)));
  *out = tr;
  return FM_OK;
fail:
  fm_trainer_destroy(tr);
  return st;
}

void fm_trainer_destroy(fm_trainer *tr) {
  if (!tr) return;
  fm_optim_destroy(tr->optim);
  fm_path_destroy(tr->path);
  cl_mem bufs[] = {tr->data, tr->source, tr->labels,   tr->row_labels, tr->x_t,
                   tr->t,    tr->u,      tr->v,        tr->dv,         tr->loss_partial,
                   tr->loss_acc};
  for (size_t i = 0; i < FM_ARRAY_LEN(bufs); i++) fm_device_release(tr->dev, bufs[i]);
  free(tr->host_grads);
  free(tr);
}

/* train.allreduce layers: a range of the gradient the backward pass has enqueued starts
 * on its way to the host. */
static fm_status range_ready(void *ctx, size_t offset, size_t count) {
  fm_trainer *tr = ctx;
  if (tr->n_ranges == (int)FM_ARRAY_LEN(tr->range_at))
    return fm_fail(FM_ERR_INVALID, "trainer: more than %d gradient ranges", tr->n_ranges);
  int i = tr->n_ranges++;
  tr->range_at[i] = offset;
  tr->range_n[i] = count;
  fm_status st = fm_device_read_async(tr->dev, fm_mlp_grads(tr->mlp), offset * sizeof(float),
                                      count * sizeof(float), tr->host_grads + offset,
                                      &tr->range_read[i]);
  return st == FM_OK ? fm_device_flush(tr->dev) : st;
}

/* train.allreduce layers: each range summed as soon as it reaches the host, while the
 * device computes the ones after it; then the stop flag, and the whole back. */
static fm_status sum_by_layers(fm_trainer *tr) {
  fm_status st = FM_OK;
  size_t n = fm_mlp_flat_size(tr->mlp);
  double waited = 0, t0 = fm_seconds();
  for (int i = 0; i < tr->n_ranges; i++) {
    double w0 = fm_seconds();
    FM_TRY(fm_device_wait(&tr->range_read[i]));
    waited += fm_seconds() - w0;
    FM_TRY(fm_ranks_sum_floats_begin(&tr->ranks, tr->host_grads + tr->range_at[i],
                                     tr->range_n[i]));
    FM_TRY(fm_ranks_sums_progress(&tr->ranks));
  }
  tr->host_grads[n] = fm_stop_requested(tr->stop) ? 1.0f : 0.0f;
  FM_TRY(fm_ranks_sum_floats_begin(&tr->ranks, tr->host_grads + n, 1));
  FM_TRY(fm_ranks_sums_wait(&tr->ranks));
  double t1 = fm_seconds();
  FM_TRY(fm_device_write(tr->dev, fm_mlp_grads(tr->mlp), 0, n * sizeof(float), tr->host_grads));
  tr->stop_agreed = tr->host_grads[n] > 0.0f;
  tr->wait_s += waited;
  tr->mpi_s += t1 - t0 - waited;
  tr->copy_s += fm_seconds() - t1;
fail:
  for (int i = 0; i < tr->n_ranges; i++)
    if (tr->range_read[i]) fm_device_wait(&tr->range_read[i]);
  tr->n_ranges = 0;
  return st;
}

/* The gradient summed over the ranks (each holds its rows' sum divided by the global
 * batch), with every rank's stop flag in one more float: one collective per step. */
static fm_status sum_over_ranks(fm_trainer *tr) {
  fm_status st = FM_OK;
  size_t n = fm_mlp_flat_size(tr->mlp);
  double t0 = fm_seconds();
  FM_TRY(fm_device_finish(tr->dev));
  double t1 = fm_seconds();
  FM_TRY(fm_device_read(tr->dev, fm_mlp_grads(tr->mlp), 0, n * sizeof(float), tr->host_grads));
  tr->host_grads[n] = fm_stop_requested(tr->stop) ? 1.0f : 0.0f;
  double t2 = fm_seconds();
  FM_TRY(fm_ranks_sum_floats(&tr->ranks, tr->host_grads, n + 1));
  double t3 = fm_seconds();
  FM_TRY(fm_device_write(tr->dev, fm_mlp_grads(tr->mlp), 0, n * sizeof(float), tr->host_grads));
  tr->stop_agreed = tr->host_grads[n] > 0.0f;
  tr->wait_s += t1 - t0;
  tr->copy_s += (t2 - t1) + (fm_seconds() - t3);
  tr->mpi_s += t3 - t2;
fail:
  return st;
}

fm_status fm_trainer_step(fm_trainer *tr) {
  fm_status st = FM_OK;
  uint64_t step = tr->step + 1;
  fm_device_counts before, after;
  fm_device_get_counts(tr->dev, &before);
  FM_TRY(fm_path_sample(tr->path, tr->data, tr->labels, tr->n_data, tr->source, tr->n_source,
                        tr->rows, tr->row0, tr->seed, (uint32_t)step, tr->x_t, tr->t, tr->u,
                        tr->row_labels));
  FM_TRY(fm_mlp_forward(tr->mlp, tr->x_t, tr->t, tr->row_labels, tr->rows, tr->v));
  FM_TRY(fm_loss_cfm(tr->dev, tr->v, tr->u, tr->dv, tr->rows, tr->dim, tr->batch,
                     tr->loss_partial, tr->loss_acc, (uint32_t)step));
  int by_layers = tr->ranks.size > 1 && tr->allreduce == FM_ALLREDUCE_LAYERS;
  fm_mlp_watch_grads(tr->mlp, by_layers ? range_ready : NULL, tr);
  st = fm_mlp_backward(tr->mlp, tr->dv, tr->rows);
  fm_mlp_watch_grads(tr->mlp, NULL, NULL);
  FM_TRY(st);
  if (by_layers) FM_TRY(sum_by_layers(tr));
  else if (tr->ranks.size > 1) FM_TRY(sum_over_ranks(tr));
  FM_TRY(fm_optim_step(tr->optim, fm_mlp_params(tr->mlp), fm_mlp_grads(tr->mlp),
                       fm_lr_at(&tr->lr, step)));
  fm_mlp_params_changed(tr->mlp);
  tr->step = step;
  fm_device_get_counts(tr->dev, &after);
  tr->commands.launches += after.launches - before.launches;
  tr->commands.library_calls += after.library_calls - before.library_calls;
  tr->steps_counted++;
  /* Submit now so the device works while the host prepares the next step. */
  FM_TRY(fm_device_flush(tr->dev));
fail:
  return st;
}

fm_status fm_trainer_use_ema(fm_trainer *tr) {
  cl_mem ema = fm_optim_ema(tr->optim);
  if (!ema) return FM_OK;
  fm_mlp_params_changed(tr->mlp);
  return fm_device_copy(tr->dev, ema, 0, fm_mlp_params(tr->mlp), 0,
                        fm_mlp_flat_size(tr->mlp) * sizeof(float));
}

uint64_t fm_trainer_steps(const fm_trainer *tr) { return tr->step; }

void fm_trainer_set_stop(fm_trainer *tr, fm_stop_flag *stop) { tr->stop = stop; }
int fm_trainer_stop_agreed(const fm_trainer *tr) {
  return tr->ranks.size > 1 ? tr->stop_agreed : fm_stop_requested(tr->stop);
}
int fm_trainer_rows(const fm_trainer *tr) { return tr->rows; }
const fm_ranks *fm_trainer_ranks(const fm_trainer *tr) { return &tr->ranks; }

void fm_trainer_allreduce_seconds(const fm_trainer *tr, double *mpi, double *transfers) {
  double n = tr->steps_counted > 0 ? (double)tr->steps_counted : 1.0;
  *mpi = tr->mpi_s / n;
  *transfers = tr->copy_s / n;
}

void fm_trainer_commands(const fm_trainer *tr, double *launches, double *library_calls) {
  double n = tr->steps_counted > 0 ? (double)tr->steps_counted : 1.0;
  *launches = (double)tr->commands.launches / n;
  *library_calls = (double)tr->commands.library_calls / n;
}
fm_optim *fm_trainer_optim(fm_trainer *tr) { return tr->optim; }
fm_path *fm_trainer_path(fm_trainer *tr) { return tr->path; }
double fm_trainer_lr(const fm_trainer *tr) { return fm_lr_at(&tr->lr, tr->step ? tr->step : 1); }

fm_status fm_trainer_restore(fm_trainer *tr, uint64_t step, const float *optim_state,
                             uint64_t optim_steps, const float *ema) {
  tr->step = step;
  fm_status st = fm_optim_write_state(tr->optim, optim_state, optim_steps);
  if (st == FM_OK && ema && fm_optim_ema(tr->optim))
    st = fm_device_write(tr->dev, fm_optim_ema(tr->optim), 0,
                         fm_optim_size(tr->optim) * sizeof(float), ema);
  return st;
}

/* Reads the running loss; with several ranks a collective: the global loss is the sum of
 * the ranks' shares, and the first non-finite step the earliest any rank saw. */
static fm_status read_loss(fm_trainer *tr, fm_loss_report *report, int reset) {
  fm_status st = FM_OK;
  fm_loss_sum acc;
  FM_TRY(fm_device_read(tr->dev, tr->loss_acc, 0, sizeof acc, &acc));
  if (reset) FM_TRY(fm_device_fill(tr->dev, tr->loss_acc, 0, sizeof acc / sizeof(float), 0.0f));
  double sum = acc.sum;
  int latest_first_bad = acc.first_nonfinite_step ? -(int)acc.first_nonfinite_step : INT_MIN;
  FM_TRY(fm_ranks_sum_doubles(&tr->ranks, &sum, 1));
  FM_TRY(fm_ranks_max_int(&tr->ranks, &latest_first_bad));
  report->steps = (int)acc.count;
  report->mean = acc.count > 0 ? sum / (double)acc.count : NAN;
  report->first_nonfinite_step = latest_first_bad == INT_MIN ? 0 : (uint64_t)-latest_first_bad;
fail:
  return st;
}

fm_status fm_trainer_take_loss(fm_trainer *tr, fm_loss_report *report) {
  return read_loss(tr, report, 1);
}

fm_status fm_trainer_peek_loss(fm_trainer *tr, fm_loss_report *report) {
  return read_loss(tr, report, 0);
}
