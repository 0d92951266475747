/* Checkpoints: round trip, and refusal of truncated, damaged, foreign and newer files;
 * a failed write leaves the previous checkpoint intact. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fileio.h"
#include "support.h"

/* A checkpoint of a 3 -> hidden -> 2 model (its flat size follows from the shapes). */
static fm_checkpoint sample_checkpoint(int hidden, int with_optim) {
  fm_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  fm_config_defaults(&ck.config);
  ck.config.seed = 99;
  ck.model_hash = fm_config_model_hash(&ck.config);
  ck.step = 1234;
  ck.optim_steps = 1234;
  ck.dim = 2;
  ck.n_layers = 2;
  ck.layer_in[0] = 3, ck.layer_out[0] = hidden, ck.layer_in[1] = hidden, ck.layer_out[1] = 2;
  size_t flat = fm_flat_layout(2, ck.layer_in, ck.layer_out, NULL, NULL);
  ck.flat_size = flat;
  ck.params = malloc(flat * sizeof(float));
  test_fill_uniform(ck.params, flat, 1, -1, 1);
  if (with_optim) {
    ck.optim_state = malloc(2 * flat * sizeof(float));
    test_fill_uniform(ck.optim_state, 2 * flat, 2, 0, 1);
  }
  return ck;
}

static void temp_path(char *path, size_t size) {
  snprintf(path, size, "/tmp/fmcl-test-ckpt-%d.fmck", (int)getpid());
}

static long file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

static void expect_refused(const char *path, const char *needle) {
  fm_checkpoint ck;
  ck_assert_int_eq(fm_checkpoint_load(path, &ck), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), needle), "'%s' lacks '%s'", fm_error_message(), needle);
  ck_assert_ptr_null(ck.params);
}

START_TEST(column_names_round_trip_and_version_3_and_4_files_still_load) {
  char path[256];
  temp_path(path, sizeof path);
  fm_checkpoint a = sample_checkpoint(8, 1), b;
  char n0[] = "height", n1[] = "weight";
  char *names[2] = {n0, n1};
  a.columns = names;
  ck_fm(fm_checkpoint_save(path, &a));
  a.columns = NULL;
  ck_fm(fm_checkpoint_load(path, &b));
  ck_assert_ptr_nonnull(b.columns);
  ck_assert_str_eq(b.columns[0], "height");
  ck_assert_str_eq(b.columns[1], "weight");
  fm_checkpoint_free(&b);
  /* A version 4 file is a version 5 file without ranks, a version 3 one also without
   * names: the same bytes, shorter, with their own checksum. */
  ck_fm(fm_checkpoint_save(path, &a));
  char *bytes = test_read_file(path);
  long n = file_size(path);
  uint32_t field;
  memcpy(&field, bytes + n - 8, 4);
  ck_assert_int_eq(field, 1); /* ranks: one process */
  memcpy(&field, bytes + n - 12, 4);
  ck_assert_int_eq(field, 0); /* no names: length 0 */
  for (uint32_t version = 4; version >= 3; version--) {
    size_t kept = (size_t)n - 4 - 4 * (5 - version); /* without the newer fields and the CRC */
    memcpy(bytes + 8, &version, 4);
    uint32_t crc = fm_crc32(0, bytes, kept);
    memcpy(bytes + kept, &crc, 4);
    FILE *f = fopen(path, "wb");
    ck_assert_int_eq(fwrite(bytes, 1, kept + 4, f), kept + 4);
    fclose(f);
    ck_fm(fm_checkpoint_load(path, &b));
    ck_assert_ptr_null(b.columns);
    ck_assert_int_eq(b.ranks, 1);
    ck_assert_int_eq(memcmp(a.params, b.params, a.flat_size * sizeof(float)), 0);
    fm_checkpoint_free(&b);
  }
  free(bytes);
  fm_checkpoint_free(&b);
  fm_checkpoint_free(&a);
  remove(path);
}
END_TEST

