/* The experiment runner: device, data, model, training loop with logging, progress and
 * checkpoints, sampling, and the files of the run folder. */
#include "fmcl/run.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/checkpoint.h"
#include "fmcl/data.h"
#include "fmcl/datafile.h"
#include "fmcl/evaluate.h"
#include "fmcl/gemm.h"
#include "fmcl/mlp.h"
#include "fmcl/progress.h"
#include "fmcl/rng.h"
#include "fmcl/sample.h"
#include "fmcl/train.h"
#include "fmcl/tune.h"
#include "internal.h"
#include "run_internal.h"

void fm_run_say(const fm_run_options *opt, const char *fmt, ...) {
  if (opt->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(opt->log, fmt, ap);
  va_end(ap);
  fflush(opt->log);
}

fm_status fm_run_tuning(const fm_run_options *opt, const fm_config *cfg, fm_device *dev,
                        fm_gemm_tuning *tuning) {
  memset(tuning, 0, sizeof *tuning);
  if (cfg->device.gemm != FM_GEMM_AUTO) return FM_OK;
  char path[1024], warning[1400];
  fm_tuning_path(dev, cfg->device.tuning, path, sizeof path);
  fm_status st = fm_tuning_load(dev, path, tuning, warning, sizeof warning);
  if (st != FM_OK) return st;
  if (warning[0]) fprintf(opt->log, "fmcl: warning: %s\n", warning);
  if (tuning->n_choices > 0)
    fm_run_say(opt, "tuning: %d product shapes from %s\n", tuning->n_choices, path);
  return fm_gemm_set_clblast_params(dev, tuning->n_params,
                                    (const char(*)[16])tuning->param_names, tuning->param_values);
}

fm_status fm_run_open_device(const fm_config *cfg, int profiling, fm_device **dev) {
  fm_device_select sel;
  memset(&sel, 0, sizeof sel);
  sel.profiling = profiling;
  sel.kind = cfg->device.type;
  sel.index = cfg->device.index;
  fm_strlcpy(sel.name, cfg->device.name, sizeof sel.name);
  return fm_device_open(&sel, dev);
}

static void describe_device(const fm_run_options *opt, fm_device *dev, const fm_config *cfg) {
  const fm_device_info *d = fm_device_get_info(dev);
  fm_run_say(opt, "device %d: %s (%s, %s, %u compute units, %.1f GiB, driver %s); matrix products: %s\n",
      d->index, d->name, d->type, d->version, d->compute_units,
      (double)d->global_mem / (1u << 30), d->driver,
      fm_gemm_provider_name(fm_gemm_resolve(dev, cfg->device.gemm)));
}

static fm_status write_text(const char *path, const char *text) {
  fm_file f;
  fm_status st = fm_file_begin(&f, path, "w");
  if (st != FM_OK) return st;
  fputs(text, f.f);
  fputc('\n', f.f);
  return fm_file_commit(&f);
}

/* trajectories.csv: t,point,x0,x1,... for every saved time and point. */
static fm_status write_trajectories(const char *path, const float *traj, const double *times,
                                    int n_times, int n, int dim) {
  fm_file f;
  fm_status st = fm_file_begin(&f, path, "w");
  if (st != FM_OK) return st;
  fprintf(f.f, "t,point");
  for (int d = 0; d < dim; d++) fprintf(f.f, ",x%d", d);
  fputc('\n', f.f);
  for (int s = 0; s < n_times; s++)
    for (int i = 0; i < n; i++) {
      fprintf(f.f, "%.6g,%d", times[s], i);
      const float *row = traj + ((size_t)s * n + i) * dim;
      for (int d = 0; d < dim; d++) fprintf(f.f, ",%.9g", row[d]);
      fputc('\n', f.f);
    }
  return fm_file_commit(&f);
}

/* samples.csv: x0,x1,... and, for a conditional model, the class of each point. */
static fm_status write_samples(const char *path, const float *x, int *labels, int n, int dim) {
  fm_points p = {(float *)x, labels, n, dim};
  return fm_points_write_csv(&p, path, labels != NULL);
}

/* The data's standardization (NULL arrays when the model trains on data units). */
typedef struct data_stats {
  double *mean, *std;
} data_stats;

/* Saves parameters, Adam state, the step and the data's standardization into path. */
static fm_status save_checkpoint(const char *path, const fm_config *cfg, fm_mlp *mlp,
                                 fm_trainer *tr, const data_stats *stats) {
  fm_status st = FM_OK;
  fm_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  ck.config = *cfg;
  ck.model_hash = fm_config_model_hash(cfg);
  ck.step = tr ? fm_trainer_steps(tr) : 0;
  ck.dim = fm_mlp_get_shape(mlp)->dim;
  ck.n_layers = fm_mlp_layers(mlp);
  for (int l = 0; l < ck.n_layers; l++) {
    ck.layer_in[l] = fm_mlp_layer_in(mlp, l);
    ck.layer_out[l] = fm_mlp_layer_out(mlp, l);
  }
  ck.flat_size = fm_mlp_flat_size(mlp);
  ck.params = malloc(ck.flat_size * sizeof(float));
  if (tr) ck.optim_state = malloc(2 * ck.flat_size * sizeof(float));
  if (!ck.params || (tr && !ck.optim_state)) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory saving a checkpoint");
    goto fail;
  }
  FM_TRY(fm_mlp_read_params(mlp, ck.params));
  if (tr) {
    fm_optim *opt = fm_trainer_optim(tr);
    FM_TRY(fm_optim_read_state(opt, ck.optim_state));
    ck.optim_steps = fm_optim_steps(opt);
    if (fm_optim_ema(opt)) {
      ck.ema = malloc(ck.flat_size * sizeof(float));
      if (!ck.ema) {
        st = fm_fail(FM_ERR_NOMEM, "out of host memory saving a checkpoint");
        goto fail;
      }
      FM_TRY(fm_device_read(fm_mlp_device(mlp), fm_optim_ema(opt), 0, ck.flat_size * sizeof(float),
                            ck.ema));
    }
  }
  ck.mean = stats->mean;
  ck.std = stats->std;
  st = fm_checkpoint_save(path, &ck);
  ck.mean = ck.std = NULL; /* borrowed */
fail:
  fm_checkpoint_free(&ck);
  return st;
}

