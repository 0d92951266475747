/* Toy data sets, named by fm_toy_names in the order of toy_fns. The formulas follow
 * FFJORD's toy_data.py (and scikit-learn's make_moons, make_circles and make_swiss_roll
 * that it calls); each point i draws its own numbers from the stream (seed, stream, item
 * i), so a set does not depend on generation order. */
#include "fmcl/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "fmcl/rng.h"
#include "internal.h"

#define PI 3.14159265358979323846

typedef void (*toy_fn)(fm_rng *rng, int i, int n, double *x, int *label);

/* 8 gaussians: (4 c_k + 0.5 N(0, I)) / 1.414, c_k the unit vectors at 45 degree steps. */
static void toy_8gaussians(fm_rng *rng, int i, int n, double *x, int *label) {
  (void)i, (void)n;
  static const double s = 0.70710678118654752;
  static const double c[8][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {s, s}, {s, -s}, {-s, s}, {-s, -s}};
  int k = (int)(fm_rng_u32(rng) >> 29); /* top 3 bits: uniform on 0..7 */
  x[0] = (4.0 * c[k][0] + 0.5 * fm_rng_normal(rng)) / 1.414;
  x[1] = (4.0 * c[k][1] + 0.5 * fm_rng_normal(rng)) / 1.414;
  *label = k;
}

/* Two moons (make_moons, noise 0.1) scaled by 2 and shifted by (-1, -0.2). The first n/2
 * points are the outer moon at evenly spaced angles in [0, pi], the rest the inner one. */
static void toy_moons(fm_rng *rng, int i, int n, double *x, int *label) {
  int n_out = n / 2, n_in = n - n_out;
  double mx, my;
  if (i < n_out) {
    double a = n_out > 1 ? PI * i / (n_out - 1) : 0.0;
    mx = cos(a), my = sin(a), *label = 0;
  } else {
    int j = i - n_out;
    double a = n_in > 1 ? PI * j / (n_in - 1) : 0.0;
    mx = 1.0 - cos(a), my = 1.0 - sin(a) - 0.5, *label = 1;
  }
  x[0] = 2.0 * (mx + 0.1 * fm_rng_normal(rng)) - 1.0;
  x[1] = 2.0 * (my + 0.1 * fm_rng_normal(rng)) - 0.2;
}

/* Two circles (make_circles, factor 0.5, noise 0.08) scaled by 3. */
static void toy_circles(fm_rng *rng, int i, int n, double *x, int *label) {
  int n_out = n / 2, n_in = n - n_out;
  double r, a;
  if (i < n_out) r = 1.0, a = 2.0 * PI * i / n_out, *label = 0;
  else r = 0.5, a = 2.0 * PI * (i - n_out) / n_in, *label = 1;
  x[0] = 3.0 * (r * cos(a) + 0.08 * fm_rng_normal(rng));
  x[1] = 3.0 * (r * sin(a) + 0.08 * fm_rng_normal(rng));
}

/* Checkerboard: uniform on the 8 black squares of a 4x4 board spanning [-4, 4]^2. */
static void toy_checkerboard(fm_rng *rng, int i, int n, double *x, int *label) {
  (void)i, (void)n;
  double x1 = fm_rng_uniform(rng) * 4.0 - 2.0;
  double x2 = fm_rng_uniform(rng) - (double)(fm_rng_u32(rng) >> 31) * 2.0;
  double col = floor(x1);
  x2 += fmod(col + 4.0, 2.0); /* floor(x1) % 2 as Python computes it (non-negative) */
  x[0] = 2.0 * x1;
  x[1] = 2.0 * x2;
  *label = (int)(col + 2.0) * 4 + (int)floor(x2 + 2.0);
}

/* Two spirals: radius sqrt(U) * 3 pi, a uniform offset in [0, 0.5) per coordinate, the
 * second spiral mirrored, all / 3, plus N(0, 0.1^2) noise. */
static void toy_2spirals(fm_rng *rng, int i, int n, double *x, int *label) {
  double r = sqrt(fm_rng_uniform(rng)) * 540.0 * (2.0 * PI) / 360.0;
  double dx = -cos(r) * r + fm_rng_uniform(rng) * 0.5;
  double dy = sin(r) * r + fm_rng_uniform(rng) * 0.5;
  double sign = i < n / 2 ? 1.0 : -1.0;
  *label = i < n / 2 ? 0 : 1;
  x[0] = sign * dx / 3.0 + 0.1 * fm_rng_normal(rng);
  x[1] = sign * dy / 3.0 + 0.1 * fm_rng_normal(rng);
}

