/* Toy data sets: reproducible from the seed, split by stream, and shaped as their
 * formulas say (checked on properties each set must have). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

static fm_points make(const char *name, uint64_t seed, uint32_t stream, int n) {
  fm_points p;
  ck_fm(fm_toy_generate(name, seed, stream, n, &p));
  ck_assert_int_eq(p.n, n);
  ck_assert_int_eq(p.dim, 2);
  return p;
}

START_TEST(every_toy_set_is_reproducible_finite_and_split) {
  for (int t = 0; fm_toy_names[t]; t++) {
    const char *name = fm_toy_names[t];
    fm_points a = make(name, 3, FM_STREAM_DATA_TRAIN, 1001);
    fm_points b = make(name, 3, FM_STREAM_DATA_TRAIN, 1001);
    fm_points c = make(name, 4, FM_STREAM_DATA_TRAIN, 1001);
    fm_points d = make(name, 3, FM_STREAM_DATA_TEST, 1001);
    ck_assert_msg(memcmp(a.x, b.x, 2 * 1001 * sizeof(float)) == 0, "%s not reproducible", name);
    ck_assert_msg(memcmp(a.x, c.x, 2 * 1001 * sizeof(float)) != 0, "%s ignores the seed", name);
    ck_assert_msg(memcmp(a.x, d.x, 2 * 1001 * sizeof(float)) != 0, "%s: test split = train", name);
    for (int i = 0; i < 2 * a.n; i++) {
      ck_assert_msg(isfinite(a.x[i]), "%s: non-finite value", name);
      ck_assert_msg(fabsf(a.x[i]) < 12.0f, "%s: %g is far outside the set", name, a.x[i]);
    }
    fm_points_free(&a);
    fm_points_free(&b);
    fm_points_free(&c);
    fm_points_free(&d);
  }
}
END_TEST

START_TEST(unknown_toy_set_is_refused) {
  fm_points p;
  ck_assert_int_eq(fm_toy_generate("spirals", 0, 2, 10, &p), FM_ERR_INVALID);
  ck_assert_msg(strstr(fm_error_message(), "spirals"), "%s", fm_error_message());
  ck_assert_int_eq(fm_toy_generate("moons", 0, 2, 0, &p), FM_ERR_INVALID);
}
END_TEST

START_TEST(eight_gaussians_sit_on_their_centers) {
  fm_points p = make("8gaussians", 0, FM_STREAM_DATA_TRAIN, 40000);
  int count[8] = {0};
  double mean[2] = {0, 0};
  double var = 0;
  for (int i = 0; i < p.n; i++) {
    int k = p.label[i];
    ck_assert(k >= 0 && k < 8);
    count[k]++;
    double dx = p.x[2 * i] - test_8g_centre[k][0], dy = p.x[2 * i + 1] - test_8g_centre[k][1];
    var += dx * dx + dy * dy;
    mean[0] += p.x[2 * i], mean[1] += p.x[2 * i + 1];
  }
  double sd = sqrt(var / (2.0 * p.n));
  ck_assert_msg(fabs(sd - TEST_8G_SD) < 0.01, "component sd %g", sd);
  for (int k = 0; k < 8; k++) ck_assert_msg(abs(count[k] - p.n / 8) < 400, "center %d: %d", k, count[k]);
  ck_assert(fabs(mean[0] / p.n) < 0.05 && fabs(mean[1] / p.n) < 0.05);
  fm_points_free(&p);
}
END_TEST

static double pymod(double a, double b) { return a - b * floor(a / b); }

START_TEST(checkerboard_lies_on_the_black_squares) {
  fm_points p = make("checkerboard", 1, FM_STREAM_DATA_TRAIN, 20000);
  int per_square[16] = {0};
  for (int i = 0; i < p.n; i++) {
    double x = p.x[2 * i], y = p.x[2 * i + 1];
    ck_assert(x >= -4 && x < 4 && y >= -4 && y < 4);
    double col = floor(x / 2), row = floor(y / 2);
    ck_assert_msg(pymod(col + row, 2) == 0, "(%g, %g) is on a white square", x, y);
    per_square[(int)(col + 2) * 4 + (int)(row + 2)]++;
  }
  int used = 0;
  for (int q = 0; q < 16; q++)
    if (per_square[q]) {
      used++;
      ck_assert_msg(abs(per_square[q] - p.n / 8) < 300, "square %d: %d", q, per_square[q]);
    }
  ck_assert_int_eq(used, 8);
  fm_points_free(&p);
}
END_TEST

/* Fraction of points whose radius is within tol of one of radii. */
static double on_rings(const fm_points *p, const double *radii, int n_radii, double tol) {
  int hits = 0;
  for (int i = 0; i < p->n; i++) {
    double r = hypot(p->x[2 * i], p->x[2 * i + 1]);
    for (int k = 0; k < n_radii; k++)
      if (fabs(r - radii[k]) < tol) {
        hits++;
        break;
      }
  }
  return (double)hits / p->n;
}

