/* fmcl tune and tuning files. Each product is measured the way the MLP runs it (fmcl's
 * kernels with their fused or thin variants, CLBlast's SGEMM), each candidate is first
 * checked against a double-precision reference, and the fastest correct one wins. */
#include "fmcl/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmcl/dataset.h"
#include "fmcl/engine.h"
#include "fmcl/progress.h"
#include "fmcl/recipe.h"
#include "fmcl/tuning.h"
#include "internal.h"

/* Xgemm parameter sets to try on top of CLBlast's defaults: tiles suited to CPUs (wide
 * vectors, no local memory) and one to GPUs. Sets CLBlast rejects are skipped. */
static const char *const param_names[] = {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC",
                                          "MWG",   "NDIMB", "NDIMC", "NWG", "SA",   "SB",
                                          "STRM",  "STRN",  "VWM",  "VWN"};
static const size_t param_sets[][16] = {
    /* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
    {0, 1, 16, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4},
    {0, 1, 32, 2, 8, 8, 128, 8, 8, 64, 0, 0, 0, 0, 16, 8},
    {0, 1, 16, 1, 4, 4, 64, 4, 4, 64, 0, 0, 0, 0, 16, 16},
    {0, 1, 32, 2, 16, 16, 64, 16, 16, 64, 1, 1, 0, 0, 4, 4},
};

typedef struct shape {
  int op; /* 0 forward (A B + bias), 1 weight gradient (A^T B), 2 gradient passed back */
  size_t m, n, k;
  double fmcl, clblast, tuned; /* GFLOP/s; 0 when the candidate failed or was wrong */
} shape;

typedef struct bufs {
  cl_mem a, b, c, bias, sums, ones;
  float *ha, *hb;
  size_t m, n, k;
} bufs;

/* Runs one product with a provider the way the MLP would. */
static fm_status product(fm_device *dev, const shape *s, const bufs *b, fm_gemm_provider p) {
  int ta = s->op == 1;
  fm_matrix a = {b->a, 0, ta ? s->m : s->k}, bb = {b->b, 0, s->n}, c = {b->c, 0, s->n};
  if (p != FM_GEMM_FMCL) return fm_gemm(dev, p, ta, 0, s->m, s->n, s->k, 1.0f, a, bb, 0.0f, c);
  if (s->op == 1) return fm_gemm_tn_colsum(dev, s->m, s->n, s->k, a, bb, c, b->sums, 0);
  if (s->op == 2) return fm_gemm_times(dev, s->m, s->n, s->k, a, bb, b->ones, b->c, s->n);
  if (s->n <= FM_GEMM_THIN) {
    /* The thin output layer reads W (n, k) directly: B is stored transposed for it. */
    fm_matrix w = {b->b, 0, s->k};
    return fm_gemm_nt_bias(dev, s->m, s->n, s->k, a, w, b->bias, 0, b->c, s->n);
  }
  return fm_gemm_bias_act(dev, s->m, s->n, s->k, a, bb, b->bias, 0, "none", NULL, b->c, s->n);
}

/* Whether the product's C matches the double-precision reference (fmcl's thin forward
 * kernel reads B as W (n, k)). */
static fm_status verify(fm_device *dev, const shape *s, const bufs *b, fm_gemm_provider p,
                        int *ok) {
  float *c = malloc(s->m * s->n * sizeof *c);
  if (!c) return fm_fail(FM_ERR_NOMEM, "out of host memory");
  fm_status st = fm_device_read(dev, b->c, 0, s->m * s->n * sizeof *c, c);
  *ok = st == FM_OK;
  int thin_fwd = p == FM_GEMM_FMCL && s->op == 0 && s->n <= FM_GEMM_THIN;
  for (size_t i = 0; *ok && i < s->m; i++)
    for (size_t j = 0; *ok && j < s->n; j++) {
      double want = 0, scale = 0;
      for (size_t q = 0; q < s->k; q++) {
        double av = s->op == 1 ? b->ha[q * s->m + i] : b->ha[i * s->k + q];
        double bv = thin_fwd ? b->hb[j * s->k + q] : b->hb[q * s->n + j];
        want += av * bv;
        scale += fabs(av * bv);
      }
      *ok = fabs(c[i * s->n + j] - want) <= 1e-4 * scale + 1e-5;
    }
  free(c);
  return st;
}

