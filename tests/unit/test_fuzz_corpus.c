/* Replays the fuzzers' corpus (tests/fuzz/: the seed inputs and every input a fuzzer found
 * to crash, kept as regressions) through the same entry points: each must be parsed or
 * refused with a message, never crash. Under the sanitizer build this also catches memory
 * errors on those inputs. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/targets.h"
#include "support.h"

typedef fm_status (*target_fn)(const uint8_t *, size_t);

static unsigned char *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *data = malloc((size_t)n + 1);
  ck_assert_int_eq(fread(data, 1, (size_t)n, f), n);
  fclose(f);
  *size = (size_t)n;
  return data;
}

/* Runs every file of tests/fuzz/<folder>, each parsed or refused as `refusal` (or as
 * `other`); returns how many there were. */
static int replay_as(const char *folder, target_fn target, fm_status refusal, fm_status other) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", FMCL_SOURCE_DIR, folder);
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "no corpus folder %s", dir);
  struct dirent *e;
  int count = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    size_t size;
    unsigned char *data = read_all(path, &size);
    fm_error_clear();
    fm_status st = target(data, size);
    ck_assert_msg(st == FM_OK || st == refusal || st == other, "%s: status %s", path,
                  fm_status_str(st));
    if (st != FM_OK) ck_assert_msg(fm_error_message()[0], "%s: refused without a message", path);
    free(data);
    count++;
  }
  closedir(d);
  return count;
}

static int replay(const char *folder, target_fn target, fm_status refusal) {
  return replay_as(folder, target, refusal, refusal);
}

START_TEST(config_corpus_is_parsed_or_refused) {
  ck_assert_int_ge(replay("config", fuzz_config, FM_ERR_CONFIG), 3);
}
END_TEST

START_TEST(checkpoint_corpus_is_parsed_or_refused) {
  ck_assert_int_ge(replay("checkpoint", fuzz_checkpoint, FM_ERR_FORMAT), 1);
  /* The seed checkpoint itself is valid. */
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fuzz/checkpoint/tiny.fmck", FMCL_SOURCE_DIR);
  size_t size;
  unsigned char *data = read_all(path, &size);
  ck_fm(fuzz_checkpoint(data, size));
  free(data);
}
END_TEST

START_TEST(safetensors_corpus_is_parsed_or_refused) {
  ck_assert_int_ge(replay("safetensors", fuzz_safetensors, FM_ERR_FORMAT), 1);
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fuzz/safetensors/tiny.safetensors", FMCL_SOURCE_DIR);
  size_t size;
  unsigned char *data = read_all(path, &size);
  ck_fm(fuzz_safetensors(data, size)); /* the seed itself is valid */
  free(data);
}
END_TEST

START_TEST(datafile_corpus_is_parsed_or_refused) {
  /* An NPZ archive of several arrays and no data.key is a config error. */
  ck_assert_int_ge(replay_as("datafile", fuzz_datafile, FM_ERR_FORMAT, FM_ERR_CONFIG), 3);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fuzz_corpus");
  TCase *tc = tcase_create("fuzz_corpus");
  tcase_add_test(tc, config_corpus_is_parsed_or_refused);
  tcase_add_test(tc, checkpoint_corpus_is_parsed_or_refused);
  tcase_add_test(tc, datafile_corpus_is_parsed_or_refused);
  tcase_add_test(tc, safetensors_corpus_is_parsed_or_refused);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
