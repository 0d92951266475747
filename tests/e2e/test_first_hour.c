/* What a new user meets in the first hour, through the fmcl program: no earlier run or
 * output file is replaced silently, Ctrl-C is answered in every phase, the progress line
 * shows no number it does not have, fmcl sample and fmcl likelihood use what they are given
 * and refuse the rest, a typo gets a suggestion, and a data file's column names carry
 * through. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "support.h"

static char work[256];

/* A small, quick run. */
static const char *quick =
    "--set model.hidden=[16] --set train.steps=30 --set data.n_train=500 --set data.n_test=60 "
    "--set sample.n=40 --set eval.density_grid=12 --quiet";

/* Runs fmcl in the work folder; returns its exit status and output. */
static int fmcl(const char *args, char **out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd %s && %s %s", work, FMCL_BINARY, args);
  return test_shell(cmd, out);
}

/* fmcl that must succeed: a failure shows what it printed. */
static void fmcl_ok(const char *args, char **out) {
  char *text = NULL;
  int rc = fmcl(args, &text);
  ck_assert_msg(rc == 0, "fmcl %s: exit %d\n%s", args, rc, text);
  if (out) *out = text;
  else free(text);
}

static int exists(const char *relative) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", work, relative);
  return access(path, F_OK) == 0;
}

static char *read_rel(const char *relative) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", work, relative);
  return test_read_file(path);
}

/* Whether two files of the work folder hold the same bytes. */
static int same_file(const char *a, const char *b) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cd %s && cmp -s %s %s", work, a, b);
  return test_shell(cmd, NULL) == 0;
}

START_TEST(a_finished_run_is_never_replaced_silently) {
  char args[2048], *out = NULL;
  /* The default folder: a second run goes next to the first. */
  snprintf(args, sizeof args, "train --set name=twice %s", quick);
  fmcl_ok(args, NULL);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cd %s && cp runs/twice/model.fmck first.fmck", work);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
  snprintf(args, sizeof args, "train --set name=twice --set seed=3 %s", quick);
  fmcl_ok(args, &out);
  free(out);
  snprintf(args, sizeof args, "train --set name=twice --set seed=3 --set model.hidden=[16] "
           "--set train.steps=30 --set data.n_train=500 --set data.n_test=60 --set sample.n=40 "
           "--set eval.density_grid=12");
  fmcl_ok(args, &out);
  ck_assert_msg(strstr(out, "runs/twice holds an earlier run") && strstr(out, "runs/twice-3"),
                "%s", out);
  free(out);
  ck_assert_msg(same_file("first.fmck", "runs/twice/model.fmck"),
                "the first run's model was replaced");
  ck_assert(exists("runs/twice-2/summary.json") && exists("runs/twice-3/summary.json"));
  /* A folder named by output.dir is refused, and replaced only on request. */
  snprintf(args, sizeof args, "train --set output.dir=named %s", quick);
  fmcl_ok(args, NULL);
  char *summary = read_rel("named/summary.json");
  snprintf(args, sizeof args, "train --set output.dir=named --set seed=5 %s", quick);
  ck_exit(fmcl(args, &out), 2, out);
  ck_assert_msg(strstr(out, "named holds an earlier run") && strstr(out, "--overwrite") &&
                    strstr(out, "--resume"), "%s", out);
  free(out);
  char *after = read_rel("named/summary.json");
  ck_assert_str_eq(summary, after);
  free(after);
  snprintf(args, sizeof args, "train --set output.dir=named --set seed=5 --overwrite %s", quick);
  fmcl_ok(args, NULL);
  after = read_rel("named/config.json");
  ck_assert_msg(strstr(after, "\"seed\":\t5"), "%s", after);
  free(after), free(summary);
  snprintf(args, sizeof args, "train --set output.dir=named --resume --overwrite %s", quick);
  ck_exit(fmcl(args, &out), 2, out);
  ck_assert_msg(strstr(out, "give one of them"), "%s", out);
  free(out);
}
END_TEST

/* Interrupts a phase as it begins (the library checks inside the phase's loops, so it
 * stops at their first check) and checks what is kept. */
