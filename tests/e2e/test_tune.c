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
  ck_assert_msg(strstr(out, "| forward | 64 x 64 x 64 |") && strstr(out, "winner"), "%s", out);
  free(out);
  char *text = test_read_file(path);
  cJSON *j = cJSON_Parse(text);
  ck_assert_ptr_nonnull(j);
  cJSON *products = cJSON_GetObjectItem(j, "products");
  /* Per layer: forward, weight gradient, gradient back (not for the first), and the
   * forward at the sampling batch; on the GPU path the thin input and output layers take
   * kernels of their own and are not among them. */
  int cpu_kernels = strcmp(test_binary_device().type, "CPU") == 0 && !getenv("FMCL_GEMM");
  ck_assert_int_ge(cJSON_GetArraySize(products), cpu_kernels ? 9 : 4);
  for (int i = 0; i < cJSON_GetArraySize(products); i++) {
    cJSON *p = cJSON_GetArrayItem(products, i), *g = cJSON_GetObjectItem(p, "gflops");
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(p, "op")));
    /* fmcl's GPU kernels are a candidate everywhere, its CPU kernels on CPUs only. */
    ck_assert(cJSON_GetObjectItem(g, "fmcl-gpu")->valuedouble > 0);
    ck_assert(cJSON_GetObjectItem(g, "clblast")->valuedouble > 0);
    if (strcmp(test_binary_device().type, "CPU") == 0)
      ck_assert(cJSON_GetObjectItem(g, "fmcl")->valuedouble > 0);
    else
      ck_assert(cJSON_IsNull(cJSON_GetObjectItem(g, "fmcl")));
  }
  cJSON_Delete(j);
  free(text);
  /* A run loads it. */
  snprintf(cmd, sizeof cmd, "%s train %s --set train.steps=5 --set device.tuning=%s "
           "--set output.dir=%s/tuned --set eval.likelihood=false --set output.plots=false",
           FMCL_BINARY, model, path, work);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "tuning: ") && strstr(out, "products from"), "%s", out);
  free(out);
}
END_TEST

/* A hand-written tuning file gives the square 64 x 64 layer's forward product to CLBlast
 * and the gradient it passes back, of the same shape, to fmcl's GPU kernels: both are used
 * (one key per operation; a file keyed by shape alone kept only one of them). The other
 * products keep auto's provider. */
START_TEST(a_run_uses_the_tuned_provider_of_each_product) {
  char cmd[2048], path[512], *out = NULL;
  fm_device_info d = test_binary_device();
  char text[2048];
  snprintf(text, sizeof text,
           "{\"format\": 2, \"device\": \"%s\", \"driver\": \"%s\", \"clblast_parameters\": "
           "{\"Xgemm\": null, \"XgemmDirect\": null}, \"products\": ["
           "{\"op\": \"forward\", \"m\": 64, \"n\": 64, \"k\": 64, \"provider\": \"clblast\"},"
           "{\"op\": \"backward\", \"m\": 64, \"n\": 64, \"k\": 64, \"provider\": \"fmcl-gpu\","
           " \"tile\": {\"wg_m\": 8, \"wg_n\": 8, \"item_m\": 4, \"item_n\": 4, \"tile_k\": 16}}]}",
           d.name, d.driver);
  snprintf(path, sizeof path, "%s/hand.json", work);
  test_write_file(path, text);
  snprintf(cmd, sizeof cmd, "%s train %s --set train.steps=6 --set device.tuning=%s "
           "--set output.dir=%s/hand --set eval.likelihood=false --set output.plots=false "
           "--profile --quiet", FMCL_BINARY, model, path, work);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  free(out);
  snprintf(path, sizeof path, "%s/hand/profile.csv", work);
  char *profile = test_read_file(path);
  ck_assert_msg(strstr(profile, "clblast NT 64x64x64") && strstr(profile, "gpu NN*dact 64x64x64"),
                "%s", profile);
  /* The input layer is not in the file: fmcl's CPU kernels on CPUs, the thin kernel else. */
  int cpu_kernels = strcmp(d.type, "CPU") == 0 && !getenv("FMCL_GEMM");
  const char *input_layer = cpu_kernels ? "gemm NN+bias 64x64x3" : "fm_thin_input_silu";
  ck_assert_msg(strstr(profile, input_layer), "no %s in\n%s", input_layer, profile);
  free(profile);
}
END_TEST

START_TEST(damaged_and_foreign_tuning_files_are_ignored_with_a_warning) {
  const char *files[][2] = {
      {"{\"format\": 2, \"products\": [", "not valid JSON"},
      {"{\"format\": 2, \"device\": \"Some Other GPU\", \"driver\": \"1\", \"products\": []}",
       "another device"},
      {"{\"format\": 1, \"device\": \"x\", \"driver\": \"1\", \"shapes\": []}", "format"},
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
  tcase_add_test(tc, a_run_uses_the_tuned_provider_of_each_product);
  tcase_add_test(tc, damaged_and_foreign_tuning_files_are_ignored_with_a_warning);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
