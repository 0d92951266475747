/* The training loop and the checkpoints it writes and resumes from. */
#include "fmcl/train_loop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmcl/checkpoint.h"
#include "fmcl/progress.h"
#include "fmcl/rundir.h"
#include "internal.h"

fm_status fm_train_loop_save(const char *path, const fm_config *cfg, fm_mlp *mlp, fm_trainer *tr,
                             const double *mean, const double *std,
                             const char *const *columns) {
  fm_status st = FM_OK;
  fm_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  ck.config = *cfg;
  ck.model_hash = fm_config_model_hash(cfg);
  ck.step = tr ? fm_trainer_steps(tr) : 0;
  ck.ranks = tr ? fm_trainer_ranks(tr)->size : 1;
  ck.dim = fm_mlp_get_shape(mlp)->dim;
  ck.n_layers = fm_mlp_layers(mlp);
  for (int l = 0; l < ck.n_layers; l++) {
    ck.layer_in[l] = fm_mlp_layer_in(mlp, l);
    ck.layer_out[l] = fm_mlp_layer_out(mlp, l);
  }
  ck.flat_size = fm_mlp_flat_size(mlp);
  size_t bytes = ck.flat_size * sizeof(float);
  fm_optim *opt = tr ? fm_trainer_optim(tr) : NULL;
  ck.params = malloc(bytes);
  if (opt) ck.optim_state = malloc(2 * bytes);
  if (opt && fm_optim_ema(opt)) ck.ema = malloc(bytes);
  if (!ck.params || (opt && !ck.optim_state) || (opt && fm_optim_ema(opt) && !ck.ema)) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory saving a checkpoint");
    goto fail;
  }
  FM_TRY(fm_mlp_read_params(mlp, ck.params));
  if (opt) {
    FM_TRY(fm_optim_read_state(opt, ck.optim_state));
    ck.optim_steps = fm_optim_steps(opt);
    if (ck.ema) FM_TRY(fm_device_read(fm_mlp_device(mlp), fm_optim_ema(opt), 0, bytes, ck.ema));
  }
  ck.mean = (double *)mean; /* borrowed */
  ck.std = (double *)std;
  ck.columns = (char **)columns;
  st = fm_checkpoint_save(path, &ck);
  ck.mean = ck.std = NULL;
  ck.columns = NULL;
fail:
  fm_checkpoint_free(&ck);
  return st;
}

/* One training run's state between steps. */
typedef struct loop {
  const fm_train_loop_params *p;
  int writer; /* rank 0: the one that writes train.csv, the checkpoints and the progress */
  char ckpt[1100];
  uint64_t saved_step; /* step of the last checkpoint written */
  fm_train_log log;
} loop;

static fm_status numeric_failure(const loop *l, uint64_t bad_step) {
  char saved[1400];
  if (l->saved_step > 0)
    snprintf(saved, sizeof saved, "the last good checkpoint is %s (step %llu); resume from it "
             "with --resume after changing the config", l->ckpt,
             (unsigned long long)l->saved_step);
  else
    snprintf(saved, sizeof saved, "no checkpoint was written");
  return fm_fail(FM_ERR_NUMERIC, "training diverged: the loss became NaN or infinite at step "
                 "%llu (a gradient or parameter overflowed); lower train.lr (now %g) or check "
                 "the data's scale; %s", (unsigned long long)bad_step, l->p->cfg->train.lr, saved);
}

/* Reads the loss of the steps since the last take (and starts a new sum when take is
 * set); a non-finite loss stops the run. */
static fm_status read_loss(loop *l, fm_loss_report *rep, int take) {
  fm_trainer *tr = l->p->trainer;
  fm_status st = take ? fm_trainer_take_loss(tr, rep) : fm_trainer_peek_loss(tr, rep);
  if (st != FM_OK) return st;
  char warning[512];
  st = fm_path_check_coupling(fm_trainer_path(tr), warning, sizeof warning);
  if (st != FM_OK) return st;
  if (warning[0] && l->writer) fm_report(l->p->report, FM_REPORT_WARNING, "%s", warning);
  if (rep->first_nonfinite_step || (rep->steps > 0 && !isfinite(rep->mean)))
    return numeric_failure(l, rep->first_nonfinite_step ? rep->first_nonfinite_step
                                                        : fm_trainer_steps(tr));
  return FM_OK;
}

