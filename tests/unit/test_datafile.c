/* Data files: CSV and NPY readers, every malformed input refused naming the file, row and
 * column; the seeded split; standardization. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static fm_status parse_text(const char *text, fm_points *p) {
  return fm_datafile_parse((const unsigned char *)text, strlen(text), "t.csv", FM_FORMAT_AUTO, NULL, p);
}

static void expect_refused(const char *text, const char *needle) {
  fm_points p;
  fm_status st = parse_text(text, &p);
  ck_assert_msg(st == FM_ERR_FORMAT, "'%s' accepted", text);
  ck_assert_msg(strstr(fm_error_message(), needle) && strstr(fm_error_message(), "t.csv"),
                "'%s': message '%s' lacks '%s'", text, fm_error_message(), needle);
  ck_assert_ptr_null(p.x);
}

START_TEST(a_csv_header_names_the_columns) {
  fm_points p;
  ck_fm(parse_text("\"height\", weight ,label\n1,2,0\n3,4,1\n", &p));
  ck_assert_ptr_nonnull(p.names);
  ck_assert_str_eq(p.names[0], "height");
  ck_assert_str_eq(p.names[1], "weight");
  ck_assert_str_eq(p.names[2], "label");
  /* The label column takes its name with it; a split keeps the rest. */
  ck_fm(fm_datafile_take_labels(&p, 2, "t.csv"));
  ck_assert_int_eq(p.dim, 2);
  ck_assert_str_eq(p.names[1], "weight");
  fm_points a, b;
  ck_fm(fm_points_split(&p, 0.5, 1, &a, &b));
  ck_assert_str_eq(a.names[0], "height");
  ck_assert_str_eq(b.names[1], "weight");
  fm_points_free(&a);
  fm_points_free(&b);
  fm_points_free(&p);
  ck_fm(parse_text("1,2\n", &p));
  ck_assert_ptr_null(p.names);
  fm_points_free(&p);
}
END_TEST

START_TEST(csv_reads_with_and_without_a_header) {
  fm_points p;
  ck_fm(parse_text("x,y\n1,2\n3.5,-4e2\n", &p));
  ck_assert_int_eq(p.n, 2);
  ck_assert_int_eq(p.dim, 2);
  ck_assert_float_eq(p.x[3], -400.0f);
  fm_points_free(&p);
  ck_fm(parse_text("# comment\r\n1 , 2 ,3\r\n\r\n4,5,6\r\n7,8,9", &p));
  ck_assert_int_eq(p.n, 3);
  ck_assert_int_eq(p.dim, 3);
  ck_assert_float_eq(p.x[8], 9.0f);
  fm_points_free(&p);
  ck_fm(parse_text("0.25\n0.5\n", &p)); /* one column */
  ck_assert_int_eq(p.dim, 1);
  fm_points_free(&p);
}
END_TEST

START_TEST(malformed_csv_is_refused_naming_row_and_column) {
  /* Lines count from 1 as an editor shows them, columns from 0 as data.label_column. */
  expect_refused("x,y\n1,2\n3\n", "line 3 has 1 columns, expected 2");
  expect_refused("1,2\n3,4,5\n", "line 2 has 3 columns, expected 2");
  expect_refused("x,y\n1,2\n3,abc\n", "line 3, column 1 (from 0): \"abc\", not a number");
  expect_refused("1,2\n3,\n", "line 2, column 1 (from 0): an empty value");
  expect_refused("1,2\nnan,4\n", "line 2, column 0 (from 0): \"nan\", not a finite float");
  expect_refused("1,inf\n", "line 1, column 1 (from 0)");
  expect_refused("1,1e39\n", "not a finite float");
  expect_refused("1,2x\n", "\"2x\", not a number");
  expect_refused("", "no data rows (the file is empty)");
  expect_refused("x,y\n", "no data rows");
  expect_refused("\n\n# only comments\n", "no data rows");
  fm_points p;
  const char nul[] = "1,2\n\0003,4\n";
  ck_assert_int_eq(fm_datafile_parse((const unsigned char *)nul, sizeof nul - 1, "t.csv",
                                     FM_FORMAT_CSV, NULL, &p), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), "NUL"), "%s", fm_error_message());
}
END_TEST