/* GFLOP/s of a provider on a shape after a correctness check; 0 when it failed. */
static double measure(fm_device *dev, const shape *s, const bufs *b, fm_gemm_provider p) {
  int ok = 0;
  fm_device_fill(dev, b->c, 0, s->m * s->n, 0.0f);
  if (product(dev, s, b, p) != FM_OK || verify(dev, s, b, p, &ok) != FM_OK || !ok) return 0;
  double best = 1e30;
  for (int trial = 0; trial < 3; trial++) {
    int reps = 0;
    double t0 = fm_seconds(), t = 0;
    while (t < 0.03 || reps < 2) {
      if (product(dev, s, b, p) != FM_OK) return 0;
      reps++;
      if (fm_device_finish(dev) != FM_OK) return 0;
      t = fm_seconds() - t0;
    }
    if (t / reps < best) best = t / reps;
  }
  return 2.0 * (double)s->m * (double)s->n * (double)s->k / best * 1e-9;
}

static fm_status alloc_bufs(fm_device *dev, const shape *s, bufs *b) {
  fm_status st = FM_OK;
  memset(b, 0, sizeof *b);
  size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
  b->ha = malloc(na * sizeof *b->ha);
  b->hb = malloc(nb * sizeof *b->hb);
  if (!b->ha || !b->hb) return fm_fail(FM_ERR_NOMEM, "out of host memory");
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < na + nb; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    float v = (float)(x >> 40) / 16777216.0f - 0.5f;
    if (i < na) b->ha[i] = v;
    else b->hb[i - na] = v;
  }
  FM_TRY(fm_device_alloc(dev, na * sizeof(float), "tune A", &b->a));
  FM_TRY(fm_device_alloc(dev, nb * sizeof(float), "tune B", &b->b));
  FM_TRY(fm_device_alloc(dev, nc * sizeof(float), "tune C", &b->c));
  size_t nbias = s->m > s->n ? s->m : s->n;
  FM_TRY(fm_device_alloc(dev, nbias * sizeof(float), "tune bias", &b->bias));
  FM_TRY(fm_device_alloc(dev, nc * sizeof(float), "tune derivative", &b->ones));
  FM_TRY(fm_device_alloc(dev, (s->m + 1) * sizeof(float), "tune sums", &b->sums));
  FM_TRY(fm_device_write(dev, b->a, 0, na * sizeof(float), b->ha));
  FM_TRY(fm_device_write(dev, b->b, 0, nb * sizeof(float), b->hb));
  /* Zero bias, and a derivative of 1 for the gradient passed back: C is then A B. */
  FM_TRY(fm_device_fill(dev, b->bias, 0, nbias, 0.0f));
  FM_TRY(fm_device_fill(dev, b->ones, 0, nc, 1.0f));
fail:
  return st;
}

static void free_bufs(fm_device *dev, bufs *b) {
  cl_mem m[] = {b->a, b->b, b->c, b->bias, b->sums, b->ones};
  for (int i = 0; i < 6; i++) fm_device_release(dev, m[i]);
  free(b->ha);
  free(b->hb);
}

