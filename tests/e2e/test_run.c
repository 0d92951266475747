/* End to end through the fmcl program: every config in configs/ trains briefly and writes a
 * complete run folder; sampling from a checkpoint; the command line's errors and help. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "support.h"

static char work[256];

static int count_lines(const char *text) {
  int n = 0;
  for (; *text; text++) n += *text == '\n';
  return n;
}

/* images: 784-D data, whose samples.csv has more columns and which has no density plot. */
static void check_run_folder(const char *dir, int samples, int images) {
  char path[1024];
  snprintf(path, sizeof path, "%s/samples.csv", dir);
  char *text = test_read_file(path);
  ck_assert_msg(strncmp(text, images ? "x0,x1," : "x0,x1\n", 6) == 0, "samples.csv header: %.20s",
                text);
  ck_assert_int_eq(count_lines(text), samples + 1);
  free(text);
  snprintf(path, sizeof path, "%s/train.csv", dir);
  text = test_read_file(path);
  ck_assert(strncmp(text, "step,loss,lr,steps_per_s\n", 25) == 0);
  ck_assert_int_ge(count_lines(text), 2);
  free(text);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  text = test_read_file(path);
  cJSON *s = cJSON_Parse(text);
  ck_assert_ptr_nonnull(s);
  cJSON *train = cJSON_GetObjectItem(s, "train"), *sample = cJSON_GetObjectItem(s, "sample");
  ck_assert(cJSON_GetObjectItem(train, "steps_per_s")->valuedouble > 0);
  ck_assert(cJSON_GetObjectItem(train, "final_loss")->valuedouble > 0);
  ck_assert(cJSON_GetObjectItem(sample, "nfe")->valuedouble > 0);
  ck_assert(cJSON_GetObjectItem(s, "peak_device_bytes")->valuedouble > 0);
  cJSON *lik = cJSON_GetObjectItem(s, "likelihood"), *met = cJSON_GetObjectItem(s, "metrics");
  ck_assert_msg(lik && cJSON_IsNumber(cJSON_GetObjectItem(lik, "nll_nats")), "%s", text);
  ck_assert_msg(met && cJSON_GetObjectItem(met, "w2")->valuedouble > 0, "%s", text);
  ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "device"), "name"));
  cJSON_Delete(s);
  free(text);
  const char *others[] = {"config.json",      "test.csv",    "model.fmck",   "trajectories.csv",
                          "trajectories.png", "samples.png", "density.png", "loss.png"};
  for (int i = 0; i < 8; i++) {
    if (images && strcmp(others[i], "density.png") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, others[i]);
    ck_assert_msg(access(path, R_OK) == 0, "missing %s", path);
  }
}

/* Runs one config briefly through the program and checks its run folder; returns 0 when it
 * was skipped (its data set's package is not installed). */
static int run_config(const char *folder, const char *file) {
  size_t len = strlen(file);
  char cmd[4096], out_dir[1024];
  snprintf(cmd, sizeof cmd, "%s/%s", folder, file);
  char *json = test_read_file(cmd);
  int images = strstr(json, "\"fashion-mnist\"") != NULL;
  free(json);
  if (images && access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0 &&
      !getenv("FMCL_FASHION_MNIST_DIR")) {
    fprintf(stderr, "%s: skipped: dataset-fashion-mnist is not installed (tools/test.sh installs "
            "it)\n", file);
    return 0;
  }
  snprintf(out_dir, sizeof out_dir, "%s/%.*s", work, (int)(len - 5), file);
  snprintf(cmd, sizeof cmd,
           "%s --config %s/%s --set train.steps=30 --set train.log_every=10 "
           "--set data.n_train=2000 --set data.n_test=100 --set sample.n=64 "
           "--set sample.steps=4 --set sample.save_every=2 --set eval.density_grid=24 "
           "--set output.dir=%s",
           FMCL_BINARY, folder, file, out_dir);
  char *out = NULL;
  int rc = test_shell(cmd, &out);
  ck_assert_msg(rc == 0, "%s failed (%d):\n%s", file, rc, out);
  /* Not a terminal: plain progress lines. */
  ck_assert_msg(strstr(out, "step 30/30") && !strchr(out, '\r'), "%s", out);
  free(out);
  check_run_folder(out_dir, 64, images);
  return 1;
}

