/* Image data through the fmcl program, on a small stand-in for Fashion-MNIST (its four IDX
 * files, gzipped, in FMCL_FASHION_MNIST_DIR): the run draws its samples and trajectories as
 * images, a row per class, and judges the held-out images by their dequantized pixels; a
 * wrong image shape and a missing data set are refused saying what to do. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"
#include "support.h"

static char work[256];

/* work/data/<part>-{images-idx3,labels-idx1}-ubyte.gz with n images of class i % 10: a bar whose
 * height grows with the class on black. */
static void write_part(const char *part, int n) {
  char path[512];
  snprintf(path, sizeof path, "%s/data/%s-images-idx3-ubyte.gz", work, part);
  gzFile f = gzopen(path, "wb");
  if (!f) exit(1);
  unsigned char header[16] = {0, 0, 8, 3, 0, 0, (unsigned char)(n >> 8), (unsigned char)n,
                              0, 0, 0, 28, 0, 0, 0, 28};
  gzwrite(f, header, 16);
  for (int i = 0; i < n; i++) {
    unsigned char img[28 * 28] = {0};
    for (int y = 27 - 2 * (i % 10); y < 28; y++)
      for (int x = 10; x < 18; x++) img[y * 28 + x] = (unsigned char)(200 + i % 50);
    gzwrite(f, img, sizeof img);
  }
  if (gzclose(f) != Z_OK) exit(1);
  snprintf(path, sizeof path, "%s/data/%s-labels-idx1-ubyte.gz", work, part);
  f = gzopen(path, "wb");
  if (!f) exit(1);
  unsigned char lh[8] = {0, 0, 8, 1, 0, 0, (unsigned char)(n >> 8), (unsigned char)n};
  gzwrite(f, lh, 8);
  for (int i = 0; i < n; i++) {
    unsigned char c = (unsigned char)(i % 10);
    gzwrite(f, &c, 1);
  }
  if (gzclose(f) != Z_OK) exit(1);
}

static int fmcl(const char *args, char **out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd %s && FMCL_FASHION_MNIST_DIR=%s/data %s %s", work, work,
           FMCL_BINARY, args);
  return test_shell(cmd, out);
}

/* A PNG file's width and height, from its IHDR chunk. */
static void png_size(const char *relative, int *w, int *h) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", work, relative);
  unsigned char *b = (unsigned char *)test_read_file(path);
  ck_assert_msg(memcmp(b, "\x89PNG", 4) == 0 && memcmp(b + 12, "IHDR", 4) == 0, "%s", path);
  *w = b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
  *h = b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
  free(b);
}

static const char *quick = "train --set data.name=fashion-mnist --set model.classes=10 "
                           "--set train.label_dropout=0.1 --set model.hidden=[64] "
                           "--set train.steps=20 --set train.batch=64 --set sample.n=100 "
                           "--set sample.steps=8 --set sample.save_every=1 --set eval.n=4 "
                           "--set eval.metric_points=20 --overwrite";