/* The products of a training step (batch rows) and of sampling (sample rows). */
static int model_shapes(const fm_config *cfg, int dim, shape *out, int max) {
  fm_mlp_shape ms = fm_recipe_mlp_shape(cfg, dim);
  int widths[FM_MAX_HIDDEN + 2], n_layers = ms.n_hidden + 1;
  widths[0] = dim + 1 + 2 * ms.time_features + ms.classes;
  for (int l = 0; l < ms.n_hidden; l++) widths[l + 1] = ms.hidden[l];
  widths[n_layers] = dim;
  size_t batch = (size_t)cfg->train.batch;
  size_t sample = (size_t)(cfg->sample.n < cfg->sample.batch ? cfg->sample.n : cfg->sample.batch);
  int n = 0;
  for (int l = 0; l < n_layers; l++) {
    size_t in = (size_t)widths[l], o = (size_t)widths[l + 1];
    shape list[4] = {{0, batch, o, in, 0, 0, 0}, {1, o, in, batch, 0, 0, 0},
                     {2, batch, in, o, 0, 0, 0}, {0, sample, o, in, 0, 0, 0}};
    for (int i = 0; i < 4; i++) {
      if ((i == 2 && l == 0) || (i == 3 && (sample == 0 || sample == batch))) continue;
      int dup = 0;
      for (int j = 0; j < n; j++)
        dup |= out[j].op == list[i].op && out[j].m == list[i].m && out[j].n == list[i].n &&
               out[j].k == list[i].k;
      if (!dup && n < max) out[n++] = list[i];
    }
  }
  return n;
}

static const char *op_name(int op) { return op == 1 ? "TN" : "NN"; }

static fm_status check_stop(fm_stop_flag *stop) {
  if (!fm_stop_requested(stop)) return FM_OK;
  return fm_fail(FM_ERR_INTERRUPTED, "tune: interrupted; no tuning file was written");
}

/* Seconds of one product at gflops (1e30 when the candidate failed). */
static double seconds_per(const shape *s, double gflops) {
  double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
  return gflops > 0 ? flops / (gflops * 1e9) : 1e30;
}

/* The measured table as Markdown. */
static void report_table(const fm_reporter *r, const shape *shapes, int n, int tuned) {
  static const char *what[] = {"forward", "weight gradient", "gradient back"};
  char table[16384];
  size_t used = (size_t)snprintf(table, sizeof table,
                                 "| product | m x n x k | fmcl GFLOP/s | CLBlast GFLOP/s | "
                                 "CLBlast tuned GFLOP/s | winner |\n"
                                 "| --- | --- | --- | --- | --- | --- |");
  for (int i = 0; i < n && used < sizeof table; i++) {
    const shape *s = &shapes[i];
    double clb = tuned ? s->tuned : s->clblast;
    used += (size_t)snprintf(table + used, sizeof table - used,
                             "\n| %s (%s) | %zu x %zu x %zu | %.1f | %.1f | %.1f | %s |", what[s->op],
                             op_name(s->op), s->m, s->n, s->k, s->fmcl, s->clblast, s->tuned,
                             s->fmcl >= clb ? "fmcl" : tuned ? "CLBlast (tuned)" : "CLBlast");
  }
  fm_report(r, FM_REPORT_RESULT, "%s", table);
}

static fm_status save(const char *path, const fm_device *dev, const shape *shapes, int n,
                      int best_set) {
  fm_tuning_entry entries[4 * (FM_MAX_HIDDEN + 1)];
  for (int i = 0; i < n; i++) {
    const shape *s = &shapes[i];
    double clb = best_set >= 0 ? s->tuned : s->clblast;
    fm_tuning_entry e = {.op = op_name(s->op), .m = s->m, .n = s->n, .k = s->k,
                         .provider = s->fmcl >= clb ? FM_GEMM_FMCL : FM_GEMM_CLBLAST,
                         .fmcl_gflops = s->fmcl, .clblast_gflops = s->clblast,
                         .clblast_tuned_gflops = s->tuned};
    entries[i] = e;
  }
  return fm_tuning_save(path, dev, entries, n, best_set >= 0 ? (int)FM_ARRAY_LEN(param_names) : 0,
                        param_names, best_set >= 0 ? param_sets[best_set] : NULL);
}

