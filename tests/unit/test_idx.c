/* IDX files and gzip streams: every value type, plain and compressed, as data files; each
 * malformed file refused naming it; Fashion-MNIST's splits, classes and scaling from a small
 * set of its files, and from Debian's package when it is installed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fmcl/config.h"
#include "fmcl/datafile.h"
#include "fmcl/dataset.h"
#include "fmcl/idx.h"
#include "support.h"

/* An IDX file's bytes: the type, its dimensions and the values already big-endian. */
static unsigned char *idx(unsigned char type, int ndim, const unsigned *dims, const void *values,
                          size_t value_bytes, size_t *size) {
  *size = 4 + 4 * (size_t)ndim + value_bytes;
  unsigned char *b = malloc(*size);
  b[0] = b[1] = 0, b[2] = type, b[3] = (unsigned char)ndim;
  for (int d = 0; d < ndim; d++)
    for (int k = 0; k < 4; k++) b[4 + 4 * d + k] = (unsigned char)(dims[d] >> (24 - 8 * k));
  memcpy(b + 4 + 4 * ndim, values, value_bytes);
  return b;
}

/* data as one gzip member (level 6), malloc'd. */
static unsigned char *gzip(const unsigned char *data, size_t size, size_t *out_size) {
  z_stream z;
  memset(&z, 0, sizeof z);
  ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&z, size) + 64;
  unsigned char *out = malloc(cap);
  z.next_in = (unsigned char *)data, z.avail_in = (uInt)size;
  z.next_out = out, z.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *out_size = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

static fm_status parse(const unsigned char *b, size_t n, fm_points *p) {
  return fm_datafile_parse(b, n, "t.idx", FM_FORMAT_AUTO, NULL, p);
}

static void expect_refused(const unsigned char *b, size_t n, const char *needle) {
  fm_points p;
  ck_assert_int_eq(parse(b, n, &p), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), needle) && strstr(fm_error_message(), "t.idx"),
                "message '%s' lacks '%s'", fm_error_message(), needle);
  ck_assert_ptr_null(p.x);
}

START_TEST(idx_of_every_type_reads_plain_and_gzipped) {
  unsigned dims[3] = {2, 2, 3};
  unsigned char u8[12] = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
  size_t n, gn;
  unsigned char *b = idx(0x08, 3, dims, u8, sizeof u8, &n), *g = gzip(b, n, &gn);
  for (int z = 0; z < 2; z++) {
    fm_points p;
    ck_fm(parse(z ? g : b, z ? gn : n, &p));
    ck_assert(p.n == 2 && p.dim == 6 && p.x[0] == 0 && p.x[6] == 250 && p.x[11] == 255);
    fm_points_free(&p);
  }
  free(b), free(g);
  /* signed byte, short, int, float, double: -2 and 1.5 (or 3) big-endian. */
  unsigned one[1] = {2};
  const struct {
    unsigned char type;
    unsigned char bytes[16];
    size_t size;
    float second;
  } kinds[] = {{0x09, {0xFE, 0x03}, 2, 3},
               {0x0B, {0xFF, 0xFE, 0x00, 0x03}, 4, 3},
               {0x0C, {0xFF, 0xFF, 0xFF, 0xFE, 0, 0, 0, 3}, 8, 3},
               {0x0D, {0xC0, 0x00, 0x00, 0x00, 0x3F, 0xC0, 0x00, 0x00}, 8, 1.5f},
               {0x0E, {0xC0, 0, 0, 0, 0, 0, 0, 0, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0}, 16, 1.5f}};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    b = idx(kinds[k].type, 1, one, kinds[k].bytes, kinds[k].size, &n);
    fm_points p;
    ck_fm(parse(b, n, &p));
    ck_assert_msg(p.n == 2 && p.dim == 1 && p.x[0] == -2 && p.x[1] == kinds[k].second,
                  "type %02x: %g %g", kinds[k].type, p.x[0], p.x[1]);
    fm_points_free(&p);
    free(b);
  }
  /* Two gzip members one after another read as one stream, as gzip writes them. */
  unsigned char text[] = "1,2\n3,4\n";
  size_t an, bn;
  unsigned char *first = gzip(text, 4, &an), *second = gzip(text + 4, 4, &bn);
  unsigned char *both = malloc(an + bn);
  memcpy(both, first, an), memcpy(both + an, second, bn);
  fm_points p;
  ck_fm(fm_datafile_parse(both, an + bn, "t.csv.gz", FM_FORMAT_AUTO, NULL, &p));
  ck_assert(p.n == 2 && p.dim == 2 && p.x[3] == 4);
  fm_points_free(&p);
  free(first), free(second), free(both);
}
END_TEST

