/* fmcl tune. Each product of the model is measured the way the MLP runs it (with its
 * epilogue) by every candidate: fmcl's CPU kernels (on CPUs only), fmcl's GPU kernels in
 * several tile shapes, and CLBlast with its own, Xgemm and XgemmDirect parameters. Each
 * candidate is first checked against a double-precision reference, and the fastest correct
 * one wins, per operation and shape. */
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
#include "layer.h"

/* CLBlast parameter sets to try on top of its defaults, for its Xgemm kernel (the
 * indirect path, large products) and XgemmDirect (small ones): tiles suited to CPUs (wide
 * vectors, no local memory) and to GPUs. Sets CLBlast rejects are skipped. */
static const char *const xgemm_names[] = {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC",
                                          "MWG",   "NDIMB", "NDIMC", "NWG", "SA",   "SB",
                                          "STRM",  "STRN",  "VWM",  "VWN"};
static const size_t xgemm_sets[][16] = {
    /* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
    {0, 1, 16, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4},
    {0, 1, 32, 2, 8, 8, 128, 8, 8, 64, 0, 0, 0, 0, 16, 8},
    {0, 1, 16, 1, 4, 4, 64, 4, 4, 64, 0, 0, 0, 0, 16, 16},
    {0, 1, 32, 2, 16, 16, 64, 16, 16, 64, 1, 1, 0, 0, 4, 4},
};
static const char *const direct_names[] = {"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD",
                                           "PADA", "PADB",   "VWMD",   "VWND",   "WGD"};
static const size_t direct_sets[][10] = {
    /* KWID MDIMAD MDIMCD NDIMBD NDIMCD PADA PADB VWMD VWND WGD */
    {2, 8, 8, 8, 8, 1, 1, 4, 4, 32},
    {2, 16, 16, 16, 16, 1, 1, 4, 4, 64},
    {8, 8, 8, 8, 8, 1, 1, 2, 2, 16},
};

/* Tile shapes of fmcl's GPU products to try on GPUs (on CPUs the default only). */
static const fm_gpu_tile gpu_tiles[] = {
    {16, 16, 4, 4, 16}, /* 64 x 64 tiles of 256 items */
    {8, 8, 4, 4, 16},   /* 32 x 32 tiles of 64 items, for small products */
    {16, 16, 2, 2, 16}, /* 32 x 32 tiles of 256 items */
    {8, 16, 8, 4, 8},   /* 64 x 64 tiles of 128 items */
};

typedef struct product {
  fm_gemm_op op;
  size_t m, n, k;
  double fmcl, gpu, clblast, tuned; /* GFLOP/s; 0 when not a candidate, failed or wrong */
  fm_gpu_tile tile;                 /* the fastest GPU tile */
} product;

/* A product's operands: A as the operation stores it, B as (k, n) and as W (n, k). */
typedef struct bufs {
  cl_mem a, b, w, c, bias, ones, partial;
  float *ha, *hb;
} bufs;

/* Runs one product with an implementation the way the MLP runs it, epilogues included
 * (with a zero bias, a derivative of 1 and linear output, so C = op(A) op(B)). */
