/* Data-parallel training through mpirun on this machine (PoCL; the ranks share its one
 * device): 2 and 3 ranks train the same model as one process, to rounding, with the
 * gradient summed whole or layer by layer; a killed job
 * resumes bit-identically with the same ranks and with a warning with others; a rank that
 * dies or whose device fails ends the job at once with its name; and what cannot work is an
 * error before training. Skipped with a message when the build has no MPI or mpirun is
 * missing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "support.h"

static char work[256];

/* Every part of a step that sums over the batch: a batch of 125 (2 and 3 do not divide
 * it), warm-up, cosine schedule, clipping, EMA and a class-conditional model with label
 * dropout. */
static const char *recipe =
    "--config " FMCL_SOURCE_DIR "/configs/8gaussians.json --set model.hidden=[32,32] "
    "--set data.n_train=4000 --set data.n_test=200 --set train.batch=125 "
    "--set train.log_every=10 --set train.checkpoint_every=20 --set train.warmup=20 "
    "--set train.lr_schedule=cosine --set train.grad_clip=1 --set train.ema=0.99 "
    "--set model.classes=8 --set train.label_dropout=0.2 --set sample.n=101 --set eval.n=50 "
    "--set output.plots=false --quiet";

/* Runs fmcl with env, on ranks processes (0: without mpirun) and the extra arguments;
 * returns the exit status and the output in *out. */
static int fmcl(const char *env, int ranks, const char *extra, char **out) {
  char cmd[4096], launcher[128] = "";
  if (ranks > 0) snprintf(launcher, sizeof launcher, "mpirun --oversubscribe -np %d", ranks);
  snprintf(cmd, sizeof cmd, "%s %s %s %s %s", env, launcher, FMCL_BINARY, recipe, extra);
  return test_shell(cmd, out);
}

/* Trains into work/name; fails the test unless it succeeds. */
static void train(const char *name, int ranks, const char *extra) {
  char args[2048], *out = NULL;
  snprintf(args, sizeof args, "--set output.dir=%s/%s %s", work, name, extra);
  int rc = fmcl("", ranks, args, &out);
  ck_assert_msg(rc == 0, "%d ranks: exit %d\n%s", ranks, rc, out);
  free(out);
}

static fm_checkpoint load(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/model.fmck", work, name);
  fm_checkpoint ck;
  ck_fm(fm_checkpoint_load(path, &ck));
  return ck;
}

/* That work/name/model.fmck is intact and holds step. */
static void check_saved_step(const char *name, uint64_t step) {
  fm_checkpoint ck = load(name);
  ck_assert_uint_eq(ck.step, step);
  fm_checkpoint_free(&ck);
}

/* The loss column of work/name/train.csv into loss (at most max); returns how many. */
static int losses(const char *name, double *loss, int max) {
  char path[512], line[256];
  snprintf(path, sizeof path, "%s/%s/train.csv", work, name);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "no %s", path);
  int n = 0;
  while (fgets(line, sizeof line, f) && n < max) {
    char *comma = strchr(line, ',');
    if (comma && line[0] != 's') loss[n++] = strtod(comma + 1, NULL);
  }
  fclose(f);
  return n;
}

/* The largest relative difference of the loss curves of runs a and b. */
static double curve_difference(const char *a, const char *b) {
  double la[64], lb[64];
  int na = losses(a, la, 64), nb = losses(b, lb, 64);
  ck_assert_int_eq(na, nb);
  ck_assert_int_eq(na, 30); /* 300 steps logged every 10 */
  double worst = 0;
  for (int i = 0; i < na; i++) worst = fmax(worst, fabs(la[i] - lb[i]) / fabs(lb[i]));
  return worst;
}

/* The number after "key": in a summary.json. */
static double summary_number(const char *json, const char *key) {
  char quoted[64];
  snprintf(quoted, sizeof quoted, "\"%s\":", key);
  const char *at = strstr(json, quoted);
  ck_assert_msg(at != NULL, "no %s in\n%s", key, json);
  return strtod(at + strlen(quoted), NULL);
}