START_TEST(malformed_idx_and_gzip_are_refused_naming_the_file) {
  unsigned dims[2] = {2, 3};
  unsigned char v[6] = {1, 2, 3, 4, 5, 6};
  size_t n, gn;
  unsigned char *b = idx(0x08, 2, dims, v, sizeof v, &n);
  fm_points p;
  /* Forced as IDX, a file with another magic number. */
  ck_assert_int_eq(fm_datafile_parse((const unsigned char *)"1,2\n", 4, "t.idx", FM_FORMAT_IDX,
                                     NULL, &p), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), "not an IDX file") &&
                    strstr(fm_error_message(), "31 2C 32 0A"), "%s", fm_error_message());
  /* Dimensions that disagree with the size, both ways, and a header cut short. */
  expect_refused(b, n - 1, "need 18 bytes, the file has 17; it is truncated");
  unsigned char *longer = malloc(n + 1);
  memcpy(longer, b, n), longer[n] = 7;
  expect_refused(longer, n + 1, "longer than its header says");
  expect_refused(b, 9, "truncated: 2 dimensions need a 12-byte header");
  unsigned zero[2] = {0, 3};
  unsigned char *empty = idx(0x08, 2, zero, v, 0, &gn);
  expect_refused(empty, gn, "an empty array");
  unsigned huge[3] = {65536, 65536, 2};
  unsigned char *big = idx(0x08, 3, huge, v, 0, &gn);
  expect_refused(big, gn, "more than fmcl holds");
  /* A gzip stream cut short, one with a flipped byte, and gzip inside gzip. */
  unsigned char *g = gzip(b, n, &gn);
  expect_refused(g, gn - 5, "the gzip stream is truncated");
  g[gn / 2] ^= 0x55;
  g[gn / 2 + 1] ^= 0x55;
  expect_refused(g, gn, "t.idx: the gzip stream is");
  g[gn / 2] ^= 0x55;
  g[gn / 2 + 1] ^= 0x55;
  size_t ggn;
  unsigned char *gg = gzip(g, gn, &ggn);
  expect_refused(gg, ggn, "a gzip file inside a gzip file");
  free(b), free(longer), free(empty), free(big), free(g), free(gg);
}
END_TEST

/* Writes dir/<name> as one gzip member. */
static void write_gz(const char *dir, const char *name, const unsigned char *b, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  gzFile f = gzopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(gzwrite(f, b, (unsigned)n), (int)n);
  ck_assert_int_eq(gzclose(f), Z_OK);
}