static fm_status product_run(fm_device *dev, const product *s, const bufs *b,
                             const fm_gemm_impl *impl) {
  fm_status st = FM_OK;
  int ta = s->op == FM_OP_WEIGHT_GRAD;
  fm_matrix a = {b->a, 0, ta ? s->m : s->k}, bb = {b->b, 0, s->n}, w = {b->w, 0, s->k};
  fm_matrix c = {b->c, 0, s->n};
  fm_partials p = {b->partial, s->n};
  switch (impl->provider) {
  case FM_GEMM_FMCL:
    if (s->op == FM_OP_WEIGHT_GRAD)
      return fm_gemm_tn_colsum(dev, s->m, s->n, s->k, a, bb, c, b->bias, 0);
    if (s->op == FM_OP_BACKWARD)
      return fm_gemm_times(dev, s->m, s->n, s->k, a, bb, b->ones, b->c, s->n);
    if (s->n <= FM_GEMM_THIN) return fm_gemm_nt_bias(dev, s->m, s->n, s->k, a, w, b->bias, 0, b->c, s->n);
    return fm_gemm_bias_act(dev, s->m, s->n, s->k, a, bb, b->bias, 0, "none", NULL, b->c, s->n);
  case FM_GEMM_FMCL_GPU:
    if (s->op == FM_OP_WEIGHT_GRAD)
      return fm_gpu_gemm(dev, &impl->tile, 1, 0, s->m, s->n, s->k, 1.0f, a, bb, 0.0f, c);
    if (s->op == FM_OP_BACKWARD)
      return fm_gpu_gemm_times(dev, &impl->tile, s->m, s->n, s->k, a, bb, b->ones, b->c, s->n,
                               b->partial, s->n, 0);
    return fm_gpu_gemm_bias_act(dev, &impl->tile, s->m, s->n, s->k, a, w, b->bias, 0, "none",
                                NULL, b->c, s->n);
  default:
    if (s->op == FM_OP_WEIGHT_GRAD)
      return fm_gemm_by(dev, impl, 1, 0, s->m, s->n, s->k, 1.0f, a, bb, 0.0f, c);
    if (s->op == FM_OP_BACKWARD) {
      FM_TRY(fm_gemm_by(dev, impl, 0, 0, s->m, s->n, s->k, 1.0f, a, bb, 0.0f, c));
      return fm_layer_times(dev, b->c, b->ones, (int)s->m, (int)s->n, &p, 0);
    }
    FM_TRY(fm_gemm_by(dev, impl, 0, 1, s->m, s->n, s->k, 1.0f, a, w, 0.0f, c));
    return fm_layer_bias_add(dev, b->c, b->bias, 0, (int)s->m, (int)s->n);
  }
fail:
  return st;
}

/* Whether the product's C matches the double-precision reference. */
static fm_status verify(fm_device *dev, const product *s, const bufs *b, int *ok) {
  float *c = malloc(s->m * s->n * sizeof *c);
  if (!c) return fm_fail(FM_ERR_NOMEM, "out of host memory");
  fm_status st = fm_device_read(dev, b->c, 0, s->m * s->n * sizeof *c, c);
  *ok = st == FM_OK;
  for (size_t i = 0; *ok && i < s->m; i++)
    for (size_t j = 0; *ok && j < s->n; j++) {
      double want = 0, scale = 0;
      for (size_t q = 0; q < s->k; q++) {
        double av = s->op == FM_OP_WEIGHT_GRAD ? b->ha[q * s->m + i] : b->ha[i * s->k + q];
        double bv = b->hb[q * s->n + j];
        want += av * bv;
        scale += fabs(av * bv);
      }
      *ok = fabs(c[i * s->n + j] - want) <= 1e-4 * scale + 1e-5;
    }
  free(c);
  return st;
}

/* GFLOP/s of an implementation on a product after a correctness check; 0 when it failed
 * or was wrong (the error is cleared: a candidate that fails just loses). */
static double measure(fm_device *dev, const product *s, const bufs *b, const fm_gemm_impl *impl) {
  int ok = 0;
  double best = 1e30;
  if (fm_device_fill(dev, b->c, 0, s->m * s->n, 0.0f) != FM_OK ||
      product_run(dev, s, b, impl) != FM_OK || verify(dev, s, b, &ok) != FM_OK || !ok)
    goto failed;
  for (int trial = 0; trial < 3; trial++) {
    int reps = 0;
    double t0 = fm_seconds(), t = 0;
    while (t < 0.03 || reps < 2) {
      if (product_run(dev, s, b, impl) != FM_OK) goto failed;
      reps++;
      if (fm_device_finish(dev) != FM_OK) goto failed;
      t = fm_seconds() - t0;
    }
    if (t / reps < best) best = t / reps;
  }
  return 2.0 * (double)s->m * (double)s->n * (double)s->k / best * 1e-9;
failed:
  fm_error_clear();
  return 0;
}