static double param_difference(const fm_checkpoint *a, const fm_checkpoint *b) {
  ck_assert_uint_eq(a->flat_size, b->flat_size);
  double worst = 0;
  for (size_t i = 0; i < a->flat_size; i++)
    worst = fmax(worst, fabs((double)a->params[i] - b->params[i]));
  return worst;
}

START_TEST(two_and_three_ranks_train_what_one_process_trains) {
  const char *steps = "--set train.steps=300";
  train("one", 0, steps);
  train("two", 2, steps);
  train("three", 3, steps);
  char layers[256];
  snprintf(layers, sizeof layers, "%s --set train.allreduce=layers", steps);
  train("two-by-layers", 2, layers);
  fm_checkpoint one = load("one"), two = load("two"), three = load("three");
  fm_checkpoint by_layers = load("two-by-layers");
  /* A sum of two is the same however the gradient is cut. */
  ck_assert_int_eq(memcmp(by_layers.params, two.params, two.flat_size * sizeof(float)), 0);
  ck_assert_msg(curve_difference("two-by-layers", "one") <= 1e-5, "per-layer sums");
  fm_checkpoint_free(&by_layers);
  double curve2 = curve_difference("two", "one"), curve3 = curve_difference("three", "one");
  double param2 = param_difference(&two, &one), param3 = param_difference(&three, &one);
  fprintf(stderr, "loss curves vs one process: largest relative difference %.2g (2 ranks), "
          "%.2g (3 ranks); parameters: largest difference %.2g, %.2g\n",
          curve2, curve3, param2, param3);
  ck_assert_msg(curve2 <= 1e-5 && curve3 <= 1e-5, "%g %g", curve2, curve3);
  ck_assert_msg(param2 <= 1e-5 && param3 <= 1e-5, "%g %g", param2, param3);
  ck_assert_int_eq(one.ranks, 1);
  ck_assert_int_eq(two.ranks, 2);
  ck_assert_int_eq(three.ranks, 3);
  /* The ranks' shares of the samples and of the likelihood are one process's points. */
  char path[512];
  snprintf(path, sizeof path, "%s/three/summary.json", work);
  char *summary = test_read_file(path);
  double nll_three = summary_number(summary, "nll_nats");
  char *summary_one = NULL;
  snprintf(path, sizeof path, "%s/one/summary.json", work);
  summary_one = test_read_file(path);
  double nll_one = summary_number(summary_one, "nll_nats");
  free(summary_one);
  ck_assert_msg(fabs(nll_three - nll_one) <= 1e-4 * fabs(nll_one), "NLL %g (3 ranks) vs %g",
                nll_three, nll_one);
  ck_assert_msg(strstr(summary, "\"ranks\":\t3") && strstr(summary, "allreduce_ms_per_step") &&
                    strstr(summary, "gradient_copy_ms_per_step"),
                "%s", summary);
  free(summary);
  const char *files[] = {"samples.csv", "test.csv"};
  for (size_t f = 0; f < FM_ARRAY_LEN(files); f++) {
    snprintf(path, sizeof path, "%s/one/%s", work, files[f]);
    char *a = test_read_file(path);
    snprintf(path, sizeof path, "%s/three/%s", work, files[f]);
    char *b = test_read_file(path);
    int lines_a = 0, lines_b = 0;
    for (char *p = a; *p; p++) lines_a += *p == '\n';
    for (char *p = b; *p; p++) lines_b += *p == '\n';
    ck_assert_int_eq(lines_a, lines_b);
    /* The same points to the rounding of the slightly different parameters. */
    char *sa = strchr(a, '\n'), *sb = strchr(b, '\n'); /* after the headers */
    ck_assert(sa && sb);
    double worst = 0;
    while (sa[0] && sa[1] && sb[0] && sb[1]) {
      char *ea, *eb;
      double va = strtod(sa + 1, &ea), vb = strtod(sb + 1, &eb);
      ck_assert_msg(ea != sa + 1 && eb != sb + 1, "not a number: %.20s", sa + 1);
      worst = fmax(worst, fabs(va - vb));
      sa = ea, sb = eb; /* at the separator after the number */
    }
    ck_assert_msg(worst < 1e-3, "%s differs by %g", files[f], worst);
    free(a);
    free(b);
  }
  fm_checkpoint_free(&one);
  fm_checkpoint_free(&two);
  fm_checkpoint_free(&three);
}
END_TEST

