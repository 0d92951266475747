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
#include "fmcl/reflow.h"
#include "fmcl/rundir.h"
#include "fmcl/sample.h"
#include "fmcl/train.h"
#include "internal.h"

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
    fm_report(r, FM_REPORT_INFO, "held-out NLL %.4f nats (%.4f bits/dim%s) over %d points, %s "
              "divergence, NFE %ld, %.1f s", ev->nll, ev->bits_per_dim,
              ev->dequantize > 0 ? " of the bins, dequantized" : "", ev->nll_points,
              ev->exact ? "exact" : "Hutchinson", ev->likelihood_nfe, ev->likelihood_seconds);
}

/* The ranks' shares of the samples (mine: n_times saved times, classes when labelled) in
 * order into all, on rank 0: the points, their classes and every saved time of the
 * trajectory. A rank's share may be empty. */
static fm_status gather_samples(const fm_ranks *ranks, const fm_samples *mine, int n,
                                int labelled, int n_times, fm_samples *all) {
  fm_status st = FM_OK;
  size_t *counts = malloc((size_t)ranks->size * sizeof *counts);
  if (!counts) return fm_fail(FM_ERR_NOMEM, "out of host memory");
  size_t plane = (size_t)n * (size_t)mine->dim;
  *all = *mine; /* the description; the arrays are new on rank 0 */
  all->x = NULL, all->labels = NULL, all->trajectory = NULL, all->times = NULL;
  all->n = n;
  all->n_times = n_times;
  if (ranks->rank == 0) { /* rank 0's share is never empty */
    all->x = malloc(plane * sizeof(float));
    if (labelled) all->labels = malloc((size_t)n * sizeof(int));
    if (n_times) {
      all->trajectory = malloc((size_t)n_times * plane * sizeof(float));
      all->times = malloc((size_t)n_times * sizeof(double));
    }
    if (!all->x || (labelled && !all->labels) ||
        (n_times && (!all->trajectory || !all->times))) {
      st = fm_fail(FM_ERR_NOMEM, "out of host memory gathering %d samples", n);
      goto fail;
    }
    if (n_times) memcpy(all->times, mine->times, (size_t)n_times * sizeof(double));
  }
  for (int r = 0, first; r < ranks->size; r++) /* in floats */
    counts[r] = (size_t)fm_ranks_share(n, ranks->size, r, &first) * (size_t)mine->dim;
  FM_TRY(fm_ranks_gather(ranks, mine->x, counts, all->x));
  size_t my_plane = (size_t)mine->n * (size_t)mine->dim;
  for (int t = 0; t < n_times; t++)
    FM_TRY(fm_ranks_gather(ranks, mine->trajectory ? mine->trajectory + t * my_plane : NULL,
                           counts, all->trajectory ? all->trajectory + t * plane : NULL));
  if (labelled) { /* one int per point */
    for (int r = 0; r < ranks->size; r++) counts[r] /= (size_t)mine->dim;
    FM_TRY(fm_ranks_gather(ranks, mine->labels, counts, all->labels));
  }
  int nfe = (int)mine->nfe;
  FM_TRY(fm_ranks_max_int(ranks, &nfe));
  all->nfe = nfe;
fail:
  free(counts);
  if (st != FM_OK) fm_samples_free(all);
  return st;
}

/* This rank's share of the run's samples (the points one process draws), gathered on
 * rank 0 into smp. */
static fm_status draw_samples(const fm_config *cfg, const fm_run_options *opt,
                              const fm_ranks *ranks, const fm_dataset *data, fm_mlp *mlp,
                              fm_sample_params *sp, fm_samples *smp) {
  *sp = fm_recipe_sample(cfg);
  sp->source = data->source.x;
  sp->n_source = data->source.n;
  sp->stop = ranks->rank == 0 ? opt->stop : NULL; /* rank 0 stops the job after training */
  sp->report = opt->report;
  if (ranks->size == 1) return fm_sample_draw(mlp, sp, data->mean, data->std, smp);
  fm_status st = FM_OK;
  fm_samples mine = {.dim = fm_mlp_get_shape(mlp)->dim};
  int n_times = sp->save_every > 0 ? fm_sample_save_times(sp, NULL, 0) : 0;
  sp->n = fm_ranks_share(cfg->sample.n, ranks->size, ranks->rank, &sp->first_point);
  if (sp->n > 0) st = fm_sample_draw(mlp, sp, data->mean, data->std, &mine);
  if (st == FM_OK) st = gather_samples(ranks, &mine, cfg->sample.n, sp->classes > 0, n_times, smp);
  fm_samples_free(&mine);
  sp->n = cfg->sample.n;
  sp->first_point = 0;
  sp->labels = NULL; /* were mine's */
  return st;
}

