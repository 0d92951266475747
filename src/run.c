/* The commands as sequences of the modules below: open the engine and the data, train,
 * sample, evaluate and write the run folder. */
#include "fmcl/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/checkpoint.h"
#include "fmcl/datafile.h"
#include "fmcl/dataset.h"
#include "fmcl/engine.h"
#include "fmcl/evaluate.h"
#include "fmcl/progress.h"
#include "fmcl/recipe.h"
#include "fmcl/rundir.h"
#include "fmcl/sample.h"
#include "fmcl/train.h"
#include "internal.h"

static fm_engine_options engine_options(const fm_run_options *opt) {
  fm_engine_options o = {.profiling = opt->profile, .report = opt->report};
  return o;
}

/* The run folder's samples.csv and trajectories.csv. */
static fm_status write_samples(const char *dir, const fm_samples *s) {
  char path[1200];
  snprintf(path, sizeof path, "%s/samples.csv", dir);
  fm_status st = fm_rundir_write_samples(path, s->x, s->labels, s->n, s->dim);
  if (st != FM_OK || !s->n_times) return st;
  snprintf(path, sizeof path, "%s/trajectories.csv", dir);
  return fm_rundir_write_trajectories(path, s->trajectory, s->times, s->n_times, s->n, s->dim);
}

static void report_evaluation(const fm_reporter *r, const fm_eval_report *ev) {
  if (ev->has_metrics)
    fm_report(r, FM_REPORT_INFO, "samples vs %d held-out points: W2 %.4f, energy distance %.4f, "
              "MMD^2 %.5f", ev->metric_points, ev->w2, ev->energy, ev->mmd2);
  if (ev->has_likelihood)
    fm_report(r, FM_REPORT_INFO, "held-out NLL %.4f nats (%.4f bits/dim) over %d points, %s "
              "divergence, NFE %ld, %.1f s", ev->nll, ev->bits_per_dim, ev->nll_points,
              ev->exact ? "exact" : "Hutchinson", ev->likelihood_nfe, ev->likelihood_seconds);
}