START_TEST(csv_follows_rfc_4180_as_pandas_and_r_write_it) {
  fm_points p;
  /* pandas' to_csv(quoting=QUOTE_ALL) on Windows: every field quoted, CRLF. */
  ck_fm(parse_text("\"x\",\"y\"\r\n\"1.5\",\"2\"\r\n\"3\",\"-4\"\r\n", &p));
  ck_assert(p.n == 2 && p.dim == 2 && p.x[1] == 2.0f && p.x[3] == -4.0f);
  ck_assert_str_eq(p.names[0], "x");
  ck_assert_str_eq(p.names[1], "y");
  fm_points_free(&p);
  /* A UTF-8 byte-order mark (Excel's "CSV UTF-8") is not part of the first name. */
  ck_fm(parse_text("\xEF\xBB\xBF" "a,b\n1,2\n", &p));
  ck_assert_str_eq(p.names[0], "a");
  fm_points_free(&p);
  ck_fm(parse_text("\xEF\xBB\xBF" "1,2\n", &p));
  ck_assert(p.n == 1 && p.x[0] == 1.0f && !p.names);
  fm_points_free(&p);
  /* Quoted names keep their commas, doubled quotes, line breaks and a '#'. */
  ck_fm(parse_text("\"width, cm\",\"say \"\"hi\"\"\",\"two\n# lines\"\n1,2,3\n", &p));
  ck_assert_str_eq(p.names[0], "width, cm");
  ck_assert_str_eq(p.names[1], "say \"hi\"");
  ck_assert_str_eq(p.names[2], "two\n# lines");
  ck_assert(p.n == 1 && p.x[2] == 3.0f);
  fm_points_free(&p);
  /* ...and lines still count as an editor shows them. */
  expect_refused("\"a\nb\",c\n1,2\n3,x\n", "line 4, column 1 (from 0): \"x\", not a number");
  /* R's write.csv: the row names come first, in a column with an empty name. */
  ck_fm(parse_text("\"\",\"x\",\"y\"\n\"1\",0.5,1\n\"2\",0.25,2\n", &p));
  ck_assert(p.n == 2 && p.dim == 2 && p.x[0] == 0.5f && p.x[3] == 2.0f);
  ck_assert_str_eq(p.names[0], "x");
  fm_points_free(&p);
  /* An unnamed first column that is not 1, 2, ... is data. */
  ck_fm(parse_text("\"\",x\n5,1\n6,2\n", &p));
  ck_assert(p.dim == 2 && p.x[0] == 5.0f);
  fm_points_free(&p);
  /* Quoting that breaks the RFC, with its line and column. */
  expect_refused("1,2\n3,4\"5\n", "line 2, column 1 (from 0): a quote inside an unquoted field");
  expect_refused("\"1\"x,2\n", "line 1, column 0 (from 0): a quote inside an unquoted field, or "
                 "text after a closing quote");
  expect_refused("x,y\n1,\"2\n3,4\n5,6\n", "line 2: a quoted field is not closed before the end");
  expect_refused("\"x\",\"y\"\n\"1\",\"\"\n", "line 2, column 1 (from 0): an empty value");
}
END_TEST

/* An NPY file's bytes: version major, dtype descr, fortran flag, shape text and values. */
static unsigned char *npy(int major, const char *descr, const char *fortran, const char *shape,
                          const void *values, size_t value_bytes, size_t *size) {
  char header[256];
  int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                   descr, fortran, shape);
  size_t pre = major == 1 ? 10 : 12, total = pre + (size_t)n + 1;
  size_t pad = (64 - total % 64) % 64;
  size_t header_len = (size_t)n + pad + 1;
  unsigned char *b = calloc(1, pre + header_len + value_bytes);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (unsigned char)major;
  b[8] = (unsigned char)(header_len & 0xFF);
  b[9] = (unsigned char)(header_len >> 8);
  memcpy(b + pre, header, (size_t)n);
  memset(b + pre + n, ' ', pad);
  b[pre + header_len - 1] = '\n';
  memcpy(b + pre + header_len, values, value_bytes);
  *size = pre + header_len + value_bytes;
  return b;
}

