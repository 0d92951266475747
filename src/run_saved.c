/* The commands on a saved model: sampling again from a checkpoint, the likelihood of
 * points under one, and a new model trained on its pairs (reflow, distillation). */
#include "fmcl/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/checkpoint.h"
#include "fmcl/dataset.h"
#include "fmcl/engine.h"
#include "fmcl/evaluate.h"
#include "fmcl/progress.h"
#include "fmcl/recipe.h"
#include "fmcl/reflow.h"
#include "fmcl/rundir.h"
#include "fmcl/safetensors.h"
#include "fmcl/sample.h"
#include "internal.h"

/* The keys a command on a saved model takes: the rest are the trained model's. A key
 * ending in '.' stands for its whole section. */
static const char *const sample_keys[] = {
    "sample.solver", "sample.steps",    "sample.n",     "sample.batch", "sample.rtol",
    "sample.atol",   "sample.guidance", "sample.class", "sample.times", "sample.time_shift",
    "sample.save_every", "seed",        "output.dir",   "output.plots", "output.plot_format",
    "device.",           NULL};
static const char *const likelihood_keys[] = {
    "eval.solver", "eval.probes",  "eval.rtol", "eval.atol",         "eval.divergence",
    "eval.steps",  "eval.n",       "seed",      "data.label_column", "data.key", "sample.batch",
    "device.",     NULL};

/* A model file: fmcl's checkpoint, or a safetensors file fmcl exported. */
static fm_status load_model_file(const char *path, fm_checkpoint *ck) {
  return fm_safetensors_is_named(path) ? fm_safetensors_load(path, ck)
                                       : fm_checkpoint_load(path, ck);
}

/* Whether one of the overrides sets key. */
static int overrides_key(const char *const *overrides, int n, const char *key) {
  size_t len = strlen(key);
  for (int i = 0; i < n; i++)
    if (strncmp(overrides[i], key, len) == 0 && overrides[i][len] == '=') return 1;
  return 0;
}

/* The checkpoint's config with a command's overrides applied and checked. A training
 * run's time grid gives way to the steps or the adaptive solver an override asks for. */
static fm_status checkpoint_config(const fm_checkpoint *ck, const char *command,
                                   const char *const *overrides, int n_overrides,
                                   const char *const *allowed, fm_config *cfg) {
  *cfg = ck->config;
  fm_status st = fm_config_set_only(cfg, overrides, n_overrides, allowed, command);
  int own_grid = overrides_key(overrides, n_overrides, "sample.times");
  if (st == FM_OK && !own_grid && overrides_key(overrides, n_overrides, "sample.steps"))
    cfg->sample.n_times = 0;
  if (st == FM_OK && cfg->sample.solver == FM_SOLVER_DOPRI5 && !own_grid &&
      !overrides_key(overrides, n_overrides, "sample.time_shift"))
    cfg->sample.n_times = 0, cfg->sample.time_shift = 1.0;
  if (st == FM_OK) st = fm_config_validate(cfg);
  if (st != FM_OK) fm_fail_context(st, "%s: ", command);
  return st;
}

/* Image samples also as a picture: X.png (X.svg, X.pdf: output.plot_format) next to X.csv,
 * under the same rule for an existing file; its path is settled before sampling. */
static fm_status image_file(const fm_config *cfg, const char *csv_path,
                            const fm_run_options *opt, char *path, size_t size) {
  char want[1300];
  size_t len = strlen(csv_path);
  int csv = len > 4 && strcmp(csv_path + len - 4, ".csv") == 0;
  snprintf(want, sizeof want, "%.*s.%s", (int)(csv ? len - 4 : len), csv_path,
           fm_plot_format_names[cfg->output.plot_format]);
  return fm_output_file(want, 1, opt->overwrite, "--out", path, size);
}