/* Every .json file of configs/ and its subfolders; returns how many ran. */
static int run_configs_in(const char *folder) {
  DIR *d = opendir(folder);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  int ran = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
    struct stat sb;
    if (e->d_name[0] != '.' && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) ran += run_configs_in(path);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
    ran += run_config(folder, e->d_name);
  }
  closedir(d);
  return ran;
}

START_TEST(every_config_in_configs_runs) {
  char dir_path[512];
  snprintf(dir_path, sizeof dir_path, "%s/configs", FMCL_SOURCE_DIR);
  ck_assert_int_ge(run_configs_in(dir_path), 12);
}
END_TEST

START_TEST(sample_command_reuses_a_checkpoint) {
  char cmd[2048], dir[512], *out = NULL;
  snprintf(dir, sizeof dir, "%s/resample", work);
  snprintf(cmd, sizeof cmd,
           "%s train --set model.hidden=[32] --set train.steps=20 --set data.n_train=500 "
           "--set sample.n=10 --set output.dir=%s --quiet",
           FMCL_BINARY, dir);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
  snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/model.fmck --set sample.n=123 "
           "--set sample.solver=midpoint", FMCL_BINARY, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "NFE 50"), "%s", out);
  free(out);
  char path[600];
  snprintf(path, sizeof path, "%s/samples-midpoint25-n123.csv", dir);
  char *text = test_read_file(path);
  ck_assert_int_eq(count_lines(text), 124);
  free(text);
  /* The likelihood of the held-out split, and of a file of another dimension. */
  snprintf(cmd, sizeof cmd, "%s likelihood --checkpoint %s/model.fmck --set eval.solver=rk4 "
           "--set eval.steps=4 --out %s/logp.csv", FMCL_BINARY, dir, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "points of the held-out split: NLL") && strstr(out, "bits/dim"), "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/logp.csv", dir);
  text = test_read_file(path);
  ck_assert_int_eq(count_lines(text), 2001);
  free(text);
  snprintf(path, sizeof path, "%s/three.csv", dir);
  FILE *three = fopen(path, "w");
  fputs("1,2,3\n4,5,6\n", three);
  fclose(three);
  snprintf(cmd, sizeof cmd, "%s likelihood --checkpoint %s/model.fmck --data %s", FMCL_BINARY, dir,
           path);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "dimension 3") && strstr(out, "takes dimension 2"), "%s", out);
  free(out);
  /* Changing what was trained is refused. */
  snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/model.fmck --set model.hidden=[64]",
           FMCL_BINARY, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "--set model.hidden") && strstr(out, "describe the trained model"),
                "%s", out);
  free(out);
  /* A damaged checkpoint is refused with its path. */
  snprintf(path, sizeof path, "%s/model.fmck", dir);
  FILE *f = fopen(path, "r+b");
  fseek(f, 200, SEEK_SET);
  fputc('!', f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s", FMCL_BINARY, path);
  ck_assert_int_eq(test_shell(cmd, &out), 1);
  ck_assert_msg(strstr(out, "checksum mismatch") && strstr(out, path), "%s", out);
  free(out);
}
END_TEST