static int by_time(const void *a, const void *b) {
  double x = ((const fm_profile_entry *)a)->seconds, y = ((const fm_profile_entry *)b)->seconds;
  return (x < y) - (x > y);
}

/* The device-time table of the timed training steps: printed and written as CSV. */
static fm_status report_profile(fm_device *dev, const fm_run_options *opt, const char *path,
                                long steps) {
  const fm_profile_entry *entries;
  int n = fm_device_profile(dev, &entries);
  fm_profile_entry *sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
  if (!sorted) return fm_fail(FM_ERR_NOMEM, "out of memory");
  memcpy(sorted, entries, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, by_time);
  double total = 0;
  for (int i = 0; i < n; i++) total += sorted[i].seconds;
  fm_file f;
  fm_status st = fm_file_begin(&f, path, "w");
  if (st != FM_OK) {
    free(sorted);
    return st;
  }
  fprintf(f.f, "command,calls_per_step,us_per_call,us_per_step,share\n");
  fm_run_say(opt, "device time per training step (%ld steps profiled, %.1f us per step):\n", steps,
      steps ? 1e6 * total / (double)steps : 0.0);
  fm_run_say(opt, "  %-32s %8s %10s %10s %7s\n", "command", "calls", "us/call", "us/step", "share");
  for (int i = 0; i < n; i++) {
    const fm_profile_entry *e = &sorted[i];
    double per_step = steps ? 1e6 * e->seconds / (double)steps : 0.0;
    double calls = steps ? (double)e->count / (double)steps : 0.0;
    double share = total > 0 ? e->seconds / total : 0.0;
    fm_run_say(opt, "  %-32s %8.2f %10.1f %10.1f %6.1f%%\n", e->label, calls,
        1e6 * e->seconds / (double)e->count, per_step, 100 * share);
    fprintf(f.f, "%s,%.3f,%.3f,%.3f,%.5f\n", e->label, calls, 1e6 * e->seconds / (double)e->count,
            per_step, share);
  }
  free(sorted);
  return fm_file_commit(&f);
}

typedef struct run_times {
  double setup, first_step, train, sample, total;
  double coupling;     /* host seconds in ot assignments */
  long coupling_count; /* and how many */
} run_times;

static fm_status write_summary(const char *path, const fm_config *cfg, fm_device *dev,
                               fm_mlp *mlp, const run_times *tm, int steps_timed,
                               double final_loss, long nfe, int n_samples,
                               const fm_eval_report *ev) {
  const fm_device_info *d = fm_device_get_info(dev);
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "name", cfg->name);
  cJSON_AddStringToObject(root, "fmcl_version", FMCL_VERSION);
  cJSON *jd = cJSON_AddObjectToObject(root, "device");
  cJSON_AddNumberToObject(jd, "index", d->index);
  cJSON_AddStringToObject(jd, "name", d->name);
  cJSON_AddStringToObject(jd, "vendor", d->vendor);
  cJSON_AddStringToObject(jd, "type", d->type);
  cJSON_AddStringToObject(jd, "platform", d->platform);
  cJSON_AddStringToObject(jd, "opencl", d->version);
  cJSON_AddStringToObject(jd, "driver", d->driver);
  cJSON_AddNumberToObject(jd, "compute_units", d->compute_units);
  cJSON_AddStringToObject(jd, "clblast", fm_gemm_clblast_version());
  cJSON_AddStringToObject(jd, "gemm", fm_gemm_provider_name(fm_gemm_resolve(dev, cfg->device.gemm)));
  cJSON *jm = cJSON_AddObjectToObject(root, "model");
  cJSON_AddNumberToObject(jm, "parameters", (double)fm_mlp_param_count(mlp));
  cJSON_AddNumberToObject(jm, "dim", fm_mlp_get_shape(mlp)->dim);
  cJSON *jt = cJSON_AddObjectToObject(root, "train");
  cJSON_AddNumberToObject(jt, "steps", cfg->train.steps);
  cJSON_AddNumberToObject(jt, "batch", cfg->train.batch);
  cJSON_AddNumberToObject(jt, "final_loss", isfinite(final_loss) ? final_loss : -1);
  double rate = tm->train > 0 && steps_timed > 0 ? steps_timed / tm->train : 0;
  cJSON_AddNumberToObject(jt, "steps_per_s", rate);
  /* Forward 2 flops per multiply-add, backward twice the forward. */
  double flops = 6.0 * fm_mlp_macs_per_row(mlp) * cfg->train.batch;
  cJSON_AddNumberToObject(jt, "model_gflops_per_s", rate * flops * 1e-9);
  if (tm->coupling_count > 0)
    cJSON_AddNumberToObject(jt, "ot_coupling_ms_per_step",
                            1e3 * tm->coupling / (double)tm->coupling_count);
  cJSON *js = cJSON_AddObjectToObject(root, "sample");
  cJSON_AddStringToObject(js, "solver", fm_solver_name(cfg->sample.solver));
  cJSON_AddNumberToObject(js, "steps", cfg->sample.steps);
  cJSON_AddNumberToObject(js, "n", n_samples);
  cJSON_AddNumberToObject(js, "nfe", (double)nfe);
  cJSON_AddNumberToObject(js, "points_per_s", tm->sample > 0 ? n_samples / tm->sample : 0);
  if (cfg->sample.solver == FM_SOLVER_DOPRI5) {
    cJSON_AddNumberToObject(js, "rtol", cfg->sample.rtol);
    cJSON_AddNumberToObject(js, "atol", cfg->sample.atol);
  }
  if (ev->has_likelihood) {
    cJSON *jl = cJSON_AddObjectToObject(root, "likelihood");
    cJSON_AddNumberToObject(jl, "nll_nats", ev->nll);
    cJSON_AddNumberToObject(jl, "bits_per_dim", ev->bits_per_dim);
    cJSON_AddNumberToObject(jl, "points", ev->nll_points);
    cJSON_AddStringToObject(jl, "divergence", ev->exact ? "exact" : "hutchinson");
    if (!ev->exact) cJSON_AddNumberToObject(jl, "probes", ev->probes);
    cJSON_AddStringToObject(jl, "solver", fm_solver_name(cfg->eval.solver));
    cJSON_AddNumberToObject(jl, "nfe", (double)ev->likelihood_nfe);
    cJSON_AddNumberToObject(jl, "seconds", ev->likelihood_seconds);
  }
  if (ev->has_metrics) {
    cJSON *jm2 = cJSON_AddObjectToObject(root, "metrics");
    cJSON_AddNumberToObject(jm2, "w2", ev->w2);
    cJSON_AddNumberToObject(jm2, "energy_distance", ev->energy);
    cJSON_AddNumberToObject(jm2, "mmd2", ev->mmd2);
    cJSON_AddNumberToObject(jm2, "points", ev->metric_points);
    cJSON_AddNumberToObject(jm2, "seconds", ev->metric_seconds);
  }
  cJSON *jtm = cJSON_AddObjectToObject(root, "seconds");
  cJSON_AddNumberToObject(jtm, "setup", tm->setup);
  cJSON_AddNumberToObject(jtm, "kernel_build", fm_device_build_seconds(dev));
  cJSON_AddNumberToObject(jtm, "first_step", tm->first_step);
  cJSON_AddNumberToObject(jtm, "train", tm->train);
  cJSON_AddNumberToObject(jtm, "sample", tm->sample);
  cJSON_AddNumberToObject(jtm, "total", tm->total);
  cJSON_AddNumberToObject(root, "peak_device_bytes", (double)fm_device_bytes_peak(dev));
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  fm_status st = text ? write_text(path, text) : fm_fail(FM_ERR_NOMEM, "out of memory");
  free(text);
  return st;
}