static fm_status alloc_bufs(fm_device *dev, const product *s, bufs *b) {
  fm_status st = FM_OK;
  memset(b, 0, sizeof *b);
  size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
  b->ha = malloc(na * sizeof *b->ha);
  b->hb = malloc(nb * sizeof *b->hb);
  float *hw = malloc(nb * sizeof *hw);
  if (!b->ha || !b->hb || !hw) {
    st = fm_fail(FM_ERR_NOMEM, "out of host memory");
    goto fail;
  }
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < na + nb; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    float v = (float)(x >> 40) / 16777216.0f - 0.5f;
    if (i < na) b->ha[i] = v;
    else b->hb[i - na] = v;
  }
  for (size_t q = 0; q < s->k; q++)
    for (size_t j = 0; j < s->n; j++) hw[j * s->k + q] = b->hb[q * s->n + j];
  size_t nbias = (s->m > s->n ? s->m : s->n) + 1;
  size_t groups = s->m / 4 + fm_reduce_groups(1, s->m) + 1;
  FM_TRY(fm_device_alloc(dev, na * sizeof(float), "tune A", &b->a));
  FM_TRY(fm_device_alloc(dev, nb * sizeof(float), "tune B", &b->b));
  FM_TRY(fm_device_alloc(dev, nb * sizeof(float), "tune W", &b->w));
  FM_TRY(fm_device_alloc(dev, nc * sizeof(float), "tune C", &b->c));
  FM_TRY(fm_device_alloc(dev, nbias * sizeof(float), "tune bias", &b->bias));
  FM_TRY(fm_device_alloc(dev, nc * sizeof(float), "tune derivative", &b->ones));
  FM_TRY(fm_device_alloc(dev, groups * s->n * sizeof(float), "tune sums", &b->partial));
  FM_TRY(fm_device_write(dev, b->a, 0, na * sizeof(float), b->ha));
  FM_TRY(fm_device_write(dev, b->b, 0, nb * sizeof(float), b->hb));
  FM_TRY(fm_device_write(dev, b->w, 0, nb * sizeof(float), hw));
  FM_TRY(fm_device_fill(dev, b->bias, 0, nbias, 0.0f));
  FM_TRY(fm_device_fill(dev, b->ones, 0, nc, 1.0f));
fail:
  free(hw);
  return st;
}

static void free_bufs(fm_device *dev, bufs *b) {
  cl_mem m[] = {b->a, b->b, b->w, b->c, b->bias, b->ones, b->partial};
  for (size_t i = 0; i < FM_ARRAY_LEN(m); i++) fm_device_release(dev, m[i]);
  free(b->ha);
  free(b->hb);
}

/* The products of a training step (batch rows) and of sampling (sample rows) that go
 * through a matrix-product kernel: on the GPU path the thin input and output layers have
 * kernels of their own and nothing to choose. */
static int model_products(const fm_config *cfg, int dim, int gpu_path, product *out, int max) {
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
    int thin = gpu_path && ((l == 0 && in <= FM_THIN_IN) ||
                            (l == n_layers - 1 && o <= FM_GEMM_THIN));
    product list[4] = {{.op = FM_OP_FORWARD, .m = batch, .n = o, .k = in},
                       {.op = FM_OP_WEIGHT_GRAD, .m = o, .n = in, .k = batch},
                       {.op = FM_OP_BACKWARD, .m = batch, .n = in, .k = o},
                       {.op = FM_OP_FORWARD, .m = sample, .n = o, .k = in}};
    for (int i = 0; i < 4; i++) {
      if (thin || (i == 2 && l == 0) || (i == 3 && (sample == 0 || sample == batch))) continue;
      int dup = 0;
      for (int j = 0; j < n; j++)
        dup |= out[j].op == list[i].op && out[j].m == list[i].m && out[j].n == list[i].n &&
               out[j].k == list[i].k;
      if (!dup && n < max) out[n++] = list[i];
    }
  }
  return n;
}

static fm_status check_stop(fm_stop_flag *stop) {
  if (!fm_stop_requested(stop)) return FM_OK;
  return fm_fail(FM_ERR_INTERRUPTED, "tune: interrupted; no tuning file was written");
}