/* Every run prints and records the exact time grid and NFE; fmcl sample takes a grid. */
START_TEST(the_time_grid_is_printed_and_recorded) {
  char cmd[2048], dir[512], path[600], *out = NULL;
  snprintf(dir, sizeof dir, "%s/grid", work);
  snprintf(cmd, sizeof cmd,
           "%s train --set model.hidden=[32] --set train.steps=20 --set data.n_train=500 "
           "--set sample.n=10 --set sample.steps=4 --set sample.time_shift=3 "
           "--set eval.likelihood=false --set output.plots=false --set output.dir=%s",
           FMCL_BINARY, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "rk4, 4 steps at t = 0, 0.5, 0.75, 0.9, 1 (NFE 16)"), "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  char *text = test_read_file(path);
  cJSON *s = cJSON_Parse(text);
  cJSON *grid = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "sample"), "grid");
  const double want[] = {0, 0.5, 0.75, 0.9, 1};
  ck_assert_msg(cJSON_GetArraySize(grid) == 5, "%s", text);
  for (int i = 0; i < 5; i++)
    ck_assert_double_eq_tol(cJSON_GetArrayItem(grid, i)->valuedouble, want[i], 1e-12);
  ck_assert_int_eq((int)cJSON_GetObjectItem(cJSON_GetObjectItem(s, "sample"), "nfe")->valuedouble,
                   16);
  cJSON_Delete(s);
  free(text);
  snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/model.fmck --set sample.n=7 "
           "--set sample.times=[0,0.6,1] --set sample.time_shift=1 --set sample.solver=euler",
           FMCL_BINARY, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "euler, 2 steps at t = 0, 0.6, 1 (NFE 2)"), "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/samples-euler-grid2-n7.csv", dir);
  ck_assert_int_eq(access(path, R_OK), 0);
  /* The checkpoint keeps the training run's grid (shift 3); sample.steps replaces its times,
   * dopri5 the whole grid. */
  const char *asks[][2] = {{"--set sample.n=5", "rk4, 4 steps at t = 0, 0.5, 0.75, 0.9, 1"},
                           {"--set sample.n=5 --set sample.steps=6", "rk4, 6 steps at t = 0, 0.375, 0.6"},
                           {"--set sample.n=5 --set sample.solver=dopri5", "dopri5 (rtol"}};
  for (int i = 0; i < 3; i++) {
    snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/model.fmck %s --overwrite --out "
             "%s/again.csv", FMCL_BINARY, dir, asks[i][0], dir);
    ck_assert_int_eq(test_shell(cmd, &out), 0);
    ck_assert_msg(strstr(out, asks[i][1]), "%s:\n%s", asks[i][0], out);
    free(out);
  }
  snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/model.fmck --set sample.times=[0,0.7,0.6,1]",
           FMCL_BINARY, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "sample.times must increase"), "%s", out);
  free(out);
}
END_TEST

START_TEST(resolved_config_reproduces_itself) {
  char cmd[2048], *a = NULL, *b = NULL, path[600];
  snprintf(path, sizeof path, "%s/resolved.json", work);
  snprintf(cmd, sizeof cmd, "%s config --config %s/configs/moons.json --set seed=5 > %s",
           FMCL_BINARY, FMCL_SOURCE_DIR, path);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
  snprintf(cmd, sizeof cmd, "%s config --config %s", FMCL_BINARY, path);
  ck_assert_int_eq(test_shell(cmd, &b), 0);
  a = test_read_file(path);
  ck_assert_str_eq(a, b);
  ck_assert_msg(strstr(a, "\"seed\":\t5"), "%s", a);
  free(a), free(b);
}
END_TEST

START_TEST(command_line_errors_are_clear) {
  char cmd[2048], *out = NULL, path[600];
  snprintf(path, sizeof path, "%s/bad.json", work);
  FILE *f = fopen(path, "w");
  fputs("{\"train\": {\"batch\": -4}}", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s --config %s", FMCL_BINARY, path);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "train.batch") && strstr(out, "-4"), "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "%s --config %s/missing.json", FMCL_BINARY, work);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "missing.json"), "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "%s frobnicate", FMCL_BINARY);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "unknown command 'frobnicate'"), "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "%s train --set device.type=gpu --set device.name=nosuchdevice",
           FMCL_BINARY);
  ck_assert_int_eq(test_shell(cmd, &out), 1);
  ck_assert_msg(strstr(out, "nosuchdevice") && strstr(out, "found"), "%s", out);
  free(out);
}
END_TEST

