/* The experiment runner: device, data, model, training loop with logging, progress and
 * checkpoints, sampling, and the files of the run folder. */
#include "fmcl/run.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/checkpoint.h"
#include "fmcl/data.h"
#include "fmcl/gemm.h"
#include "fmcl/mlp.h"
#include "fmcl/progress.h"
#include "fmcl/rng.h"
#include "fmcl/sample.h"
#include "fmcl/train.h"
#include "internal.h"

static void say(const fm_run_options *opt, const char *fmt, ...) FM_PRINTF(2, 3);
static void say(const fm_run_options *opt, const char *fmt, ...) {
  if (opt->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(opt->log, fmt, ap);
  va_end(ap);
  fflush(opt->log);
}

static fm_status open_device(const fm_config *cfg, int profiling, fm_device **dev) {
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
  say(opt, "device %d: %s (%s, %s, %u compute units, %.1f GiB, driver %s); matrix products: %s\n",
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

static fm_status write_samples(const char *path, const float *x, int n, int dim) {
  fm_points p = {(float *)x, NULL, n, dim};
  return fm_points_write_csv(&p, path, 0);
}

/* Saves parameters, Adam state and the step into path. */
static fm_status save_checkpoint(const char *path, const fm_config *cfg, fm_mlp *mlp,
                                 fm_trainer *tr) {
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
    FM_TRY(fm_optim_read_state(fm_trainer_optim(tr), ck.optim_state));
    ck.optim_steps = fm_optim_steps(fm_trainer_optim(tr));
  }
  FM_TRY(fm_checkpoint_save(path, &ck));
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
  say(opt, "device time per training step (%ld steps profiled, %.1f us per step):\n", steps,
      steps ? 1e6 * total / (double)steps : 0.0);
  say(opt, "  %-32s %8s %10s %10s %7s\n", "command", "calls", "us/call", "us/step", "share");
  for (int i = 0; i < n; i++) {
    const fm_profile_entry *e = &sorted[i];
    double per_step = steps ? 1e6 * e->seconds / (double)steps : 0.0;
    double calls = steps ? (double)e->count / (double)steps : 0.0;
    double share = total > 0 ? e->seconds / total : 0.0;
    say(opt, "  %-32s %8.2f %10.1f %10.1f %6.1f%%\n", e->label, calls,
        1e6 * e->seconds / (double)e->count, per_step, 100 * share);
    fprintf(f.f, "%s,%.3f,%.3f,%.3f,%.5f\n", e->label, calls, 1e6 * e->seconds / (double)e->count,
            per_step, share);
  }
  free(sorted);
  return fm_file_commit(&f);
}

typedef struct run_times {
  double setup, first_step, train, sample, total;
} run_times;

static fm_status write_summary(const char *path, const fm_config *cfg, fm_device *dev,
                               fm_mlp *mlp, const run_times *tm, int steps_timed,
                               double final_loss, long nfe, int n_samples) {
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
  cJSON *js = cJSON_AddObjectToObject(root, "sample");
  cJSON_AddStringToObject(js, "solver", fm_solver_name(cfg->sample.solver));
  cJSON_AddNumberToObject(js, "steps", cfg->sample.steps);
  cJSON_AddNumberToObject(js, "n", n_samples);
  cJSON_AddNumberToObject(js, "nfe", (double)nfe);
  cJSON_AddNumberToObject(js, "points_per_s", tm->sample > 0 ? n_samples / tm->sample : 0);
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

static fm_status numeric_failure(const fm_config *cfg, uint64_t from, uint64_t to,
                                 uint64_t saved_step, const char *ckpt) {
  char saved[1400];
  if (saved_step > 0) snprintf(saved, sizeof saved, "the last good checkpoint is %s (step %llu)", ckpt, (unsigned long long)saved_step);
  else snprintf(saved, sizeof saved, "no checkpoint was written");
  return fm_fail(FM_ERR_NUMERIC, "training diverged: the loss became NaN or infinite between "
                 "steps %llu and %llu; lower train.lr (now %g) or rescale the data; %s",
                 (unsigned long long)from, (unsigned long long)to, cfg->train.lr, saved);
}

fm_status fm_run_experiment(const fm_config *config, const fm_run_options *opt,
                            fm_run_result *res) {
  fm_status st = FM_OK;
  fm_config resolved = *config;
  fm_config_resolve(&resolved);
  const fm_config *cfg = &resolved;
  fm_device *dev = NULL;
  fm_mlp *mlp = NULL;
  fm_trainer *tr = NULL;
  fm_points train = {0}, test = {0};
  float *samples = NULL;
  FILE *log_csv = NULL;
  char *json = NULL;
  char dir[1024], path[1200], ckpt[1200];
  run_times tm = {0};
  double t_begin = fm_seconds();
  memset(res, 0, sizeof *res);
  res->final_loss = NAN;

  FM_TRY(fm_config_validate(cfg));
  fm_config_run_dir(cfg, dir, sizeof dir);
  fm_strlcpy(res->dir, dir, sizeof res->dir);
  FM_TRY(fm_make_dirs(dir));
  json = fm_config_to_json(cfg);
  snprintf(path, sizeof path, "%s/config.json", dir);
  FM_TRY(write_text(path, json));

  FM_TRY(open_device(cfg, opt->profile, &dev));
  describe_device(opt, dev, cfg);

  FM_TRY(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TRAIN, cfg->data.n_train, &train));
  FM_TRY(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TEST, cfg->data.n_test, &test));
  snprintf(path, sizeof path, "%s/test.csv", dir);
  FM_TRY(fm_points_write_csv(&test, path, 0));

  fm_mlp_shape shape = fm_mlp_shape_from_config(cfg, train.dim);
  int sample_rows = cfg->sample.n < cfg->sample.batch ? cfg->sample.n : cfg->sample.batch;
  int capacity = cfg->train.batch > sample_rows ? cfg->train.batch : sample_rows;
  FM_TRY(fm_mlp_create(dev, &shape, capacity, &mlp));
  fm_mlp_set_gemm(mlp, cfg->device.gemm);
  FM_TRY(fm_mlp_init(mlp, cfg->seed));
  FM_TRY(fm_trainer_create(mlp, cfg, &train, &tr));
  say(opt, "data %s: %d training, %d held-out points; model: %zu parameters; %d steps of batch %d\n",
      cfg->data.name, train.n, test.n, fm_mlp_param_count(mlp), cfg->train.steps, cfg->train.batch);
  tm.setup = fm_seconds() - t_begin;

  snprintf(path, sizeof path, "%s/train.csv", dir);
  log_csv = fopen(path, "w");
  if (!log_csv) {
    st = fm_fail(FM_ERR_IO, "%s: cannot create", path);
    goto fail;
  }
  fprintf(log_csv, "step,loss,lr,steps_per_s\n");
  snprintf(ckpt, sizeof ckpt, "%s/model.fmck", dir);

  uint64_t steps = (uint64_t)cfg->train.steps, saved_step = 0, last_log = 0, window_start = 1;
  fm_progress progress;
  double t_train = fm_seconds(), t_log = 0;
  int steps_timed = 0;
  for (uint64_t step = 1; step <= steps; step++) {
    FM_TRY(fm_trainer_step(tr));
    if (step == 1) {
      /* The first step compiles kernels; time the rest. */
      FM_TRY(fm_device_finish(dev));
      tm.first_step = fm_seconds() - t_train;
      t_train = t_log = fm_seconds();
      fm_progress_begin(&progress, opt->log, opt->live, opt->quiet, 1, steps);
      if (opt->profile) fm_device_profile_reset(dev);
    }
    int log_now = step % (uint64_t)cfg->train.log_every == 0 || step == steps;
    if (log_now) {
      double loss;
      int count;
      FM_TRY(fm_trainer_take_loss(tr, &loss, &count));
      if (!isfinite(loss)) {
        fm_progress_end(&progress);
        st = numeric_failure(cfg, last_log + 1, step, saved_step, ckpt);
        goto fail;
      }
      double now = fm_seconds();
      double rate = now > t_log ? (double)(step - window_start) / (now - t_log) : 0;
      fprintf(log_csv, "%llu,%.7g,%.7g,%.2f\n", (unsigned long long)step, loss, cfg->train.lr, rate);
      fflush(log_csv);
      t_log = now;
      window_start = last_log = step;
      res->final_loss = loss;
      fm_progress_update(&progress, step, loss, 1);
    } else if (step % 50 == 0 && progress.live) {
      FM_TRY(fm_device_finish(dev));
      fm_progress_update(&progress, step, NAN, 0);
    }
    if (cfg->train.checkpoint_every > 0 && step % (uint64_t)cfg->train.checkpoint_every == 0 &&
        step < steps) {
      FM_TRY(save_checkpoint(ckpt, cfg, mlp, tr));
      saved_step = step;
    }
  }
  FM_TRY(fm_device_finish(dev));
  if (steps > 1) steps_timed = (int)steps - 1;
  tm.train = fm_seconds() - t_train;
  if (steps > 0) fm_progress_end(&progress);
  if (opt->profile) {
    snprintf(path, sizeof path, "%s/profile.csv", dir);
    FM_TRY(report_profile(dev, opt, path, steps_timed));
  }
  fclose(log_csv);
  log_csv = NULL;
  FM_TRY(save_checkpoint(ckpt, cfg, mlp, tr));
  res->train_steps_per_s = tm.train > 0 ? steps_timed / tm.train : 0;
  if (steps > 0)
    say(opt, "trained %llu steps in %.1f s (%.1f steps/s after a first step of %.2f s); final loss %.4f\n",
        (unsigned long long)steps, tm.train + tm.first_step, res->train_steps_per_s, tm.first_step,
        res->final_loss);

  if (cfg->sample.n > 0) {
    double t0 = fm_seconds();
    samples = malloc((size_t)cfg->sample.n * (size_t)train.dim * sizeof(float));
    if (!samples) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory for %d samples", cfg->sample.n);
      goto fail;
    }
    fm_sample_params sp = {cfg->sample.solver, cfg->sample.steps, cfg->sample.n,
                           cfg->sample.batch, cfg->seed};
    FM_TRY(fm_sample_generate(mlp, &sp, samples, &res->nfe));
    tm.sample = fm_seconds() - t0;
    snprintf(path, sizeof path, "%s/samples.csv", dir);
    FM_TRY(write_samples(path, samples, cfg->sample.n, train.dim));
    say(opt, "sampled %d points with %s, %d steps (NFE %ld) in %.2f s\n", cfg->sample.n,
        fm_solver_name(cfg->sample.solver), cfg->sample.steps, res->nfe, tm.sample);
  }
  tm.total = fm_seconds() - t_begin;
  snprintf(path, sizeof path, "%s/summary.json", dir);
  FM_TRY(write_summary(path, cfg, dev, mlp, &tm, steps_timed, res->final_loss, res->nfe,
                       cfg->sample.n));
  say(opt, "run folder: %s\n", dir);

fail:
  if (log_csv) fclose(log_csv);
  free(samples);
  free(json);
  fm_trainer_destroy(tr);
  fm_mlp_destroy(mlp);
  fm_points_free(&train);
  fm_points_free(&test);
  fm_device_destroy(dev);
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
  FM_TRY(fm_mlp_write_params(*out, ck->params));
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
    snprintf(path, sizeof path, "%s/samples-%s%d-n%d.csv", folder, fm_solver_name(cfg.sample.solver),
             cfg.sample.steps, cfg.sample.n);
  }
  FM_TRY(open_device(&cfg, opt->profile, &dev));
  describe_device(opt, dev, &cfg);
  int rows = cfg.sample.n < cfg.sample.batch ? cfg.sample.n : cfg.sample.batch;
  FM_TRY(model_from_checkpoint(dev, &ck, rows, checkpoint, &mlp));
  fm_mlp_set_gemm(mlp, cfg.device.gemm);
  samples = malloc((size_t)cfg.sample.n * (size_t)ck.dim * sizeof(float));
  if (!samples) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory for %d samples", cfg.sample.n);
    goto fail;
  }
  double t0 = fm_seconds();
  long nfe = 0;
  fm_sample_params sp = {cfg.sample.solver, cfg.sample.steps, cfg.sample.n, cfg.sample.batch,
                         cfg.seed};
  FM_TRY(fm_sample_generate(mlp, &sp, samples, &nfe));
  double seconds = fm_seconds() - t0;
  FM_TRY(write_samples(path, samples, cfg.sample.n, ck.dim));
  say(opt, "sampled %d points from %s (step %llu) with %s, %d steps (NFE %ld) in %.2f s: %s\n",
      cfg.sample.n, checkpoint, (unsigned long long)ck.step, fm_solver_name(cfg.sample.solver),
      cfg.sample.steps, nfe, seconds, path);
  if (written) fm_strlcpy(written, path, written_size);
fail:
  free(samples);
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
  FM_TRY(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TRAIN, cfg->data.n_train, &train));
  FM_TRY(fm_toy_generate(cfg->data.name, cfg->seed, FM_STREAM_DATA_TEST, cfg->data.n_test, &test));
  snprintf(path, sizeof path, "%s/train.csv", dir);
  FM_TRY(fm_points_write_csv(&train, path, 1));
  snprintf(path, sizeof path, "%s/test.csv", dir);
  FM_TRY(fm_points_write_csv(&test, path, 1));
  say(opt, "wrote %d training and %d held-out points of %s (seed %llu) to %s\n", train.n, test.n,
      cfg->data.name, (unsigned long long)cfg->seed, dir);
fail:
  fm_points_free(&train);
  fm_points_free(&test);
  return st;
}