START_TEST(a_killed_job_resumes_bit_identically_with_the_same_ranks) {
  const char *steps = "--set train.steps=60 --set sample.n=0 --set eval.likelihood=false";
  char args[1024], env[128], *out = NULL;
  train("whole", 2, steps);
  srand((unsigned)time(NULL));
  int kill_at = 21 + rand() % 38; /* after the checkpoint of step 20, before the end */
  if (kill_at % 20 == 0) kill_at++; /* a rank killed there stops the checkpoint of its step */
  snprintf(env, sizeof env, "FMCL_FAULT=kill@%d FMCL_FAULT_RANK=%d", kill_at, kill_at % 2);
  snprintf(args, sizeof args, "--set output.dir=%s/killed %s", work, steps);
  int rc = fmcl(env, 2, args, &out);
  ck_assert_msg(rc != 0, "the job went on after its rank %d was killed at step %d:\n%s",
                kill_at % 2, kill_at, out);
  free(out);
  fm_checkpoint saved = load("killed");
  ck_assert_uint_eq(saved.step, (uint64_t)(kill_at / 20 * 20));
  fm_checkpoint_free(&saved);
  snprintf(args, sizeof args, "--set output.dir=%s/killed %s --resume", work, steps);
  rc = fmcl("", 2, args, &out);
  ck_assert_msg(rc == 0, "resume after a kill at step %d: exit %d\n%s", kill_at, rc, out);
  ck_assert_msg(!strstr(out, "warning"), "%s", out);
  free(out);
  fm_checkpoint a = load("whole"), b = load("killed");
  ck_assert_uint_eq(b.step, 60);
  ck_assert_msg(memcmp(a.params, b.params, a.flat_size * sizeof(float)) == 0,
                "killed at step %d and resumed: parameters differ from the whole run", kill_at);
  ck_assert_int_eq(memcmp(a.optim_state, b.optim_state, 2 * a.flat_size * sizeof(float)), 0);
  fm_checkpoint_free(&a);
  fm_checkpoint_free(&b);
}
END_TEST

START_TEST(a_resume_with_other_ranks_warns_and_continues) {
  const char *steps = "--set train.steps=40 --set sample.n=0 --set eval.likelihood=false";
  char args[1024], *out = NULL;
  snprintf(args, sizeof args, "--set output.dir=%s/regrouped %s", work, steps);
  int rc = fmcl("FMCL_FAULT=kill@30", 2, args, &out);
  ck_assert_msg(rc != 0, "%s", out);
  free(out);
  snprintf(args, sizeof args, "--set output.dir=%s/regrouped %s --resume", work, steps);
  rc = fmcl("", 0, args, &out);
  ck_assert_msg(rc == 0, "exit %d\n%s", rc, out);
  ck_assert_msg(strstr(out, "trained on 2 ranks and this run has 1") &&
                strstr(out, "differ in rounding"), "%s", out);
  free(out);
  fm_checkpoint ck = load("regrouped");
  ck_assert_uint_eq(ck.step, 40);
  ck_assert_int_eq(ck.ranks, 1);
  fm_checkpoint_free(&ck);
}
END_TEST

