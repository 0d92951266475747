/* What survives interruption, through the fmcl program: a run killed with SIGKILL and
 * resumed, or stopped by SIGINT and resumed, ends with exactly the parameters of an
 * uninterrupted run; a second SIGINT exits at once; a diverging run keeps its last good
 * checkpoint. Faults are injected at chosen steps (FMCL_FAULT) so the tests do not depend
 * on timing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "support.h"

static char work[256];

/* Every piece of training state a checkpoint must carry: Adam, the EMA of the weights, a
 * warm-up and cosine schedule, clipping and the ot coupling. */
static const char *recipe =
    "train --set model.hidden=[32,32] --set data.n_train=2000 --set data.n_test=50 "
    "--set train.steps=60 --set train.checkpoint_every=10 --set train.log_every=5 "
    "--set sample.n=20 --set train.batch=128 --set train.ema=0.95 --set train.warmup=8 "
    "--set train.lr_schedule=cosine --set train.grad_clip=5 --set path.coupling=ot "
    "--set eval.likelihood=false --set output.plots=false --quiet";

/* Runs fmcl with env and arguments; returns the shell's exit status (128 + signal for a
 * process killed by a signal) and its output in *out. */
static int fmcl(const char *env, const char *dir, const char *extra, char **out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "%s %s %s --set output.dir=%s %s", env, FMCL_BINARY, recipe, dir,
           extra);
  if (out) return test_shell(cmd, out);
  char *text = NULL; /* a failure the caller does not read still shows what it printed */
  int rc = test_shell(cmd, &text);
  if (rc != 0) fprintf(stderr, "fmcl %s: exit %d\n%s", extra, rc, text);
  free(text);
  return rc;
}

static fm_checkpoint load(const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/model.fmck", dir);
  fm_checkpoint ck;
  ck_fm(fm_checkpoint_load(path, &ck));
  return ck;
}

/* The loss column of train.csv, one string. */
static char *losses(const char *dir) {
  char path[512], line[256];
  snprintf(path, sizeof path, "%s/train.csv", dir);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  char *all = calloc(1, 1 << 16);
  while (fgets(line, sizeof line, f)) {
    char *second = strchr(line, ',');
    char *third = second ? strchr(second + 1, ',') : NULL;
    if (!third) continue;
    strncat(all, line, (size_t)(third - line));
    strcat(all, "\n");
  }
  fclose(f);
  return all;
}

static fm_checkpoint reference;
static char *reference_losses;

static void uninterrupted(void) {
  if (reference.params) return;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/whole", work);
  ck_assert_int_eq(fmcl("", dir, "", NULL), 0);
  reference = load(dir);
  reference_losses = losses(dir);
  ck_assert_uint_eq(reference.step, 60);
}

/* The same parameters and Adam state as the uninterrupted run; with same_log, the same
 * loss column too (a resume from a step that is not a multiple of train.log_every starts
 * its first mean mid-window). */
static void expect_same_as_uninterrupted(const char *dir, int same_log) {
  fm_checkpoint ck = load(dir);
  ck_assert_uint_eq(ck.step, 60);
  ck_assert_uint_eq(ck.flat_size, reference.flat_size);
  ck_assert_msg(memcmp(ck.params, reference.params, ck.flat_size * sizeof(float)) == 0,
                "%s: parameters differ from the uninterrupted run", dir);
  ck_assert_int_eq(memcmp(ck.optim_state, reference.optim_state,
                          2 * ck.flat_size * sizeof(float)), 0);
  ck_assert_ptr_nonnull(ck.ema);
  ck_assert_int_eq(memcmp(ck.ema, reference.ema, ck.flat_size * sizeof(float)), 0);
  char *l = losses(dir);
  if (same_log) ck_assert_str_eq(l, reference_losses);
  free(l);
  fm_checkpoint_free(&ck);
}