START_TEST(help_and_version_describe_the_program) {
  const char *commands[] = {"", "train ", "sample ", "likelihood ", "devices ", "data ", "config "};
  for (int i = 0; i < 7; i++) {
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s--help", FMCL_BINARY, commands[i]);
    ck_assert_int_eq(test_shell(cmd, &out), 0);
    ck_assert_msg(strstr(out, "usage: fmcl"), "%s", out);
    free(out);
  }
  char cmd[1024], *out = NULL;
  snprintf(cmd, sizeof cmd, "%s --version", FMCL_BINARY);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "fmcl ") && strstr(out, "CLBlast") && strstr(out, "OpenCL"), "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "%s devices", FMCL_BINARY);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "index") && strstr(out, "OpenCL"), "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "%s config --keys", FMCL_BINARY);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "train.batch") && strstr(out, "sample.solver"), "%s", out);
  free(out);
}
END_TEST

START_TEST(data_command_exports_the_training_points) {
  char cmd[1024], dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/data", work);
  snprintf(cmd, sizeof cmd, "%s data --set data.name=rings --set data.n_train=40 "
           "--set data.n_test=7 --out %s --quiet", FMCL_BINARY, dir);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
  snprintf(path, sizeof path, "%s/train.csv", dir);
  char *text = test_read_file(path);
  ck_assert_int_eq(count_lines(text), 41);
  ck_assert(strncmp(text, "x0,x1,label\n", 12) == 0);
  free(text);
  fm_points p;
  ck_fm(fm_toy_generate("rings", 0, FM_STREAM_DATA_TRAIN, 40, &p));
  text = test_read_file(path);
  float x0;
  sscanf(strchr(text, '\n') + 1, "%g", &x0);
  ck_assert_float_eq_tol(x0, p.x[0], 1e-6);
  fm_points_free(&p);
  free(text);
}
END_TEST

START_TEST(a_data_source_is_transported_to_the_data) {
  /* moons to 8gaussians: the samples start on the moons and end near the eight modes. */
  char cmd[2048], dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/moons-to-8g", work);
  snprintf(cmd, sizeof cmd, "%s train --set source.name=moons --set data.name=8gaussians "
           "--set model.hidden=[64,64] --set train.steps=600 --set train.lr=3e-3 "
           "--set data.n_train=5000 --set sample.n=500 --set sample.save_every=25 "
           "--set eval.density_grid=0 --set output.dir=%s --quiet", FMCL_BINARY, dir);
  char *out = NULL;
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(!strstr(out, "error"), "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/trajectories.csv", dir);
  fm_points traj;
  ck_fm(fm_datafile_load(path, FM_FORMAT_CSV, NULL, &traj)); /* columns t, point, x0, x1 */
  int starts_on_moons = 0, ends_near_modes = 0, n = 0;
  for (int i = 0; i < traj.n; i++) {
    const float *row = traj.x + (size_t)i * 4;
    if (row[0] == 0.0f) {
      /* The moons lie in [-3, 3] x [-1.5, 2.5], with noise of standard deviation 0.2. */
      starts_on_moons += row[2] > -4.0f && row[2] < 4.0f && row[3] > -2.5f && row[3] < 3.5f;
      n++;
    } else if (row[0] == 1.0f) {
      double best;
      test_8g_nearest(row[2], row[3], &best);
      ends_near_modes += best < 1.0;
    }
  }
  ck_assert_int_eq(n, 500);
  ck_assert_msg(starts_on_moons == 500, "%d of 500 start on the moons", starts_on_moons);
  ck_assert_msg(ends_near_modes > 400, "%d of 500 end near a mode", ends_near_modes);
  fm_points_free(&traj);
}
END_TEST