START_TEST(fashion_mnist_gives_its_split_classes_and_pixels_in_minus_one_to_one) {
  char dir[] = "/tmp/fmcl-test-fashion-XXXXXX";
  ck_assert(mkdtemp(dir));
  /* 3 training and 2 test images of 28 x 28, every pixel of image i equal to 100 i. */
  enum { PIXELS = 28 * 28 };
  static unsigned char pixels[3 * PIXELS];
  for (int i = 0; i < 3; i++) memset(pixels + i * PIXELS, 100 * i, PIXELS);
  const char *parts[2] = {"train", "t10k"};
  for (int k = 0; k < 2; k++) {
    unsigned n_img = k ? 2 : 3, dims[3] = {n_img, 28, 28};
    unsigned char classes[3] = {9, 0, 4};
    size_t n;
    char name[64];
    unsigned char *b = idx(0x08, 3, dims, pixels, n_img * PIXELS, &n);
    snprintf(name, sizeof name, "%s-images-idx3-ubyte.gz", parts[k]);
    write_gz(dir, name, b, n);
    free(b);
    b = idx(0x08, 1, dims, classes, n_img, &n);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte.gz", parts[k]);
    write_gz(dir, name, b, n);
    free(b);
  }
  setenv("FMCL_FASHION_MNIST_DIR", dir, 1);
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_fm(fm_config_set(&cfg, "data.name=fashion-mnist"));
  ck_fm(fm_config_set(&cfg, "data.n_test=1")); /* the first test image only */
  fm_config_resolve(&cfg);
  ck_fm(fm_config_validate(&cfg));
  fm_points train, test;
  ck_fm(fm_dataset_load_split(&cfg, &train, &test));
  ck_assert(train.n == 3 && train.dim == PIXELS && test.n == 1 && test.dim == PIXELS);
  ck_assert(train.label[0] == 9 && train.label[1] == 0 && train.label[2] == 4);
  ck_assert(train.x[0] == -1.0f && train.x[PIXELS] == 100 / 127.5f - 1);
  ck_assert(fabsf(train.x[2 * PIXELS + 5] - (200 / 127.5f - 1)) < 1e-6f);
  fm_points_free(&train);
  fm_points_free(&test);
  /* A class out of range, and a missing file that says how to install the package. */
  unsigned one[1] = {3};
  unsigned char bad[3] = {1, 10, 2};
  size_t n;
  unsigned char *b = idx(0x08, 1, one, bad, 3, &n);
  write_gz(dir, "train-labels-idx1-ubyte.gz", b, n);
  free(b);
  ck_assert_int_eq(fm_dataset_load_split(&cfg, &train, &test), FM_ERR_FORMAT);
  ck_assert_msg(strstr(fm_error_message(), "image 1 has class 10"), "%s", fm_error_message());
  char path[1024];
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
  remove(path);
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
  remove(path);
  ck_assert_int_eq(fm_dataset_load_split(&cfg, &train, &test), FM_ERR_CONFIG);
  ck_assert_msg(strstr(fm_error_message(), "train-labels-idx1-ubyte.gz is missing") &&
                    strstr(fm_error_message(), "apt-get install dataset-fashion-mnist"),
                "%s", fm_error_message());
  const char *rest[] = {"train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s/%s", dir, rest[k]);
    remove(path);
  }
  rmdir(dir);
  unsetenv("FMCL_FASHION_MNIST_DIR");
}
END_TEST

START_TEST(debians_fashion_mnist_has_ten_balanced_classes) {
  if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0) {
    fprintf(stderr, "fashion-mnist: skipped: the package dataset-fashion-mnist is not "
                    "installed (tools/test.sh installs it)\n");
    return;
  }
  fm_config cfg;
  fm_config_defaults(&cfg);
  ck_fm(fm_config_set(&cfg, "data.name=fashion-mnist"));
  ck_fm(fm_config_set(&cfg, "data.n_test=10000"));
  fm_config_resolve(&cfg);
  ck_fm(fm_config_validate(&cfg));
  fm_points train, test;
  ck_fm(fm_dataset_load_split(&cfg, &train, &test));
  ck_assert(train.n == 60000 && test.n == 10000 && train.dim == 784 && test.dim == 784);
  int count[10] = {0};
  double lo = 1, hi = -1;
  for (int i = 0; i < train.n; i++) count[train.label[i]]++;
  for (size_t i = 0; i < (size_t)train.n * 784; i++)
    lo = fmin(lo, train.x[i]), hi = fmax(hi, train.x[i]);
  for (int c = 0; c < 10; c++) ck_assert_int_eq(count[c], 6000);
  ck_assert(lo == -1 && hi == 1);
  fm_points_free(&train);
  fm_points_free(&test);
}
END_TEST

int main(void) {
  Suite *s = suite_create("idx");
  TCase *tc = tcase_create("idx");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, idx_of_every_type_reads_plain_and_gzipped);
  tcase_add_test(tc, malformed_idx_and_gzip_are_refused_naming_the_file);
  tcase_add_test(tc, fashion_mnist_gives_its_split_classes_and_pixels_in_minus_one_to_one);
  tcase_add_test(tc, debians_fashion_mnist_has_ten_balanced_classes);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