/* A run long enough that only a fault ends it soon; returns the exit status and seconds. */
static int fail_a_rank(const char *env, const char *name, char **out, double *seconds) {
  char args[1024];
  snprintf(args, sizeof args, "--set output.dir=%s/%s --set train.steps=1000000", work, name);
  double t0 = fm_seconds();
  int rc = fmcl(env, 2, args, out);
  *seconds = fm_seconds() - t0;
  return rc;
}

START_TEST(a_killed_rank_ends_the_job_with_its_name) {
  char *out = NULL;
  double seconds;
  int rc = fail_a_rank("FMCL_FAULT=kill@50 FMCL_FAULT_RANK=1", "dead-rank", &out, &seconds);
  fprintf(stderr, "a killed rank 1 ended the job in %.1f s\n", seconds);
  ck_assert_msg(rc != 0 && seconds < 30, "exit %d after %.1f s\n%s", rc, seconds, out);
  ck_assert_msg(strstr(out, "rank 1") && strstr(out, "signal 9"), "%s", out);
  free(out);
  check_saved_step("dead-rank", 40); /* the last good checkpoint, intact */
}
END_TEST

START_TEST(a_failing_device_on_one_rank_ends_the_job_with_its_name) {
  char *out = NULL;
  double seconds;
  int rc = fail_a_rank("FMCL_FAULT=device@30 FMCL_FAULT_RANK=1", "dead-device", &out, &seconds);
  ck_assert_msg(rc != 0 && seconds < 30, "exit %d after %.1f s\n%s", rc, seconds, out);
  ck_assert_msg(strstr(out, "fmcl: rank 1: error: ") && strstr(out, "CL_OUT_OF_RESOURCES"),
                "%s", out);
  free(out);
  check_saved_step("dead-device", 20);
}
END_TEST

START_TEST(a_stop_on_one_rank_stops_every_rank_after_the_same_step) {
  char args[1024], *out = NULL;
  snprintf(args, sizeof args, "--set output.dir=%s/stopped --set train.steps=1000000", work);
  int rc = fmcl("FMCL_FAULT=int@37 FMCL_FAULT_RANK=1", 2, args, &out);
  /* Rank 1's SIGINT reaches the others with the gradient sum of step 38. */
  ck_assert_msg(rc == 130 && strstr(out, "interrupted after step 38") &&
                !strstr(out, "second interrupt"), "exit %d\n%s", rc, out);
  free(out);
  check_saved_step("stopped", 38);
}
END_TEST

START_TEST(a_config_one_rank_cannot_read_ends_the_job) {
  char cmd[2048], *out = NULL;
  snprintf(cmd, sizeof cmd, "mpirun --oversubscribe -np 1 %s %s --set output.dir=%s/half : "
           "-np 1 %s --config %s/missing.json", FMCL_BINARY, recipe, work, FMCL_BINARY, work);
  double t0 = fm_seconds();
  int rc = test_shell(cmd, &out);
  ck_assert_msg(rc != 0 && fm_seconds() - t0 < 30 &&
                strstr(out, "fmcl: rank 1: error: config ") && strstr(out, "missing.json"),
                "exit %d\n%s", rc, out);
  free(out);
}
END_TEST

/* The ot coupling pairs within a rank's rows: it trains, and says how that differs. */
START_TEST(the_ot_coupling_warns_that_it_pairs_within_ranks) {
  char args[1024], *out = NULL;
  snprintf(args, sizeof args, "--set output.dir=%s/ot --set train.steps=20 --set "
           "path.coupling=ot --set sample.n=0 --set eval.likelihood=false", work);
  int rc = fmcl("", 2, args, &out);
  ck_assert_msg(rc == 0 && strstr(out, "pairs the noise and the data within each rank's rows"),
                "exit %d\n%s", rc, out);
  free(out);
}
END_TEST