START_TEST(sampling_uses_the_ema_weights_and_a_source_file_works) {
  /* The EMA does not change training, so two runs that differ only in train.ema train the
   * same weights; their samples differ only because sampling uses the average. */
  char cmd[2048], a[512], b[512], path[600];
  const char *recipe = "train --set model.hidden=[32] --set train.steps=40 --set data.n_train=500 "
                       "--set sample.n=20 --set eval.likelihood=false --set output.plots=false "
                       "--quiet";
  snprintf(a, sizeof a, "%s/no-ema", work);
  snprintf(b, sizeof b, "%s/ema", work);
  snprintf(cmd, sizeof cmd, "%s %s --set output.dir=%s", FMCL_BINARY, recipe, a);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s %s --set train.ema=0.9 --set output.dir=%s", FMCL_BINARY, recipe, b);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(path, sizeof path, "%s/train.csv", a);
  char *la = test_read_file(path);
  snprintf(path, sizeof path, "%s/train.csv", b);
  char *lb = test_read_file(path);
  /* The same losses: compare "step,loss," of every row (steps/s differs between runs). */
  int rows = 0;
  for (char *pa = strchr(la, '\n') + 1, *pb = strchr(lb, '\n') + 1; *pa && *pb; rows++) {
    size_t na = strcspn(pa, ","), nb = strcspn(pb, ",");
    size_t ma = na + 1 + strcspn(pa + na + 1, ","), mb = nb + 1 + strcspn(pb + nb + 1, ",");
    ck_assert_msg(ma == mb && strncmp(pa, pb, ma) == 0, "loss rows differ: %.40s / %.40s", pa, pb);
    pa = strchr(pa, '\n') + 1;
    pb = strchr(pb, '\n') + 1;
  }
  ck_assert_int_ge(rows, 1);
  free(la), free(lb);
  snprintf(path, sizeof path, "%s/samples.csv", a);
  char *sa = test_read_file(path);
  snprintf(path, sizeof path, "%s/samples.csv", b);
  char *sb = test_read_file(path);
  ck_assert_msg(strcmp(sa, sb) != 0, "the EMA run sampled with the raw weights");
  free(sa), free(sb);
  fm_checkpoint ca, cb;
  snprintf(path, sizeof path, "%s/model.fmck", a);
  ck_fm(fm_checkpoint_load(path, &ca));
  snprintf(path, sizeof path, "%s/model.fmck", b);
  ck_fm(fm_checkpoint_load(path, &cb));
  ck_assert_int_eq(memcmp(ca.params, cb.params, ca.flat_size * sizeof(float)), 0);
  ck_assert_ptr_null(ca.ema);
  ck_assert_ptr_nonnull(cb.ema);
  fm_checkpoint_free(&ca);
  fm_checkpoint_free(&cb);
  /* A source file of the data's dimension is a source; another dimension is refused. */
  snprintf(path, sizeof path, "%s/src.csv", work);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 50; i++) fprintf(f, "%d,%d\n", i % 7, i % 5);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s %s --set source.path=%s --set output.dir=%s/src", FMCL_BINARY,
           recipe, path, work);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(path, sizeof path, "%s/src3.csv", work);
  f = fopen(path, "w");
  fputs("1,2,3\n4,5,6\n", f);
  fclose(f);
  char *out = NULL;
  snprintf(cmd, sizeof cmd, "%s %s --set source.path=%s --set output.dir=%s/src3", FMCL_BINARY,
           recipe, path, work);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "dimension 3") && strstr(out, "the data 2"), "%s", out);
  free(out);
}
END_TEST

START_TEST(readme_config_table_is_the_programs_own) {
  char cmd[1024], *out = NULL, path[600];
  snprintf(cmd, sizeof cmd, "%s config --keys --markdown", FMCL_BINARY);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  snprintf(path, sizeof path, "%s/README.md", FMCL_SOURCE_DIR);
  char *readme = test_read_file(path);
  int rows = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), rows++)
    ck_assert_msg(strstr(readme, line), "README.md lacks this row of `fmcl config --keys "
                  "--markdown`:\n%s", line);
  ck_assert_int_gt(rows, 20);
  free(readme);
  free(out);
}
END_TEST

START_TEST(missing_opencl_platform_says_how_to_install_one) {
  char cmd[1024], *out = NULL;
  snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS=/nonexistent-icd-folder %s devices", FMCL_BINARY);
  ck_assert_int_eq(test_shell(cmd, &out), 1);
  ck_assert_msg(strstr(out, "no OpenCL platform found") && strstr(out, "apt-get install"), "%s", out);
  free(out);
}
END_TEST