/* Faults injected by the tests of what survives them: FMCL_FAULT=kill@N (SIGKILL itself
 * after enqueuing step N), int@N (SIGINT itself), int2@N (SIGINT twice), term@N (SIGTERM),
 * nan@N (NaN parameters after step N). */
typedef struct fault {
  int kind; /* 0 none, 1 kill, 2 int, 3 int twice, 4 nan, 5 term */
  uint64_t step;
} fault;

static fault fault_from_env(void) {
  fault f = {0, 0};
  const char *v = getenv("FMCL_FAULT");
  if (!v) return f;
  const char *at = strchr(v, '@');
  if (!at) return f;
  f.step = strtoull(at + 1, NULL, 10);
  size_t n = (size_t)(at - v);
  if (n == 4 && strncmp(v, "kill", 4) == 0) f.kind = 1;
  else if (n == 3 && strncmp(v, "int", 3) == 0) f.kind = 2;
  else if (n == 4 && strncmp(v, "int2", 4) == 0) f.kind = 3;
  else if (n == 3 && strncmp(v, "nan", 3) == 0) f.kind = 4;
  else if (n == 4 && strncmp(v, "term", 4) == 0) f.kind = 5;
  return f;
}

static fm_status inject(const fault *f, uint64_t step, fm_device *dev, fm_mlp *mlp) {
  if (f->kind == 0 || f->step != step) return FM_OK;
  if (f->kind == 4) {
    fm_mlp_params_changed(mlp);
    return fm_device_fill(dev, fm_mlp_params(mlp), 0, fm_mlp_flat_size(mlp), NAN);
  }
  if (f->kind == 1) raise(SIGKILL);
  if (f->kind == 5) {
    raise(SIGTERM);
    return FM_OK;
  }
  raise(SIGINT);
  if (f->kind == 3) raise(SIGINT);
  return FM_OK;
}

/* Everything one training run holds. */
typedef struct run {
  const fm_config *cfg;
  const fm_run_options *opt;
  fm_device *dev;
  fm_mlp *mlp;
  fm_trainer *tr;
  char dir[1024], ckpt[1200], log_path[1200];
  FILE *log;              /* train.csv, appended as training goes */
  uint64_t saved_step;    /* step of the last checkpoint written */
  uint64_t first_step;    /* the first step this run trains (after a resume, not 1) */
  run_times tm;
  int steps_timed;
  double final_loss;
  data_stats stats;
} run;

static fm_status numeric_failure(const run *r, uint64_t bad_step) {
  char saved[1400];
  if (r->saved_step > 0)
    snprintf(saved, sizeof saved, "the last good checkpoint is %s (step %llu); resume from it "
             "with --resume after changing the config", r->ckpt,
             (unsigned long long)r->saved_step);
  else
    snprintf(saved, sizeof saved, "no checkpoint was written");
  return fm_fail(FM_ERR_NUMERIC, "training diverged: the loss became NaN or infinite at step "
                 "%llu (a gradient or parameter overflowed); lower train.lr (now %g) or check "
                 "the data's scale; %s", (unsigned long long)bad_step, r->cfg->train.lr, saved);
}

/* Reads the loss of the steps since the last take (and starts a new sum when take is
 * set); a non-finite loss stops the run. */
static fm_status read_loss(run *r, fm_loss_report *rep, int take) {
  fm_status st = take ? fm_trainer_take_loss(r->tr, rep) : fm_trainer_peek_loss(r->tr, rep);
  if (st != FM_OK) return st;
  if (rep->first_nonfinite_step || (rep->steps > 0 && !isfinite(rep->mean)))
    return numeric_failure(r, rep->first_nonfinite_step ? rep->first_nonfinite_step
                                                        : fm_trainer_steps(r->tr));
  return FM_OK;
}

/* Checkpoints only a model whose every step so far had a finite loss. */
static fm_status checkpoint(run *r) {
  fm_loss_report pending;
  fm_status st = read_loss(r, &pending, 0);
  if (st != FM_OK) return st;
  st = save_checkpoint(r->ckpt, r->cfg, r->mlp, r->tr, &r->stats);
  if (st == FM_OK) r->saved_step = fm_trainer_steps(r->tr);
  return st;
}

/* Opens train.csv: new, or after a resume keeping the rows up to the checkpoint's step
 * (later rows belong to steps that are trained again). */