/* Checkpoints only a model whose every step so far had a finite loss. Every rank calls it
 * (the loss read is collective); rank 0 writes, and the others wait until it has, so no
 * rank ends the job while the file is being written. */
static fm_status checkpoint(loop *l) {
  const fm_train_loop_params *p = l->p;
  fm_loss_report pending;
  fm_status st = read_loss(l, &pending, 0);
  if (st != FM_OK) return st;
  if (l->writer)
    st = fm_train_loop_save(l->ckpt, p->cfg, p->mlp, p->trainer, p->mean, p->std, p->columns);
  int saved = st == FM_OK;
  fm_status sync = fm_ranks_broadcast(fm_trainer_ranks(p->trainer), &saved, sizeof saved, 0);
  if (st != FM_OK) return st; /* rank 0 reports its failure and ends the job */
  if (sync != FM_OK) return sync;
  if (saved) l->saved_step = fm_trainer_steps(p->trainer);
  return FM_OK;
}

/* Restores model, Adam state and step from the run folder's checkpoint (every rank reads
 * it). */
static fm_status resume(loop *l) {
  const fm_train_loop_params *p = l->p;
  const fm_config *cfg = p->cfg;
  fm_checkpoint ck;
  fm_status st = fm_checkpoint_load(l->ckpt, &ck);
  if (st == FM_ERR_IO) return fm_fail_context(FM_ERR_IO, "--resume: nothing to resume from: ");
  if (st != FM_OK) return st;
  if (ck.model_hash != fm_config_model_hash(cfg))
    st = fm_fail(FM_ERR_CONFIG, "--resume: %s was trained with a different config (data, "
                 "model, path or optimizer keys differ); resume with the config.json of that "
                 "run folder, or set output.dir to start a new run", l->ckpt);
  else if (cfg->train.lr_schedule == FM_LR_COSINE && ck.config.train.steps != cfg->train.steps)
    st = fm_fail(FM_ERR_CONFIG, "--resume: %s follows a cosine learning-rate schedule laid out "
                 "over train.steps %d; resuming with train.steps %d would change the learning "
                 "rate of the steps still to come; resume with train.steps %d, or start a new "
                 "run", l->ckpt, ck.config.train.steps, cfg->train.steps, ck.config.train.steps);
  else if (ck.dim != fm_mlp_get_shape(p->mlp)->dim)
    st = fm_fail(FM_ERR_CONFIG, "--resume: the data has dimension %d but %s was trained on "
                 "dimension %d; the data file changed since", fm_mlp_get_shape(p->mlp)->dim,
                 l->ckpt, ck.dim);
  else if (!ck.optim_state || ck.flat_size != fm_mlp_flat_size(p->mlp))
    st = fm_fail(FM_ERR_FORMAT, "--resume: %s has no optimizer state or another model shape; "
                 "it cannot be resumed", l->ckpt);
  if (st == FM_OK) st = fm_mlp_write_params(p->mlp, ck.params);
  if (st == FM_OK)
    st = fm_trainer_restore(p->trainer, ck.step, ck.optim_state, ck.optim_steps, ck.ema);
  if (st == FM_OK) l->saved_step = ck.step;
  int ranks = fm_trainer_ranks(p->trainer)->size;
  if (st == FM_OK && ck.ranks != ranks && l->writer)
    fm_report(p->report, FM_REPORT_WARNING, "%s was trained on %d rank%s and this run has %d: "
              "the batches are the same, but the sums over the ranks round differently, so the "
              "numbers will differ in rounding from an uninterrupted run", l->ckpt, ck.ranks,
              ck.ranks == 1 ? "" : "s", ranks);
  fm_checkpoint_free(&ck);
  return st;
}