typedef struct npy_bytes {
  unsigned char *b;
  size_t size;
} npy_bytes;

/* npy() as one value, so a call can pass the bytes and their size together. */
#define NPY(...) npy_pack(__VA_ARGS__)
static npy_bytes npy_pack(int major, const char *descr, const char *fortran, const char *shape,
                          const void *values, size_t value_bytes, size_t *size) {
  npy_bytes r;
  r.b = npy(major, descr, fortran, shape, values, value_bytes, size);
  r.size = *size;
  return r;
}

static fm_status parse_npy(npy_bytes n, fm_points *p) {
  fm_status st = fm_datafile_parse(n.b, n.size, "t.npy", FM_FORMAT_AUTO, NULL, p);
  free(n.b);
  return st;
}

START_TEST(npy_reads_float32_float64_both_byte_orders_and_vectors) {
  float f[6] = {1, 2, 3, 4, 5, 6};
  double d[6] = {1.5, 2.5, 3.5, 4.5, 5.5, 6.5};
  size_t size;
  fm_points p;
  ck_fm(parse_npy(NPY(1, "<f4", "False", "(3, 2)", f, sizeof f, &size), &p));
  ck_assert_int_eq(p.n, 3);
  ck_assert_int_eq(p.dim, 2);
  ck_assert_float_eq(p.x[5], 6.0f);
  fm_points_free(&p);
  ck_fm(parse_npy(NPY(2, "<f8", "False", "(2, 3)", d, sizeof d, &size), &p));
  ck_assert_int_eq(p.dim, 3);
  ck_assert_float_eq(p.x[4], 5.5f);
  fm_points_free(&p);
  ck_fm(parse_npy(NPY(1, "<f4", "False", "(6,)", f, sizeof f, &size), &p));
  ck_assert_int_eq(p.n, 6);
  ck_assert_int_eq(p.dim, 1);
  fm_points_free(&p);
  unsigned char be[8];
  for (int i = 0; i < 2; i++) {
    unsigned char *src = (unsigned char *)&f[i];
    for (int k = 0; k < 4; k++) be[4 * i + k] = src[3 - k];
  }
  ck_fm(parse_npy(NPY(1, ">f4", "False", "(1, 2)", be, sizeof be, &size), &p));
  ck_assert_float_eq(p.x[1], 2.0f);
  fm_points_free(&p);
}
END_TEST

/* The points 0..5 as (3, 2) in every numeric dtype NumPy writes, both byte orders, and in
 * Fortran order (column by column): all read as the same floats. */
START_TEST(npy_reads_every_numeric_dtype_in_either_order) {
  const double want[6] = {0, 1, 2, 3, 4, 5};
  const char *dtypes[] = {"<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "|i1", "<i2", ">i2", "<i4",
                          ">i4", "<i8", ">i8", "|u1", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8",
                          "=i4"};
  for (size_t d = 0; d < sizeof dtypes / sizeof *dtypes; d++)
    for (int fortran = 0; fortran < 2; fortran++) {
      const char *t = dtypes[d];
      size_t item = (size_t)(t[2] - '0');
      int big = t[0] == '>', kind = t[1];
      unsigned char values[6 * 8];
      for (int i = 0; i < 6; i++) {
        int at = fortran ? (i % 2) * 3 + i / 2 : i; /* where value i (row i/2, col i%2) lies */
        uint64_t u = (uint64_t)i;
        static const uint16_t half[6] = {0x0000, 0x3C00, 0x4000, 0x4200, 0x4400, 0x4500};
        if (kind == 'f' && item == 2) u = half[i]; /* 0..5 in IEEE binary16 */
        if (kind == 'f' && item == 4) {
          float x = (float)i;
          uint32_t w;
          memcpy(&w, &x, 4);
          u = w;
        }
        if (kind == 'f' && item == 8) {
          double x = i;
          memcpy(&u, &x, 8);
        }
        for (size_t k = 0; k < item; k++)
          values[(size_t)at * item + (big ? item - 1 - k : k)] = (unsigned char)(u >> (8 * k));
      }
      size_t size;
      fm_points p;
      ck_fm(parse_npy(NPY(1, t, fortran ? "True" : "False", "(3, 2)", values, 6 * item, &size), &p));
      ck_assert_int_eq(p.n, 3);
      ck_assert_int_eq(p.dim, 2);
      ck_assert_msg(test_mismatches(t, p.x, want, 6, 0, 0) == 0, "%s fortran %d", t, fortran);
      fm_points_free(&p);
    }
  /* Negative integers and booleans. */
  signed char neg[2] = {-3, 127};
  unsigned char flags[2] = {1, 0};
  size_t size;
  fm_points p;
  ck_fm(parse_npy(NPY(1, "|i1", "False", "(2,)", neg, 2, &size), &p));
  ck_assert(p.x[0] == -3 && p.x[1] == 127);
  fm_points_free(&p);
  ck_fm(parse_npy(NPY(1, "|b1", "False", "(2,)", flags, 2, &size), &p));
  ck_assert(p.x[0] == 1 && p.x[1] == 0);
  fm_points_free(&p);
}
END_TEST