fm_status fm_run_experiment(const fm_config *config, const fm_run_options *opt,
                            fm_run_result *res) {
  fm_status st = FM_OK;
  fm_config resolved = *config;
  fm_config_resolve(&resolved);
  const fm_config *cfg = &resolved;
  const fm_reporter *r = opt->report;
  fm_engine *engine = NULL;
  fm_trainer *tr = NULL;
  fm_dataset data = {0};
  fm_samples smp = {0};
  char *json = NULL, dir[1024], path[1200];
  double *loss_steps = NULL, *losses = NULL;
  double t_begin = fm_seconds();
  memset(res, 0, sizeof *res);
  res->final_loss = NAN;

  FM_TRY(fm_config_validate(cfg));
  fm_config_run_dir(cfg, dir, sizeof dir);
  fm_strlcpy(res->dir, dir, sizeof res->dir);
  FM_TRY(fm_make_dirs(dir));
  json = fm_config_to_json(cfg);
  if (!json) {
    st = fm_fail(FM_ERR_NOMEM, "out of memory");
    goto fail;
  }
  snprintf(path, sizeof path, "%s/config.json", dir);
  FM_TRY(fm_write_text(path, json));

  fm_engine_options eo = engine_options(opt);
  FM_TRY(fm_engine_open(cfg, &eo, &engine));
  FM_TRY(fm_dataset_load(cfg, &data));
  snprintf(path, sizeof path, "%s/test.csv", dir);
  FM_TRY(fm_points_write_csv(&data.test, path, 0));
  int sample_rows = cfg->sample.n < cfg->sample.batch ? cfg->sample.n : cfg->sample.batch;
  int capacity = cfg->train.batch > sample_rows ? cfg->train.batch : sample_rows;
  FM_TRY(fm_engine_new_model(engine, cfg, data.train.dim, capacity));
  fm_mlp *mlp = fm_engine_model(engine);
  const fm_points *source = data.source.x ? &data.source : NULL;
  FM_TRY(fm_trainer_create(mlp, cfg, &data.train, source, &tr));
  fm_report(r, FM_REPORT_INFO, "data %s: %d training, %d held-out points of dimension %d%s; "
            "model: %zu parameters; %d steps of batch %d",
            cfg->data.path[0] ? cfg->data.path : cfg->data.name, data.train.n, data.test.n,
            data.train.dim, data.mean ? " (standardized)" : "", fm_mlp_param_count(mlp),
            cfg->train.steps, cfg->train.batch);
  double setup_s = fm_seconds() - t_begin;

  fm_train_loop_params lp = {.cfg = cfg, .dir = dir, .trainer = tr, .mlp = mlp,
                             .mean = data.mean, .std = data.std, .resume = opt->resume,
                             .live = opt->live, .profile = opt->profile, .report = r,
                             .stop = opt->stop, .hooks = opt->hooks};
  fm_train_loop_result tl;
  FM_TRY(fm_train_loop_run(&lp, &tl));
  if (opt->profile) {
    snprintf(path, sizeof path, "%s/profile.csv", dir);
    FM_TRY(fm_rundir_write_profile(path, fm_engine_device(engine), tl.steps_timed, r));
  }
  res->final_loss = tl.final_loss;
  res->train_steps_per_s = tl.train_s > 0 ? (double)tl.steps_timed / tl.train_s : 0;
  if ((uint64_t)cfg->train.steps >= tl.first_step)
    fm_report(r, FM_REPORT_INFO, "trained %llu steps in %.1f s (%.1f steps/s after a first step "
              "of %.2f s); final loss %.4f",
              (unsigned long long)((uint64_t)cfg->train.steps - tl.first_step + 1),
              tl.train_s + tl.first_step_s, res->train_steps_per_s, tl.first_step_s,
              tl.final_loss);
  if (fm_stop_requested(opt->stop)) {
    st = fm_fail(FM_ERR_INTERRUPTED, "interrupted after training; the model is saved in "
                 "%s/model.fmck", dir);
    goto fail;
  }

  FM_TRY(fm_trainer_use_ema(tr));
  if (cfg->sample.n > 0) {
    fm_sample_params sp = fm_recipe_sample(cfg);
    sp.source = data.source.x;
    sp.n_source = data.source.n;
    FM_TRY(fm_sample_draw(mlp, &sp, data.mean, data.std, &smp));
    FM_TRY(write_samples(dir, &smp));
    char how[96];
    fm_sample_describe(&sp, how, sizeof how);
    fm_report(r, FM_REPORT_INFO, "sampled %d points with %s (NFE %ld) in %.2f s", smp.n, how,
              smp.nfe, smp.seconds);
  }
  /* The likelihood needs the source's density: only N(0, I) has one here. */
  fm_config eval_cfg = *cfg;
  if (source && eval_cfg.eval.likelihood) {
    eval_cfg.eval.likelihood = 0;
    eval_cfg.eval.density_grid = 0;
    fm_report(r, FM_REPORT_INFO, "no likelihood: the source is a data set, whose density is "
              "unknown");
  }
  int n_losses = 0;
  FM_TRY(fm_train_log_read(dir, &loss_steps, &losses, &n_losses));
  fm_eval_inputs ein = {.mlp = mlp, .cfg = &eval_cfg, .test = &data.test, .samples = smp.x,
                        .n_samples = smp.n, .mean = data.mean, .std = data.std,
                        .trajectory = smp.trajectory, .n_times = smp.n_times,
                        .loss_steps = loss_steps, .losses = losses, .n_losses = n_losses};
  fm_eval_report ev;
  FM_TRY(fm_evaluate(&ein, &ev));
  report_evaluation(r, &ev);
  if (cfg->output.plots) {
    double t0 = fm_seconds();
    FM_TRY(fm_evaluate_plots(&ein, dir));
    fm_report(r, FM_REPORT_INFO, "plots written in %.1f s", fm_seconds() - t0);
  }
  fm_run_summary sum = {.cfg = cfg, .dev = fm_engine_device(engine),
                        .gemm = fm_engine_gemm_name(engine),
                        .parameters = fm_mlp_param_count(mlp), .dim = data.train.dim,
                        .macs_per_row = fm_mlp_macs_per_row(mlp), .final_loss = tl.final_loss,
                        .steps_per_s = res->train_steps_per_s, .n_samples = smp.n,
                        .nfe = smp.nfe, .eval = &ev, .setup_s = setup_s,
                        .first_step_s = tl.first_step_s, .train_s = tl.train_s,
                        .sample_s = smp.seconds, .total_s = fm_seconds() - t_begin};
  sum.ot_seconds = fm_path_coupling_seconds(fm_trainer_path(tr), &sum.ot_steps);
  res->nfe = smp.nfe;
  snprintf(path, sizeof path, "%s/summary.json", dir);
  FM_TRY(fm_rundir_write_summary(path, &sum));
  fm_report(r, FM_REPORT_INFO, "run folder: %s", dir);

fail:
  free(loss_steps);
  free(losses);
  fm_samples_free(&smp);
  free(json);
  fm_trainer_destroy(tr);
  fm_dataset_free(&data);
  fm_engine_destroy(engine);
  return st;
}

