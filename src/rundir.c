/* Writers and readers of the run folder's files. */
#include "fmcl/rundir.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/data.h"
#include "fmcl/recipe.h"
#include "internal.h"

/* The files a training run writes into its folder, and its plots in every format. */
static const char *const run_files[] = {"config.json", "train.csv",    "test.csv",
                                        "samples.csv", "trajectories.csv", "model.fmck",
                                        "summary.json", "profile.csv"};
static const char *const plots[] = {"samples", "density", "loss", "trajectories"};

static int holds_run(const char *dir) {
  static const char *const marks[] = {"config.json", "model.fmck", "summary.json"};
  for (size_t i = 0; i < FM_ARRAY_LEN(marks); i++) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, marks[i]);
    if (fm_path_exists(path)) return 1;
  }
  return 0;
}

fm_status fm_rundir_claim(const fm_config *cfg, int resume, int overwrite,
                          const fm_reporter *report, char *dir, size_t size) {
  char base[1024];
  fm_config_run_dir(cfg, base, sizeof base);
  fm_strlcpy(dir, base, size);
  if (resume || !holds_run(base)) return FM_OK;
  if (overwrite) {
    size_t n_files = FM_ARRAY_LEN(run_files), n_plots = FM_ARRAY_LEN(plots);
    for (size_t i = 0; i < n_files + 3 * n_plots; i++) {
      char path[1200];
      size_t k = i - n_files;
      if (i < n_files) snprintf(path, sizeof path, "%s/%s", base, run_files[i]);
      else snprintf(path, sizeof path, "%s/%s.%s", base, plots[k / 3], fm_plot_format_names[k % 3]);
      if (remove(path) != 0 && errno != ENOENT)
        return fm_fail(FM_ERR_IO, "--overwrite: cannot remove %s: %s", path, strerror(errno));
    }
    fm_report(report, FM_REPORT_INFO, "--overwrite: the earlier run in %s is replaced", base);
    return FM_OK;
  }
  if (cfg->output.dir[0])
    return fm_fail(FM_ERR_CONFIG, "output.dir %s holds an earlier run; pass --resume to continue "
                   "it, --overwrite to replace it, or set output.dir to another folder", base);
  for (int v = 2; v < 10000; v++) {
    snprintf(dir, size, "%s-%d", base, v);
    if (!fm_path_exists(dir)) {
      fm_report(report, FM_REPORT_INFO, "%s holds an earlier run; this one goes to %s "
                "(--overwrite replaces the earlier run, --resume continues it)", base, dir);
      return FM_OK;
    }
  }
  return fm_fail(FM_ERR_IO, "%s: 10000 earlier runs of it exist; set output.dir", base);
}

static fm_status flush_log(fm_train_log *log) {
  if (fflush(log->f) != 0 || ferror(log->f))
    return fm_fail(FM_ERR_IO, "%s: write failed: %s (is the disk full?)", log->path,
                   strerror(errno));
  return FM_OK;
}

fm_status fm_train_log_open(fm_train_log *log, const char *dir, uint64_t resume_step) {
  char *kept = NULL;
  size_t kept_len = 0;
  snprintf(log->path, sizeof log->path, "%s/train.csv", dir);
  log->f = NULL;
  if (resume_step > 0) {
    FILE *old = fopen(log->path, "r");
    char line[512];
    if (old) {
      FILE *mem = open_memstream(&kept, &kept_len);
      if (!mem) {
        fclose(old);
        return fm_fail(FM_ERR_NOMEM, "out of memory reading %s", log->path);
      }
      while (fgets(line, sizeof line, old)) {
        unsigned long long step;
        if (sscanf(line, "%llu,", &step) == 1 && step <= resume_step) fputs(line, mem);
      }
      fclose(old);
      fclose(mem);
    }
  }
  log->f = fopen(log->path, "w");
  if (!log->f) {
    free(kept);
    return fm_fail(FM_ERR_IO, "%s: cannot create: %s", log->path, strerror(errno));
  }
  fprintf(log->f, "step,loss,lr,steps_per_s\n");
  if (kept) fwrite(kept, 1, kept_len, log->f);
  free(kept);
  return flush_log(log);
}

