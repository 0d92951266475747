/* fmcl tune and tuning files: a tune writes the winners, a run loads them and honours
 * them per product shape, and a damaged or foreign file is ignored with a warning while
 * the run still succeeds. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "support.h"

static char work[256];

static const char *model = "--set model.hidden=[64,64] --set train.batch=64 --set sample.n=50 "
                           "--set data.n_train=500";

START_TEST(tune_writes_the_winner_of_every_shape) {
  char cmd[2048], path[512], *out = NULL;
  snprintf(path, sizeof path, "%s/tuning.json", work);
  snprintf(cmd, sizeof cmd, "%s tune %s --set device.tuning=%s", FMCL_BINARY, model, path);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "| forward (NN) | 64 x 64 x 64 |") && strstr(out, "winner"), "%s", out);
  free(out);
  char *text = test_read_file(path);
  cJSON *j = cJSON_Parse(text);
  ck_assert_ptr_nonnull(j);
  cJSON *shapes = cJSON_GetObjectItem(j, "shapes");
  /* Per layer: forward, weight gradient, gradient back (not for the first), and the
   * forward at the sampling batch. */
  ck_assert_int_ge(cJSON_GetArraySize(shapes), 9);
  cJSON *s = cJSON_GetArrayItem(shapes, 0);
  ck_assert(cJSON_GetObjectItem(s, "fmcl_gflops")->valuedouble > 0);
  cJSON_Delete(j);
  free(text);
  /* A run loads it. */
  snprintf(cmd, sizeof cmd, "%s train %s --set train.steps=5 --set device.tuning=%s "
           "--set output.dir=%s/tuned --set eval.likelihood=false --set output.plots=false",
           FMCL_BINARY, model, path, work);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "tuning: ") && strstr(out, "product shapes from"), "%s", out);
  free(out);
}
END_TEST

START_TEST(a_run_uses_the_tuned_provider_of_each_shape) {
  /* A hand-written tuning file sends the 64 x 64 x 64 products to CLBlast and leaves the
   * others to fmcl's kernels: the profile shows both. */
  char cmd[2048], path[512], *out = NULL;
  fm_device_info *list = NULL;
  int count = 0;
  ck_fm(fm_device_list(&list, &count));
  const fm_device_info *d = &list[0];
  for (int i = 0; i < count; i++)
    if (list[i].is_gpu) {
      d = &list[i];
      break;
    }
  char text[2048];
  snprintf(text, sizeof text,
           "{\"format\": 1, \"device\": \"%s\", \"driver\": \"%s\", \"clblast_parameters\": null,"
           " \"shapes\": [{\"op\": \"NN\", \"m\": 64, \"n\": 64, \"k\": 64, \"provider\": \"clblast\"},"
           " {\"op\": \"TN\", \"m\": 64, \"n\": 64, \"k\": 64, \"provider\": \"clblast\"}]}",
           d->name, d->driver);
  free(list);
  snprintf(path, sizeof path, "%s/hand.json", work);
  test_write_file(path, text);
  snprintf(cmd, sizeof cmd, "%s train %s --set train.steps=6 --set device.tuning=%s "
           "--set output.dir=%s/hand --set eval.likelihood=false --set output.plots=false "
           "--profile --quiet", FMCL_BINARY, model, path, work);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  free(out);
  snprintf(path, sizeof path, "%s/hand/profile.csv", work);
  char *profile = test_read_file(path);
  ck_assert_msg(strstr(profile, "clblast NN 64x64x64") && strstr(profile, "clblast TN 64x64x64"),
                "%s", profile);
  ck_assert_msg(strstr(profile, "gemm NN+bias 64x64x3"), "%s", profile); /* the others: fmcl */
  free(profile);
}
END_TEST

START_TEST(damaged_and_foreign_tuning_files_are_ignored_with_a_warning) {
  const char *files[][2] = {
      {"{\"format\": 1, \"shapes\": [", "not valid JSON"},
      {"{\"format\": 1, \"device\": \"Some Other GPU\", \"driver\": \"1\", \"shapes\": []}",
       "another device"},
      {"{\"format\": 7, \"device\": \"x\", \"driver\": \"1\", \"shapes\": []}", "format"},
      {NULL, "read failed"}, /* a folder where the file should be */
  };
  for (int i = 0; i < 4; i++) {
    char cmd[2048], path[512], *out = NULL;
    snprintf(path, sizeof path, "%s/bad-%d.json", work, i);
    if (files[i][0]) {
      test_write_file(path, files[i][0]);
    } else {
      snprintf(cmd, sizeof cmd, "mkdir -p %s", path);
      ck_assert_int_eq(test_shell(cmd, NULL), 0);
    }
    snprintf(cmd, sizeof cmd, "%s train %s --set train.steps=3 --set device.tuning=%s "
             "--set output.dir=%s/bad-%d --set eval.likelihood=false --set output.plots=false",
             FMCL_BINARY, model, path, work, i);
    ck_assert_int_eq(test_shell(cmd, &out), 0);
    ck_assert_msg(strstr(out, "warning: tuning file") && strstr(out, files[i][1]) &&
                      strstr(out, "ignored"),
                  "%s", out);
    free(out);
  }
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("tune"), sizeof work);
  Suite *s = suite_create("tune");
  TCase *tc = tcase_create("tune");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, tune_writes_the_winner_of_every_shape);
  tcase_add_test(tc, a_run_uses_the_tuned_provider_of_each_shape);
  tcase_add_test(tc, damaged_and_foreign_tuning_files_are_ignored_with_a_warning);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