static fm_status write_images(const fm_config *cfg, const fm_samples *smp, const char *path,
                              const fm_run_options *opt) {
  char title[128];
  if (cfg->model.classes > 0 && smp->labels)
    snprintf(title, sizeof title, "Samples at guidance %g, a row per class", cfg->sample.guidance);
  else
    snprintf(title, sizeof title, "Samples");
  fm_status st = fm_evaluate_sample_images(cfg, smp->x, smp->labels, smp->n, smp->dim, title, path);
  if (st == FM_OK) fm_report(opt->report, FM_REPORT_INFO, "images: %s", path);
  return st;
}

fm_status fm_run_sample(const char *checkpoint, const char *const *overrides, int n_overrides,
                        const char *out_path, const fm_run_options *opt, char *written,
                        size_t written_size) {
  fm_status st = FM_OK;
  fm_checkpoint ck;
  fm_engine *engine = NULL;
  fm_points source = {0};
  fm_samples smp = {0};
  fm_config cfg;
  char folder[1024], want[1200], path[1200];
  memset(&ck, 0, sizeof ck);
  FM_TRY(load_model_file(checkpoint, &ck));
  FM_TRY(checkpoint_config(&ck, "sample", overrides, n_overrides, sample_keys, &cfg));
  if (cfg.sample.n < 1) {
    st = fm_fail(FM_ERR_CONFIG, "sample: sample.n must be positive");
    goto fail;
  }
  if (!out_path) {
    /* Next to the model, or in output.dir; never over an earlier file. */
    fm_strlcpy(folder, cfg.output.dir[0] ? cfg.output.dir : checkpoint, sizeof folder);
    char *slash = cfg.output.dir[0] ? NULL : strrchr(folder, '/');
    if (slash) *slash = '\0';
    else if (!cfg.output.dir[0]) fm_strlcpy(folder, ".", sizeof folder);
    FM_TRY(fm_make_dirs(folder));
    fm_sample_params grid = fm_recipe_sample(&cfg);
    if (cfg.sample.solver == FM_SOLVER_DOPRI5)
      snprintf(want, sizeof want, "%s/samples-dopri5-n%d.csv", folder, cfg.sample.n);
    else if (!fm_sample_grid_is_uniform(&grid))
      snprintf(want, sizeof want, "%s/samples-%s-grid%d-n%d.csv", folder,
               fm_solver_name(cfg.sample.solver), grid.steps, cfg.sample.n);
    else
      snprintf(want, sizeof want, "%s/samples-%s%d-n%d.csv", folder,
               fm_solver_name(cfg.sample.solver), cfg.sample.steps, cfg.sample.n);
  }
  FM_TRY(fm_output_file(out_path ? out_path : want, out_path != NULL, opt->overwrite, "--out",
                        path, sizeof path));
  /* The trajectory only when asked for: it holds every saved state of every point. It goes
   * to X-trajectory.csv next to X.csv, under the same rule for an existing file. */
  int trajectory = overrides_key(overrides, n_overrides, "sample.save_every") &&
                   cfg.sample.save_every > 0;
  char traj_path[1300] = "";
  if (trajectory) {
    size_t len = strlen(path);
    int csv = len > 4 && strcmp(path + len - 4, ".csv") == 0;
    snprintf(want, sizeof want, "%.*s-trajectory.csv", (int)(csv ? len - 4 : len), path);
    FM_TRY(fm_output_file(want, 1, opt->overwrite, "--out", traj_path, sizeof traj_path));
  }
  char image_path[1300] = "";
  if (cfg.output.n_image_shape == 2 && cfg.output.plots)
    FM_TRY(image_file(&cfg, path, opt, image_path, sizeof image_path));
  fm_engine_options eo = {.profiling = opt->profile, .report = opt->report};
  FM_TRY(fm_engine_open(&cfg, &eo, &engine));
  int rows = cfg.sample.n < cfg.sample.batch ? cfg.sample.n : cfg.sample.batch;
  FM_TRY(fm_engine_load_model(engine, &ck, rows, checkpoint));
  FM_TRY(fm_dataset_load_source(&cfg, ck.mean, ck.std, ck.dim, &source));
  fm_sample_params sp = fm_recipe_sample(&cfg);
  if (!trajectory) sp.save_every = 0;
  sp.source = source.x;
  sp.n_source = source.n;
  sp.stop = opt->stop;
  sp.report = opt->report;
  double build0 = fm_device_build_seconds(fm_engine_device(engine));
  fm_fault_phase(opt->hooks, "sample");
  FM_TRY(fm_sample_draw(fm_engine_model(engine), &sp, ck.mean, ck.std, &smp));
  double build = fm_device_build_seconds(fm_engine_device(engine)) - build0;
  FM_TRY(fm_rundir_write_samples(path, &smp, (const char *const *)ck.columns));
  if (image_path[0]) FM_TRY(write_images(&cfg, &smp, image_path, opt));
  if (trajectory) {
    FM_TRY(fm_rundir_write_trajectories(traj_path, &smp, (const char *const *)ck.columns));
    double s = fm_samples_straightness(&smp);
    if (s >= 0)
      fm_report(opt->report, FM_REPORT_INFO, "trajectory at %d times: %s; straightness S %.6g "
                "(0: straight paths)", smp.n_times, traj_path, s);
    else
      fm_report(opt->report, FM_REPORT_INFO, "trajectory at %d times: %s (the straightness "
                "needs at least two steps between them)", smp.n_times, traj_path);
  }
  char how[512];
  fm_sample_describe(&sp, how, sizeof how);
  fm_report(opt->report, FM_REPORT_INFO,
            "sampled %d points from %s (step %llu) with %s (NFE %ld) in %.3f s (%.3f s of it "
            "building kernels): %s",
            smp.n, checkpoint, (unsigned long long)ck.step, how, smp.nfe, smp.seconds, build, path);
  if (written) fm_strlcpy(written, path, written_size);
fail:
  fm_samples_free(&smp);
  fm_points_free(&source);
  fm_engine_destroy(engine);
  fm_checkpoint_free(&ck);
  return st;
}