START_TEST(kernels_load_from_a_folder_and_build_errors_show_the_log) {
  char cmd[4096], dir[512], *out = NULL;
  snprintf(dir, sizeof dir, "%s/cl", work);
  snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/cl/*.cl %s/", dir, FMCL_SOURCE_DIR, dir);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
  const char *train = "train --set model.hidden=[16] --set train.steps=3 --set data.n_train=100 "
                      "--set sample.n=5 --overwrite --quiet";
  snprintf(cmd, sizeof cmd, "FMCL_KERNEL_DIR=%s %s %s --set output.dir=%s/kd", dir, FMCL_BINARY,
           train, work);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  free(out);
  snprintf(cmd, sizeof cmd, "echo 'this is not OpenCL C;' >> %s/mlp.cl", dir);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
  snprintf(cmd, sizeof cmd, "FMCL_KERNEL_DIR=%s %s %s --set output.dir=%s/kd", dir, FMCL_BINARY,
           train, work);
  ck_assert_int_eq(test_shell(cmd, &out), 1);
  ck_assert_msg(strstr(out, "mlp.cl") && strstr(out, "options:") && strstr(out, "build log:") &&
                    strstr(out, "/mlp.cl:"),
                "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "FMCL_KERNEL_DIR=%s/missing %s %s --set output.dir=%s/kd", work,
           FMCL_BINARY, train, work);
  ck_assert_int_eq(test_shell(cmd, &out), 1);
  ck_assert_msg(strstr(out, "cannot open") && strstr(out, "unset it to use the embedded kernels"),
                "%s", out);
  free(out);
}
END_TEST

START_TEST(profile_reports_every_command_of_a_step) {
  char cmd[2048], dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/profiled", work);
  snprintf(cmd, sizeof cmd, "%s train --set model.hidden=[32,32] --set train.steps=20 "
           "--set data.n_train=500 --set sample.n=10 --set output.dir=%s --profile --quiet",
           FMCL_BINARY, dir);
  ck_assert_int_eq(test_shell(cmd, NULL), 0);
  snprintf(path, sizeof path, "%s/profile.csv", dir);
  char *text = test_read_file(path);
  ck_assert(strncmp(text, "command,calls_per_step,us_per_call,us_per_step,share\n", 52) == 0);
  /* The products' labels name their provider: fmcl's CPU kernels "gemm", its GPU kernels
   * "gpu", CLBlast "clblast". */
  snprintf(path, sizeof path, "%s/summary.json", dir);
  char *summary = test_read_file(path);
  const char *product = strstr(summary, "\"gemm\":\t\"fmcl-gpu\"") ? "gpu "
                        : strstr(summary, "\"gemm\":\t\"clblast\"") ? "clblast "
                                                                   : "gemm ";
  free(summary);
  const char *expected[] = {product, "fm_path_sample_rows", "fm_cfm_loss", "fm_adam"};
  for (int i = 0; i < 4; i++) ck_assert_msg(strstr(text, expected[i]), "no %s in\n%s", expected[i], text);
  double share_sum = 0;
  for (char *line = strchr(text, '\n') + 1; *line;) {
    char *end = strchr(line, '\n');
    ck_assert_ptr_nonnull(end);
    *end = '\0';
    char *last = strrchr(line, ',');
    ck_assert_ptr_nonnull(last);
    share_sum += atof(last + 1);
    line = end + 1;
  }
  ck_assert_msg(share_sum > 0.99 && share_sum < 1.01, "shares add to %g", share_sum);
  free(text);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("run"), sizeof work);
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("run");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, every_config_in_configs_runs);
  tcase_add_test(tc, sample_command_reuses_a_checkpoint);
  tcase_add_test(tc, the_time_grid_is_printed_and_recorded);
  tcase_add_test(tc, resolved_config_reproduces_itself);
  tcase_add_test(tc, command_line_errors_are_clear);
  tcase_add_test(tc, help_and_version_describe_the_program);
  tcase_add_test(tc, data_command_exports_the_training_points);
  tcase_add_test(tc, readme_config_table_is_the_programs_own);
  tcase_add_test(tc, a_data_source_is_transported_to_the_data);
  tcase_add_test(tc, sampling_uses_the_ema_weights_and_a_source_file_works);
  tcase_add_test(tc, missing_opencl_platform_says_how_to_install_one);
  tcase_add_test(tc, kernels_load_from_a_folder_and_build_errors_show_the_log);
  tcase_add_test(tc, profile_reports_every_command_of_a_step);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