START_TEST(circles_and_rings_have_their_radii) {
  fm_points c = make("circles", 0, FM_STREAM_DATA_TRAIN, 10000);
  const double rc[2] = {3.0, 1.5};
  ck_assert_msg(on_rings(&c, rc, 2, 0.72) > 0.99, "circles: %g", on_rings(&c, rc, 2, 0.72));
  fm_points r = make("rings", 0, FM_STREAM_DATA_TRAIN, 10000);
  const double rr[4] = {3.0, 2.25, 1.5, 0.75};
  ck_assert_msg(on_rings(&r, rr, 4, 0.24) > 0.99, "rings: %g", on_rings(&r, rr, 4, 0.24));
  fm_points_free(&c);
  fm_points_free(&r);
}
END_TEST

START_TEST(moons_have_the_expected_means) {
  fm_points p = make("moons", 0, FM_STREAM_DATA_TRAIN, 20000);
  double mx = 0, my_out = 0, my_in = 0;
  int n_out = 0;
  for (int i = 0; i < p.n; i++) {
    mx += p.x[2 * i];
    if (p.label[i] == 0) my_out += p.x[2 * i + 1], n_out++;
    else my_in += p.x[2 * i + 1];
  }
  /* Outer moon: y = 2 sin(a) - 0.2, mean 4/pi - 0.2; inner: 2 (0.5 - sin a) - 0.2. */
  ck_assert_msg(fabs(mx / p.n) < 0.02, "mean x %g", mx / p.n);
  ck_assert_msg(fabs(my_out / n_out - (4 / 3.14159265358979 - 0.2)) < 0.02, "outer %g", my_out / n_out);
  ck_assert_msg(fabs(my_in / (p.n - n_out) - (0.8 - 4 / 3.14159265358979)) < 0.02, "inner %g",
                my_in / (p.n - n_out));
  fm_points_free(&p);
}
END_TEST

START_TEST(spirals_are_point_symmetric) {
  fm_points p = make("2spirals", 0, FM_STREAM_DATA_TRAIN, 20000);
  double m[2] = {0, 0};
  for (int i = 0; i < p.n; i++) m[0] += p.x[2 * i], m[1] += p.x[2 * i + 1];
  /* The second arm mirrors the first through the origin (the offsets U[0, 0.5)/3 too). */
  ck_assert(fabs(m[0] / p.n) < 0.03 && fabs(m[1] / p.n) < 0.03);
  fm_points_free(&p);
}
END_TEST

START_TEST(points_csv_has_a_header_and_every_row) {
  fm_points p = make("pinwheel", 0, FM_STREAM_DATA_TRAIN, 25);
  char path[] = "/tmp/fmcl-test-points-XXXXXX";
  int fd = mkstemp(path);
  ck_assert(fd >= 0);
  close(fd);
  ck_fm(fm_points_write_csv(&p, path, 1));
  FILE *f = fopen(path, "r");
  char line[256];
  ck_assert(fgets(line, sizeof line, f));
  ck_assert_str_eq(line, "x0,x1,label\n");
  int rows = 0;
  float x, y;
  int label;
  while (fscanf(f, "%g,%g,%d", &x, &y, &label) == 3) {
    ck_assert_float_eq_tol(x, p.x[2 * rows], 1e-6);
    ck_assert_int_eq(label, p.label[rows]);
    rows++;
  }
  ck_assert_int_eq(rows, 25);
  fclose(f);
  remove(path);
  fm_points_free(&p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("data");
  TCase *tc = tcase_create("data");
  tcase_add_test(tc, every_toy_set_is_reproducible_finite_and_split);
  tcase_add_test(tc, unknown_toy_set_is_refused);
  tcase_add_test(tc, eight_gaussians_sit_on_their_centers);
  tcase_add_test(tc, checkerboard_lies_on_the_black_squares);
  tcase_add_test(tc, circles_and_rings_have_their_radii);
  tcase_add_test(tc, moons_have_the_expected_means);
  tcase_add_test(tc, spirals_are_point_symmetric);
  tcase_add_test(tc, points_csv_has_a_header_and_every_row);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