static void interrupt_phase(const char *phase, const char *settings, const char *doing,
                            const char *detail) {
  char args[2048], dir[64], *out = NULL;
  snprintf(dir, sizeof dir, "stop-%s", phase);
  snprintf(args, sizeof args, "train --set output.dir=%s %s %s", dir, quick, settings);
  char env_args[2200];
  snprintf(env_args, sizeof env_args, "FMCL_FAULT=int@%s %s %s", phase, FMCL_BINARY, args);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd %s && %s", work, env_args);
  int rc = test_shell(cmd, &out);
  ck_assert_msg(rc == 130, "%s: exit %d:\n%s", phase, rc, out);
  ck_assert_msg(strstr(out, doing) && strstr(out, detail) && strstr(out, "model.fmck"),
                "%s: the message lacks '%s' or '%s':\n%s", phase, doing, detail, out);
  free(out);
  char path[1024];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  ck_assert_msg(!exists(path), "%s: an interrupted run wrote summary.json", phase);
  snprintf(path, sizeof path, "%s/%s/model.fmck", work, dir);
  fm_checkpoint ck;
  ck_fm(fm_checkpoint_load(path, &ck));
  ck_assert_uint_eq(ck.step, 30);
  fm_checkpoint_free(&ck);
}

START_TEST(ctrl_c_is_answered_in_every_phase_after_training) {
  /* Each phase asked for far more work than it could do before the test's time-out. */
  interrupt_phase("sample", "--set sample.steps=200000 --set sample.solver=rk4", "while sampling",
                  "after 0 steps");
  interrupt_phase("metrics", "--set sample.steps=1 --set eval.metric_points=40",
                  "while measuring the samples", "rows unassigned");
  interrupt_phase("likelihood", "--set sample.steps=1 --set eval.solver=rk4 --set eval.steps=200000",
                  "while computing the held-out likelihood", "after 0 steps");
  interrupt_phase("plots", "--set sample.steps=1 --set eval.likelihood=false --set eval.solver=rk4 "
                  "--set eval.steps=200000 --set eval.density_grid=200",
                  "while drawing the plots", "after 0 steps");
  /* fmcl sample, and SIGTERM. */
  char args[1024], *out = NULL;
  snprintf(args, sizeof args, "FMCL_FAULT=term@sample %s sample --checkpoint stop-plots/model.fmck "
           "--set sample.steps=200000 --out stopped.csv", FMCL_BINARY);
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cd %s && %s", work, args);
  ck_assert_int_eq(test_shell(cmd, &out), 143);
  ck_assert_msg(strstr(out, "interrupted") && strstr(out, "after 0 steps"), "%s", out);
  free(out);
  ck_assert(!exists("stopped.csv") && !exists("stopped.csv.tmp"));
}
END_TEST

START_TEST(the_progress_line_shows_the_loss_only_once_it_is_known) {
  char args[1024], *out = NULL;
  snprintf(args, sizeof args, "train --set output.dir=live --set model.hidden=[16] "
           "--set train.steps=200 --set train.log_every=1000 --set data.n_train=500 "
           "--set sample.n=10 --set eval.likelihood=false --set output.plots=false "
           "--progress live");
  fmcl_ok(args, &out);
  ck_assert_msg(strstr(out, "step  50/200  ") && !strstr(out, "nan"), "%s", out);
  ck_assert_msg(strstr(out, "step 200/200  loss "), "%s", out);
  free(out);
}
END_TEST

