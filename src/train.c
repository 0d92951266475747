/* One training step = path, MLP forward, loss, MLP backward, Adam: kernel launches and
 * matrix products on one in-order queue (plus, for the ot coupling, one assignment on the
 * host), counted by the device (fm_device_get_counts). */
#include "fmcl/train.h"

#include <math.h>
#include <stdlib.h>

#include "fmcl/loss.h"
#include "fmcl/path.h"
#include "fmcl/recipe.h"
#include "internal.h"

struct fm_trainer {
  fm_device *dev;
  fm_mlp *mlp;
  fm_optim *optim;
  fm_path *path;
  fm_lr_schedule lr;
  uint64_t seed;
  int batch, dim, n_data, n_source;
  uint64_t step;
  fm_device_counts commands; /* commands enqueued by the steps taken in this process */
  long steps_counted;
  cl_mem data;     /* (n_data, dim) training points */
  cl_mem source;   /* (n_source, dim) source points, or NULL for N(0, I) */
  cl_mem labels;   /* (n_data) ints: the classes of a conditional model, or NULL */
  cl_mem row_labels; /* (batch) ints: the batch's classes (-1 after label dropout) */
  cl_mem x_t;      /* (batch, dim) */
  cl_mem t;        /* (batch) */
  cl_mem u;        /* (batch, dim) target velocity */
  cl_mem v;        /* (batch, dim) model velocity */
  cl_mem dv;       /* (batch, dim) dL/dv */
  cl_mem loss_partial; /* (FM_LOSS_SCRATCH) */
  cl_mem loss_acc; /* one fm_loss_sum */
};

fm_status fm_trainer_create(fm_mlp *mlp, const fm_config *cfg, const fm_points *train,
                            const fm_points *source, fm_trainer **out) {
  fm_status st = FM_OK;
  *out = NULL;
  fm_device *dev = fm_mlp_device(mlp);
  if (fm_mlp_capacity(mlp) < cfg->train.batch)
    return fm_fail(FM_ERR_INVALID, "trainer: model capacity %d < batch %d", fm_mlp_capacity(mlp),
                   cfg->train.batch);
  fm_trainer *tr = calloc(1, sizeof *tr);
  if (!tr) return fm_fail(FM_ERR_NOMEM, "out of host memory creating the trainer");
  tr->dev = dev;
  tr->mlp = mlp;
  tr->lr = fm_recipe_lr(cfg);
  tr->seed = cfg->seed;
  tr->batch = cfg->train.batch;
  tr->dim = train->dim;
  tr->n_data = train->n;
  size_t rows = (size_t)tr->batch, dim = (size_t)tr->dim;
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
  FM_TRY(fm_path_create(dev, &path, tr->batch, tr->dim, &tr->path));
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
  free(tr);
}

fm_status fm_trainer_step(fm_trainer *tr) {
  fm_status st = FM_OK;
  uint64_t step = tr->step + 1;
  fm_device_counts before, after;
  fm_device_get_counts(tr->dev, &before);
  FM_TRY(fm_path_sample(tr->path, tr->data, tr->labels, tr->n_data, tr->source, tr->n_source,
                        tr->batch, tr->seed, (uint32_t)step, tr->x_t, tr->t, tr->u,
                        tr->row_labels));
  FM_TRY(fm_mlp_forward(tr->mlp, tr->x_t, tr->t, tr->row_labels, tr->batch, tr->v));
  FM_TRY(fm_loss_cfm(tr->dev, tr->v, tr->u, tr->dv, tr->batch, tr->dim, tr->batch,
                     tr->loss_partial, tr->loss_acc, (uint32_t)step));
  FM_TRY(fm_mlp_backward(tr->mlp, tr->dv, tr->batch));
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

static fm_status read_loss(fm_trainer *tr, fm_loss_report *report, int reset) {
  fm_status st = FM_OK;
  fm_loss_sum acc;
  FM_TRY(fm_device_read(tr->dev, tr->loss_acc, 0, sizeof acc, &acc));
  if (reset) FM_TRY(fm_device_fill(tr->dev, tr->loss_acc, 0, sizeof acc / sizeof(float), 0.0f));
  report->steps = (int)acc.count;
  report->mean = acc.count > 0 ? (double)acc.sum / (double)acc.count : NAN;
  report->first_nonfinite_step = acc.first_nonfinite_step;
fail:
  return st;
}

fm_status fm_trainer_take_loss(fm_trainer *tr, fm_loss_report *report) {
  return read_loss(tr, report, 1);
}

fm_status fm_trainer_peek_loss(fm_trainer *tr, fm_loss_report *report) {
  return read_loss(tr, report, 0);
}
