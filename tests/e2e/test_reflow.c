/* Reflow and distillation through the fmcl program: a reflowed model trains on its
 * teacher's pairs, records the teacher, straightens the paths and samples better in one
 * step than the teacher; reflow repeats (k-rectified flow); a distilled model samples in one
 * Euler step; bad teachers and keys are refused with the key named. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "support.h"

static char work[256];

/* A small teacher: moons, a narrow model, few steps, no plots. */
static const char *small =
    "--set model.hidden=[64,64] --set data.n_train=4000 --set data.n_test=500 "
    "--set sample.n=500 --set eval.metric_points=500 --set eval.n=200 --set output.plots=false "
    "--quiet";

static int fmcl(const char *args, char **out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd %s && %s %s", work, FMCL_BINARY, args);
  return test_shell(cmd, out);
}

static void fmcl_ok(const char *args) {
  char *text = NULL;
  int rc = fmcl(args, &text);
  ck_assert_msg(rc == 0, "fmcl %s: exit %d\n%s", args, rc, text);
  free(text);
}

/* A JSON file of the work folder, parsed. */
static cJSON *read_json(const char *relative) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", work, relative);
  char *text = test_read_file(path);
  cJSON *j = cJSON_Parse(text);
  ck_assert_msg(j != NULL, "%s is not JSON", path);
  free(text);
  return j;
}

static cJSON *item(cJSON *j, const char *section, const char *key) {
  cJSON *s = cJSON_GetObjectItem(j, section);
  ck_assert_msg(s != NULL, "no section %s", section);
  cJSON *v = cJSON_GetObjectItem(s, key);
  ck_assert_msg(v != NULL, "no %s.%s", section, key);
  return v;
}

/* W2 between the held-out points of a run and points sampled from a model with euler and
 * the given steps. */
static double one_step_w2(const char *run, int steps) {
  char args[1024], path[1024];
  snprintf(args, sizeof args, "sample --checkpoint %s/model.fmck --set sample.solver=euler "
           "--set sample.steps=%d --set sample.n=500 --out %s-euler%d.csv --overwrite --quiet",
           run, steps, run, steps);
  fmcl_ok(args);
  fm_points got = {0}, test = {0};
  snprintf(path, sizeof path, "%s/%s-euler%d.csv", work, run, steps);
  ck_fm(fm_datafile_load(path, FM_FORMAT_AUTO, NULL, &got));
  snprintf(path, sizeof path, "%s/%s/test.csv", work, run);
  ck_fm(fm_datafile_load(path, FM_FORMAT_AUTO, NULL, &test));
  ck_assert_int_eq(got.n, 500);
  ck_assert_int_eq(test.n, 500);
  double w2 = 0;
  ck_fm(fm_metrics_w2(got.x, test.x, 500, 2, &w2, NULL));
  fm_points_free(&got);
  fm_points_free(&test);
  return w2;
}

/* The straightness S fmcl sample prints for euler, 100 steps, every state kept. */
static double straightness(const char *run) {
  char args[1024], *out = NULL;
  snprintf(args, sizeof args, "sample --checkpoint %s/model.fmck --set sample.solver=euler "
           "--set sample.steps=100 --set sample.save_every=1 --set sample.n=300 "
           "--out %s-paths.csv --overwrite", run, run);
  ck_exit(fmcl(args, &out), 0, out);
  const char *at = strstr(out, "straightness S ");
  ck_assert_msg(at != NULL, "%s", out);
  double s = atof(at + strlen("straightness S "));
  free(out);
  return s;
}