fm_status fm_run_likelihood(const char *checkpoint, const char *const *overrides, int n_overrides,
                            const char *data_path, const char *out_path,
                            const fm_run_options *opt) {
  fm_status st = FM_OK;
  fm_checkpoint ck;
  fm_engine *engine = NULL;
  fm_points data = {0};
  double *logp = NULL;
  fm_config cfg;
  char out[1200];
  memset(&ck, 0, sizeof ck);
  FM_TRY(load_model_file(checkpoint, &ck));
  FM_TRY(checkpoint_config(&ck, "likelihood", overrides, n_overrides, likelihood_keys, &cfg));
  if (fm_recipe_source_name(&cfg)) {
    st = fm_fail(FM_ERR_CONFIG, "likelihood: the model in %s carries %s to the data; a "
                 "likelihood needs the density of the source, and only N(0, I) has one here",
                 checkpoint, fm_recipe_source_name(&cfg));
    goto fail;
  }
  if (out_path) FM_TRY(fm_output_file(out_path, 1, opt->overwrite, "--out", out, sizeof out));
  st = fm_dataset_load_points(&cfg, data_path, &data);
  if (st != FM_OK) {
    fm_fail_context(st, "likelihood: ");
    goto fail;
  }
  if (data.dim != ck.dim) {
    st = fm_fail(FM_ERR_INVALID, "likelihood: %s has points of dimension %d but the model in %s "
                 "takes dimension %d", data_path ? data_path : "the held-out data", data.dim,
                 checkpoint, ck.dim);
    goto fail;
  }
  int n = data.n < cfg.eval.n ? data.n : cfg.eval.n; /* the first eval.n points */
  if (n < 1) {
    st = fm_fail(FM_ERR_CONFIG, "likelihood: eval.n is 0; set it to how many points to judge");
    goto fail;
  }
  fm_engine_options eo = {.profiling = opt->profile, .report = opt->report};
  FM_TRY(fm_engine_open(&cfg, &eo, &engine));
  int rows = n < cfg.sample.batch ? n : cfg.sample.batch;
  FM_TRY(fm_engine_load_model(engine, &ck, rows, checkpoint));
  logp = malloc((size_t)n * sizeof *logp);
  if (!logp) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory");
    goto fail;
  }
  fm_eval_inputs in = {.mlp = fm_engine_model(engine), .cfg = &cfg, .test = &data,
                       .mean = ck.mean, .std = ck.std, .report = opt->report, .stop = opt->stop};
  long nfe = 0;
  int exact = 0;
  double t0 = fm_seconds();
  fm_fault_phase(opt->hooks, "likelihood");
  FM_TRY(fm_evaluate_log_likelihood(&in, data.x, cfg.model.classes > 0 ? data.label : NULL, n,
                                    logp, &nfe, &exact));
  double nll = 0;
  for (int i = 0; i < n; i++) nll -= logp[i] / n;
  if (out_path) {
    fm_file f;
    FM_TRY(fm_file_begin(&f, out, "w"));
    fprintf(f.f, "log_likelihood\n");
    for (int i = 0; i < n; i++) fprintf(f.f, "%.9g\n", logp[i]);
    FM_TRY(fm_file_commit(&f));
  }
  fm_report(opt->report, FM_REPORT_INFO, "%d points of %s: NLL %.4f nats, %.4f bits/dim (%s "
            "divergence, %s, NFE %ld, %.1f s)%s%s", n,
            data_path ? data_path : "the held-out split", nll, nll / (data.dim * log(2.0)),
            exact ? "exact" : "Hutchinson", fm_solver_name(cfg.eval.solver), nfe,
            fm_seconds() - t0, out_path ? "; per point: " : "", out_path ? out : "");
  fm_report(opt->report, FM_REPORT_RESULT, "%.9g", nll);