fm_status fm_tune(const fm_config *config, const fm_reporter *report, fm_stop_flag *stop) {
  fm_status st = FM_OK;
  fm_engine *engine = NULL;
  fm_device *dev = NULL;
  fm_points train = {0}, test = {0};
  shape shapes[4 * (FM_MAX_HIDDEN + 1)];
  bufs b[4 * (FM_MAX_HIDDEN + 1)];
  int n = 0, n_bufs = 0;
  fm_config cfg = *config;
  fm_config_resolve(&cfg);
  fm_engine_options eo = {.skip_tuning = 1, .report = report};
  FM_TRY(fm_engine_open(&cfg, &eo, &engine));
  dev = fm_engine_device(engine);
  FM_TRY(fm_dataset_load_split(&cfg, &train, &test));
  n = model_shapes(&cfg, train.dim, shapes, (int)FM_ARRAY_LEN(shapes));
  for (int i = 0; i < n; i++) {
    n_bufs = i + 1; /* freed even when its allocation fails half-way */
    FM_TRY(alloc_bufs(dev, &shapes[i], &b[i]));
  }
  fm_report(report, FM_REPORT_INFO, "tune: %d product shapes on %s", n,
            fm_device_get_info(dev)->name);
  for (int i = 0; i < n; i++) {
    FM_TRY(check_stop(stop));
    shapes[i].fmcl = measure(dev, &shapes[i], &b[i], FM_GEMM_FMCL);
    shapes[i].clblast = measure(dev, &shapes[i], &b[i], FM_GEMM_CLBLAST);
  }
  /* One Xgemm parameter set serves every shape (CLBlast keeps one per device): the set with
   * the least total time over the shapes where CLBlast is used at all. */
  int best_set = -1;
  double best_time = 0;
  for (int i = 0; i < n; i++) best_time += seconds_per(&shapes[i], shapes[i].clblast);
  for (size_t set = 0; set < FM_ARRAY_LEN(param_sets); set++) {
    char names[FM_CLBLAST_MAX_PARAMS][16];
    for (size_t i = 0; i < FM_ARRAY_LEN(param_names); i++) fm_strlcpy(names[i], param_names[i], 16);
    if (fm_gemm_set_clblast_params(dev, (int)FM_ARRAY_LEN(param_names), (const char(*)[16])names,
                                   param_sets[set]) != FM_OK)
      continue;
    double total = 0, g[4 * (FM_MAX_HIDDEN + 1)];
    for (int i = 0; i < n; i++) {
      FM_TRY(check_stop(stop));
      g[i] = measure(dev, &shapes[i], &b[i], FM_GEMM_CLBLAST);
      total += seconds_per(&shapes[i], g[i]);
    }
    if (total < 1e29)
      fm_report(report, FM_REPORT_INFO, "tune: CLBlast parameter set %zu: %.2f ms for one of each "
                "product", set + 1, total * 1e3);
    else
      fm_report(report, FM_REPORT_INFO, "tune: CLBlast parameter set %zu: rejected (an error or a "
                "wrong result)", set + 1);
    if (total < best_time) {
      best_time = total;
      best_set = (int)set;
      for (int i = 0; i < n; i++) shapes[i].tuned = g[i];
    }
  }
  if (best_set < 0)
    for (int i = 0; i < n; i++) shapes[i].tuned = shapes[i].clblast;
  report_table(report, shapes, n, best_set >= 0);
  char path[1024];
  fm_tuning_path(dev, cfg.device.tuning, path, sizeof path);
  FM_TRY(save(path, dev, shapes, n, best_set));
  fm_report(report, FM_REPORT_INFO, "tune: wrote %s; runs on this device and driver load it", path);
fail:
  for (int i = 0; i < n_bufs; i++) free_bufs(dev, &b[i]);
  fm_points_free(&train);
  fm_points_free(&test);
  fm_engine_destroy(engine);
  return st;
}