START_TEST(checkpoint_round_trips_every_field) {
  char path[256];
  temp_path(path, sizeof path);
  for (int with_optim = 0; with_optim < 2; with_optim++) {
    fm_checkpoint a = sample_checkpoint(8, with_optim), b;
    ck_fm(fm_checkpoint_save(path, &a));
    ck_fm(fm_checkpoint_load(path, &b));
    ck_assert_uint_eq(b.step, 1234);
    ck_assert_uint_eq(b.optim_steps, 1234);
    ck_assert_uint_eq(b.model_hash, a.model_hash);
    ck_assert_uint_eq(b.config.seed, 99);
    ck_assert_uint_eq(fm_config_model_hash(&b.config), a.model_hash);
    ck_assert_int_eq(b.n_layers, 2);
    ck_assert_int_eq(b.layer_out[0], 8);
    ck_assert_uint_eq(b.flat_size, 128); /* 4 blocks of 32 */
    ck_assert_int_eq(memcmp(a.params, b.params, a.flat_size * sizeof(float)), 0);
    if (with_optim) ck_assert_int_eq(memcmp(a.optim_state, b.optim_state, 128 * sizeof(float)), 0);
    else ck_assert_ptr_null(b.optim_state);
    fm_checkpoint_free(&a);
    fm_checkpoint_free(&b);
  }
  char tmp[300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_int_ne(access(tmp, F_OK), 0); /* no temporary file is left */
  remove(path);
}
END_TEST

START_TEST(truncated_checkpoint_is_refused) {
  char path[256];
  temp_path(path, sizeof path);
  fm_checkpoint a = sample_checkpoint(20, 1);
  ck_fm(fm_checkpoint_save(path, &a));
  long n = file_size(path);
  for (long keep = 0; keep < n; keep += n / 7 + 1) {
    ck_assert_int_eq(truncate(path, keep), 0);
    fm_checkpoint ck;
    fm_status st = fm_checkpoint_load(path, &ck);
    ck_assert_int_eq(st, FM_ERR_FORMAT);
    ck_fm(fm_checkpoint_save(path, &a));
  }
  ck_assert_int_eq(truncate(path, n - 1), 0);
  expect_refused(path, "truncated or damaged");
  fm_checkpoint_free(&a);
  remove(path);
}
END_TEST

START_TEST(damaged_checkpoint_fails_its_checksum) {
  char path[256];
  temp_path(path, sizeof path);
  fm_checkpoint a = sample_checkpoint(20, 0);
  ck_fm(fm_checkpoint_save(path, &a));
  FILE *f = fopen(path, "r+b");
  fseek(f, file_size(path) / 2, SEEK_SET);
  int c = fgetc(f);
  fseek(f, -1, SEEK_CUR);
  fputc(c ^ 0x10, f);
  fclose(f);
  expect_refused(path, "checksum mismatch");
  fm_checkpoint_free(&a);
  remove(path);
}
END_TEST

START_TEST(foreign_and_newer_files_are_refused) {
  char path[256];
  temp_path(path, sizeof path);
  FILE *f = fopen(path, "wb");
  fputs("{\"this\": \"is a config, not a checkpoint\"}\n", f);
  fclose(f);
  expect_refused(path, "not an fmcl checkpoint");

  fm_checkpoint a = sample_checkpoint(4, 0);
  ck_fm(fm_checkpoint_save(path, &a));
  /* Rewrite the version field and the checksum, as a later fmcl would. */
  long n = file_size(path);
  unsigned char *bytes = malloc((size_t)n);
  f = fopen(path, "rb");
  ck_assert_int_eq(fread(bytes, 1, (size_t)n, f), n);
  fclose(f);
  bytes[8] = FM_CHECKPOINT_VERSION + 1;
  uint32_t crc = fm_crc32(0, bytes, (size_t)n - 4);
  memcpy(bytes + n - 4, &crc, 4);
  f = fopen(path, "wb");
  fwrite(bytes, 1, (size_t)n, f);
  fclose(f);
  expect_refused(path, "format version");
  free(bytes);
  fm_checkpoint_free(&a);
  remove(path);
}
END_TEST

/* Layer shapes that do not chain, or a flat size they do not lay out, are refused before
 * anything reads by them. */
START_TEST(checkpoint_shapes_must_match_their_parameters) {
  char path[256];
  temp_path(path, sizeof path);
  fm_checkpoint a = sample_checkpoint(8, 0);
  a.layer_in[1] = 9; /* 3 -> 8, then 9 -> 2 */
  ck_fm(fm_checkpoint_save(path, &a));
  expect_refused(path, "not chained");
  a.layer_in[1] = 8;
  a.layer_in[0] = -1;
  ck_fm(fm_checkpoint_save(path, &a));
  expect_refused(path, "out of range");
  a.layer_in[0] = 3;
  a.flat_size -= 32; /* the shapes need 128 */
  ck_fm(fm_checkpoint_save(path, &a));
  expect_refused(path, "does not match the layer shapes");
  a.flat_size += 32;
  fm_checkpoint_free(&a);
  remove(path);
}
END_TEST

START_TEST(missing_checkpoint_names_the_path) {
  fm_checkpoint ck;
  ck_assert_int_eq(fm_checkpoint_load("/nonexistent/model.fmck", &ck), FM_ERR_IO);
  ck_assert_msg(strstr(fm_error_message(), "/nonexistent/model.fmck"), "%s", fm_error_message());
}
END_TEST

START_TEST(failed_write_keeps_the_previous_checkpoint) {
  char path[256];
  temp_path(path, sizeof path);
  fm_checkpoint good = sample_checkpoint(8, 0), big = sample_checkpoint(20000, 1);
  ck_fm(fm_checkpoint_save(path, &good));
  /* A file-size limit makes writes fail as on a full disk. */
  struct rlimit old, small = {4096, 4096};
  getrlimit(RLIMIT_FSIZE, &old);
  small.rlim_max = old.rlim_max;
  signal(SIGXFSZ, SIG_IGN);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
  fm_status st = fm_checkpoint_save(path, &big);
  setrlimit(RLIMIT_FSIZE, &old);
  ck_assert_int_eq(st, FM_ERR_IO);
  ck_assert_msg(strstr(fm_error_message(), "unchanged"), "%s", fm_error_message());
  fm_checkpoint back;
  ck_fm(fm_checkpoint_load(path, &back));
  ck_assert_uint_eq(back.flat_size, good.flat_size);
  ck_assert_int_eq(memcmp(back.params, good.params, good.flat_size * sizeof(float)), 0);
  char tmp[300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_int_ne(access(tmp, F_OK), 0);
  fm_checkpoint_free(&good);
  fm_checkpoint_free(&big);
  fm_checkpoint_free(&back);
  remove(path);
}
END_TEST

START_TEST(crc32_matches_the_standard_check_value) {
  ck_assert_uint_eq(fm_crc32(0, "123456789", 9), 0xCBF43926u);
}
END_TEST

int main(void) {
  Suite *s = suite_create("checkpoint");
  TCase *tc = tcase_create("checkpoint");
  tcase_add_test(tc, checkpoint_round_trips_every_field);
  tcase_add_test(tc, column_names_round_trip_and_version_3_and_4_files_still_load);
  tcase_add_test(tc, truncated_checkpoint_is_refused);
  tcase_add_test(tc, damaged_checkpoint_fails_its_checksum);
  tcase_add_test(tc, foreign_and_newer_files_are_refused);
  tcase_add_test(tc, missing_checkpoint_names_the_path);
  tcase_add_test(tc, checkpoint_shapes_must_match_their_parameters);
  tcase_add_test(tc, failed_write_keeps_the_previous_checkpoint);
  tcase_add_test(tc, crc32_matches_the_standard_check_value);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
