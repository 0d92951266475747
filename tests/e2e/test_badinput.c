/* Bad input, tried systematically through the fmcl program: each broken config, override
 * or request gets its exit status and a message that names the problem, and nothing is
 * left behind that looks complete. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "support.h"

static char work[256];

typedef struct config_case {
  const char *text;
  const char *message; /* a part of the expected message */
} config_case;

static const config_case config_cases[] = {
    {"{\"train\": {\"steps\": \"many\"}}", "train.steps: expected"},
    {"{\"trian\": {}}", "unknown key \"trian\""},
    {"{\"train\": {\"bacth\": 5}}", "unknown key \"train.bacth\""},
    {"{\"train\": {\"lr\": -1}}", "train.lr: expected a number > 0"},
    {"{\"train\": {\"batch\": 1e30}}", "train.batch: expected a positive integer"},
    {"{\"seed\": 1e300}", "seed: expected an integer"},
    {"{\"seed\": -3}", "seed: expected an integer"},
    {"{\"sample\": {\"steps\": 0}}", "sample.steps"},
    {"{\"train\": {\"beta2\": 1}}", "train.beta2"},
    {"", "the file is empty"},
    {"  \n\t ", "the file is empty"},
    {"steps = 5", ":1:1: JSON syntax error"},
    {"{\"train\": {\"steps\": 10", "JSON syntax error"},
    {"{\"train\": {\"steps\": 10,}}", "JSON syntax error"},
    {"{\n\"train\": {\"lr\": NaN}}", ":2:"},
    {"{\"train\": {\"batch\": [1]}}", "got a list"},
    {"{\"model\": {\"hidden\": null}}", "model.hidden: expected a list"},
    {"{\"model\": {\"hidden\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}}", "model.hidden"},
    {"{\"model\": {\"hidden\": [64, 0]}}", "model.hidden[1]"},
    {"{\"model\": \"big\"}", "model: expected an object, got a string"},
    {"[1, 2, 3]", "expected a JSON object at the top level"},
    {"{\"seed\": 1, \"seed\": 2}", "duplicate key \"seed\""},
    {"{\"sample\": {\"solver\": \"dopri\"}}", "sample.solver: expected one of \"euler\""},
    {"{\"data\": {\"name\": \"mnist\"}}", "unknown data set \"mnist\""},
    {"{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
     "name: expected a string of at most 63 characters"},
    {"{} {}", "unexpected text after the JSON object"},
    {"{\"sample\": {\"rtol\": 0}}", "sample.rtol: expected a number > 0"},
    {"{\"eval\": {\"atol\": -1e-5}}", "eval.atol: expected a number > 0"},
    {"{\"path\": {\"scheduler\": \"ddpm\"}}", "path.scheduler: expected one of"},
    {"{\"source\": {\"name\": \"mnist\"}}", "source.name: unknown data set"},
    {"{\"sample\": {\"class\": 3}}", "sample.class 3 needs model.classes"},
};

START_TEST(broken_configs_are_refused_with_the_key_or_position) {
  const config_case *c = &config_cases[_i];
  char path[512], cmd[1024], *out = NULL;
  snprintf(path, sizeof path, "%s/case-%d.json", work, _i);
  test_write_file(path, c->text);
  snprintf(cmd, sizeof cmd, "%s --config %s --set output.dir=%s/out-%d", FMCL_BINARY, path, work, _i);
  int rc = test_shell(cmd, &out);
  ck_assert_msg(rc == 2, "case %d (%s): exit %d, want 2:\n%s", _i, c->text, rc, out);
  ck_assert_msg(strstr(out, c->message) && strstr(out, path),
                "case %d (%s): message lacks '%s' or the file name:\n%s", _i, c->text, c->message, out);
  free(out);
  /* Nothing was started: no run folder. */
  snprintf(path, sizeof path, "%s/out-%d", work, _i);
  ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(deep_nesting_and_binary_garbage_do_not_crash) {
  char path[512], cmd[1024], *out = NULL;
  size_t depth = 100000;
  char *deep = malloc(2 * depth + 1);
  for (size_t i = 0; i < depth; i++) deep[i] = '[', deep[depth + i] = ']';
  deep[2 * depth] = '\0';
  snprintf(path, sizeof path, "%s/deep.json", work);
  test_write_file(path, deep);
  snprintf(cmd, sizeof cmd, "%s --config %s", FMCL_BINARY, path);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "JSON syntax error") || strstr(out, "expected a JSON object"), "%s", out);
  free(out);
  free(deep);
  unsigned char garbage[4096];
  float noise[1024];
  test_fill_uniform(noise, 1024, 7, 0, 256);
  for (int i = 0; i < 4096; i++) garbage[i] = (unsigned char)noise[i / 4];
  garbage[0] = '{';
  garbage[100] = '\0';
  snprintf(path, sizeof path, "%s/garbage.json", work);
  FILE *g = fopen(path, "wb");
  ck_assert_ptr_nonnull(g);
  ck_assert_int_eq(fwrite(garbage, 1, sizeof garbage, g), sizeof garbage);
  fclose(g);
  snprintf(cmd, sizeof cmd, "%s --config %s", FMCL_BINARY, path);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "JSON syntax error") || strstr(out, "unexpected text"), "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "%s --config %s", FMCL_BINARY, work);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "Is a directory"), "%s", out);
  free(out);
}
END_TEST