static fm_status open_log(run *r, uint64_t resume_step) {
  char *kept = NULL;
  size_t kept_len = 0;
  if (resume_step > 0) {
    FILE *old = fopen(r->log_path, "r");
    char line[512];
    if (old) {
      FILE *mem = open_memstream(&kept, &kept_len);
      if (!mem) {
        fclose(old);
        return fm_fail(FM_ERR_NOMEM, "out of memory reading %s", r->log_path);
      }
      while (fgets(line, sizeof line, old)) {
        unsigned long long step;
        if (sscanf(line, "%llu,", &step) == 1 && step <= resume_step) fputs(line, mem);
      }
      fclose(old);
      fclose(mem);
    }
  }
  r->log = fopen(r->log_path, "w");
  if (!r->log) {
    free(kept);
    return fm_fail(FM_ERR_IO, "%s: cannot create: %s", r->log_path, strerror(errno));
  }
  fprintf(r->log, "step,loss,lr,steps_per_s\n");
  if (kept) fwrite(kept, 1, kept_len, r->log);
  free(kept);
  fflush(r->log);
  return FM_OK;
}

/* Restores model, Adam state and step from the run folder's checkpoint. */
static fm_status resume(run *r) {
  fm_checkpoint ck;
  fm_status st = fm_checkpoint_load(r->ckpt, &ck);
  if (st == FM_ERR_IO)
    return fm_fail_context(FM_ERR_IO, "--resume: nothing to resume from: ");
  if (st != FM_OK) return st;
  if (ck.model_hash != fm_config_model_hash(r->cfg)) {
    fm_checkpoint_free(&ck);
    return fm_fail(FM_ERR_CONFIG, "--resume: %s was trained with a different config (data, "
                   "model, path or optimizer keys differ); resume with the config.json of that "
                   "run folder, or set output.dir to start a new run", r->ckpt);
  }
  if (ck.dim != fm_mlp_get_shape(r->mlp)->dim) {
    fm_checkpoint_free(&ck);
    return fm_fail(FM_ERR_CONFIG, "--resume: the data has dimension %d but %s was trained on "
                   "dimension %d; the data file changed since", fm_mlp_get_shape(r->mlp)->dim,
                   r->ckpt, ck.dim);
  }
  if (!ck.optim_state || ck.flat_size != fm_mlp_flat_size(r->mlp)) {
    fm_checkpoint_free(&ck);
    return fm_fail(FM_ERR_FORMAT, "--resume: %s has no optimizer state or another model shape; "
                   "it cannot be resumed", r->ckpt);
  }
  st = fm_mlp_write_params(r->mlp, ck.params);
  if (st == FM_OK)
    st = fm_trainer_restore(r->tr, ck.step, ck.optim_state, ck.optim_steps, ck.ema);
  if (st == FM_OK) r->saved_step = ck.step;
  fm_checkpoint_free(&ck);
  return st;
}

/* The training loop: steps, loss reads and log rows, progress, checkpoints, and a clean
 * stop on a signal. */
static fm_status train_loop(run *r) {
  fm_status st = FM_OK;
  const fm_config *cfg = r->cfg;
  const fm_run_options *opt = r->opt;
  fault flt = fault_from_env();
  uint64_t steps = (uint64_t)cfg->train.steps, window_start = r->first_step - 1;
  fm_progress progress;
  fm_loss_report rep;
  double t_train = fm_seconds(), t_log = t_train;
  int progress_on = 0;
  for (uint64_t step = r->first_step; step <= steps; step++) {
    FM_TRY(fm_trainer_step(r->tr));
    FM_TRY(inject(&flt, step, r->dev, r->mlp));
    if (step == r->first_step) {
      /* The first step compiles kernels; time the rest. */
      FM_TRY(fm_device_finish(r->dev));
      r->tm.first_step = fm_seconds() - t_train;
      t_train = t_log = fm_seconds();
      window_start = step;
      fm_progress_begin(&progress, opt->log, opt->live, opt->quiet, step, steps);
      progress_on = 1;
      if (opt->profile) fm_device_profile_reset(r->dev);
    }
    if (step % (uint64_t)cfg->train.log_every == 0 || step == steps) {
      FM_TRY(read_loss(r, &rep, 1));
      double now = fm_seconds();
      double rate = now > t_log ? (double)(step - window_start) / (now - t_log) : 0;
      fprintf(r->log, "%llu,%.7g,%.7g,%.2f\n", (unsigned long long)step, rep.mean,
              fm_trainer_lr(r->tr), rate);
      fflush(r->log);
      t_log = now;
      window_start = step;
      r->final_loss = rep.mean;
      fm_progress_update(&progress, step, rep.mean, 1);
    } else if (step % 50 == 0 && progress.live) {
      FM_TRY(fm_device_finish(r->dev));
      fm_progress_update(&progress, step, NAN, 0);
    }
    if (opt->stop && *opt->stop) {
      if (progress_on) fm_progress_end(&progress);
      FM_TRY(checkpoint(r));
      st = fm_fail(FM_ERR_INTERRUPTED, "interrupted after step %llu; the model is saved in %s; "
                   "continue with the same command and --resume",
                   (unsigned long long)step, r->ckpt);
      goto fail;
    }
    if (cfg->train.checkpoint_every > 0 && step % (uint64_t)cfg->train.checkpoint_every == 0 &&
        step < steps)
      FM_TRY(checkpoint(r));
  }
  FM_TRY(fm_device_finish(r->dev));
  r->tm.train = fm_seconds() - t_train;
  if (steps >= r->first_step + 1) r->steps_timed = (int)(steps - r->first_step);
  r->tm.coupling = fm_path_coupling_seconds(fm_trainer_path(r->tr), &r->tm.coupling_count);
  if (progress_on) fm_progress_end(&progress);
  progress_on = 0;
  FM_TRY(checkpoint(r));
fail:
  if (progress_on) fm_progress_end(&progress);
  return st;
}

/* The experiment's training and held-out points, in data units: a toy set, or a data file
 * shuffled and split by data.test_fraction. */