#ifdef FMCL_HAVE_LIBZIP
#include <zip.h>

/* An NPZ archive in memory (as numpy.savez writes one: member KEY.npy per array), each
 * member stored or deflated; the bytes are malloc'd. */
static unsigned char *npz(const char *const *keys, npy_bytes *arrays, int n, int deflate,
                          size_t *size) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t *out = zip_source_buffer_create(NULL, 0, 0, &error);
  zip_source_keep(out);
  zip_t *z = zip_open_from_source(out, ZIP_TRUNCATE, &error);
  ck_assert_ptr_nonnull(z);
  for (int i = 0; i < n; i++) {
    char member[64];
    snprintf(member, sizeof member, "%s.npy", keys[i]);
    zip_source_t *s = zip_source_buffer(z, arrays[i].b, arrays[i].size, 0); /* caller frees */
    zip_int64_t at = zip_file_add(z, member, s, ZIP_FL_OVERWRITE);
    ck_assert(at >= 0);
    zip_set_file_compression(z, (zip_uint64_t)at, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  ck_assert_int_eq(zip_close(z), 0);
  zip_stat_t st;
  ck_assert_int_eq(zip_source_stat(out, &st), 0);
  unsigned char *bytes = malloc(st.size);
  ck_assert_int_eq(zip_source_open(out), 0);
  ck_assert(zip_source_read(out, bytes, st.size) == (zip_int64_t)st.size);
  zip_source_close(out);
  zip_source_free(out);
  zip_error_fini(&error);
  *size = st.size;
  return bytes;
}

START_TEST(npz_archives_give_the_array_data_key_names) {
  if (!fm_datafile_has_npz()) {
    fprintf(stderr, "npz: skipped: this fmcl was built without libzip\n");
    return;
  }
  float a[4] = {1, 2, 3, 4};
  double b[6] = {9, 8, 7, 6, 5, 4};
  size_t sa, sb, size;
  for (int deflate = 0; deflate < 2; deflate++) {
    npy_bytes arrays[2] = {NPY(1, "<f4", "False", "(2, 2)", a, sizeof a, &sa),
                           NPY(1, "<f8", "False", "(3, 2)", b, sizeof b, &sb)};
    const char *keys[2] = {"points", "arr_1"};
    unsigned char *bytes = npz(keys, arrays, 2, deflate, &size);
    fm_points p;
    ck_fm(fm_datafile_parse(bytes, size, "t.npz", FM_FORMAT_AUTO, "arr_1", &p));
    ck_assert_int_eq(p.n, 3);
    ck_assert(p.x[0] == 9 && p.x[5] == 4);
    fm_points_free(&p);
    ck_fm(fm_datafile_parse(bytes, size, "t.npz", FM_FORMAT_NPZ, "points", &p));
    ck_assert(p.n == 2 && p.x[3] == 4);
    fm_points_free(&p);
    /* No key among several, and a key the archive lacks: both list what it holds. */
    ck_assert_int_eq(fm_datafile_parse(bytes, size, "t.npz", FM_FORMAT_AUTO, NULL, &p), FM_ERR_CONFIG);
    ck_assert_msg(strstr(fm_error_message(), "points, arr_1") && strstr(fm_error_message(), "data.key"),
                  "%s", fm_error_message());
    ck_assert_int_eq(fm_datafile_parse(bytes, size, "t.npz", FM_FORMAT_AUTO, "x", &p), FM_ERR_CONFIG);
    ck_assert_msg(strstr(fm_error_message(), "no array 'x'") && strstr(fm_error_message(), "t.npz"),
                  "%s", fm_error_message());
    free(bytes);
    /* One array: no key needed. */
    bytes = npz(keys, arrays, 1, deflate, &size);
    ck_fm(fm_datafile_parse(bytes, size, "t.npz", FM_FORMAT_AUTO, "", &p));
    ck_assert_int_eq(p.n, 2);
    fm_points_free(&p);
    /* A damaged member names the archive and the member. */
    npy_bytes bad = NPY(1, "|O", "False", "(2, 2)", a, sizeof a, &sa);
    unsigned char *broken = npz(keys, &bad, 1, deflate, &size);
    ck_assert_int_eq(fm_datafile_parse(broken, size, "t.npz", FM_FORMAT_AUTO, NULL, &p), FM_ERR_FORMAT);
    ck_assert_msg(strstr(fm_error_message(), "t.npz (points.npy)") &&
                      strstr(fm_error_message(), "object array"), "%s", fm_error_message());
    free(bytes), free(broken);
    free(arrays[0].b), free(arrays[1].b), free(bad.b);
  }
  /* Not an archive after all. */
  fm_points p;
  ck_assert_int_eq(fm_datafile_parse((const unsigned char *)"PK\x03\x04junk", 8, "t.npz",
                                     FM_FORMAT_AUTO, NULL, &p), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), "not a readable NPZ archive"), "%s", fm_error_message());
  /* A member that claims 3.7 GB from 80 compressed bytes is refused before room is made. */
  ck_assert_int_eq(fm_datafile_load(FMCL_SOURCE_DIR "/tests/fuzz/datafile/npz-claims-gigabytes.npz",
                                    FM_FORMAT_AUTO, NULL, &p), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), "compressed bytes can give"), "%s", fm_error_message());
}
END_TEST
#endif