START_TEST(what_cannot_work_is_an_error_before_training) {
  static const struct {
    const char *env, *args, *message;
    int ranks;
  } cases[] = {
      {"", "--set train.batch=1", "train.batch 1 is smaller than the 2 ranks", 2},
      {"", "--set device.indices=[0]", "device.indices names 1 devices but this node runs 2 "
       "ranks", 2},
      {"", "--set device.index=0", "device.index 0 names one device for the 2 ranks", 2},
      {"OMPI_COMM_WORLD_SIZE=2", "", "the launcher started 2 ranks, but MPI joined this process "
       "to a job of 1", 0},
  };
  for (size_t i = 0; i < FM_ARRAY_LEN(cases); i++) {
    char args[1024], *out = NULL;
    snprintf(args, sizeof args, "--set output.dir=%s/refused-%zu %s", work, i, cases[i].args);
    int rc = fmcl(cases[i].env, cases[i].ranks, args, &out);
    ck_assert_msg(rc != 0 && strstr(out, cases[i].message), "case %zu: exit %d\n%s", i, rc, out);
    ck_assert_msg(!strstr(out, "step "), "case %zu trained:\n%s", i, out);
    free(out);
  }
  char cmd[1024], *out = NULL;
  snprintf(cmd, sizeof cmd, "mpirun --oversubscribe -np 2 %s sample --checkpoint %s/one/model.fmck",
           FMCL_BINARY, work);
  int rc = test_shell(cmd, &out);
  ck_assert_msg(rc != 0 && strstr(out, "sample runs in one process"), "%s", out);
  free(out);
}
END_TEST

/* Whether this build has MPI and mpirun is at hand; says why not. */
static int have_mpi(void) {
  char cmd[600], line[512];
  snprintf(cmd, sizeof cmd, "%s --version", FMCL_BINARY);
  FILE *p = popen(cmd, "r");
  int built = 0;
  while (p && fgets(line, sizeof line, p))
    built |= strncmp(line, "MPI: ", 5) == 0 && strncmp(line, "MPI: none", 9) != 0;
  if (p) pclose(p);
  int launcher = system("command -v mpirun >/dev/null 2>&1") == 0;
  if (!built) fprintf(stderr, "skipped: this fmcl was built without MPI (install "
                      "libopenmpi-dev and configure again)\n");
  else if (!launcher) fprintf(stderr, "skipped: no mpirun (install openmpi-bin)\n");
  return built && launcher;
}

int main(void) {
  if (getenv("FMCL_GEMM")) {
    fprintf(stderr, "skipped: the MPI tests run once, with the default providers\n");
    return 0;
  }
  if (!have_mpi()) return 0;
  /* CI runs as root, which Open MPI refuses without these. */
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  /* Under AddressSanitizer: whole stacks for every allocation, so that the leak checker's
   * suppressions (tests/lsan.supp) see what Open MPI's plugins keep; the fast unwinder's
   * stacks end in a plugin already unloaded. */
  setenv("ASAN_OPTIONS", "fast_unwind_on_malloc=0", 0);
  fm_strlcpy(work, test_workdir("mpi"), sizeof work);
  Suite *s = suite_create("mpi");
  TCase *tc = tcase_create("mpi");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, two_and_three_ranks_train_what_one_process_trains);
  tcase_add_test(tc, a_killed_job_resumes_bit_identically_with_the_same_ranks);
  tcase_add_test(tc, a_resume_with_other_ranks_warns_and_continues);
  tcase_add_test(tc, a_killed_rank_ends_the_job_with_its_name);
  tcase_add_test(tc, a_failing_device_on_one_rank_ends_the_job_with_its_name);
  tcase_add_test(tc, a_stop_on_one_rank_stops_every_rank_after_the_same_step);
  tcase_add_test(tc, a_config_one_rank_cannot_read_ends_the_job);
  tcase_add_test(tc, the_ot_coupling_warns_that_it_pairs_within_ranks);
  tcase_add_test(tc, what_cannot_work_is_an_error_before_training);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