START_TEST(killed_run_resumes_to_the_same_parameters) {
  uninterrupted();
  /* Kill steps drawn from a fixed seed: after the first checkpoint, between checkpoints
   * and right on one. */
  fm_rng rng;
  fm_rng_init(&rng, 2024, 1, 0);
  uint64_t steps[3] = {10 + fm_rng_u32(&rng) % 50, 10 + fm_rng_u32(&rng) % 50, 30};
  for (int i = 0; i < 3; i++) {
    char dir[512], env[64], *out = NULL;
    snprintf(dir, sizeof dir, "%s/killed-%d", work, i);
    snprintf(env, sizeof env, "FMCL_FAULT=kill@%llu", (unsigned long long)steps[i]);
    ck_assert_int_eq(fmcl(env, dir, "", NULL), 128 + 9);
    fm_checkpoint ck = load(dir);
    ck_assert_uint_eq(ck.step, steps[i] / 10 * 10 == steps[i] ? steps[i] - 10 : steps[i] / 10 * 10);
    fm_checkpoint_free(&ck);
    int rc = fmcl("", dir, "--resume", &out);
    ck_assert_msg(rc == 0, "resume after kill at %llu failed (%d): %s", (unsigned long long)steps[i], rc, out);
    free(out);
    expect_same_as_uninterrupted(dir, 1);
  }
}
END_TEST

START_TEST(sigint_saves_a_checkpoint_and_resume_finishes_the_run) {
  uninterrupted();
  char dir[512], *out = NULL;
  snprintf(dir, sizeof dir, "%s/sigint", work);
  ck_exit(fmcl("FMCL_FAULT=int@23", dir, "", &out), 130, out);
  ck_assert_msg(strstr(out, "interrupted after step 23") && strstr(out, "--resume"), "%s", out);
  free(out);
  fm_checkpoint ck = load(dir);
  ck_assert_uint_eq(ck.step, 23);
  fm_checkpoint_free(&ck);
  char path[600];
  snprintf(path, sizeof path, "%s/samples.csv", dir);
  ck_assert_int_ne(access(path, F_OK), 0); /* an interrupted run leaves no samples */
  ck_assert_int_eq(fmcl("", dir, "--resume", NULL), 0);
  ck_assert_int_eq(access(path, F_OK), 0);
  expect_same_as_uninterrupted(dir, 0);
}
END_TEST

START_TEST(sigterm_saves_a_checkpoint_too) {
  char dir[512], *out = NULL;
  snprintf(dir, sizeof dir, "%s/sigterm", work);
  ck_exit(fmcl("FMCL_FAULT=term@17", dir, "", &out), 128 + 15, out);
  ck_assert_msg(strstr(out, "interrupted after step 17"), "%s", out);
  free(out);
  fm_checkpoint ck = load(dir);
  ck_assert_uint_eq(ck.step, 17);
  fm_checkpoint_free(&ck);
}
END_TEST

START_TEST(second_sigint_exits_at_once) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/sigint2", work);
  char *out = NULL;
  ck_exit(fmcl("FMCL_FAULT=int2@23", dir, "", &out), 128 + 2, out);
  ck_assert_msg(strstr(out, "second interrupt: stopped at once"), "%s", out);
  free(out);
  fm_checkpoint ck = load(dir);
  ck_assert_uint_eq(ck.step, 20); /* the last periodic checkpoint, not a new one */
  fm_checkpoint_free(&ck);
}
END_TEST

START_TEST(diverging_run_names_the_step_and_keeps_the_last_good_checkpoint) {
  char dir[512], *out = NULL;
  snprintf(dir, sizeof dir, "%s/nan", work);
  ck_exit(fmcl("FMCL_FAULT=nan@33", dir, "", &out), 3, out);
  ck_assert_msg(strstr(out, "at step 34") && strstr(out, "train.lr") && strstr(out, "step 30"),
                "%s", out);
  free(out);
  fm_checkpoint ck = load(dir);
  ck_assert_uint_eq(ck.step, 30);
  for (size_t i = 0; i < ck.flat_size; i++) ck_assert(ck.params[i] == ck.params[i]);
  fm_checkpoint_free(&ck);
}
END_TEST