/* Seconds of one product at gflops (1e30 when the candidate failed). */
static double seconds_per(const product *s, double gflops) {
  double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
  return gflops > 0 ? flops / (gflops * 1e9) : 1e30;
}

/* The winner of a product: the fastest candidate (CLBlast with the chosen parameters). */
static fm_gemm_impl winner(const product *s) {
  fm_gemm_impl w = {FM_GEMM_CLBLAST, s->tile};
  double best = s->tuned;
  if (s->gpu > best) best = s->gpu, w.provider = FM_GEMM_FMCL_GPU;
  if (s->fmcl > best) w.provider = FM_GEMM_FMCL;
  return w;
}

static void format_gflops(double g, char *out, size_t size) {
  if (g > 0) snprintf(out, size, "%.1f", g);
  else snprintf(out, size, "-");
}

/* The measured table as Markdown. */
static void report_table(const fm_reporter *r, const product *products, int n) {
  static const char *what[] = {"forward", "weight gradient", "gradient back"};
  char table[16384];
  size_t used = (size_t)snprintf(table, sizeof table,
                                 "| product | m x n x k | fmcl GFLOP/s | fmcl-gpu GFLOP/s "
                                 "(tile) | CLBlast GFLOP/s | CLBlast tuned GFLOP/s | winner |\n"
                                 "| --- | --- | --- | --- | --- | --- | --- |");
  for (int i = 0; i < n && used < sizeof table; i++) {
    const product *s = &products[i];
    char g[4][32], tile[48] = "";
    double values[4] = {s->fmcl, s->gpu, s->clblast, s->tuned};
    for (int j = 0; j < 4; j++) format_gflops(values[j], g[j], sizeof g[j]);
    if (s->gpu > 0)
      snprintf(tile, sizeof tile, " (%dx%d, %dx%d, k %d)", s->tile.wg_n, s->tile.wg_m,
               s->tile.item_m, s->tile.item_n, s->tile.tile_k);
    used += (size_t)snprintf(table + used, sizeof table - used,
                             "\n| %s | %zu x %zu x %zu | %s | %s%s | %s | %s | %s |",
                             what[s->op], s->m, s->n, s->k, g[0], g[1], tile, g[2], g[3],
                             fm_gemm_provider_name(winner(s).provider));
  }
  fm_report(r, FM_REPORT_RESULT, "%s", table);
}

static fm_status save(const char *path, const fm_device *dev, const product *products, int n,
                      const fm_clblast_params *xgemm, const fm_clblast_params *direct) {
  fm_tuning_entry entries[4 * (FM_MAX_HIDDEN + 1)];
  for (int i = 0; i < n; i++) {
    const product *s = &products[i];
    fm_tuning_entry e = {.choice = {.op = s->op, .m = s->m, .n = s->n, .k = s->k,
                                    .impl = winner(s)},
                         .fmcl_gflops = s->fmcl, .gpu_gflops = s->gpu,
                         .clblast_gflops = s->clblast, .clblast_tuned_gflops = s->tuned};
    entries[i] = e;
  }
  return fm_tuning_save(path, dev, entries, n, xgemm, direct);
}

/* A parameter set of one of the tables above. */
static fm_clblast_params params_of(const char *const *names, size_t count, const size_t *values) {
  fm_clblast_params p = {.n = (int)count};
  for (size_t i = 0; i < count; i++) {
    fm_strlcpy(p.names[i], names[i], sizeof p.names[i]);
    p.values[i] = values[i];
  }
  return p;
}

/* CLBlast's state during the search: which set each kernel runs (-1: its own), and the
 * products' GFLOP/s and total time measured in that state. */
typedef struct clblast_state {
  int xgemm, direct;
  double total;
  double gflops[4 * (FM_MAX_HIDDEN + 1)];
} clblast_state;