/* Sampling, metrics, likelihood and plots of a trained model, after training: every rank
 * samples and integrates its share; rank 0 measures, draws and writes. */
static fm_status judge(const fm_config *cfg, const fm_run_options *opt, const fm_ranks *ranks,
                       const char *dir, const fm_dataset *data, fm_mlp *mlp, fm_samples *smp,
                       fm_eval_report *ev) {
  fm_status st = FM_OK;
  const fm_reporter *r = opt->report;
  int writer = ranks->rank == 0;
  double *loss_steps = NULL, *losses = NULL;
  int n_losses = 0;
  if (cfg->sample.n > 0) {
    fm_fault_phase(opt->hooks, "sample");
    fm_sample_params sp;
    FM_TRY(stopped_after_training(draw_samples(cfg, opt, ranks, data, mlp, &sp, smp),
                                  "sampling", dir));
    if (writer) FM_TRY(write_samples(dir, smp, (const char *const *)data->train.names));
    char how[512];
    fm_sample_describe(&sp, how, sizeof how);
    fm_report(r, FM_REPORT_INFO, "sampled %d points with %s (NFE %ld) in %.2f s%s", smp->n, how,
              smp->nfe, smp->seconds, ranks->size > 1 ? " (rank 0's share)" : "");
  }
  if (writer) FM_TRY(fm_train_log_read(dir, &loss_steps, &losses, &n_losses));
  fm_eval_inputs ein = {.mlp = mlp, .cfg = cfg, .test = &data->test, .samples = smp->x,
                        .sample_labels = smp->labels, .n_samples = smp->n,
                        .mean = data->mean, .std = data->std, .trajectory = smp->trajectory,
                        .times = smp->times, .n_times = smp->n_times,
                        .loss_steps = loss_steps, .losses = losses, .n_losses = n_losses,
                        .source = fm_recipe_source_name(cfg),
                        .columns = (const char *const *)data->test.names, .report = r,
                        .stop = writer ? opt->stop : NULL, .ranks = ranks};
  fm_fault_phase(opt->hooks, "metrics");
  if (writer)
    FM_TRY(stopped_after_training(fm_evaluate_metrics(&ein, ev), "measuring the samples", dir));
  fm_fault_phase(opt->hooks, "likelihood");
  if (ein.source && cfg->eval.likelihood)
    fm_report(r, FM_REPORT_INFO, "no likelihood: the source is a data set, whose density is "
              "unknown");
  FM_TRY(stopped_after_training(fm_evaluate_likelihood(&ein, ev),
                                "computing the held-out likelihood", dir));
  report_evaluation(r, ev);
  if (cfg->output.plots && writer) {
    fm_fault_phase(opt->hooks, "plots");
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
  fm_points pair_x0 = {0}; /* a reflow's source points, pair by pair with its training set */
  fm_samples smp = {0};
  char *json = NULL, dir[1024], path[1200];
  double t_begin = fm_seconds();
  fm_ranks one = fm_ranks_single();
  const fm_ranks *ranks = opt->ranks ? opt->ranks : &one;
  int writer = ranks->rank == 0;
  memset(res, 0, sizeof *res);
  res->final_loss = NAN;

  FM_TRY(fm_config_validate(cfg));
  if (cfg->train.batch < ranks->size) {
    st = fm_fail(FM_ERR_CONFIG, "train.batch %d is smaller than the %d ranks: every rank needs "
                 "at least one row of the batch; use a batch of at least %d, or fewer ranks",
                 cfg->train.batch, ranks->size, ranks->size);
    goto fail;
  }
  if (writer) {
    FM_TRY(fm_rundir_claim(cfg, opt->resume, opt->overwrite, r, dir, sizeof dir));
    FM_TRY(fm_make_dirs(dir));
    json = fm_config_to_json(cfg);
    if (!json) {
      st = fm_fail(FM_ERR_NOMEM, "out of memory");
      goto fail;
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    FM_TRY(fm_write_text(path, json));
  }
  FM_TRY(fm_ranks_broadcast(ranks, dir, sizeof dir, 0)); /* the folder rank 0 claimed */
  fm_strlcpy(res->dir, dir, sizeof res->dir);

  fm_engine_options eo = {.profiling = opt->profile, .report = opt->report, .ranks = ranks};
  FM_TRY(fm_engine_open(cfg, &eo, &engine));
  FM_TRY(fm_dataset_load(cfg, &data));
  if (writer) {
    snprintf(path, sizeof path, "%s/test.csv", dir);
    FM_TRY(fm_points_write_csv(&data.test, path, 0));
  }
  /* Room for this rank's rows of a training batch and of a sampling batch. */
  int first, train_rows = fm_ranks_share(cfg->train.batch, ranks->size, 0, &first);
  int sample_rows = fm_ranks_share(cfg->sample.n, ranks->size, 0, &first);
  if (sample_rows > cfg->sample.batch) sample_rows = cfg->sample.batch;
  int capacity = train_rows > sample_rows ? train_rows : sample_rows;
  FM_TRY(fm_engine_new_model(engine, cfg, data.train.dim, capacity));
  fm_mlp *mlp = fm_engine_model(engine);
  if (cfg->model.init_from[0] && !opt->resume) { /* a resume takes the checkpoint's */
    FM_TRY(fm_engine_init_from(engine, cfg->model.init_from));
    fm_report(r, FM_REPORT_INFO, "model: starting from the weights of %s", cfg->model.init_from);
  }
  if (cfg->reflow.teacher[0])
    FM_TRY(fm_reflow_make_pairs(engine, cfg, &data, &pair_x0, mlp, r, opt->stop));
  const fm_points *train_source = pair_x0.x ? &pair_x0 : data.source.x ? &data.source : NULL;
  FM_TRY(fm_trainer_create(mlp, cfg, &data.train, train_source, ranks, &tr));
  fm_report(r, FM_REPORT_INFO, "data %s: %d training, %d held-out points of dimension %d%s; "
            "model: %zu parameters; %d steps of batch %d",
            cfg->data.path[0] ? cfg->data.path : cfg->data.name, data.train.n, data.test.n,
            data.train.dim, data.mean ? " (standardized)" : "", fm_mlp_param_count(mlp),
            cfg->train.steps, cfg->train.batch);
  if (ranks->size > 1)
    fm_report(r, FM_REPORT_INFO, "%d ranks (MPI: %s): each trains on %d or %d rows of every "
              "batch and the gradients are summed over them", ranks->size,
              fm_ranks_mpi_version(), cfg->train.batch / ranks->size, train_rows);
  if (ranks->size > 1 && cfg->path.coupling != FM_COUPLING_INDEPENDENT &&
      cfg->path.coupling != FM_COUPLING_PAIRS)
    fm_report(r, FM_REPORT_WARNING, "path.coupling %s pairs the noise and the data within "
              "each rank's rows, so with %d ranks its pairs and the training differ from one "
              "process's (the independent coupling trains the same on any number of ranks)",
              fm_coupling_names[cfg->path.coupling], ranks->size);
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
  if (opt->profile && writer) {
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

  double plan_error = fm_path_plan_error(fm_trainer_path(tr));
  if (plan_error >= 0)
    fm_report(r, FM_REPORT_INFO, "sinkhorn coupling (path.ot_reg %g): the plans' column "
              "marginals are off by %.2g in L1 on average (the rows are exact)", cfg->path.ot_reg,
              plan_error);
  FM_TRY(fm_trainer_use_ema(tr));
  fm_eval_report ev = {0};
  FM_TRY(judge(cfg, opt, ranks, dir, &data, mlp, &smp, &ev));
  if (writer && fm_stop_requested(opt->stop)) {
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
                        .straightness = fm_samples_straightness(&smp),
                        .per_nfe = {smp.launches_per_nfe, smp.library_calls_per_nfe}, .eval = &ev, .setup_s = setup_s,
                        .first_step_s = tl.first_step_s, .train_s = tl.train_s,
                        .sample_s = smp.seconds, .total_s = fm_seconds() - t_begin};
  sum.ot_seconds = fm_path_coupling_seconds(fm_trainer_path(tr), &sum.ot_steps);
  sum.plan_error = fm_path_plan_error(fm_trainer_path(tr));
  if (cfg->path.coupling == FM_COUPLING_OT)
    sum.ot_solver = fm_path_device_coupling(fm_trainer_path(tr)) ? "device" : "host";
  sum.ranks = ranks->size;
  fm_trainer_allreduce_seconds(tr, &sum.allreduce_s, &sum.gradient_copy_s);
  res->nfe = smp.nfe;
  if (writer) {
    snprintf(path, sizeof path, "%s/summary.json", dir);
    FM_TRY(fm_rundir_write_summary(path, &sum));
    fm_report(r, FM_REPORT_INFO, "run folder: %s", dir);
  }

fail:
  fm_samples_free(&smp);
  free(json);
  fm_trainer_destroy(tr);
  fm_dataset_free(&data);
  fm_points_free(&pair_x0);
  fm_engine_destroy(engine);
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