fm_status fm_train_log_row(fm_train_log *log, uint64_t step, double loss, double lr,
                           double steps_per_s) {
  fprintf(log->f, "%llu,%.7g,%.7g,%.2f\n", (unsigned long long)step, loss, lr, steps_per_s);
  return flush_log(log);
}

void fm_train_log_close(fm_train_log *log) {
  if (log->f) fclose(log->f);
  log->f = NULL;
}

fm_status fm_train_log_read(const char *dir, double **steps, double **losses, int *n) {
  char path[1200], line[256];
  *steps = *losses = NULL;
  *n = 0;
  snprintf(path, sizeof path, "%s/train.csv", dir);
  FILE *f = fopen(path, "r");
  if (!f) return FM_OK; /* no training log: no curve */
  size_t cap = 256, count = 0;
  double *x = malloc(cap * sizeof *x), *y = malloc(cap * sizeof *y);
  int grown = x && y;
  while (grown && fgets(line, sizeof line, f)) {
    double step, loss;
    if (sscanf(line, "%lf,%lf", &step, &loss) != 2) continue;
    if (count == cap) {
      cap *= 2;
      double *gx = realloc(x, cap * sizeof *x), *gy = gx ? realloc(y, cap * sizeof *y) : NULL;
      if (gx) x = gx;
      if (gy) y = gy;
      grown = gx && gy;
      if (!grown) break;
    }
    x[count] = step, y[count] = loss, count++;
  }
  fclose(f);
  if (!grown) {
    free(x);
    free(y);
    return fm_fail(FM_ERR_NOMEM, "out of host memory reading %s", path);
  }
  *steps = x;
  *losses = y;
  *n = (int)count;
  return FM_OK;
}

fm_status fm_rundir_write_samples(const char *path, const fm_samples *s,
                                  const char *const *columns) {
  fm_points p = {.x = s->x, .label = s->labels, .n = s->n, .dim = s->dim, .names = (char **)columns};
  return fm_points_write_csv(&p, path, s->labels != NULL);
}

fm_status fm_rundir_write_trajectories(const char *path, const fm_samples *s,
                                       const char *const *columns) {
  const float *traj = s->trajectory;
  const double *times = s->times;
  int n_times = s->n_times, n = s->n, dim = s->dim;
  fm_file f;
  fm_status st = fm_file_begin(&f, path, "w");
  if (st != FM_OK) return st;
  fprintf(f.f, "t,point");
  for (int d = 0; d < dim; d++) {
    if (columns && columns[d][0]) fprintf(f.f, ",%s", columns[d]);
    else fprintf(f.f, ",x%d", d);
  }
  fputc('\n', f.f);
  for (int j = 0; j < n_times; j++)
    for (int i = 0; i < n; i++) {
      fprintf(f.f, "%.6g,%d", times[j], i);
      const float *row = traj + ((size_t)j * n + i) * dim;
      for (int d = 0; d < dim; d++) fprintf(f.f, ",%.9g", row[d]);
      fputc('\n', f.f);
    }
  return fm_file_commit(&f);
}

static int by_time(const void *a, const void *b) {
  double x = ((const fm_profile_entry *)a)->seconds, y = ((const fm_profile_entry *)b)->seconds;
  return (x < y) - (x > y);
}