fm_status fm_run_load_data(const fm_config *cfg, fm_points *train, fm_points *test) {
  fm_status st = FM_OK;
  if (!cfg->data.path[0]) {
    FM_TRY(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TRAIN, cfg->data.n_train,
                           train));
    FM_TRY(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TEST, cfg->data.n_test,
                           test));
    return FM_OK;
  }
  fm_points all = {0};
  FM_TRY(fm_datafile_load(cfg->data.path, (fm_data_format)cfg->data.format, &all));
  if (cfg->data.label_column >= 0) {
    st = fm_datafile_take_labels(&all, cfg->data.label_column, cfg->data.path);
    if (st != FM_OK) {
      fm_points_free(&all);
      return st;
    }
  }
  st = fm_points_split(&all, cfg->data.test_fraction, cfg->seed, train, test);
  if (st != FM_OK) fm_fail_context(st, "data file %s: ", cfg->data.path);
  fm_points_free(&all);
  return st;
fail:
  fm_points_free(train);
  fm_points_free(test);
  return st;
}

/* The source points of source.name or source.path (none for N(0, I)), in the data's units
 * (standardized as the data when it is). */
static fm_status load_source(const fm_config *cfg, const data_stats *stats, int dim,
                             fm_points *source) {
  fm_status st = FM_OK;
  if (cfg->source.name[0])
    st = fm_toy_generate(cfg->source.name, cfg->seed, FM_STREAM_SOURCE_DATA, cfg->source.n, source);
  else if (cfg->source.path[0])
    st = fm_datafile_load(cfg->source.path, FM_FORMAT_AUTO, source);
  else
    return FM_OK;
  if (st != FM_OK) return st;
  if (source->dim != dim) {
    st = fm_fail(FM_ERR_CONFIG, "the source (%s) has dimension %d, the data %d; a source needs "
                 "the data's dimension", cfg->source.name[0] ? cfg->source.name : cfg->source.path,
                 source->dim, dim);
    fm_points_free(source);
    return st;
  }
  if (stats->mean) fm_points_standardize(source->x, source->n, dim, stats->mean, stats->std);
  return FM_OK;
}

/* Sampling and evaluation use the EMA of the weights when training kept one. */
static fm_status use_ema(fm_trainer *tr, fm_mlp *mlp) {
  fm_status st = FM_OK;
  cl_mem ema = fm_optim_ema(fm_trainer_optim(tr));
  if (!ema) return FM_OK;
  fm_device *dev = fm_mlp_device(mlp);
  FM_CL(clEnqueueCopyBuffer(fm_device_queue(dev), ema, fm_mlp_params(mlp), 0, 0,
                            fm_mlp_flat_size(mlp) * sizeof(float), 0, NULL, NULL));
  fm_mlp_params_changed(mlp);
fail:
  return st;
}

/* With data.standardize: the training split's statistics, and the split standardized. */
static fm_status standardize(const fm_config *cfg, fm_points *train, data_stats *stats) {
  if (!cfg->data.standardize) return FM_OK;
  stats->mean = malloc((size_t)train->dim * sizeof(double));
  stats->std = malloc((size_t)train->dim * sizeof(double));
  if (!stats->mean || !stats->std) return fm_fail(FM_ERR_NOMEM, "out of host memory");
  fm_status st = fm_points_stats(train, stats->mean, stats->std);
  if (st == FM_OK) fm_points_standardize(train->x, train->n, train->dim, stats->mean, stats->std);
  return st;
}

