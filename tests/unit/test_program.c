/* The cache of compiled programs: a second device opened on the same cache builds nothing
 * from source; a cache file that is damaged, or written for another program or driver, or refused by
 * the driver is reported and rebuilt, never trusted; "off" keeps nothing. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "internal.h"
#include "program.h"
#include "support.h"

static char work[256];

/* Warnings a device reports, kept for the test to read. */
static char warnings[8192];

static void keep_warning(void *ctx, fm_report_kind kind, const char *text) {
  (void)ctx;
  if (kind != FM_REPORT_WARNING) return;
  size_t used = strlen(warnings);
  snprintf(warnings + used, sizeof warnings - used, "%s\n", text);
}

static const fm_reporter reporter = {keep_warning, NULL};

/* Opens a device on the cache folder, gets one kernel of the loss program, and returns
 * the device's counts. Work-groups of at most 16 items fit every driver's kernels, so the
 * program is built once (a driver that allows fewer items than the device's maximum has it
 * built twice: test_mlp's small limits). */
static fm_device_counts open_and_build(const char *cache) {
  fm_device_select sel = {.kind = FM_DEVICE_AUTO, .index = -1, .report = &reporter,
                          .max_work_group = 16};
  const char *index = getenv("FMCL_TEST_DEVICE");
  if (index && *index) sel.index = atoi(index);
  fm_strlcpy(sel.program_cache, cache, sizeof sel.program_cache);
  fm_device *dev = NULL;
  ck_fm(fm_device_open(&sel, &dev));
  cl_kernel k = NULL;
  ck_fm(fm_device_kernel(dev, "loss", "fm_cfm_loss", &k));
  fm_device_counts c;
  fm_device_get_counts(dev, &c);
  fm_device_destroy(dev);
  return c;
}

/* The one file in the cache folder; fails when there is not exactly one. */
static void only_file(const char *dir, char *path, size_t size) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') {
      snprintf(path, size, "%s/%s", dir, e->d_name);
      n++;
    }
  closedir(d);
  ck_assert_int_eq(n, 1);
}

static void rewrite_byte(const char *path, long offset, int value) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  fseek(f, offset, offset < 0 ? SEEK_END : SEEK_SET);
  fputc(value, f);
  fclose(f);
}

START_TEST(a_second_run_builds_nothing_from_source) {
  char cache[512];
  snprintf(cache, sizeof cache, "%s/fresh", work);
  fm_device_counts first = open_and_build(cache), second = open_and_build(cache);
  ck_assert_int_eq(first.programs_from_source, 1);
  ck_assert_int_eq(first.programs_from_cache, 0);
  ck_assert_int_eq(second.programs_from_source, 0);
  ck_assert_int_eq(second.programs_from_cache, 1);
}
END_TEST

START_TEST(bad_cache_files_are_rebuilt_with_a_warning) {
  char cache[512], path[1024];
  snprintf(cache, sizeof cache, "%s/bad", work);
  open_and_build(cache);
  only_file(cache, path, sizeof path);
  /* Damaged: one byte of the binary changed, so the checksum no longer matches. */
  warnings[0] = '\0';
  rewrite_byte(path, 30, 0x5A);
  fm_device_counts c = open_and_build(cache);
  ck_assert_int_eq(c.programs_from_source, 1);
  ck_assert_msg(strstr(warnings, "damaged") && strstr(warnings, "built from source again"),
                "%s", warnings);
  ck_assert_int_eq(open_and_build(cache).programs_from_cache, 1); /* and stored again */
  /* Written for another program: the key inside differs from the file's name. */
  warnings[0] = '\0';
  char *text = NULL;
  size_t n = 0;
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  text = malloc(n);
  ck_assert_uint_eq(fread(text, 1, n, f), n);
  fclose(f);
  text[8] ^= 1; /* the key, with the checksum made to match */
  uint32_t crc = fm_crc32(0, text, n - 4);
  memcpy(text + n - 4, &crc, 4);
  f = fopen(path, "wb");
  fwrite(text, 1, n, f);
  fclose(f);
  c = open_and_build(cache);
  ck_assert_int_eq(c.programs_from_source, 1);
  ck_assert_msg(strstr(warnings, "another program"), "%s", warnings);
  /* Recorded for another driver (a driver update, or another implementation's file under
   * the same name): its binary never reaches the driver, which may abort on a foreign one. */
  warnings[0] = '\0';
  text[8] ^= 1; /* the key back */
  uint32_t device_len = 0;
  memcpy(&device_len, text + 16, 4);
  text[16 + 4 + device_len + 4] ^= 0x20; /* the driver version's first byte */
  crc = fm_crc32(0, text, n - 4);
  memcpy(text + n - 4, &crc, 4);
  f = fopen(path, "wb");
  fwrite(text, 1, n, f);
  fclose(f);
  c = open_and_build(cache);
  ck_assert_int_eq(c.programs_from_source, 1);
  ck_assert_msg(strstr(warnings, "written for another driver"), "%s", warnings);
  free(text);
}
END_TEST

START_TEST(cache_off_keeps_nothing) {
  fm_device_counts c = open_and_build("off");
  ck_assert_int_eq(c.programs_from_source, 1);
  ck_assert_int_eq(open_and_build("off").programs_from_cache, 0);
}
END_TEST

START_TEST(an_unwritable_cache_is_a_warning_not_an_error) {
  char cache[512], cmd[600];
  snprintf(cache, sizeof cache, "%s/file-not-folder", work);
  snprintf(cmd, sizeof cmd, "touch %s", cache);
  ck_assert_int_eq(system(cmd), 0);
  warnings[0] = '\0';
  fm_device_counts c = open_and_build(cache);
  ck_assert_int_eq(c.programs_from_source, 1);
  ck_assert_msg(strstr(warnings, "compiled programs are not kept"), "%s", warnings);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("program"), sizeof work);
  Suite *s = suite_create("program");
  TCase *tc = tcase_create("program");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, a_second_run_builds_nothing_from_source);
  tcase_add_test(tc, bad_cache_files_are_rebuilt_with_a_warning);
  tcase_add_test(tc, cache_off_keeps_nothing);
  tcase_add_test(tc, an_unwritable_cache_is_a_warning_not_an_error);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
