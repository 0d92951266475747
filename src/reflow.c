/* Reflow and distillation: the teacher's pairs as a training set, and the config that
 * trains on them. */
#include "fmcl/reflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/checkpoint.h"
#include "fmcl/data.h"
#include "fmcl/progress.h"
#include "fmcl/recipe.h"
#include "fmcl/sample.h"
#include "internal.h"

fm_status fm_reflow_config(const fm_config *teacher_cfg, const char *checkpoint, int distill,
                           const char *const *overrides, int n_overrides, fm_config *out) {
  const char *command = distill ? "distill" : "reflow";
  *out = *teacher_cfg;
  fm_config *c = out;
  if (strlen(checkpoint) >= sizeof c->reflow.teacher)
    return fm_fail(FM_ERR_CONFIG, "%s: the checkpoint path is longer than %zu characters",
                   command, sizeof c->reflow.teacher - 1);
  /* The reflow's own settings start from the defaults, not from the teacher's reflow. */
  fm_config defaults;
  fm_config_defaults(&defaults);
  c->reflow = defaults.reflow;
  fm_strlcpy(c->reflow.teacher, checkpoint, sizeof c->reflow.teacher);
  /* A model trained on independent pairs is the 1-rectified flow; reflowing a k-rectified
   * flow gives the (k + 1)-rectified one, and distilling keeps k. */
  int rectified = teacher_cfg->reflow.generation > 0 ? teacher_cfg->reflow.generation : 1;
  c->reflow.generation = distill ? rectified : rectified + 1;
  c->path.coupling = FM_COUPLING_PAIRS;
  c->path.scheduler = FM_SCHED_CONDOT;
  c->path.sigma_min = 0;
  c->path.sigma = 0;
  c->output.dir[0] = '\0';
  /* moons -> moons-reflow2 -> moons-reflow3; moons-reflow2 -> moons-reflow2-distill */
  char name[sizeof c->name + 32], base[sizeof c->name];
  fm_strlcpy(base, teacher_cfg->name[0] ? teacher_cfg->name : teacher_cfg->data.name, sizeof base);
  char *tail = strstr(base, "-reflow");
  if (!distill && tail && tail[7] && strspn(tail + 7, "0123456789") == strlen(tail + 7))
    *tail = '\0';
  if (distill) snprintf(name, sizeof name, "%s-distill", base);
  else snprintf(name, sizeof name, "%s-reflow%d", base, c->reflow.generation);
  if (strlen(name) >= sizeof c->name)
    return fm_fail(FM_ERR_CONFIG, "%s: the run's name '%s' is longer than %zu characters; set a "
                   "shorter one with --set name=...", command, name, sizeof c->name - 1);
  fm_strlcpy(c->name, name, sizeof c->name);
  if (distill) {
    c->train.time_sampling = FM_TIME_START;
    c->sample.solver = FM_SOLVER_EULER;
    c->sample.steps = 1;
    c->sample.n_times = 0;
    c->sample.time_shift = 1.0;
    c->sample.save_every = 1;
    /* Its field is trained at t = 0 only: the ODE a likelihood integrates means nothing. */
    c->eval.likelihood = 0;
  }
  static const char *const keep[] = {"path.", "reflow.teacher", "reflow.generation", NULL};
  for (int i = 0; i < n_overrides; i++)
    for (int k = 0; keep[k]; k++) {
      size_t len = strlen(keep[k]);
      if (strncmp(overrides[i], keep[k], len) == 0)
        return fm_fail(FM_ERR_CONFIG, "%s: '%s': %s sets the path (the pairs coupling on the "
                       "straight path) and the teacher itself; change the other keys", command,
                       overrides[i], command);
    }
  fm_status st = FM_OK;
  for (int i = 0; i < n_overrides && st == FM_OK; i++) st = fm_config_set(c, overrides[i]);
  if (st != FM_OK) return fm_fail_context(st, "%s: ", command);
  fm_config_resolve(c);
  st = fm_config_validate(c);
  if (st != FM_OK) return fm_fail_context(st, "%s: ", command);
  return FM_OK;
}

/* The student's model is the teacher's (layers, widths, activation, inputs): its weights
 * can be copied and mean the same. */
static int same_model(const fm_config *student, const fm_checkpoint *ck, int dim) {
  fm_mlp_shape a = fm_recipe_mlp_shape(student, dim), b = fm_recipe_mlp_shape(&ck->config, ck->dim);
  if (a.dim != b.dim || a.time_features != b.time_features || a.classes != b.classes ||
      a.n_hidden != b.n_hidden || a.activation != b.activation || a.residual != b.residual)
    return 0;
  for (int i = 0; i < a.n_hidden; i++)
    if (a.hidden[i] != b.hidden[i]) return 0;
  return 1;
}