fm_status fm_run_experiment(const fm_config *config, const fm_run_options *opt,
                            fm_run_result *res) {
  fm_status st = FM_OK;
  fm_config resolved = *config;
  fm_config_resolve(&resolved);
  const fm_config *cfg = &resolved;
  run r;
  memset(&r, 0, sizeof r);
  r.cfg = cfg;
  r.opt = opt;
  r.final_loss = NAN;
  r.first_step = 1;
  fm_points train = {0}, test = {0}, source = {0};
  float *samples = NULL, *trajectory = NULL;
  int *sample_labels = NULL;
  fm_gemm_tuning tuning = {0};
  char *json = NULL;
  char path[1200];
  double t_begin = fm_seconds();
  memset(res, 0, sizeof *res);
  res->final_loss = NAN;

  FM_TRY(fm_config_validate(cfg));
  fm_config_run_dir(cfg, r.dir, sizeof r.dir);
  fm_strlcpy(res->dir, r.dir, sizeof res->dir);
  snprintf(r.ckpt, sizeof r.ckpt, "%s/model.fmck", r.dir);
  snprintf(r.log_path, sizeof r.log_path, "%s/train.csv", r.dir);
  FM_TRY(fm_make_dirs(r.dir));
  json = fm_config_to_json(cfg);
  snprintf(path, sizeof path, "%s/config.json", r.dir);
  FM_TRY(write_text(path, json));

  FM_TRY(fm_run_open_device(cfg, opt->profile, &r.dev));
  describe_device(opt, r.dev, cfg);

  FM_TRY(fm_run_load_data(cfg, &train, &test));
  snprintf(path, sizeof path, "%s/test.csv", r.dir);
  FM_TRY(fm_points_write_csv(&test, path, 0));
  FM_TRY(standardize(cfg, &train, &r.stats));
  FM_TRY(load_source(cfg, &r.stats, train.dim, &source));

  fm_mlp_shape shape = fm_mlp_shape_from_config(cfg, train.dim);
  int sample_rows = cfg->sample.n < cfg->sample.batch ? cfg->sample.n : cfg->sample.batch;
  int capacity = cfg->train.batch > sample_rows ? cfg->train.batch : sample_rows;
  FM_TRY(fm_mlp_create(r.dev, &shape, capacity, &r.mlp));
  fm_mlp_set_gemm(r.mlp, cfg->device.gemm);
  FM_TRY(fm_run_tuning(opt, cfg, r.dev, &tuning));
  fm_mlp_set_tuning(r.mlp, &tuning);
  FM_TRY(fm_mlp_init(r.mlp, cfg->seed));
  FM_TRY(fm_trainer_create(r.mlp, cfg, &train, source.x ? &source : NULL, &r.tr));
  if (opt->resume) {
    FM_TRY(resume(&r));
    r.first_step = r.saved_step + 1;
    fm_run_say(opt, "resuming from %s at step %llu\n", r.ckpt, (unsigned long long)r.saved_step);
  }
  fm_run_say(opt, "data %s: %d training, %d held-out points of dimension %d%s; model: %zu parameters; "
      "%d steps of batch %d\n", cfg->data.path[0] ? cfg->data.path : cfg->data.name, train.n,
      test.n, train.dim, r.stats.mean ? " (standardized)" : "", fm_mlp_param_count(r.mlp),
      cfg->train.steps, cfg->train.batch);
  r.tm.setup = fm_seconds() - t_begin;

  FM_TRY(open_log(&r, opt->resume ? r.saved_step : 0));
  FM_TRY(train_loop(&r));
  fclose(r.log);
  r.log = NULL;
  if (opt->profile) {
    snprintf(path, sizeof path, "%s/profile.csv", r.dir);
    FM_TRY(report_profile(r.dev, opt, path, r.steps_timed));
  }
  res->final_loss = r.final_loss;
  res->train_steps_per_s = r.tm.train > 0 ? r.steps_timed / r.tm.train : 0;
  if ((uint64_t)cfg->train.steps >= r.first_step)
    fm_run_say(opt, "trained %llu steps in %.1f s (%.1f steps/s after a first step of %.2f s); final "
        "loss %.4f\n", (unsigned long long)((uint64_t)cfg->train.steps - r.first_step + 1),
        r.tm.train + r.tm.first_step, res->train_steps_per_s, r.tm.first_step, r.final_loss);
  if (opt->stop && *opt->stop) {
    st = fm_fail(FM_ERR_INTERRUPTED, "interrupted after training; the model is saved in %s",
                 r.ckpt);
    goto fail;
  }

  FM_TRY(use_ema(r.tr, r.mlp));
  fm_eval_report ev;
  memset(&ev, 0, sizeof ev);
  int n_times = 0;
  if (cfg->sample.n > 0) {
    double t0 = fm_seconds();
    if (cfg->model.classes > 0) {
      sample_labels = malloc((size_t)cfg->sample.n * sizeof *sample_labels);
      if (!sample_labels) {
        st = fm_fail(FM_ERR_NOMEM, "out of host memory for %d samples", cfg->sample.n);
        goto fail;
      }
    }
    fm_sample_params sp = {cfg->sample.solver, cfg->sample.steps, cfg->sample.n,
                           cfg->sample.batch, cfg->seed, cfg->sample.rtol, cfg->sample.atol,
                           cfg->sample.save_every, source.x, source.n, cfg->model.classes,
                           cfg->sample.class_label, cfg->sample.guidance, sample_labels};
    n_times = cfg->sample.save_every > 0 ? fm_sample_save_times(&sp, NULL, 0) : 0;
    size_t plane = (size_t)cfg->sample.n * (size_t)train.dim;
    samples = malloc(plane * sizeof(float));
    if (n_times) trajectory = malloc((size_t)n_times * plane * sizeof(float));
    if (!samples || (n_times && !trajectory)) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory for %d samples", cfg->sample.n);
      goto fail;
    }
    FM_TRY(fm_sample_generate(r.mlp, &sp, samples, trajectory, &res->nfe));
    if (r.stats.mean) {
      fm_points_unstandardize(samples, cfg->sample.n, train.dim, r.stats.mean, r.stats.std);
      for (int j = 0; j < n_times; j++)
        fm_points_unstandardize(trajectory + (size_t)j * plane, cfg->sample.n, train.dim,
                                r.stats.mean, r.stats.std);
    }
    r.tm.sample = fm_seconds() - t0;
    snprintf(path, sizeof path, "%s/samples.csv", r.dir);
    FM_TRY(write_samples(path, samples, sample_labels, cfg->sample.n, train.dim));
    if (n_times) {
      double *times = malloc((size_t)n_times * sizeof *times);
      if (!times) {
        st = fm_fail(FM_ERR_NOMEM, "out of host memory");
        goto fail;
      }
      fm_sample_save_times(&sp, times, n_times);
      snprintf(path, sizeof path, "%s/trajectories.csv", r.dir);
      st = write_trajectories(path, trajectory, times, n_times, cfg->sample.n, train.dim);
      free(times);
      FM_TRY(st);
    }
    if (cfg->sample.solver == FM_SOLVER_DOPRI5)
      fm_run_say(opt, "sampled %d points with dopri5 (rtol %g, atol %g; NFE %ld) in %.2f s\n",
          cfg->sample.n, cfg->sample.rtol, cfg->sample.atol, res->nfe, r.tm.sample);
    else
      fm_run_say(opt, "sampled %d points with %s, %d steps (NFE %ld) in %.2f s\n", cfg->sample.n,
          fm_solver_name(cfg->sample.solver), cfg->sample.steps, res->nfe, r.tm.sample);
  }
  /* The likelihood needs the source's density: only N(0, I) has one here. */
  fm_config eval_cfg = *cfg;
  if (source.x && eval_cfg.eval.likelihood) {
    eval_cfg.eval.likelihood = 0;
    eval_cfg.eval.density_grid = 0;
    fm_run_say(opt, "no likelihood: the source is a data set, whose density is unknown\n");
  }
  fm_eval_inputs ein = {r.mlp, &eval_cfg, &test, samples, samples ? cfg->sample.n : 0,
                        r.stats.mean, r.stats.std, trajectory, n_times};
  FM_TRY(fm_evaluate(&ein, &ev));
  if (ev.has_metrics)
    fm_run_say(opt, "samples vs %d held-out points: W2 %.4f, energy distance %.4f, MMD^2 %.5f\n",
        ev.metric_points, ev.w2, ev.energy, ev.mmd2);
  if (ev.has_likelihood)
    fm_run_say(opt, "held-out NLL %.4f nats (%.4f bits/dim) over %d points, %s divergence, NFE %ld, "
        "%.1f s\n", ev.nll, ev.bits_per_dim, ev.nll_points, ev.exact ? "exact" : "Hutchinson",
        ev.likelihood_nfe, ev.likelihood_seconds);
  if (cfg->output.plots) {
    double t0 = fm_seconds();
    FM_TRY(fm_evaluate_plots(&ein, r.dir));
    fm_run_say(opt, "plots written in %.1f s\n", fm_seconds() - t0);
  }
  r.tm.total = fm_seconds() - t_begin;
  snprintf(path, sizeof path, "%s/summary.json", r.dir);
  FM_TRY(write_summary(path, cfg, r.dev, r.mlp, &r.tm, r.steps_timed, r.final_loss, res->nfe,
                       cfg->sample.n, &ev));
  fm_run_say(opt, "run folder: %s\n", r.dir);