static void expect_npy_refused(npy_bytes n, const char *needle) {
  fm_points p;
  ck_assert_int_eq(parse_npy(n, &p), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), needle) && strstr(fm_error_message(), "t.npy"), "%s",
                fm_error_message());
}

START_TEST(malformed_npy_is_refused_saying_why) {
  float f[6] = {1, 2, 3, 4, 5, NAN};
  int i4[6] = {0};
  size_t size;
  expect_npy_refused(NPY(1, "|O", "False", "(3, 2)", i4, sizeof i4, &size), "object array");
  expect_npy_refused(NPY(1, "<c8", "False", "(3, 2)", i4, sizeof i4, &size), "dtype '<c8'");
  expect_npy_refused(NPY(1, "<i3", "False", "(3, 2)", i4, sizeof i4, &size), "dtype '<i3'");
  expect_npy_refused(NPY(1, "<f4", "False", "(3, 2)", f, 16, &size), "truncated");
  expect_npy_refused(NPY(1, "<f4", "False", "(1, 3, 2)", f, sizeof f, &size),
                     "3 dimensions");
  expect_npy_refused(NPY(1, "<f4", "False", "(3, 2)", f, sizeof f, &size),
                     "row 2, column 1 (from 0): nan is not a finite float");
  expect_npy_refused(NPY(1, "<f4", "False", "(0, 2)", f, 0, &size), "no data rows");
  expect_npy_refused(NPY(7, "<f4", "False", "(3, 2)", f, sizeof f, &size), "version 7");
  unsigned char *b = npy(1, "<f4", "False", "(3, 2)", f, sizeof f, &size);
  fm_points p;
  ck_assert_int_eq(fm_datafile_parse(b, 9, "t.npy", FM_FORMAT_NPY, NULL, &p), FM_ERR_FORMAT);
  free(b);
}
END_TEST