fail:
  free(logp);
  fm_engine_destroy(engine);
  fm_points_free(&data);
  fm_checkpoint_free(&ck);
  return st;
}

fm_status fm_run_reflow(const char *checkpoint, int distill, const char *const *overrides,
                        int n_overrides, const fm_run_options *opt, fm_run_result *res) {
  fm_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  fm_status st = fm_checkpoint_load(checkpoint, &ck);
  if (st != FM_OK) return st;
  fm_config cfg;
  fm_points train = {0}, test = {0};
  st = fm_reflow_config(&ck.config, checkpoint, distill, overrides, n_overrides, &cfg);
  /* The teacher checked against the data before a run folder is claimed. */
  if (st == FM_OK) {
    st = fm_dataset_load_split(&cfg, &train, &test);
    if (st == FM_OK) st = fm_reflow_check_teacher(&cfg, &ck, train.dim);
    if (st != FM_OK) fm_fail_context(st, "%s: ", distill ? "distill" : "reflow");
  }
  fm_points_free(&train);
  fm_points_free(&test);
  fm_checkpoint_free(&ck);
  if (st != FM_OK) return st;
  return fm_run_experiment(&cfg, opt, res);
}

fm_status fm_run_export(const char *checkpoint, const char *out_path, int raw,
                        const fm_run_options *opt) {
  fm_status st = FM_OK;
  fm_checkpoint ck;
  char path[1200];
  memset(&ck, 0, sizeof ck);
  FM_TRY(fm_output_file(out_path, 1, opt->overwrite, "--out", path, sizeof path));
  FM_TRY(fm_checkpoint_load(checkpoint, &ck));
  FM_TRY(fm_safetensors_export(&ck, raw, path));
  fm_report(opt->report, FM_REPORT_INFO, "wrote the %s weights of %s (step %llu, %d layers) to %s",
            raw || !ck.ema ? "trained" : "EMA", checkpoint, (unsigned long long)ck.step,
            ck.n_layers, path);
fail:
  fm_checkpoint_free(&ck);
  return st;
}