START_TEST(resume_refuses_another_config_and_a_missing_checkpoint) {
  uninterrupted();
  char dir[512], *out = NULL;
  snprintf(dir, sizeof dir, "%s/whole", work);
  ck_exit(fmcl("", dir, "--resume --set model.hidden=[16,16]", &out), 2, out);
  ck_assert_msg(strstr(out, "different config"), "%s", out);
  free(out);
  snprintf(dir, sizeof dir, "%s/never-ran", work);
  ck_exit(fmcl("", dir, "--resume", &out), 1, out);
  ck_assert_msg(strstr(out, "nothing to resume from") && strstr(out, "model.fmck"), "%s", out);
  free(out);
}
END_TEST

START_TEST(resume_with_more_steps_extends_a_constant_schedule_run) {
  /* 60 steps, then 10 more: the same as 70 steps at once. */
  const char *constant = "--set train.lr_schedule=constant";
  char dir[512], whole[512], extra[256];
  snprintf(dir, sizeof dir, "%s/extended", work);
  snprintf(whole, sizeof whole, "%s/whole70", work);
  ck_assert_int_eq(fmcl("", dir, constant, NULL), 0);
  snprintf(extra, sizeof extra, "%s --resume --set train.steps=70", constant);
  ck_assert_int_eq(fmcl("", dir, extra, NULL), 0);
  snprintf(extra, sizeof extra, "%s --set train.steps=70", constant);
  ck_assert_int_eq(fmcl("", whole, extra, NULL), 0);
  fm_checkpoint a = load(dir), b = load(whole);
  ck_assert_uint_eq(a.step, 70);
  ck_assert_msg(memcmp(a.params, b.params, a.flat_size * sizeof(float)) == 0,
                "an extended run differs from an uninterrupted one");
  fm_checkpoint_free(&a);
  fm_checkpoint_free(&b);
}
END_TEST

START_TEST(resume_refuses_to_stretch_a_cosine_schedule) {
  /* The cosine schedule of the first 60 steps was laid out over 60; 70 would change the
   * learning rate of the steps still to come. */
  uninterrupted();
  char dir[512], cmd[1024], *out = NULL;
  snprintf(dir, sizeof dir, "%s/stretched", work);
  snprintf(cmd, sizeof cmd, "cp -r %s/whole %s", work, dir);
  ck_assert_int_eq(system(cmd), 0);
  ck_exit(fmcl("", dir, "--resume --set train.steps=70", &out), 2, out);
  ck_assert_msg(strstr(out, "cosine") && strstr(out, "train.steps 60") && strstr(out, "70"),
                "%s", out);
  free(out);
  fm_checkpoint ck = load(dir);
  ck_assert_uint_eq(ck.step, 60);
  ck_assert_int_eq(memcmp(ck.params, reference.params, ck.flat_size * sizeof(float)), 0);
  fm_checkpoint_free(&ck);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("resume"), sizeof work);
  Suite *s = suite_create("resume");
  TCase *tc = tcase_create("resume");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, killed_run_resumes_to_the_same_parameters);
  tcase_add_test(tc, sigint_saves_a_checkpoint_and_resume_finishes_the_run);
  tcase_add_test(tc, sigterm_saves_a_checkpoint_too);
  tcase_add_test(tc, second_sigint_exits_at_once);
  tcase_add_test(tc, diverging_run_names_the_step_and_keeps_the_last_good_checkpoint);
  tcase_add_test(tc, resume_refuses_another_config_and_a_missing_checkpoint);
  tcase_add_test(tc, resume_with_more_steps_extends_a_constant_schedule_run);
  tcase_add_test(tc, resume_refuses_to_stretch_a_cosine_schedule);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