fail:
  if (r.log) fclose(r.log);
  free(r.stats.mean);
  free(r.stats.std);
  free(trajectory);
  free(samples);
  free(sample_labels);
  free(json);
  fm_trainer_destroy(r.tr);
  fm_mlp_destroy(r.mlp);
  fm_tuning_free(&tuning);
  fm_points_free(&train);
  fm_points_free(&test);
  fm_points_free(&source);
  fm_device_destroy(r.dev);
  return st;
}

/* Builds the model a checkpoint describes and loads its parameters. */
static fm_status model_from_checkpoint(fm_device *dev, const fm_checkpoint *ck, int capacity,
                                       const char *path, fm_mlp **out) {
  fm_status st = FM_OK;
  fm_mlp_shape shape = fm_mlp_shape_from_config(&ck->config, ck->dim);
  FM_TRY(fm_mlp_create(dev, &shape, capacity, out));
  int ok = fm_mlp_flat_size(*out) == ck->flat_size && fm_mlp_layers(*out) == ck->n_layers;
  for (int l = 0; ok && l < ck->n_layers; l++)
    ok = fm_mlp_layer_in(*out, l) == ck->layer_in[l] && fm_mlp_layer_out(*out, l) == ck->layer_out[l];
  if (!ok) {
    st = fm_fail(FM_ERR_FORMAT, "checkpoint %s: its layer shapes do not match its config; the file "
                 "was not written by this version of fmcl", path);
    goto fail;
  }
  /* The EMA of the weights is the model to use when training kept one. */
  FM_TRY(fm_mlp_write_params(*out, ck->ema ? ck->ema : ck->params));
  return FM_OK;
fail:
  fm_mlp_destroy(*out);
  *out = NULL;
  return st;
}

fm_status fm_run_sample(const char *checkpoint, const char *const *overrides, int n_overrides,
                        const char *out_path, const fm_run_options *opt, char *written,
                        size_t written_size) {
  fm_status st = FM_OK;
  fm_checkpoint ck;
  fm_device *dev = NULL;
  fm_mlp *mlp = NULL;
  float *samples = NULL;
  int *labels = NULL;
  fm_points source = {0};
  fm_gemm_tuning tuning = {0};
  memset(&ck, 0, sizeof ck);
  FM_TRY(fm_checkpoint_load(checkpoint, &ck));
  fm_config cfg = ck.config;
  for (int i = 0; i < n_overrides; i++) FM_TRY(fm_config_set(&cfg, overrides[i]));
  if (fm_config_model_hash(&cfg) != ck.model_hash) {
    st = fm_fail(FM_ERR_CONFIG, "sample: the overrides change the trained model (its data, "
                 "architecture or training); only sample.*, device.*, name and output.* may be "
                 "set when sampling from a checkpoint");
    goto fail;
  }
  if (cfg.sample.n < 1) {
    st = fm_fail(FM_ERR_CONFIG, "sample: sample.n must be positive");
    goto fail;
  }
  char path[1200];
  if (out_path) {
    fm_strlcpy(path, out_path, sizeof path);
  } else {
    char folder[1024];
    fm_strlcpy(folder, checkpoint, sizeof folder);
    char *slash = strrchr(folder, '/');
    if (slash) *slash = '\0';
    else fm_strlcpy(folder, ".", sizeof folder);
    if (cfg.sample.solver == FM_SOLVER_DOPRI5)
      snprintf(path, sizeof path, "%s/samples-dopri5-n%d.csv", folder, cfg.sample.n);
    else
      snprintf(path, sizeof path, "%s/samples-%s%d-n%d.csv", folder,
               fm_solver_name(cfg.sample.solver), cfg.sample.steps, cfg.sample.n);
  }
  FM_TRY(fm_run_open_device(&cfg, opt->profile, &dev));
  describe_device(opt, dev, &cfg);
  int rows = cfg.sample.n < cfg.sample.batch ? cfg.sample.n : cfg.sample.batch;
  FM_TRY(model_from_checkpoint(dev, &ck, rows, checkpoint, &mlp));
  fm_mlp_set_gemm(mlp, cfg.device.gemm);
  FM_TRY(fm_run_tuning(opt, &cfg, dev, &tuning));
  fm_mlp_set_tuning(mlp, &tuning);
  data_stats stats = {ck.mean, ck.std};
  FM_TRY(load_source(&cfg, &stats, ck.dim, &source));
  samples = malloc((size_t)cfg.sample.n * (size_t)ck.dim * sizeof(float));
  if (!samples) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory for %d samples", cfg.sample.n);
    goto fail;
  }
  double t0 = fm_seconds(), build0 = fm_device_build_seconds(dev);
  long nfe = 0;
  if (cfg.model.classes > 0) {
    labels = malloc((size_t)cfg.sample.n * sizeof *labels);
    if (!labels) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory for %d samples", cfg.sample.n);
      goto fail;
    }
  }
  fm_sample_params sp = {cfg.sample.solver,   cfg.sample.steps,      cfg.sample.n,
                         cfg.sample.batch,    cfg.seed,              cfg.sample.rtol,
                         cfg.sample.atol,     0,                     source.x,
                         source.n,            cfg.model.classes,     cfg.sample.class_label,
                         cfg.sample.guidance, labels};
  FM_TRY(fm_sample_generate(mlp, &sp, samples, NULL, &nfe));
  if (ck.mean) fm_points_unstandardize(samples, cfg.sample.n, ck.dim, ck.mean, ck.std);
  double seconds = fm_seconds() - t0, build = fm_device_build_seconds(dev) - build0;
  FM_TRY(write_samples(path, samples, labels, cfg.sample.n, ck.dim));
  char how[96];
  if (cfg.sample.solver == FM_SOLVER_DOPRI5)
    snprintf(how, sizeof how, "dopri5 (rtol %g, atol %g)", cfg.sample.rtol, cfg.sample.atol);
  else
    snprintf(how, sizeof how, "%s, %d steps", fm_solver_name(cfg.sample.solver), cfg.sample.steps);
  fm_run_say(opt,
             "sampled %d points from %s (step %llu) with %s (NFE %ld) in %.3f s (%.3f s of it "
             "building kernels): %s\n",
             cfg.sample.n, checkpoint, (unsigned long long)ck.step, how, nfe, seconds, build, path);
  if (written) fm_strlcpy(written, path, written_size);