START_TEST(an_image_run_draws_images_and_dequantizes_the_held_out_pixels) {
  char args[2048], *out = NULL;
  snprintf(args, sizeof args, "%s --set output.dir=fashion", quick);
  ck_exit(fmcl(args, &out), 0, out);
  ck_assert_msg(strstr(out, "200 training, 30 held-out points of dimension 784") &&
                    strstr(out, "bits/dim of the bins, dequantized"), "%s", out);
  free(out);
  /* samples.png: 10 rows (a class each) of 8 images of 56 pixels, 4 apart; trajectories.png:
   * 4 rows of 8 of the 9 saved times. */
  int w, h;
  png_size("fashion/samples.png", &w, &h);
  ck_assert_msg(h > 10 * 60 && h < 10 * 60 + 60 && w > 8 * 60, "samples.png is %d x %d", w, h);
  png_size("fashion/trajectories.png", &w, &h);
  ck_assert_msg(h > 4 * 60 && h < 4 * 60 + 80 && w > 8 * 60, "trajectories.png is %d x %d", w, h);
  char path[1024];
  snprintf(path, sizeof path, "%s/fashion/density.png", work);
  ck_assert_msg(access(path, F_OK) != 0, "a density plot of 784-D data");
  /* The bits are of the 8-bit pixels: the density's NLL plus 784 ln(255 / 2), per bit. */
  snprintf(path, sizeof path, "%s/fashion/summary.json", work);
  char *text = test_read_file(path);
  cJSON *s = cJSON_Parse(text), *lik = cJSON_GetObjectItem(s, "likelihood");
  ck_assert_msg(lik, "%s", text);
  double nll = cJSON_GetObjectItem(lik, "nll_nats")->valuedouble;
  double bpd = cJSON_GetObjectItem(lik, "bits_per_dim")->valuedouble;
  double bin = cJSON_GetObjectItem(lik, "dequantized_bin")->valuedouble;
  ck_assert_double_eq_tol(bin, 2.0 / 255, 1e-12);
  ck_assert_double_eq_tol(bpd, (nll + 784 * log(127.5)) / (784 * log(2.0)), 1e-9);
  cJSON_Delete(s);
  free(text);
  snprintf(path, sizeof path, "%s/fashion/config.json", work);
  text = test_read_file(path);
  ck_assert_msg(strstr(text, "\"image_shape\":\t[28, 28]"), "%s", text);
  free(text);
  /* fmcl sample of an image model draws its samples too, next to the CSV; a row per class. */
  ck_exit(fmcl("sample --checkpoint fashion/model.fmck --set sample.guidance=4 "
               "--set sample.n=30 --out fashion/g4.csv", &out), 0, out);
  ck_assert_msg(strstr(out, "images: fashion/g4.png"), "%s", out);
  free(out);
  png_size("fashion/g4.png", &w, &h);
  ck_assert_msg(h > 10 * 60 && h < 10 * 60 + 60 && w > 8 * 60, "g4.png is %d x %d", w, h);
  ck_exit(fmcl("sample --checkpoint fashion/model.fmck --set sample.n=30 --out fashion/g1.csv "
               "--set output.plots=false", &out), 0, out);
  free(out);
  snprintf(path, sizeof path, "%s/fashion/g1.png", work);
  ck_assert_msg(access(path, F_OK) != 0, "output.plots=false still drew g1.png");
  /* Unconditional, 9 samples: rows of 8 (two), and still 4 paths of 8 times. */
  snprintf(args, sizeof args, "%s --set output.dir=plain --set model.classes=0 "
           "--set train.label_dropout=0 --set sample.n=9 --set eval.likelihood=false", quick);
  ck_exit(fmcl(args, &out), 0, out);
  free(out);
  png_size("plain/samples.png", &w, &h);
  ck_assert_msg(h > 2 * 60 && h < 2 * 60 + 60, "samples.png is %d x %d", w, h);
  png_size("plain/trajectories.png", &w, &h);
  ck_assert_msg(h > 4 * 60 && h < 4 * 60 + 80, "trajectories.png is %d x %d", w, h);
  /* Continuous data judged as such: eval.dequantize=0 gives the density's own bits. */
  snprintf(args, sizeof args, "%s --set output.dir=continuous --set eval.dequantize=0 "
           "--set output.plots=false", quick);
  ck_exit(fmcl(args, &out), 0, out);
  ck_assert_msg(strstr(out, "bits/dim) over 4 points"), "%s", out);
  free(out);
}
END_TEST

START_TEST(a_wrong_shape_or_a_missing_data_set_says_what_to_do) {
  char args[2048], *out = NULL;
  snprintf(args, sizeof args, "%s --set output.dir=shape --set output.image_shape=[27,28]", quick);
  ck_exit(fmcl(args, &out), 2, out);
  ck_assert_msg(strstr(out, "output.image_shape: 27 x 28 is 756 pixels, the data has 784"), "%s",
                out);
  free(out);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cd %s && FMCL_FASHION_MNIST_DIR=%s/nowhere %s %s "
           "--set output.dir=missing", work, work, FMCL_BINARY, quick);
  ck_exit(test_shell(cmd, &out), 2, out);
  ck_assert_msg(strstr(out, "nowhere/train-images-idx3-ubyte.gz is missing") &&
                    strstr(out, "apt-get install dataset-fashion-mnist"), "%s", out);
  free(out);
}
END_TEST

int main(void) {
  fm_strlcpy(work, test_workdir("e2e-images"), sizeof work);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "mkdir -p %s/data", work);
  if (system(cmd) != 0) return 1;
  write_part("train", 200);
  write_part("t10k", 30);
  Suite *s = suite_create("e2e_images");
  TCase *tc = tcase_create("e2e_images");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, an_image_run_draws_images_and_dequantizes_the_held_out_pixels);
  tcase_add_test(tc, a_wrong_shape_or_a_missing_data_set_says_what_to_do);
  suite_add_tcase(s, tc);
  return test_run_suite_in(s, work);
}