START_TEST(fmcl_sample_uses_what_it_is_given_and_refuses_the_rest) {
  char args[2048], *out = NULL;
  snprintf(args, sizeof args, "train --set output.dir=model %s", quick);
  fmcl_ok(args, NULL);
  fmcl_ok("sample --checkpoint model/model.fmck --set sample.n=25 --quiet", NULL);
  /* Another seed draws other points; the first file is kept. */
  ck_exit(fmcl("sample --checkpoint model/model.fmck --set sample.n=25 --set seed=7", &out), 0, out);
  ck_assert_msg(strstr(out, "model/samples-rk425-n25-2.csv"), "%s", out);
  free(out);
  char *a = read_rel("model/samples-rk425-n25.csv"), *b = read_rel("model/samples-rk425-n25-2.csv");
  ck_assert_msg(strcmp(a, b) != 0, "seed=7 drew the same points");
  free(a), free(b);
  /* output.dir is where the file goes. */
  ck_assert_int_eq(fmcl("sample --checkpoint model/model.fmck --set output.dir=elsewhere --quiet",
                        NULL), 0);
  ck_assert(exists("elsewhere/samples-rk425-n40.csv"));
  /* An existing --out is kept unless asked. */
  fmcl_ok("sample --checkpoint model/model.fmck --out mine.csv --quiet", NULL);
  ck_exit(fmcl("sample --checkpoint model/model.fmck --out mine.csv", &out), 2, out);
  ck_assert_msg(strstr(out, "mine.csv exists") && strstr(out, "--overwrite"), "%s", out);
  free(out);
  ck_assert_int_eq(fmcl("sample --checkpoint model/model.fmck --out mine.csv --overwrite --quiet",
                        NULL), 0);
  /* What it does not use. */
  const char *refused[][2] = {
      {"sample --checkpoint model/model.fmck --data x.csv", "does not take --data"},
      {"sample --checkpoint model/model.fmck --set train.lr=1", "--set train.lr"},
      {"sample --checkpoint model/model.fmck --set eval.n=5", "--set eval.n"},
      {"sample --checkpoint model/model.fmck --set sample.class=3", "sample.class 3"},
      {"sample --checkpoint model/model.fmck --profile", "does not take --profile"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    ck_exit(fmcl(refused[i][0], &out), 2, out);
    ck_assert_msg(strstr(out, refused[i][1]), "%s:\n%s", refused[i][0], out);
    free(out);
  }
}
END_TEST

START_TEST(fmcl_likelihood_judges_what_it_can_and_honours_eval_n) {
  char args[2048], *out = NULL;
  snprintf(args, sizeof args, "train --set output.dir=plain %s", quick);
  fmcl_ok(args, NULL);
  ck_exit(fmcl("likelihood --checkpoint plain/model.fmck --set eval.n=17 "
                        "--set eval.solver=rk4 --set eval.steps=4 --out ll.csv", &out), 0, out);
  ck_assert_msg(strstr(out, "17 points of the held-out split"), "%s", out);
  free(out);
  char *ll = read_rel("ll.csv");
  int lines = 0;
  for (char *c = ll; *c; c++) lines += *c == '\n';
  ck_assert_int_eq(lines, 18);
  free(ll);
  ck_exit(fmcl("likelihood --checkpoint plain/model.fmck --out ll.csv", &out), 2, out);
  ck_assert_msg(strstr(out, "ll.csv exists"), "%s", out);
  free(out);
  /* A model that starts from a data set has no density to integrate from. */
  snprintf(args, sizeof args, "train --set output.dir=d2d --set source.name=moons %s", quick);
  fmcl_ok(args, NULL);
  ck_exit(fmcl("likelihood --checkpoint d2d/model.fmck", &out), 2, out);
  ck_assert_msg(strstr(out, "carries moons to the data") && strstr(out, "N(0, I)"), "%s", out);
  free(out);
}
END_TEST

START_TEST(a_typo_in_a_key_gets_a_suggestion_not_a_list) {
  char *out = NULL;
  ck_exit(fmcl("train --set train.step=5", &out), 2, out);
  ck_assert_msg(strstr(out, "did you mean \"train.steps\"") && !strstr(out, "sample.solver"),
                "%s", out);
  free(out);
  char path[512];
  snprintf(path, sizeof path, "%s/typo.json", work);
  test_write_file(path, "{\"smaple\": {\"n\": 10}}");
  ck_exit(fmcl("train --config typo.json", &out), 2, out);
  ck_assert_msg(strstr(out, "did you mean \"sample\""), "%s", out);
  free(out);
}
END_TEST

START_TEST(a_data_files_column_names_carry_through) {
  char path[512], args[2048];
  snprintf(path, sizeof path, "%s/named.csv", work);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "height,weight,kind\n");
  for (int i = 0; i < 300; i++) fprintf(f, "%d.5,%d,%d\n", i % 17, i % 5, i % 3);
  fclose(f);
  snprintf(args, sizeof args, "train --set output.dir=columns --set data.path=named.csv "
           "--set data.label_column=2 --set model.classes=3 %s", quick);
  char *out = NULL;
  fmcl_ok(args, &out);
  free(out);
  const char *files[][2] = {{"columns/samples.csv", "height,weight,label\n"},
                            {"columns/test.csv", "height,weight\n"},
                            {"columns/trajectories.csv", "t,point,height,weight\n"}};
  for (int i = 0; i < 3; i++) {
    char *text = read_rel(files[i][0]);
    ck_assert_msg(strncmp(text, files[i][1], strlen(files[i][1])) == 0, "%s starts %.40s",
                  files[i][0], text);
    free(text);
  }
  fmcl_ok("sample --checkpoint columns/model.fmck --out again.csv --quiet", NULL);
  char *again = read_rel("again.csv");
  ck_assert_msg(strncmp(again, "height,weight,label\n", 20) == 0, "%.40s", again);
  free(again);
  /* Without label dropout the model has no unconditional density: the run says so. */
  snprintf(args, sizeof args, "train --set output.dir=columns --overwrite --set data.path=named.csv "
           "--set data.label_column=2 --set model.classes=3 --set model.hidden=[16] "
           "--set train.steps=30 --set sample.n=40 --set eval.density_grid=12");
  fmcl_ok(args, &out);
  ck_assert_msg(strstr(out, "no density.png") && strstr(out, "label_dropout"), "%s", out);
  free(out);
}
END_TEST