fail:
  free(samples);
  free(labels);
  fm_points_free(&source);
  fm_tuning_free(&tuning);
  fm_mlp_destroy(mlp);
  fm_device_destroy(dev);
  fm_checkpoint_free(&ck);
  return st;
}

fm_status fm_run_export_data(const fm_config *cfg, const char *dir, const fm_run_options *opt) {
  fm_status st = FM_OK;
  fm_points train = {0}, test = {0};
  char path[1200];
  FM_TRY(fm_make_dirs(dir));
  FM_TRY(fm_run_load_data(cfg, &train, &test));
  snprintf(path, sizeof path, "%s/train.csv", dir);
  FM_TRY(fm_points_write_csv(&train, path, 1));
  snprintf(path, sizeof path, "%s/test.csv", dir);
  FM_TRY(fm_points_write_csv(&test, path, 1));
  fm_run_say(opt, "wrote %d training and %d held-out points of %s (seed %llu) to %s\n", train.n, test.n,
      cfg->data.path[0] ? cfg->data.path : cfg->data.name, (unsigned long long)cfg->seed, dir);
fail:
  fm_points_free(&train);
  fm_points_free(&test);
  return st;
}

fm_status fm_run_likelihood(const char *checkpoint, const char *const *overrides, int n_overrides,
                            const char *data_path, const char *out_path,
                            const fm_run_options *opt) {
  fm_status st = FM_OK;
  fm_checkpoint ck;
  fm_device *dev = NULL;
  fm_mlp *mlp = NULL;
  fm_points data = {0}, unused = {0};
  double *logp = NULL;
  fm_gemm_tuning tuning = {0};
  memset(&ck, 0, sizeof ck);
  FM_TRY(fm_checkpoint_load(checkpoint, &ck));
  fm_config cfg = ck.config;
  for (int i = 0; i < n_overrides; i++) FM_TRY(fm_config_set(&cfg, overrides[i]));
  if (fm_config_model_hash(&cfg) != ck.model_hash) {
    st = fm_fail(FM_ERR_CONFIG, "likelihood: the overrides change the trained model; only eval.*, "
                 "sample.batch, device.*, name and output.* may be set");
    goto fail;
  }
  if (data_path) {
    FM_TRY(fm_datafile_load(data_path, FM_FORMAT_AUTO, &data));
    if (cfg.model.classes > 0) {
      if (cfg.data.label_column < 0) {
        st = fm_fail(FM_ERR_CONFIG, "likelihood: the model is class-conditional; --data needs "
                     "labels: --set data.label_column=N names their column");
        goto fail;
      }
      FM_TRY(fm_datafile_take_labels(&data, cfg.data.label_column, data_path));
    }
  } else {
    FM_TRY(fm_run_load_data(&cfg, &unused, &data));
    if (data.n == 0) {
      st = fm_fail(FM_ERR_CONFIG, "likelihood: the run holds out no points (data.test_fraction "
                   "0); pass --data FILE");
      goto fail;
    }
  }
  if (data.dim != ck.dim) {
    st = fm_fail(FM_ERR_INVALID, "likelihood: %s has points of dimension %d but the model in %s "
                 "takes dimension %d", data_path ? data_path : "the held-out data", data.dim,
                 checkpoint, ck.dim);
    goto fail;
  }
  FM_TRY(fm_run_open_device(&cfg, opt->profile, &dev));
  describe_device(opt, dev, &cfg);
  int rows = data.n < cfg.sample.batch ? data.n : cfg.sample.batch;
  FM_TRY(model_from_checkpoint(dev, &ck, rows, checkpoint, &mlp));
  fm_mlp_set_gemm(mlp, cfg.device.gemm);
  FM_TRY(fm_run_tuning(opt, &cfg, dev, &tuning));
  fm_mlp_set_tuning(mlp, &tuning);
  logp = malloc((size_t)data.n * sizeof *logp);
  if (!logp) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory");
    goto fail;
  }
  fm_eval_inputs in = {mlp, &cfg, &data, NULL, 0, ck.mean, ck.std, NULL, 0};
  long nfe = 0;
  int exact = 0;
  double t0 = fm_seconds();
  FM_TRY(fm_evaluate_log_likelihood(&in, data.x, cfg.model.classes > 0 ? data.label : NULL,
                                    data.n, logp, &nfe, &exact));
  double nll = 0;
  for (int i = 0; i < data.n; i++) nll -= logp[i] / data.n;
  if (out_path) {
    fm_file f;
    FM_TRY(fm_file_begin(&f, out_path, "w"));
    fprintf(f.f, "log_likelihood\n");
    for (int i = 0; i < data.n; i++) fprintf(f.f, "%.9g\n", logp[i]);
    FM_TRY(fm_file_commit(&f));
  }
  fm_run_say(opt, "%d points of %s: NLL %.4f nats, %.4f bits/dim (%s divergence, %s, NFE %ld, %.1f s)%s%s\n",
      data.n, data_path ? data_path : "the held-out split", nll, nll / (data.dim * log(2.0)),
      exact ? "exact" : "Hutchinson", fm_solver_name(cfg.eval.solver), nfe, fm_seconds() - t0,
      out_path ? "; per point: " : "", out_path ? out_path : "");
  if (opt->quiet) printf("%.9g\n", nll);
fail:
  free(logp);
  fm_tuning_free(&tuning);
  fm_mlp_destroy(mlp);
  fm_device_destroy(dev);
  fm_points_free(&data);
  fm_points_free(&unused);
  fm_checkpoint_free(&ck);
  return st;
}
