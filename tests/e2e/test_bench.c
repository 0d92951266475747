/* fmcl bench: two PoCL devices (POCL_DEVICES="basic pthread") run the same experiment;
 * their loss curves agree, the table has a row each, the CSV and JSON are complete, and a
 * device that fails gets its reason in its row while the other still runs. The PoCL devices
 * are found by name, so other platforms (a GPU's) may come before them. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "support.h"

static char work[256];

static cJSON *read_json(const char *path) {
  char *text = test_read_file(path);
  cJSON *j = cJSON_Parse(text);
  free(text);
  ck_assert_ptr_nonnull(j);
  return j;
}

static const char *pocl_two = "POCL_DEVICES='basic pthread'";
static const char *small = "--set model.hidden=[32,32] --set data.n_train=2000 --steps 30";
static int basic = -1, pthread = -1; /* the two PoCL devices' indices */

/* The indices of PoCL's basic and pthread devices as the bench commands see them. */
static void find_pocl_devices(void) {
  setenv("POCL_DEVICES", "basic pthread", 1);
  fm_device_info *list = NULL;
  int count = 0;
  ck_fm(fm_device_list(&list, &count));
  for (int i = 0; i < count; i++) {
    if (strncmp(list[i].name, "basic", 5) == 0 && basic < 0) basic = list[i].index;
    if (strncmp(list[i].name, "pthread", 7) == 0 && pthread < 0) pthread = list[i].index;
  }
  free(list);
  ck_assert_msg(basic >= 0 && pthread >= 0, "PoCL's basic and pthread devices are not there");
}

START_TEST(two_devices_agree_and_fill_the_table) {
  char cmd[2048], dir[512], path[600], *out = NULL;
  snprintf(dir, sizeof dir, "%s/two", work);
  find_pocl_devices();
  snprintf(cmd, sizeof cmd, "%s %s bench %s --devices %d,%d --set output.dir=%s", pocl_two,
           FMCL_BINARY, small, basic, pthread, dir);
  int rc = test_shell(cmd, &out);
  ck_assert_msg(rc == 0, "%s", out);
  char row0[32], row1[32];
  snprintf(row0, sizeof row0, "| %d: basic", basic);
  snprintf(row1, sizeof row1, "| %d: pthread", pthread);
  ck_assert_msg(strstr(out, row0) && strstr(out, row1) && strstr(out, "steps/s"), "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/bench.json", dir);
  cJSON *j = read_json(path);
  cJSON *devices = cJSON_GetObjectItem(j, "devices");
  ck_assert_int_eq(cJSON_GetArraySize(devices), 2);
  for (int i = 0; i < 2; i++) {
    cJSON *d = cJSON_GetArrayItem(devices, i);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(d, "ok")));
    ck_assert(cJSON_GetObjectItem(d, "steps_per_s")->valuedouble > 0);
    ck_assert(cJSON_GetObjectItem(d, "points_per_s")->valuedouble > 0);
    ck_assert(cJSON_GetObjectItem(d, "peak_gflops")->valuedouble > 0);
    ck_assert_int_eq((int)cJSON_GetObjectItem(d, "nfe")->valuedouble, 100);
    /* Same seed, counter-based random numbers: the curves agree to float rounding. */
    double diff = cJSON_GetObjectItem(d, "loss_curve_max_diff")->valuedouble;
    ck_assert_msg(diff <= 1e-4, "device %d's loss curve differs by %g", i, diff);
  }
  cJSON_Delete(j);
  snprintf(path, sizeof path, "%s/bench.csv", dir);
  FILE *f = fopen(path, "r");
  int lines = 0;
  char line[1024];
  while (fgets(line, sizeof line, f)) lines++;
  fclose(f);
  ck_assert_int_eq(lines, 3);
}
END_TEST

START_TEST(a_failing_device_is_reported_and_the_others_run) {
  char cmd[2048], dir[512], path[600], *out = NULL;
  snprintf(dir, sizeof dir, "%s/failing", work);
  find_pocl_devices();
  snprintf(cmd, sizeof cmd, "FMCL_FAULT=bench@%d %s %s bench %s --devices %d,%d "
           "--set output.dir=%s", basic, pocl_two, FMCL_BINARY, small, basic, pthread, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "failed: ") && strstr(out, "CL_OUT_OF_RESOURCES"), "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/bench.json", dir);
  cJSON *j = read_json(path);
  cJSON *devices = cJSON_GetObjectItem(j, "devices");
  ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(devices, 0), "ok")));
  ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(devices, 1), "ok")));
  cJSON_Delete(j);
  /* Another bench into the folder keeps this table and writes bench-2. */
  snprintf(cmd, sizeof cmd, "%s %s bench %s --devices %d --set output.dir=%s", pocl_two,
           FMCL_BINARY, small, pthread, dir);
  ck_assert_int_eq(test_shell(cmd, &out), 0);
  ck_assert_msg(strstr(out, "bench-2.csv"), "%s", out);
  free(out);
  j = read_json(path);
  ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "devices"),
                                                                 0), "ok")));
  cJSON_Delete(j);
  snprintf(path, sizeof path, "%s/bench-2.json", dir);
  j = read_json(path);
  ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "devices")), 1);
  cJSON_Delete(j);
}
END_TEST

START_TEST(a_bad_device_list_is_refused) {
  char cmd[1024], *out = NULL;
  snprintf(cmd, sizeof cmd, "%s bench --devices 97 %s", FMCL_BINARY, small);
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "--devices 97"), "%s", out);
  free(out);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("bench"), sizeof work);
  Suite *s = suite_create("bench");
  TCase *tc = tcase_create("bench");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, two_devices_agree_and_fill_the_table);
  tcase_add_test(tc, a_failing_device_is_reported_and_the_others_run);
  tcase_add_test(tc, a_bad_device_list_is_refused);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
