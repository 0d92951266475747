/* Runs on data files through the fmcl program: samples come back in data units, and a
 * resume refuses data of another dimension. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "support.h"

static char work[256];

START_TEST(a_run_on_a_data_file_samples_in_data_units) {
  /* A Gaussian far from the origin and wide: without standardization a short run could not
   * fit it; with it, the samples' mean and spread come back in data units. */
  char path[512], cmd[2048], dir[512];
  snprintf(path, sizeof path, "%s/far.csv", work);
  FILE *f = fopen(path, "w");
  fputs("a,b\n", f);
  fm_rng rng;
  fm_rng_init(&rng, 1, 1, 0);
  for (int i = 0; i < 4000; i++)
    fprintf(f, "%.6f,%.6f\n", 1000 + 50 * fm_rng_normal(&rng), -20 + 0.1 * fm_rng_normal(&rng));
  fclose(f);
  snprintf(dir, sizeof dir, "%s/far", work);
  snprintf(cmd, sizeof cmd, "%s train --set data.path=%s --set data.standardize=true "
           "--set model.hidden=[32,32] --set train.steps=400 --set train.lr=3e-3 "
           "--set sample.n=2000 --set output.dir=%s --quiet", FMCL_BINARY, path, dir);
  ck_assert_int_eq(system(cmd), 0);
  char samples[600];
  snprintf(samples, sizeof samples, "%s/samples.csv", dir);
  f = fopen(samples, "r");
  char line[256];
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  double s[2] = {0, 0}, s2[2] = {0, 0};
  int n = 0;
  float a, b;
  while (fscanf(f, "%g,%g", &a, &b) == 2) s[0] += a, s[1] += b, s2[0] += a * a, s2[1] += b * b, n++;
  fclose(f);
  ck_assert_int_eq(n, 2000);
  double m0 = s[0] / n, m1 = s[1] / n, sd0 = sqrt(s2[0] / n - m0 * m0), sd1 = sqrt(s2[1] / n - m1 * m1);
  ck_assert_msg(fabs(m0 - 1000) < 10 && fabs(sd0 - 50) < 10, "column a: mean %g sd %g", m0, sd0);
  ck_assert_msg(fabs(m1 + 20) < 0.03 && fabs(sd1 - 0.1) < 0.03, "column b: mean %g sd %g", m1, sd1);
  /* The held-out split is the file's last 10% after the shuffle, in data units. */
  char test_csv[600];
  snprintf(test_csv, sizeof test_csv, "%s/test.csv", dir);
  fm_points t;
  ck_fm(fm_datafile_load(test_csv, FM_FORMAT_CSV, NULL, &t));
  ck_assert_int_eq(t.n, 400);
  ck_assert(t.x[0] > 700 && t.x[0] < 1300);
  fm_points_free(&t);
  /* Sampling again from the checkpoint also comes back in data units. */
  snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/model.fmck --set sample.n=500 --out %s/again.csv "
           "--quiet", FMCL_BINARY, dir, dir);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(samples, sizeof samples, "%s/again.csv", dir);
  ck_fm(fm_datafile_load(samples, FM_FORMAT_CSV, NULL, &t));
  double m = 0;
  for (int i = 0; i < t.n; i++) m += t.x[2 * i];
  ck_assert_msg(fabs(m / t.n - 1000) < 15, "resampled mean %g", m / t.n);
  fm_points_free(&t);
}
END_TEST

START_TEST(resume_refuses_data_of_another_dimension) {
  char path[512], cmd[2048], dir[512];
  snprintf(path, sizeof path, "%s/grow.csv", work);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 200; i++) fprintf(f, "%d,%d\n", i, -i);
  fclose(f);
  snprintf(dir, sizeof dir, "%s/grow", work);
  snprintf(cmd, sizeof cmd, "%s train --set data.path=%s --set model.hidden=[8] --set train.steps=5 "
           "--set sample.n=1 --set output.dir=%s --quiet", FMCL_BINARY, path, dir);
  ck_assert_int_eq(system(cmd), 0);
  f = fopen(path, "w");
  for (int i = 0; i < 200; i++) fprintf(f, "%d,%d,%d\n", i, -i, i);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s train --set data.path=%s --set model.hidden=[8] --set train.steps=9 "
           "--set sample.n=1 --set output.dir=%s --resume --quiet", FMCL_BINARY, path, dir);
  char *out = NULL;
  ck_assert_int_eq(test_shell(cmd, &out), 2);
  ck_assert_msg(strstr(out, "dimension 3") && strstr(out, "dimension 2"), "%s", out);
  free(out);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("e2e-datafile"), sizeof work);
  Suite *s = suite_create("e2e_datafile");
  TCase *tc = tcase_create("e2e_datafile");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, a_run_on_a_data_file_samples_in_data_units);
  tcase_add_test(tc, resume_refuses_data_of_another_dimension);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