START_TEST(plots_come_in_three_formats_and_without_their_font) {
  char args[2048], *out = NULL;
  static const char *const plots[] = {"samples", "density", "loss", "trajectories"};
  static const char *const formats[] = {"svg", "pdf", "png"};
  static const char *const starts[] = {"<?xml", "%PDF-", "\x89PNG"};
  for (int f = 0; f < 3; f++) {
    snprintf(args, sizeof args, "train --set output.dir=formats --overwrite "
             "--set output.plot_format=%s --set train.log_every=10 %s", formats[f], quick);
    fmcl_ok(args, NULL);
    for (int k = 0; k < 4; k++)
      for (int g = 0; g < 3; g++) {
        char name[64];
        snprintf(name, sizeof name, "formats/%s.%s", plots[k], formats[g]);
        ck_assert_msg(exists(name) == (f == g), "%s %s after a %s run", name,
                      exists(name) ? "exists" : "is missing", formats[f]);
        if (f != g) continue;
        char *text = read_rel(name);
        ck_assert_msg(strncmp(text, starts[g], strlen(starts[g])) == 0, "%s: %.10s", name, text);
        free(text);
      }
  }
  /* No fonts at all: the plots are written, and the run says what their text is set in. */
  snprintf(args, sizeof args, "%s/nofonts.conf", work);
  test_write_file(args, "<?xml version=\"1.0\"?>\n<fontconfig></fontconfig>");
  snprintf(args, sizeof args, "cd %s && FONTCONFIG_FILE=%s/nofonts.conf %s train "
           "--set output.dir=nofont --overwrite --set train.log_every=10 %s", work, work, FMCL_BINARY,
           quick);
  ck_exit(test_shell(args, &out), 0, out);
  ck_assert_msg(strstr(out, "DejaVu Sans, is not installed") && strstr(out, "fonts-dejavu-core"),
                "%s", out);
  ck_assert(exists("nofont/samples.png") && exists("nofont/loss.png"));
  free(out);
}
END_TEST

START_TEST(fmcl_data_keeps_an_earlier_export) {
  char *out = NULL;
  ck_assert_int_eq(fmcl("data --set data.n_train=20 --set data.n_test=5 --out exported --quiet",
                        NULL), 0);
  ck_exit(fmcl("data --set data.n_train=30 --out exported", &out), 2, out);
  ck_assert_msg(strstr(out, "train.csv exists") && strstr(out, "--overwrite"), "%s", out);
  free(out);
  fmcl_ok("data --set data.n_train=30 --out exported --overwrite --quiet", NULL);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("first-hour"), sizeof work);
  Suite *s = suite_create("first_hour");
  TCase *tc = tcase_create("first_hour");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, a_finished_run_is_never_replaced_silently);
  tcase_add_test(tc, ctrl_c_is_answered_in_every_phase_after_training);
  tcase_add_test(tc, the_progress_line_shows_the_loss_only_once_it_is_known);
  tcase_add_test(tc, fmcl_sample_uses_what_it_is_given_and_refuses_the_rest);
  tcase_add_test(tc, fmcl_likelihood_judges_what_it_can_and_honours_eval_n);
  tcase_add_test(tc, a_typo_in_a_key_gets_a_suggestion_not_a_list);
  tcase_add_test(tc, a_data_files_column_names_carry_through);
  tcase_add_test(tc, fmcl_data_keeps_an_earlier_export);
  tcase_add_test(tc, plots_come_in_three_formats_and_without_their_font);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