fm_status fm_train_loop_run(const fm_train_loop_params *p, fm_train_loop_result *out) {
  fm_status st = FM_OK;
  const fm_config *cfg = p->cfg;
  fm_trainer *tr = p->trainer;
  fm_device *dev = fm_mlp_device(p->mlp);
  loop l = {.p = p, .writer = fm_trainer_ranks(tr)->rank == 0};
  fm_progress progress;
  memset(out, 0, sizeof *out);
  out->final_loss = NAN;
  snprintf(l.ckpt, sizeof l.ckpt, "%s/model.fmck", p->dir);
  fm_trainer_set_stop(tr, p->stop);
  if (p->resume) {
    FM_TRY(resume(&l));
    fm_report(p->report, FM_REPORT_INFO, "resuming from %s at step %llu", l.ckpt,
              (unsigned long long)l.saved_step);
  }
  if (l.writer) FM_TRY(fm_train_log_open(&l.log, p->dir, l.saved_step));
  uint64_t steps = (uint64_t)cfg->train.steps, first = l.saved_step + 1, window_start = first - 1;
  out->first_step = first;
  fm_loss_report rep;
  double t_train = fm_seconds(), t_log = t_train;
  for (uint64_t step = first; step <= steps; step++) {
    FM_TRY(fm_trainer_step(tr));
    if (p->hooks && p->hooks->after_step) FM_TRY(p->hooks->after_step(p->hooks->ctx, p->mlp, step));
    if (step == first) {
      /* The first step compiles kernels; time the rest. */
      FM_TRY(fm_device_finish(dev));
      out->first_step_s = fm_seconds() - t_train;
      fm_device_counts built;
      fm_device_get_counts(dev, &built);
      if (built.programs_from_source > 0)
        fm_report(p->report, FM_REPORT_INFO, "built %d kernel program%s in %.1f s",
                  built.programs_from_source, built.programs_from_source == 1 ? "" : "s",
                  fm_device_build_seconds(dev));
      t_train = t_log = fm_seconds();
      window_start = step;
      fm_progress_begin(&progress, p->report, p->live && l.writer, step, steps);
      if (p->profile) FM_TRY(fm_device_profile_reset(dev));
    }
    if (step % (uint64_t)cfg->train.log_every == 0 || step == steps) {
      FM_TRY(read_loss(&l, &rep, 1));
      double now = fm_seconds();
      double rate = now > t_log ? (double)(step - window_start) / (now - t_log) : 0;
      if (l.writer) FM_TRY(fm_train_log_row(&l.log, step, rep.mean, fm_trainer_lr(tr), rate));
      t_log = now;
      window_start = step;
      out->final_loss = rep.mean;
      fm_progress_update(&progress, step, rep.mean, 1);
    } else if (step % 50 == 0 && p->live && l.writer) {
      FM_TRY(fm_device_finish(dev));
      fm_progress_update(&progress, step, NAN, 0);
    }
    if (fm_trainer_stop_agreed(tr)) { /* every rank stops at the same step */
      FM_TRY(checkpoint(&l));
      st = fm_fail(FM_ERR_INTERRUPTED, "interrupted after step %llu; the model is saved in %s; "
                   "continue with the same command and --resume",
                   (unsigned long long)step, l.ckpt);
      goto fail;
    }
    if (cfg->train.checkpoint_every > 0 && step % (uint64_t)cfg->train.checkpoint_every == 0 &&
        step < steps)
      FM_TRY(checkpoint(&l));
  }
  FM_TRY(fm_device_finish(dev));
  out->train_s = fm_seconds() - t_train;
  if (steps > first) out->steps_timed = (long)(steps - first);
  FM_TRY(checkpoint(&l));
fail:
  if (l.writer) fm_train_log_close(&l.log);
  return st;
}