/* Pinwheel: 5 arms; radial std 0.3, tangential std 0.1, rate 0.25, times 2. */
static void toy_pinwheel(fm_rng *rng, int i, int n, double *x, int *label) {
  (void)n;
  int k = i % 5;
  double f0 = 0.3 * fm_rng_normal(rng) + 1.0, f1 = 0.1 * fm_rng_normal(rng);
  double angle = 2.0 * PI * k / 5.0 + 0.25 * exp(f0);
  double c = cos(angle), s = sin(angle);
  x[0] = 2.0 * (f0 * c + f1 * s);
  x[1] = 2.0 * (-f0 * s + f1 * c);
  *label = k;
}

/* Swiss roll (make_swiss_roll, noise 1.0), coordinates x and z, / 5. */
static void toy_swissroll(fm_rng *rng, int i, int n, double *x, int *label) {
  (void)i, (void)n;
  double t = 1.5 * PI * (1.0 + 2.0 * fm_rng_uniform(rng));
  x[0] = (t * cos(t) + fm_rng_normal(rng)) / 5.0;
  x[1] = (t * sin(t) + fm_rng_normal(rng)) / 5.0;
  *label = 0;
}

/* Four concentric rings of radius 1, 0.75, 0.5, 0.25 (n/4 evenly spaced points each, the
 * remainder on the smallest), times 3, plus N(0, 0.08^2) noise. */
static void toy_rings(fm_rng *rng, int i, int n, double *x, int *label) {
  int q = n / 4;
  int ring = q > 0 ? i / q : 3;
  if (ring > 3) ring = 3;
  int count = ring < 3 ? q : n - 3 * q, j = i - ring * q;
  double r = 1.0 - 0.25 * ring, a = 2.0 * PI * j / (count > 0 ? count : 1);
  x[0] = 3.0 * r * cos(a) + 0.08 * fm_rng_normal(rng);
  x[1] = 3.0 * r * sin(a) + 0.08 * fm_rng_normal(rng);
  *label = ring;
}

static const toy_fn toy_fns[] = {toy_8gaussians, toy_moons,    toy_circles,   toy_checkerboard,
                                 toy_2spirals,   toy_pinwheel, toy_swissroll, toy_rings};

static int toy_index(const char *name) {
  _Static_assert(FM_ARRAY_LEN(toy_fns) == 8, "one generator per name of fm_toy_names");
  for (int i = 0; fm_toy_names[i]; i++)
    if (strcmp(fm_toy_names[i], name) == 0) return i;
  return -1;
}

fm_status fm_toy_generate(const char *name, uint64_t seed, uint32_t stream, int n,
                          fm_points *out) {
  memset(out, 0, sizeof *out);
  int which = toy_index(name);
  if (which < 0) return fm_fail(FM_ERR_INVALID, "no toy data set named '%s'", name);
  if (n <= 0) return fm_fail(FM_ERR_INVALID, "toy data set %s: n must be positive, got %d", name, n);
  out->x = malloc((size_t)n * 2 * sizeof *out->x);
  out->label = malloc((size_t)n * sizeof *out->label);
  if (!out->x || !out->label) {
    fm_points_free(out);
    return fm_fail(FM_ERR_NOMEM, "out of host memory for %d points of %s", n, name);
  }
  out->n = n;
  out->dim = 2;
  for (int i = 0; i < n; i++) {
    fm_rng rng;
    double x[2];
    fm_rng_init(&rng, seed, stream, (uint32_t)i);
    toy_fns[which](&rng, i, n, x, &out->label[i]);
    out->x[2 * i] = (float)x[0];
    out->x[2 * i + 1] = (float)x[1];
  }
  return FM_OK;
}

void fm_points_free(fm_points *p) {
  if (!p) return;
  for (int d = 0; p->names && d < p->dim; d++) free(p->names[d]);
  free(p->names);
  free(p->x);
  free(p->label);
  memset(p, 0, sizeof *p);
}

fm_status fm_points_set_names(fm_points *dst, const char *const *names, int dim) {
  if (!names) return FM_OK;
  char **copy = calloc((size_t)dim, sizeof *copy);
  for (int d = 0; copy && d < dim; d++) {
    copy[d] = strdup(names[d] ? names[d] : "");
    if (!copy[d]) {
      for (int k = 0; k < d; k++) free(copy[k]);
      free(copy);
      copy = NULL;
    }
  }
  if (!copy) return fm_fail(FM_ERR_NOMEM, "out of host memory for column names");
  dst->names = copy;
  return FM_OK;
}