static fm_status measure_clblast(fm_device *dev, const product *products, const bufs *b, int n,
                                 clblast_state *state, fm_stop_flag *stop) {
  fm_status st = FM_OK;
  fm_gemm_impl impl = {FM_GEMM_CLBLAST, fm_gpu_tile_default()};
  state->total = 0;
  for (int i = 0; i < n; i++) {
    FM_TRY(check_stop(stop));
    state->gflops[i] = measure(dev, &products[i], &b[i], &impl);
    state->total += seconds_per(&products[i], state->gflops[i]);
  }
fail:
  return st;
}

/* Applies one set (its kernel's parameters) and measures every product; *applied says
 * whether CLBlast took it. */
static fm_status try_set(fm_device *dev, const char *kernel, const fm_clblast_params *p,
                         const product *products, const bufs *b, int n, clblast_state *state,
                         int *applied, fm_stop_flag *stop) {
  *applied = fm_gemm_set_clblast_params(dev, kernel, p) == FM_OK;
  if (!*applied) {
    fm_error_clear();
    return FM_OK;
  }
  return measure_clblast(dev, products, b, n, state, stop);
}

/* The search over CLBlast's parameters. Overrides cannot be undone within a process, so
 * the state kept is the fastest of those measured, each exactly as it was: CLBlast's own,
 * each Xgemm set, then each XgemmDirect set on top of the best Xgemm state so far (or of the
 * last Xgemm set tried, when CLBlast's own was best). */
static fm_status search_clblast(fm_device *dev, product *products, const bufs *b, int n,
                                const fm_reporter *report, fm_clblast_params *xgemm_out,
                                fm_clblast_params *direct_out, fm_stop_flag *stop) {
  fm_status st = FM_OK;
  clblast_state best = {-1, -1, 0, {0}}, cur;
  FM_TRY(measure_clblast(dev, products, b, n, &best, stop));
  for (int i = 0; i < n; i++) products[i].clblast = best.gflops[i];
  int x_now = -1, applied = 0;
  for (int set = 0; set < (int)FM_ARRAY_LEN(xgemm_sets); set++) {
    fm_clblast_params p = params_of(xgemm_names, FM_ARRAY_LEN(xgemm_names), xgemm_sets[set]);
    FM_TRY(try_set(dev, "Xgemm", &p, products, b, n, &cur, &applied, stop));
    if (!applied) continue;
    x_now = set;
    fm_report(report, FM_REPORT_INFO, "tune: CLBlast Xgemm set %d: %.2f ms for one of each "
              "product", set + 1, cur.total < 1e29 ? cur.total * 1e3 : INFINITY);
    cur.xgemm = set, cur.direct = -1;
    if (cur.total < best.total) best = cur;
  }
  if (best.xgemm >= 0 && best.xgemm != x_now) {
    fm_clblast_params p = params_of(xgemm_names, FM_ARRAY_LEN(xgemm_names), xgemm_sets[best.xgemm]);
    FM_TRY(fm_gemm_set_clblast_params(dev, "Xgemm", &p));
    x_now = best.xgemm;
  }
  for (int set = 0; set < (int)FM_ARRAY_LEN(direct_sets); set++) {
    fm_clblast_params p = params_of(direct_names, FM_ARRAY_LEN(direct_names), direct_sets[set]);
    FM_TRY(try_set(dev, "XgemmDirect", &p, products, b, n, &cur, &applied, stop));
    if (!applied) continue;
    fm_report(report, FM_REPORT_INFO, "tune: CLBlast XgemmDirect set %d: %.2f ms for one of "
              "each product", set + 1, cur.total < 1e29 ? cur.total * 1e3 : INFINITY);
    cur.xgemm = x_now, cur.direct = set;
    if (cur.total < best.total) best = cur;
  }
  for (int i = 0; i < n; i++) products[i].tuned = best.gflops[i];
  memset(xgemm_out, 0, sizeof *xgemm_out);
  memset(direct_out, 0, sizeof *direct_out);
  if (best.xgemm >= 0)
    *xgemm_out = params_of(xgemm_names, FM_ARRAY_LEN(xgemm_names), xgemm_sets[best.xgemm]);
  if (best.direct >= 0)
    *direct_out = params_of(direct_names, FM_ARRAY_LEN(direct_names), direct_sets[best.direct]);
fail:
  return st;
}

