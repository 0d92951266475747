/* tools/gpu_check.sh in its quick mode on this machine: without a GPU it checks the other
 * implementations than PoCL it finds (Mesa's rusticl), or PoCL alone, and says so, and its report has every section, with the suites passing on both
 * providers and the loss curves compared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "support.h"

static char work[256];

START_TEST(the_gpu_check_reports_every_section) {
  if (getenv("FMCL_GEMM")) {
    fprintf(stderr, "skipped: the GPU check runs every provider itself (FMCL_GEMM is set)\n");
    return;
  }
  char build[512], cmd[2048], report[600], *out = NULL;
  fm_strlcpy(build, FMCL_BINARY, sizeof build);
  *strrchr(build, '/') = '\0';
  snprintf(report, sizeof report, "%s/report.md", work);
  snprintf(cmd, sizeof cmd, "%s/tools/gpu_check.sh --quick --build %s --out %s",
           FMCL_SOURCE_DIR, build, report);
  int rc = test_shell(cmd, &out);
  char *text = test_read_file(report);
  ck_assert_msg(rc == 0, "%s\n%s", out, text);
  free(out);
  const char *sections[] = {"## Test suites", "## Training: loss curves against PoCL",
                            "## fmcl tune on device", "## fmcl bench --devices all",
                            "| clblast | kernels | pass |", "| fmcl | gemm | pass |",
                            "| toy |", "| wide |", "| forward |", "steps/s", "Every check passed."};
  for (size_t i = 0; i < FM_ARRAY_LEN(sections); i++)
    ck_assert_msg(strstr(text, sections[i]), "no '%s' in\n%s", sections[i], text);
  fm_device_info *list = NULL;
  int count = 0, gpus = 0, others = 0;
  ck_fm(fm_device_list(&list, &count));
  for (int i = 0; i < count; i++) {
    gpus += list[i].is_gpu;
    others += !list[i].is_gpu && !strstr(list[i].version, "PoCL") &&
              !strstr(list[i].platform_version, "PoCL");
  }
  free(list);
  if (!gpus)
    ck_assert_msg(strstr(text, others ? "of other implementations than PoCL"
                                      : "No GPU found: this report covers PoCL only."),
                  "%s", text);
  free(text);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("gpu-check"), sizeof work);
  Suite *s = suite_create("gpu_check");
  TCase *tc = tcase_create("gpu_check");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, the_gpu_check_reports_every_section);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