/* The checkpoint's config with the overrides a command allows applied. */
static fm_status checkpoint_config(const fm_checkpoint *ck, const char *command,
                                   const char *const *overrides, int n_overrides,
                                   const char *allowed, fm_config *cfg) {
  fm_status st = FM_OK;
  *cfg = ck->config;
  for (int i = 0; i < n_overrides; i++) FM_TRY(fm_config_set(cfg, overrides[i]));
  if (fm_config_model_hash(cfg) != ck->model_hash)
    return fm_fail(FM_ERR_CONFIG, "%s: the overrides change the trained model (its data, "
                   "architecture or training); only %s may be set", command, allowed);
fail:
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
  memset(&ck, 0, sizeof ck);
  FM_TRY(fm_checkpoint_load(checkpoint, &ck));
  FM_TRY(checkpoint_config(&ck, "sample", overrides, n_overrides,
                           "sample.*, device.*, name and output.*", &cfg));
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
  fm_engine_options eo = engine_options(opt);
  FM_TRY(fm_engine_open(&cfg, &eo, &engine));
  int rows = cfg.sample.n < cfg.sample.batch ? cfg.sample.n : cfg.sample.batch;
  FM_TRY(fm_engine_load_model(engine, &ck, rows, checkpoint));
  FM_TRY(fm_dataset_load_source(&cfg, ck.mean, ck.std, ck.dim, &source));
  fm_sample_params sp = fm_recipe_sample(&cfg);
  sp.save_every = 0;
  sp.source = source.x;
  sp.n_source = source.n;
  double build0 = fm_device_build_seconds(fm_engine_device(engine));
  FM_TRY(fm_sample_draw(fm_engine_model(engine), &sp, ck.mean, ck.std, &smp));
  double build = fm_device_build_seconds(fm_engine_device(engine)) - build0;
  FM_TRY(fm_rundir_write_samples(path, smp.x, smp.labels, smp.n, smp.dim));
  char how[96];
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

fm_status fm_run_export_data(const fm_config *cfg, const char *dir, const fm_run_options *opt) {
  fm_status st = FM_OK;
  fm_points train = {0}, test = {0};
  char path[1200];
  FM_TRY(fm_make_dirs(dir));
  FM_TRY(fm_dataset_load_split(cfg, &train, &test));
  snprintf(path, sizeof path, "%s/train.csv", dir);
  FM_TRY(fm_points_write_csv(&train, path, 1));
  snprintf(path, sizeof path, "%s/test.csv", dir);
  FM_TRY(fm_points_write_csv(&test, path, 1));
  fm_report(opt->report, FM_REPORT_INFO, "wrote %d training and %d held-out points of %s (seed "
            "%llu) to %s", train.n, test.n, cfg->data.path[0] ? cfg->data.path : cfg->data.name,
            (unsigned long long)cfg->seed, dir);
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
  fm_engine *engine = NULL;
  fm_points data = {0};
  double *logp = NULL;
  fm_config cfg;
  memset(&ck, 0, sizeof ck);
  FM_TRY(fm_checkpoint_load(checkpoint, &ck));
  FM_TRY(checkpoint_config(&ck, "likelihood", overrides, n_overrides,
                           "eval.*, sample.batch, device.*, name and output.*", &cfg));
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
  fm_engine_options eo = engine_options(opt);
  FM_TRY(fm_engine_open(&cfg, &eo, &engine));
  int rows = data.n < cfg.sample.batch ? data.n : cfg.sample.batch;
  FM_TRY(fm_engine_load_model(engine, &ck, rows, checkpoint));
  logp = malloc((size_t)data.n * sizeof *logp);
  if (!logp) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory");
    goto fail;
  }
  fm_eval_inputs in = {.mlp = fm_engine_model(engine), .cfg = &cfg, .test = &data,
                       .mean = ck.mean, .std = ck.std};
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
  fm_report(opt->report, FM_REPORT_INFO, "%d points of %s: NLL %.4f nats, %.4f bits/dim (%s "
            "divergence, %s, NFE %ld, %.1f s)%s%s", data.n,
            data_path ? data_path : "the held-out split", nll, nll / (data.dim * log(2.0)),
            exact ? "exact" : "Hutchinson", fm_solver_name(cfg.eval.solver), nfe,
            fm_seconds() - t0, out_path ? "; per point: " : "", out_path ? out_path : "");
  fm_report(opt->report, FM_REPORT_RESULT, "%.9g", nll);
fail:
  free(logp);
  fm_engine_destroy(engine);
  fm_points_free(&data);
  fm_checkpoint_free(&ck);
  return st;
}