fm_status fm_rundir_write_profile(const char *path, fm_device *dev, long steps,
                                  const fm_step_commands *commands, const fm_reporter *report) {
  fm_status st = FM_OK;
  const fm_profile_entry *entries;
  int n = 0;
  fm_profile_entry *sorted = NULL;
  char *table = NULL;
  size_t table_len = 0;
  FILE *t = NULL;
  fm_file f = {0};
  FM_TRY(fm_device_profile(dev, &entries, &n));
  sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
  t = open_memstream(&table, &table_len);
  if (!sorted || !t) {
    st = fm_fail(FM_ERR_NOMEM, "out of memory");
    goto fail;
  }
  memcpy(sorted, entries, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, by_time);
  double total = 0;
  for (int i = 0; i < n; i++) total += sorted[i].seconds;
  FM_TRY(fm_file_begin(&f, path, "w"));
  fprintf(f.f, "command,calls_per_step,us_per_call,us_per_step,share\n");
  fprintf(t, "device time per training step (%ld steps profiled, %.1f us per step; %.1f kernel "
          "launches and %.1f CLBlast calls per step):\n", steps,
          steps ? 1e6 * total / (double)steps : 0.0, commands->launches, commands->library_calls);
  fprintf(t, "  %-32s %8s %10s %10s %7s", "command", "calls", "us/call", "us/step", "share");
  for (int i = 0; i < n; i++) {
    const fm_profile_entry *e = &sorted[i];
    double per_step = steps ? 1e6 * e->seconds / (double)steps : 0.0;
    double calls = steps ? (double)e->count / (double)steps : 0.0;
    double share = total > 0 ? e->seconds / total : 0.0;
    double per_call = 1e6 * e->seconds / (double)e->count;
    fprintf(t, "\n  %-32s %8.2f %10.1f %10.1f %6.1f%%", e->label, calls, per_call, per_step,
            100 * share);
    fprintf(f.f, "%s,%.3f,%.3f,%.3f,%.5f\n", e->label, calls, per_call, per_step, share);
  }
  fclose(t);
  t = NULL;
  fm_report(report, FM_REPORT_INFO, "%s", table);
  st = fm_file_commit(&f);
fail:
  if (st != FM_OK) fm_file_abort(&f);
  if (t) fclose(t);
  free(table);
  free(sorted);
  return st;
}

static void number_or_null(cJSON *obj, const char *key, double value, int known) {
  if (known) cJSON_AddNumberToObject(obj, key, value);
  else cJSON_AddNullToObject(obj, key);
}