START_TEST(bad_overrides_and_options_are_refused) {
  const char *cases[][2] = {
      {"--set train.steps=-5", "train.steps"},
      {"--set train.steps", "expected key.path=value"},
      {"--set =5", "expected key.path=value"},
      {"--set model.hidden=[64,", "model.hidden"},
      {"--set nosuch.key=1", "unknown key \"nosuch.key\""},
      {"--progress sometimes", "--progress takes auto, live or lines"},
      {"--config", "--config needs a value"},
      {"--frobnicate", "unknown option '--frobnicate'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s train %s", FMCL_BINARY, cases[i][0]);
    ck_assert_msg(test_shell(cmd, &out) == 2 && strstr(out, cases[i][1]), "%s:\n%s", cases[i][0], out);
    free(out);
  }
}
END_TEST

/* No file in dir ends in .tmp (a half-written file). */
static void expect_no_temporary_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    ck_assert_msg(n < 4 || strcmp(e->d_name + n - 4, ".tmp") != 0, "left behind: %s", e->d_name);
  }
  closedir(d);
}

/* A batch whose hidden activations alone need twice what one buffer may hold on the device
 * the program opens (on any device: the size comes from its limits). */
START_TEST(a_batch_too_large_for_the_device_names_the_sizes) {
  char cmd[1024], dir[512], path[600], *out = NULL;
  fm_device_info d = test_binary_device();
  unsigned long long batch = 2 * (unsigned long long)d.max_alloc / (4 * 4096) + 1;
  snprintf(dir, sizeof dir, "%s/oom", work);
  snprintf(cmd, sizeof cmd, "%s train --set train.batch=%llu --set model.hidden=[4096] "
           "--set output.dir=%s", FMCL_BINARY, batch, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 1);
  ck_assert_msg(strstr(out, "GiB") && strstr(out, "reduce the batch size"), "%s", out);
  free(out);
  /* The run did not complete, and nothing says it did. */
  const char *absent[] = {"summary.json", "samples.csv", "model.fmck"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, absent[i]);
    ck_assert_msg(access(path, F_OK) != 0, "%s exists", path);
  }
  expect_no_temporary_files(dir);
}
END_TEST

START_TEST(a_missing_device_lists_what_exists) {
  char cmd[1024], *out = NULL;
  snprintf(cmd, sizeof cmd, "%s train --set device.index=99", FMCL_BINARY);
  ck_assert_int_eq(test_shell(cmd, &out), 1);
  ck_assert_msg(strstr(out, "device.index 99 does not exist") && strstr(out, "0: "), "%s", out);
  free(out);
}
END_TEST

START_TEST(an_unwritable_run_folder_is_reported) {
  char cmd[1024], path[512], *out = NULL;
  snprintf(path, sizeof path, "%s/a-file", work);
  test_write_file(path, "x");
  snprintf(cmd, sizeof cmd, "%s train --set output.dir=%s/sub", FMCL_BINARY, path);
  ck_assert_int_eq(test_shell(cmd, &out), 1);
  ck_assert_msg(strstr(out, "a-file"), "%s", out);
  free(out);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("badinput"), sizeof work);
  Suite *s = suite_create("badinput");
  TCase *tc = tcase_create("badinput");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, broken_configs_are_refused_with_the_key_or_position, 0,
                      (int)(sizeof config_cases / sizeof *config_cases));
  tcase_add_test(tc, deep_nesting_and_binary_garbage_do_not_crash);
  tcase_add_test(tc, bad_overrides_and_options_are_refused);
  tcase_add_test(tc, a_batch_too_large_for_the_device_names_the_sizes);
  tcase_add_test(tc, a_missing_device_lists_what_exists);
  tcase_add_test(tc, an_unwritable_run_folder_is_reported);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