fm_status fm_points_write_csv(const fm_points *p, const char *path, int with_label) {
  fm_file out;
  fm_status st = fm_file_begin(&out, path, "w");
  if (st != FM_OK) return st;
  FILE *f = out.f;
  for (int d = 0; d < p->dim; d++) {
    if (p->names && p->names[d][0]) fprintf(f, "%s%s", d ? "," : "", p->names[d]);
    else fprintf(f, "%sx%d", d ? "," : "", d);
  }
  fprintf(f, with_label ? ",label\n" : "\n");
  for (int i = 0; i < p->n; i++) {
    for (int d = 0; d < p->dim; d++) fprintf(f, "%s%.9g", d ? "," : "", p->x[(size_t)i * p->dim + d]);
    if (with_label) fprintf(f, ",%d", p->label ? p->label[i] : 0);
    fputc('\n', f);
  }
  return fm_file_commit(&out);
}

fm_status fm_points_split(const fm_points *all, double test_fraction, uint64_t seed,
                          fm_points *train, fm_points *test) {
  memset(train, 0, sizeof *train);
  memset(test, 0, sizeof *test);
  int n = all->n, dim = all->dim;
  int n_test = (int)(test_fraction * n + 0.5), n_train = n - n_test;
  if (n_train < 1)
    return fm_fail(FM_ERR_INVALID, "%d points leave none for training with data.test_fraction %g",
                   n, test_fraction);
  int *order = malloc((size_t)n * sizeof *order);
  train->x = malloc((size_t)n_train * (size_t)dim * sizeof(float));
  train->label = malloc((size_t)n_train * sizeof(int));
  test->x = malloc((size_t)(n_test ? n_test : 1) * (size_t)dim * sizeof(float));
  test->label = malloc((size_t)(n_test ? n_test : 1) * sizeof(int));
  if (!order || !train->x || !train->label || !test->x || !test->label) {
    free(order);
    fm_points_free(train);
    fm_points_free(test);
    return fm_fail(FM_ERR_NOMEM, "out of host memory splitting %d points", n);
  }
  /* Fisher-Yates with the split's own random stream. */
  fm_rng rng;
  fm_rng_init(&rng, seed, FM_STREAM_DATA_TEST, 0);
  for (int i = 0; i < n; i++) order[i] = i;
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(((uint64_t)fm_rng_u32(&rng) * (uint64_t)(i + 1)) >> 32);
    int t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (int i = 0; i < n; i++) {
    fm_points *dst = i < n_train ? train : test;
    int row = i < n_train ? i : i - n_train;
    memcpy(dst->x + (size_t)row * (size_t)dim, all->x + (size_t)order[i] * (size_t)dim,
           (size_t)dim * sizeof(float));
    dst->label[row] = all->label ? all->label[order[i]] : 0;
  }
  train->n = n_train, train->dim = dim;
  test->n = n_test, test->dim = dim;
  free(order);
  fm_status st = fm_points_set_names(train, (const char *const *)all->names, dim);
  if (st == FM_OK) st = fm_points_set_names(test, (const char *const *)all->names, dim);
  if (st != FM_OK) {
    fm_points_free(train);
    fm_points_free(test);
  }
  return st;
}

fm_status fm_points_stats(const fm_points *p, double *mean, double *std) {
  if (p->n < 1) return fm_fail(FM_ERR_INVALID, "no points to take statistics of");
  for (int d = 0; d < p->dim; d++) {
    double s = 0, s2 = 0;
    for (int i = 0; i < p->n; i++) s += p->x[(size_t)i * p->dim + d];
    double m = s / p->n;
    for (int i = 0; i < p->n; i++) {
      double v = p->x[(size_t)i * p->dim + d] - m;
      s2 += v * v;
    }
    mean[d] = m;
    std[d] = p->n > 1 && s2 > 0 ? sqrt(s2 / (p->n - 1)) : 1.0;
  }
  return FM_OK;
}

void fm_points_standardize(float *x, int n, int dim, const double *mean, const double *std) {
  for (int i = 0; i < n; i++)
    for (int d = 0; d < dim; d++) {
      float *v = &x[(size_t)i * dim + d];
      *v = (float)((*v - mean[d]) / std[d]);
    }
}

void fm_points_unstandardize(float *x, int n, int dim, const double *mean, const double *std) {
  for (int i = 0; i < n; i++)
    for (int d = 0; d < dim; d++) {
      float *v = &x[(size_t)i * dim + d];
      *v = (float)(*v * std[d] + mean[d]);
    }
}