fm_status fm_reflow_check_teacher(const fm_config *cfg, const fm_checkpoint *ck, int dim) {
  const char *path = cfg->reflow.teacher;
  if (ck->dim != dim)
    return fm_fail(FM_ERR_CONFIG, "reflow.teacher %s: the teacher takes points of dimension %d "
                   "and this data (data.name %s, data.path '%s') has dimension %d; reflow from a "
                   "teacher of the same data", path, ck->dim, cfg->data.name, cfg->data.path, dim);
  if (ck->config.train.time_sampling == FM_TIME_START)
    return fm_fail(FM_ERR_CONFIG, "reflow.teacher %s was distilled (trained at t = 0 only, "
                   "train.time_sampling start): it maps noise to data in one step and has no "
                   "flow to integrate; reflow or distill its own teacher (%s)", path,
                   ck->config.reflow.teacher);
  int classes = ck->config.model.classes;
  if (classes > 0 && cfg->sample.class_label < 0)
    return fm_fail(FM_ERR_CONFIG, "reflow.teacher %s is class-conditional (%d classes): its "
                   "pairs need a class; set sample.class to the class to straighten", path,
                   classes);
  if (cfg->reflow.init == FM_REFLOW_INIT_TEACHER && !same_model(cfg, ck, dim))
    return fm_fail(FM_ERR_CONFIG, "reflow.init teacher copies the teacher's weights, but model.* "
                   "describes another model than %s's; keep the teacher's model keys or set "
                   "reflow.init=fresh", path);
  return FM_OK;
}

static fm_status copy_stats(double **dst, const double *src, int dim) {
  free(*dst);
  *dst = NULL;
  if (!src) return FM_OK;
  *dst = malloc((size_t)dim * sizeof **dst);
  if (!*dst) return fm_fail(FM_ERR_NOMEM, "out of host memory");
  memcpy(*dst, src, (size_t)dim * sizeof **dst);
  return FM_OK;
}

fm_status fm_reflow_make_pairs(fm_engine *e, const fm_config *cfg, fm_dataset *data,
                               fm_points *pair_x0, fm_mlp *student, const fm_reporter *report,
                               fm_stop_flag *stop) {
  fm_status st = FM_OK;
  const char *path = cfg->reflow.teacher;
  fm_checkpoint ck;
  fm_mlp *teacher = NULL;
  float *ends = NULL, *x0 = NULL;
  int *labels = NULL;
  memset(&ck, 0, sizeof ck);
  FM_TRY(fm_checkpoint_load(path, &ck));
  int dim = data->train.dim, n = cfg->reflow.pairs, classes = ck.config.model.classes;
  FM_TRY(fm_reflow_check_teacher(cfg, &ck, dim));
  int rows = n < cfg->sample.batch ? n : cfg->sample.batch;
  FM_TRY(fm_engine_open_saved_model(e, &ck, rows, path, &teacher));
  fm_sample_params sp = fm_recipe_sample(cfg);
  sp.solver = cfg->reflow.solver;
  sp.steps = cfg->reflow.steps;
  sp.times = NULL;
  sp.time_shift = 1.0;
  sp.n = n;
  sp.first_point = 0;
  sp.batch = rows;
  sp.stream = FM_STREAM_REFLOW;
  sp.save_every = sp.steps; /* the states at t = 0 and t = 1: x0 and x1 */
  sp.source = data->source.x;
  sp.n_source = data->source.n;
  sp.classes = classes;
  sp.stop = stop;
  sp.report = report;
  size_t plane = (size_t)n * (size_t)dim;
  FM_ASSERT(fm_sample_save_times(&sp, NULL, 0) == 2); /* save_every = steps: 0 and 1 */
  ends = malloc(2 * plane * sizeof *ends);
  x0 = malloc(plane * sizeof *x0);
  labels = classes > 0 ? malloc((size_t)n * sizeof *labels) : NULL;
  float *x1 = malloc(plane * sizeof *x1);
  if (!ends || !x0 || !x1 || (classes > 0 && !labels)) {
    free(x1);
    st = fm_fail(FM_ERR_NOMEM, "out of host memory for %d reflow pairs of dimension %d", n, dim);
    goto fail;
  }
  sp.labels = labels;
  char how[512];
  fm_sample_describe(&sp, how, sizeof how);
  fm_report(report, FM_REPORT_INFO, "reflow: carrying %d points to data with the teacher %s "
            "(%s)", n, path, how);
  double t0 = fm_seconds();
  long nfe = 0;
  st = fm_sample_generate(teacher, &sp, x1, ends, &nfe);
  if (st != FM_OK) {
    free(x1);
    fm_fail_context(st, "reflow: the teacher's pairs: ");
    goto fail;
  }
  memcpy(x0, ends, plane * sizeof *x0);
  fm_report(report, FM_REPORT_INFO, "reflow: %d pairs in %.1f s (NFE %ld per point)", n,
            fm_seconds() - t0, nfe);
  free(data->train.x);
  free(data->train.label);
  data->train.x = x1, data->train.label = labels, data->train.n = n;
  labels = NULL;
  fm_points_free(pair_x0);
  pair_x0->x = x0, pair_x0->n = n, pair_x0->dim = dim;
  x0 = NULL;
  FM_TRY(copy_stats(&data->mean, ck.mean, dim));
  FM_TRY(copy_stats(&data->std, ck.std, dim));
  if (cfg->reflow.init == FM_REFLOW_INIT_TEACHER)
    FM_TRY(fm_mlp_write_params(student, ck.ema ? ck.ema : ck.params));
fail:
  free(ends);
  free(x0);
  free(labels);
  fm_mlp_destroy(teacher);
  fm_checkpoint_free(&ck);
  return st;
}
