/* The commands as sequences of the modules below: open the engine and the data, train,
 * sample, evaluate and write the run folder. */
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
#include "fmcl/rundir.h"
#include "fmcl/sample.h"
#include "fmcl/train.h"
#include "internal.h"

static fm_engine_options engine_options(const fm_run_options *opt) {
  fm_engine_options o = {.profiling = opt->profile, .report = opt->report};
  return o;
}

/* Tells the tests' hooks that a phase begins. */
static void begin_phase(const fm_run_options *opt, const char *phase) {
  if (opt->hooks && opt->hooks->phase) opt->hooks->phase(opt->hooks->ctx, phase);
}

/* A phase after training that was stopped: what it was doing, and what is kept. */
static fm_status stopped_after_training(fm_status st, const char *doing, const char *dir) {
  if (st != FM_ERR_INTERRUPTED) return st;
  char why[2048];
  fm_strlcpy(why, fm_error_message(), sizeof why);
  return fm_fail(st, "interrupted while %s (%s); the trained model is kept in %s/model.fmck "
                 "(fmcl sample and fmcl likelihood work from it); no summary.json was written",
                 doing, why, dir);
}

/* The run folder's samples.csv and trajectories.csv. */
static fm_status write_samples(const char *dir, const fm_samples *s,
                               const char *const *columns) {
  char path[1200];
  snprintf(path, sizeof path, "%s/samples.csv", dir);
  fm_status st = fm_rundir_write_samples(path, s, columns);
  if (st != FM_OK || !s->n_times) return st;
  snprintf(path, sizeof path, "%s/trajectories.csv", dir);
  return fm_rundir_write_trajectories(path, s, columns);
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

/* The name of the data set a config's model starts from, or NULL for N(0, I). */
static const char *source_name(const fm_config *cfg) {
  return cfg->source.name[0] ? cfg->source.name : cfg->source.path[0] ? cfg->source.path : NULL;
}

/* Sampling, metrics, likelihood and plots of a trained model, after training. */
static fm_status judge(const fm_config *cfg, const fm_run_options *opt, const char *dir,
                       const fm_dataset *data, fm_mlp *mlp, fm_samples *smp, fm_eval_report *ev) {
  fm_status st = FM_OK;
  const fm_reporter *r = opt->report;
  double *loss_steps = NULL, *losses = NULL;
  int n_losses = 0;
  if (cfg->sample.n > 0) {
    begin_phase(opt, "sample");
    fm_sample_params sp = fm_recipe_sample(cfg);
    sp.source = data->source.x;
    sp.n_source = data->source.n;
    sp.stop = opt->stop;
    sp.report = r;
    st = stopped_after_training(fm_sample_draw(mlp, &sp, data->mean, data->std, smp), "sampling",
                                dir);
    FM_TRY(st);
    FM_TRY(write_samples(dir, smp, (const char *const *)data->train.names));
    char how[96];
    fm_sample_describe(&sp, how, sizeof how);
    fm_report(r, FM_REPORT_INFO, "sampled %d points with %s (NFE %ld) in %.2f s", smp->n, how,
              smp->nfe, smp->seconds);
  }
  FM_TRY(fm_train_log_read(dir, &loss_steps, &losses, &n_losses));
  fm_eval_inputs ein = {.mlp = mlp, .cfg = cfg, .test = &data->test, .samples = smp->x,
                        .n_samples = smp->n, .mean = data->mean, .std = data->std,
                        .trajectory = smp->trajectory, .n_times = smp->n_times,
                        .loss_steps = loss_steps, .losses = losses, .n_losses = n_losses,
                        .source = source_name(cfg),
                        .columns = (const char *const *)data->test.names, .report = r,
                        .stop = opt->stop};
  begin_phase(opt, "metrics");
  FM_TRY(stopped_after_training(fm_evaluate_metrics(&ein, ev), "measuring the samples", dir));
  begin_phase(opt, "likelihood");
  if (ein.source && cfg->eval.likelihood)
    fm_report(r, FM_REPORT_INFO, "no likelihood: the source is a data set, whose density is "
              "unknown");
  FM_TRY(stopped_after_training(fm_evaluate_likelihood(&ein, ev),
                                "computing the held-out likelihood", dir));
  report_evaluation(r, ev);
  if (cfg->output.plots) {
    begin_phase(opt, "plots");
    double t0 = fm_seconds();
    FM_TRY(stopped_after_training(fm_evaluate_plots(&ein, dir), "drawing the plots", dir));
    fm_report(r, FM_REPORT_INFO, "plots written in %.1f s", fm_seconds() - t0);
  }
fail:
  free(loss_steps);
  free(losses);
  return st;
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
  double t_begin = fm_seconds();
  memset(res, 0, sizeof *res);
  res->final_loss = NAN;

  FM_TRY(fm_config_validate(cfg));
  FM_TRY(fm_rundir_claim(cfg, opt->resume, opt->overwrite, r, dir, sizeof dir));
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
  FM_TRY(fm_trainer_create(mlp, cfg, &data.train, data.source.x ? &data.source : NULL, &tr));
  fm_report(r, FM_REPORT_INFO, "data %s: %d training, %d held-out points of dimension %d%s; "
            "model: %zu parameters; %d steps of batch %d",
            cfg->data.path[0] ? cfg->data.path : cfg->data.name, data.train.n, data.test.n,
            data.train.dim, data.mean ? " (standardized)" : "", fm_mlp_param_count(mlp),
            cfg->train.steps, cfg->train.batch);
  double setup_s = fm_seconds() - t_begin;

  fm_train_loop_params lp = {.cfg = cfg, .dir = dir, .trainer = tr, .mlp = mlp,
                             .mean = data.mean, .std = data.std,
                             .columns = (const char *const *)data.train.names, .resume = opt->resume,
                             .live = opt->live, .profile = opt->profile, .report = r,
                             .stop = opt->stop, .hooks = opt->hooks};
  fm_train_loop_result tl;
  FM_TRY(fm_train_loop_run(&lp, &tl));
  fm_step_commands per_step;
  fm_trainer_commands(tr, &per_step.launches, &per_step.library_calls);
  if (opt->profile) {
    snprintf(path, sizeof path, "%s/profile.csv", dir);
    FM_TRY(fm_rundir_write_profile(path, fm_engine_device(engine), tl.steps_timed, &per_step, r));
  }
  res->final_loss = tl.final_loss;
  res->train_steps_per_s = tl.train_s > 0 ? (double)tl.steps_timed / tl.train_s : 0;
  if ((uint64_t)cfg->train.steps >= tl.first_step)
    fm_report(r, FM_REPORT_INFO, "trained %llu steps in %.1f s (%.1f steps/s after a first step "
              "of %.2f s); final loss %.4f",
              (unsigned long long)((uint64_t)cfg->train.steps - tl.first_step + 1),
              tl.train_s + tl.first_step_s, res->train_steps_per_s, tl.first_step_s,
              tl.final_loss);

  FM_TRY(fm_trainer_use_ema(tr));
  fm_eval_report ev = {0};
  FM_TRY(judge(cfg, opt, dir, &data, mlp, &smp, &ev));
  if (fm_stop_requested(opt->stop)) {
    st = fm_fail(FM_ERR_INTERRUPTED, "interrupted after evaluating; the trained model is kept "
                 "in %s/model.fmck; no summary.json was written", dir);
    goto fail;
  }
  fm_run_summary sum = {.cfg = cfg, .dev = fm_engine_device(engine),
                        .gemm = fm_engine_gemm_name(engine),
                        .parameters = fm_mlp_param_count(mlp), .dim = data.train.dim,
                        .macs_per_row = fm_mlp_macs_per_row(mlp), .final_loss = tl.final_loss,
                        .steps_per_s = res->train_steps_per_s, .per_step = per_step,
                        .n_samples = smp.n, .nfe = smp.nfe,
                        .per_nfe = {smp.launches_per_nfe, smp.library_calls_per_nfe}, .eval = &ev, .setup_s = setup_s,
                        .first_step_s = tl.first_step_s, .train_s = tl.train_s,
                        .sample_s = smp.seconds, .total_s = fm_seconds() - t_begin};
  sum.ot_seconds = fm_path_coupling_seconds(fm_trainer_path(tr), &sum.ot_steps);
  res->nfe = smp.nfe;
  snprintf(path, sizeof path, "%s/summary.json", dir);
  FM_TRY(fm_rundir_write_summary(path, &sum));
  fm_report(r, FM_REPORT_INFO, "run folder: %s", dir);

fail:
  fm_samples_free(&smp);
  free(json);
  fm_trainer_destroy(tr);
  fm_dataset_free(&data);
  fm_engine_destroy(engine);
  return st;
}

/* The keys a command on a saved model takes: the rest are the trained model's. A key
 * ending in '.' stands for its whole section. */
static const char *const sample_keys[] = {
    "sample.solver", "sample.steps",    "sample.n",     "sample.batch", "sample.rtol",
    "sample.atol",   "sample.guidance", "sample.class", "seed",         "output.dir",
    "device.",       NULL};
static const char *const likelihood_keys[] = {
    "eval.solver", "eval.probes",  "eval.rtol", "eval.atol",         "eval.divergence",
    "eval.steps",  "eval.n",       "seed",      "data.label_column", "sample.batch",
    "device.",     NULL};

/* The checkpoint's config with a command's overrides applied and checked. */
static fm_status checkpoint_config(const fm_checkpoint *ck, const char *command,
                                   const char *const *overrides, int n_overrides,
                                   const char *const *allowed, fm_config *cfg) {
  *cfg = ck->config;
  fm_status st = fm_config_set_only(cfg, overrides, n_overrides, allowed, command);
  if (st == FM_OK) st = fm_config_validate(cfg);
  if (st != FM_OK) fm_fail_context(st, "%s: ", command);
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
  FM_TRY(fm_checkpoint_load(checkpoint, &ck));
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
    if (cfg.sample.solver == FM_SOLVER_DOPRI5)
      snprintf(want, sizeof want, "%s/samples-dopri5-n%d.csv", folder, cfg.sample.n);
    else
      snprintf(want, sizeof want, "%s/samples-%s%d-n%d.csv", folder,
               fm_solver_name(cfg.sample.solver), cfg.sample.steps, cfg.sample.n);
  }
  FM_TRY(fm_output_file(out_path ? out_path : want, out_path != NULL, opt->overwrite, "--out",
                        path, sizeof path));
  fm_engine_options eo = engine_options(opt);
  FM_TRY(fm_engine_open(&cfg, &eo, &engine));
  int rows = cfg.sample.n < cfg.sample.batch ? cfg.sample.n : cfg.sample.batch;
  FM_TRY(fm_engine_load_model(engine, &ck, rows, checkpoint));
  FM_TRY(fm_dataset_load_source(&cfg, ck.mean, ck.std, ck.dim, &source));
  fm_sample_params sp = fm_recipe_sample(&cfg);
  sp.save_every = 0;
  sp.source = source.x;
  sp.n_source = source.n;
  sp.stop = opt->stop;
  sp.report = opt->report;
  double build0 = fm_device_build_seconds(fm_engine_device(engine));
  begin_phase(opt, "sample");
  FM_TRY(fm_sample_draw(fm_engine_model(engine), &sp, ck.mean, ck.std, &smp));
  double build = fm_device_build_seconds(fm_engine_device(engine)) - build0;
  FM_TRY(fm_rundir_write_samples(path, &smp, (const char *const *)ck.columns));
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
  char path[1200], unused[1200];
  snprintf(path, sizeof path, "%s/train.csv", dir);
  FM_TRY(fm_output_file(path, 1, opt->overwrite, "--out folder", unused, sizeof unused));
  FM_TRY(fm_make_dirs(dir));
  FM_TRY(fm_dataset_load_split(cfg, &train, &test));
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
  char out[1200];
  memset(&ck, 0, sizeof ck);
  FM_TRY(fm_checkpoint_load(checkpoint, &ck));
  FM_TRY(checkpoint_config(&ck, "likelihood", overrides, n_overrides, likelihood_keys, &cfg));
  if (source_name(&cfg)) {
    st = fm_fail(FM_ERR_CONFIG, "likelihood: the model in %s carries %s to the data; a "
                 "likelihood needs the density of the source, and only N(0, I) has one here",
                 checkpoint, source_name(&cfg));
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
  fm_engine_options eo = engine_options(opt);
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
  begin_phase(opt, "likelihood");
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