fm_status fm_rundir_write_summary(const char *path, const fm_run_summary *s) {
  const fm_config *cfg = s->cfg;
  const fm_device_info *d = fm_device_get_info(s->dev);
  const fm_eval_report *ev = s->eval;
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
  cJSON_AddStringToObject(jd, "gemm", s->gemm);
  cJSON *jm = cJSON_AddObjectToObject(root, "model");
  cJSON_AddNumberToObject(jm, "parameters", (double)s->parameters);
  cJSON_AddNumberToObject(jm, "dim", s->dim);
  cJSON *jt = cJSON_AddObjectToObject(root, "train");
  cJSON_AddNumberToObject(jt, "steps", cfg->train.steps);
  cJSON_AddNumberToObject(jt, "batch", cfg->train.batch);
  cJSON_AddNumberToObject(jt, "ranks", s->ranks > 0 ? s->ranks : 1);
  if (s->ranks > 1) {
    cJSON_AddNumberToObject(jt, "allreduce_ms_per_step", 1e3 * s->allreduce_s);
    cJSON_AddNumberToObject(jt, "gradient_copy_ms_per_step", 1e3 * s->gradient_copy_s);
  }
  /* What was not measured (no step trained or timed, no point sampled) is null, not 0. */
  number_or_null(jt, "final_loss", s->final_loss, isfinite(s->final_loss));
  number_or_null(jt, "steps_per_s", s->steps_per_s, s->steps_per_s > 0);
  /* Forward 2 flops per multiply-add, backward twice the forward. */
  double flops = 6.0 * s->macs_per_row * cfg->train.batch;
  number_or_null(jt, "model_gflops_per_s", s->steps_per_s * flops * 1e-9, s->steps_per_s > 0);
  number_or_null(jt, "kernel_launches_per_step", s->per_step.launches, s->steps_per_s > 0);
  number_or_null(jt, "clblast_calls_per_step", s->per_step.library_calls, s->steps_per_s > 0);
  if (s->ot_solver) cJSON_AddStringToObject(jt, "ot_solver", s->ot_solver);
  if (s->ot_steps > 0)
    cJSON_AddNumberToObject(jt, "ot_coupling_ms_per_step", 1e3 * s->ot_seconds / (double)s->ot_steps);
  if (s->plan_error >= 0) cJSON_AddNumberToObject(jt, "sinkhorn_marginal_error", s->plan_error);
  if (cfg->reflow.teacher[0]) {
    cJSON *jr = cJSON_AddObjectToObject(root, "reflow");
    cJSON_AddStringToObject(jr, "teacher", cfg->reflow.teacher);
    cJSON_AddStringToObject(jr, "kind", cfg->train.time_sampling == FM_TIME_START ? "distill"
                                                                                   : "reflow");
    cJSON_AddNumberToObject(jr, "generation", cfg->reflow.generation);
    cJSON_AddNumberToObject(jr, "pairs", cfg->reflow.pairs);
    cJSON_AddStringToObject(jr, "solver", fm_solver_name(cfg->reflow.solver));
  }
  cJSON *js = cJSON_AddObjectToObject(root, "sample");
  cJSON_AddStringToObject(js, "solver", fm_solver_name(cfg->sample.solver));
  cJSON_AddNumberToObject(js, "steps", cfg->sample.steps);
  fm_sample_params sp = fm_recipe_sample(cfg);
  if (cfg->sample.solver != FM_SOLVER_DOPRI5 && fm_sample_grid_is_uniform(&sp) &&
      sp.steps >= FM_MAX_GRID) {
    cJSON_AddStringToObject(js, "grid", "uniform"); /* too many times to list */
  } else if (cfg->sample.solver != FM_SOLVER_DOPRI5) { /* the exact times of the steps */
    cJSON *grid = cJSON_AddArrayToObject(js, "grid");
    for (int i = 0; grid && i <= sp.steps; i++)
      cJSON_AddItemToArray(grid, cJSON_CreateNumber(fm_sample_grid_time(&sp, i)));
  }
  cJSON_AddNumberToObject(js, "n", s->n_samples);
  cJSON_AddNumberToObject(js, "nfe", (double)s->nfe);
  number_or_null(js, "straightness_saved_states", s->straightness, s->straightness >= 0);
  number_or_null(js, "kernel_launches_per_nfe", s->per_nfe.launches, s->nfe > 0);
  number_or_null(js, "clblast_calls_per_nfe", s->per_nfe.library_calls, s->nfe > 0);
  number_or_null(js, "points_per_s", s->sample_s > 0 ? s->n_samples / s->sample_s : 0,
                 s->n_samples > 0 && s->sample_s > 0);
  if (cfg->sample.solver == FM_SOLVER_DOPRI5) {
    cJSON_AddNumberToObject(js, "rtol", cfg->sample.rtol);
    cJSON_AddNumberToObject(js, "atol", cfg->sample.atol);
  }
  if (ev->has_likelihood) {
    cJSON *jl = cJSON_AddObjectToObject(root, "likelihood");
    cJSON_AddNumberToObject(jl, "nll_nats", ev->nll);
    cJSON_AddNumberToObject(jl, "bits_per_dim", ev->bits_per_dim);
    if (ev->dequantize > 0) cJSON_AddNumberToObject(jl, "dequantized_bin", ev->dequantize);
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
  cJSON_AddNumberToObject(jtm, "setup", s->setup_s);
  cJSON_AddNumberToObject(jtm, "kernel_build", fm_device_build_seconds(s->dev));
  cJSON_AddNumberToObject(jtm, "first_step", s->first_step_s);
  cJSON_AddNumberToObject(jtm, "train", s->train_s);
  cJSON_AddNumberToObject(jtm, "sample", s->sample_s);
  cJSON_AddNumberToObject(jtm, "total", s->total_s);
  cJSON_AddNumberToObject(root, "peak_device_bytes", (double)fm_device_bytes_peak(s->dev));
  fm_status st = fm_write_json(path, root);
  cJSON_Delete(root);
  return st;
}