START_TEST(reflow_straightens_the_teachers_paths_and_records_the_teacher) {
  char args[2048];
  snprintf(args, sizeof args, "train --set data.name=moons --set train.steps=1500 %s", small);
  fmcl_ok(args);
  snprintf(args, sizeof args, "reflow --checkpoint runs/moons/model.fmck --set train.steps=600 "
           "--set reflow.pairs=4000 %s", small);
  fmcl_ok(args);
  cJSON *cfg = read_json("runs/moons-reflow2/config.json");
  ck_assert_str_eq(item(cfg, "reflow", "teacher")->valuestring, "runs/moons/model.fmck");
  ck_assert_int_eq(item(cfg, "reflow", "generation")->valueint, 2);
  ck_assert_str_eq(item(cfg, "path", "coupling")->valuestring, "pairs");
  ck_assert(item(cfg, "path", "sigma_min")->valuedouble == 0);
  cJSON_Delete(cfg);
  cJSON *sum = read_json("runs/moons-reflow2/summary.json");
  ck_assert_str_eq(item(sum, "reflow", "teacher")->valuestring, "runs/moons/model.fmck");
  ck_assert_str_eq(item(sum, "reflow", "kind")->valuestring, "reflow");
  ck_assert_int_eq(item(sum, "reflow", "pairs")->valueint, 4000);
  ck_assert(cJSON_IsNumber(item(sum, "metrics", "w2")));
  cJSON_Delete(sum);
  /* Straighter paths, and a better one-step sample, than the teacher's. */
  double s_teacher = straightness("runs/moons"), s_reflow = straightness("runs/moons-reflow2");
  double w_teacher = one_step_w2("runs/moons", 1), w_reflow = one_step_w2("runs/moons-reflow2", 1);
  fprintf(stderr, "straightness: teacher %.4f, 2-rectified %.4f; W2 at one Euler step: teacher "
          "%.4f, 2-rectified %.4f\n", s_teacher, s_reflow, w_teacher, w_reflow);
  ck_assert_msg(s_reflow < 0.5 * s_teacher, "S: teacher %g, reflow %g", s_teacher, s_reflow);
  ck_assert_msg(w_reflow < w_teacher, "W2 at NFE 1: teacher %g, reflow %g", w_teacher, w_reflow);
  /* Again: the 3-rectified flow, from fresh weights this time. */
  snprintf(args, sizeof args, "reflow --checkpoint runs/moons-reflow2/model.fmck --set "
           "train.steps=200 --set reflow.pairs=2000 --set reflow.init=fresh %s", small);
  fmcl_ok(args);
  cfg = read_json("runs/moons-reflow3/config.json");
  ck_assert_int_eq(item(cfg, "reflow", "generation")->valueint, 3);
  ck_assert_str_eq(item(cfg, "reflow", "teacher")->valuestring, "runs/moons-reflow2/model.fmck");
  ck_assert_str_eq(item(cfg, "reflow", "init")->valuestring, "fresh");
  cJSON_Delete(cfg);
  /* Distillation: t = 0 only, one Euler step to sample, better than the teacher there. */
  snprintf(args, sizeof args, "distill --checkpoint runs/moons-reflow2/model.fmck --set "
           "train.steps=600 --set reflow.pairs=4000 %s", small);
  fmcl_ok(args);
  cfg = read_json("runs/moons-reflow2-distill/config.json");
  ck_assert_str_eq(item(cfg, "train", "time_sampling")->valuestring, "start");
  ck_assert_str_eq(item(cfg, "sample", "solver")->valuestring, "euler");
  ck_assert_int_eq(item(cfg, "sample", "steps")->valueint, 1);
  ck_assert_int_eq(item(cfg, "reflow", "generation")->valueint, 2);
  cJSON_Delete(cfg);
  sum = read_json("runs/moons-reflow2-distill/summary.json");
  ck_assert_str_eq(item(sum, "reflow", "kind")->valuestring, "distill");
  ck_assert_int_eq(item(sum, "sample", "nfe")->valueint, 1);
  cJSON_Delete(sum);
  /* A distilled model has no flow to reflow; the refusal leaves no run folder behind. */
  char *out = NULL;
  ck_exit(fmcl("reflow --checkpoint runs/moons-reflow2-distill/model.fmck --quiet", &out), 2, out);
  ck_assert_msg(strstr(out, "was distilled") && strstr(out, "runs/moons-reflow2/model.fmck"),
                "%s", out);
  free(out);
  snprintf(args, sizeof args, "test -e %s/runs/moons-reflow2-distill-reflow3 || "
           "test -e %s/runs/moons-reflow3-2", work, work);
  ck_assert_int_ne(test_shell(args, NULL), 0);
  double w_distill = one_step_w2("runs/moons-reflow2-distill", 1);
  fprintf(stderr, "W2 at one Euler step: distilled %.4f\n", w_distill);
  ck_assert_msg(w_distill < w_teacher, "W2 at NFE 1: teacher %g, distilled %g", w_teacher,
                w_distill);
}
END_TEST

/* A teacher of another dimension, a conditional teacher without a class, a reflow that
 * changes the path, pairs without a teacher, t = 0 without pairs: refused, the key named. */
START_TEST(bad_reflows_are_refused_with_the_key_named) {
  char args[2048], *out = NULL;
  snprintf(args, sizeof args, "train --set name=flat --set train.steps=20 %s", small);
  fmcl_ok(args);
  char path[1024];
  snprintf(path, sizeof path, "%s/three.csv", work);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "a,b,c\n");
  for (int i = 0; i < 200; i++) fprintf(f, "%d,%d,%d\n", i % 7, i % 5, i % 3);
  fclose(f);
  ck_exit(fmcl("reflow --checkpoint runs/flat/model.fmck --set data.path=three.csv "
                        "--set train.steps=5 --quiet", &out), 2, out);
  ck_assert_msg(strstr(out, "reflow.teacher") && strstr(out, "dimension 2") &&
                strstr(out, "dimension 3"), "%s", out);
  free(out);
  ck_exit(fmcl("reflow --checkpoint runs/flat/model.fmck --set path.coupling=ot --quiet",
                        &out), 2, out);
  ck_assert_msg(strstr(out, "path.coupling=ot") && strstr(out, "sets the path"), "%s", out);
  free(out);
  ck_exit(fmcl("reflow --checkpoint runs/none/model.fmck --quiet", &out), 1, out);
  ck_assert_msg(strstr(out, "runs/none/model.fmck"), "%s", out);
  free(out);
  ck_exit(fmcl("train --set path.coupling=pairs --quiet", &out), 2, out);
  ck_assert_msg(strstr(out, "reflow.teacher") && strstr(out, "fmcl reflow"), "%s", out);
  free(out);
  ck_exit(fmcl("train --set train.time_sampling=start --quiet", &out), 2, out);
  ck_assert_msg(strstr(out, "fmcl distill"), "%s", out);
  free(out);
  snprintf(args, sizeof args, "train --set name=labelled --set data.name=8gaussians "
           "--set model.classes=8 --set train.steps=20 %s", small);
  ck_exit(fmcl(args, &out), 0, out);
  free(out);
  ck_exit(fmcl("distill --checkpoint runs/labelled/model.fmck --set train.steps=5 "
                        "--quiet", &out), 2, out);
  ck_assert_msg(strstr(out, "class-conditional") && strstr(out, "sample.class"), "%s", out);
  free(out);
  /* With the class named, the pairs are of that class. */
  snprintf(args, sizeof args, "distill --checkpoint runs/labelled/model.fmck --set "
           "sample.class=3 --set train.steps=5 --set reflow.pairs=300 %s", small);
  fmcl_ok(args);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("reflow"), sizeof work);
  Suite *s = suite_create("reflow");
  TCase *tc = tcase_create("reflow");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, reflow_straightens_the_teachers_paths_and_records_the_teacher);
  tcase_add_test(tc, bad_reflows_are_refused_with_the_key_named);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