/* fmcl's own candidates: the CPU kernels on CPUs only, the GPU kernels in every tile shape
 * (on CPUs the default shape), each fitted to what the driver allows its kernels (a shape
 * that fits as another candidate does is measured once). */
static fm_status measure_fmcl(fm_device *dev, product *products, const bufs *b, int n,
                              fm_stop_flag *stop) {
  fm_status st = FM_OK;
  int cpu = strcmp(fm_device_get_info(dev)->type, "CPU") == 0;
  int tiles = cpu ? 1 : (int)FM_ARRAY_LEN(gpu_tiles);
  for (int i = 0; i < n; i++) {
    product *s = &products[i];
    FM_TRY(check_stop(stop));
    if (cpu) {
      fm_gemm_impl impl = {FM_GEMM_FMCL, fm_gpu_tile_default()};
      s->fmcl = measure(dev, s, &b[i], &impl);
    }
    for (int t = 0; t < tiles; t++) {
      fm_gemm_impl impl = {FM_GEMM_FMCL_GPU, gpu_tiles[t]};
      if (!fm_gpu_tile_fits(dev, &impl.tile) || fm_gpu_tile_fit(dev, &impl.tile) != FM_OK) {
        fm_error_clear();
        continue;
      }
      int seen = 0;
      for (int e = 0; e < t; e++) {
        fm_gpu_tile f = gpu_tiles[e];
        seen |= fm_gpu_tile_fit(dev, &f) == FM_OK && memcmp(&f, &impl.tile, sizeof f) == 0;
      }
      fm_error_clear();
      if (seen) continue;
      double g = measure(dev, s, &b[i], &impl);
      if (g > s->gpu) s->gpu = g, s->tile = impl.tile;
    }
  }
fail:
  return st;
}

fm_status fm_tune(const fm_config *config, const fm_reporter *report, fm_stop_flag *stop) {
  fm_status st = FM_OK;
  fm_engine *engine = NULL;
  fm_device *dev = NULL;
  fm_points train = {0}, test = {0};
  product products[4 * (FM_MAX_HIDDEN + 1)];
  bufs b[4 * (FM_MAX_HIDDEN + 1)];
  int n = 0, n_bufs = 0;
  fm_config cfg = *config;
  fm_config_resolve(&cfg);
  fm_engine_options eo = {.skip_tuning = 1, .report = report};
  FM_TRY(fm_engine_open(&cfg, &eo, &engine));
  dev = fm_engine_device(engine);
  FM_TRY(fm_dataset_load_split(&cfg, &train, &test));
  int gpu_path = fm_gemm_resolve(dev, FM_GEMM_AUTO) != FM_GEMM_FMCL;
  n = model_products(&cfg, train.dim, gpu_path, products, (int)FM_ARRAY_LEN(products));
  for (int i = 0; i < n; i++) {
    n_bufs = i + 1; /* freed even when its allocation fails half-way */
    FM_TRY(alloc_bufs(dev, &products[i], &b[i]));
  }
  fm_report(report, FM_REPORT_INFO, "tune: %d products on %s%s", n, fm_device_get_info(dev)->name,
            gpu_path ? " (the thin input and output layers have kernels of their own)" : "");
  fm_clblast_params xgemm, direct;
  FM_TRY(measure_fmcl(dev, products, b, n, stop));
  FM_TRY(search_clblast(dev, products, b, n, report, &xgemm, &direct, stop));
  report_table(report, products, n);
  char path[1024];
  fm_tuning_path(dev, cfg.device.tuning, path, sizeof path);
  FM_TRY(save(path, dev, products, n, &xgemm, &direct));
  fm_report(report, FM_REPORT_INFO, "tune: wrote %s; runs on this device and driver load it", path);
fail:
  for (int i = 0; i < n_bufs; i++) free_bufs(dev, &b[i]);
  fm_points_free(&train);
  fm_points_free(&test);
  fm_engine_destroy(engine);
  return st;
}