START_TEST(missing_file_names_its_path) {
  fm_points p;
  ck_assert_int_eq(fm_datafile_load("/nonexistent/data.csv", FM_FORMAT_AUTO, NULL, &p), FM_ERR_IO);
  ck_assert_msg(strstr(fm_error_message(), "/nonexistent/data.csv"), "%s", fm_error_message());
}
END_TEST

START_TEST(split_is_a_seeded_partition) {
  fm_points all = {.x = malloc(100 * 2 * sizeof(float)), .label = calloc(100, sizeof(int)), .n = 100, .dim = 2};
  for (int i = 0; i < 200; i++) all.x[i] = (float)i;
  fm_points a, b, c, d;
  ck_fm(fm_points_split(&all, 0.2, 7, &a, &b));
  ck_fm(fm_points_split(&all, 0.2, 7, &c, &d));
  ck_assert_int_eq(a.n, 80);
  ck_assert_int_eq(b.n, 20);
  ck_assert_int_eq(memcmp(a.x, c.x, 160 * sizeof(float)), 0);
  int seen[100] = {0};
  for (int i = 0; i < a.n; i++) seen[(int)a.x[2 * i] / 2]++, ck_assert(a.x[2 * i + 1] == a.x[2 * i] + 1);
  for (int i = 0; i < b.n; i++) seen[(int)b.x[2 * i] / 2]++;
  for (int i = 0; i < 100; i++) ck_assert_int_eq(seen[i], 1);
  int moved = 0;
  for (int i = 0; i < a.n; i++) moved += a.x[2 * i] != (float)(2 * i);
  ck_assert_int_gt(moved, 50); /* shuffled */
  fm_points_free(&c), fm_points_free(&d), fm_points_free(&a), fm_points_free(&b);
  ck_assert_int_eq(fm_points_split(&all, 1.0, 7, &a, &b), FM_ERR_INVALID);
  fm_points_free(&all);
}
END_TEST

START_TEST(standardization_round_trips_and_guards_constant_columns) {
  float x[8] = {1, 5, 3, 5, 5, 5, 7, 5};
  fm_points p = {.x = x, .n = 4, .dim = 2};
  double mean[2], std[2];
  ck_fm(fm_points_stats(&p, mean, std));
  ck_assert_double_eq_tol(mean[0], 4.0, 1e-12);
  ck_assert_double_eq_tol(std[0], sqrt(20.0 / 3.0), 1e-12);
  ck_assert_double_eq(std[1], 1.0); /* constant column */
  fm_points_standardize(x, 4, 2, mean, std);
  ck_assert_float_eq_tol(x[1], 0.0f, 1e-7);
  fm_points_unstandardize(x, 4, 2, mean, std);
  ck_assert_float_eq_tol(x[6], 7.0f, 1e-5);
}
END_TEST

int main(void) {
  Suite *s = suite_create("datafile");
  TCase *tc = tcase_create("datafile");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, csv_reads_with_and_without_a_header);
  tcase_add_test(tc, a_csv_header_names_the_columns);
  tcase_add_test(tc, malformed_csv_is_refused_naming_row_and_column);
  tcase_add_test(tc, csv_follows_rfc_4180_as_pandas_and_r_write_it);
  tcase_add_test(tc, npy_reads_float32_float64_both_byte_orders_and_vectors);
  tcase_add_test(tc, malformed_npy_is_refused_saying_why);
  tcase_add_test(tc, npy_reads_every_numeric_dtype_in_either_order);
#ifdef FMCL_HAVE_LIBZIP
  tcase_add_test(tc, npz_archives_give_the_array_data_key_names);
#endif
  tcase_add_test(tc, missing_file_names_its_path);
  tcase_add_test(tc, split_is_a_seeded_partition);
  tcase_add_test(tc, standardization_round_trips_and_guards_constant_columns);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
