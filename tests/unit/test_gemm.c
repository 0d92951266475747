/* Matrix products against a double-precision reference: every transpose combination,
 * odd sizes, offsets into buffers, padded rows, alpha and beta. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static fm_gemm_impl impl; /* who computes the products of the test */

static void check_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, float beta,
                       unsigned seed) {
  /* Stored shapes: A is (m, k) or (k, m), B is (k, n) or (n, k); rows padded by 3. */
  size_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
  size_t lda = ac + 3, ldb = bc + 3, ldc = n + 3, off = 5;
  float *a = malloc((off + ar * lda) * sizeof *a), *b = malloc((off + br * ldb) * sizeof *b);
  float *c = malloc((off + m * ldc) * sizeof *c);
  test_fill_uniform(a, off + ar * lda, seed, -1, 1);
  test_fill_uniform(b, off + br * ldb, seed + 1, -1, 1);
  test_fill_uniform(c, off + m * ldc, seed + 2, -1, 1);
  double *want = malloc((off + m * ldc) * sizeof *want);
  for (size_t i = 0; i < off + m * ldc; i++) want[i] = c[i];
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t p = 0; p < k; p++) {
        double av = ta ? a[off + p * lda + i] : a[off + i * lda + p];
        double bv = tb ? b[off + j * ldb + p] : b[off + p * ldb + j];
        s += av * bv;
      }
      want[off + i * ldc + j] = alpha * s + beta * c[off + i * ldc + j];
    }
  cl_mem da = test_upload(a, off + ar * lda), db = test_upload(b, off + br * ldb);
  cl_mem dc = test_upload(c, off + m * ldc);
  fm_matrix ma = {da, off, lda}, mb = {db, off, ldb}, mc = {dc, off, ldc};
  ck_fm(fm_gemm_by(test_device(), &impl, ta, tb, m, n, k, alpha, ma, mb, beta, mc));
  float *got = test_download(dc, off + m * ldc);
  char what[96];
  snprintf(what, sizeof what, "%s (tile %dx%d of %dx%d, k %d) gemm %c%c %zux%zux%zu",
           fm_gemm_provider_name(impl.provider), impl.tile.wg_n, impl.tile.wg_m, impl.tile.item_m,
           impl.tile.item_n, impl.tile.tile_k, ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k);
  /* Padding and the offset region must be untouched: they are compared too. */
  ck_assert_uint_eq(test_mismatches(what, got, want, off + m * ldc, 1e-5, 1e-4), 0);
  free(a), free(b), free(c), free(want), free(got);
  fm_device_release(test_device(), da), fm_device_release(test_device(), db);
  fm_device_release(test_device(), dc);
}

/* Each test runs for every provider (the loop index selects one): CLBlast, fmcl's CPU
 * kernels, fmcl's GPU kernels in their default tile (fitted to what the driver allows its
 * kernels, as a model's is). */
static void use_provider(int i) {
  static const fm_gemm_provider providers[] = {FM_GEMM_CLBLAST, FM_GEMM_FMCL, FM_GEMM_FMCL_GPU};
  impl.provider = providers[i];
  impl.tile = fm_gpu_tile_default();
  if (impl.provider == FM_GEMM_FMCL_GPU) ck_fm(fm_gpu_tile_fit(test_device(), &impl.tile));
}

/* Tile shapes of fmcl's GPU kernels besides the default: those fmcl tune tries, and a
 * small odd one whose panels need several loads per item. */
static const fm_gpu_tile tiles[] = {
    {8, 8, 4, 4, 16}, {16, 16, 2, 2, 16}, {8, 16, 8, 4, 8}, {4, 2, 3, 5, 3}};

START_TEST(gpu_products_match_reference_in_every_tile_shape) {
  impl.provider = FM_GEMM_FMCL_GPU;
  impl.tile = tiles[_i];
  ck_fm(fm_gpu_tile_fit(test_device(), &impl.tile));
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) check_gemm(ta, tb, 37, 45, 29, 1.0f, 0.0f, 50u + 2u * ta + tb);
  check_gemm(0, 0, 33, 17, 65, 0.5f, 2.0f, 54);
  check_gemm(1, 0, 2, 64, 130, 1.0f, 0.0f, 55);
}
END_TEST

START_TEST(gemm_matches_reference_for_every_transpose) {
  use_provider(_i);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) check_gemm(ta, tb, 37, 45, 29, 1.0f, 0.0f, 10u + 2u * ta + tb);
}
END_TEST

START_TEST(gemm_applies_alpha_and_beta) {
  use_provider(_i);
  for (int ta = 0; ta < 2; ta++) check_gemm(ta, 0, 33, 17, 65, 0.5f, 2.0f, 20u + ta);
  check_gemm(0, 1, 33, 17, 65, 0.5f, 2.0f, 22);
}
END_TEST

START_TEST(gemm_handles_the_model_shapes) {
  use_provider(_i);
  /* The MLP's products: forward (input, hidden, output layer), weight gradients, and the
   * gradient passed back; full tiles and partial ones in both directions. */
  check_gemm(0, 0, 130, 64, 3, 1.0f, 0.0f, 30);
  check_gemm(0, 0, 128, 64, 64, 1.0f, 0.0f, 31);
  check_gemm(0, 0, 130, 2, 64, 1.0f, 0.0f, 32);
  check_gemm(1, 0, 64, 3, 130, 1.0f, 0.0f, 33);
  check_gemm(1, 0, 64, 64, 128, 1.0f, 0.0f, 34);
  check_gemm(1, 0, 2, 64, 130, 1.0f, 0.0f, 35);
  check_gemm(0, 0, 130, 64, 2, 1.0f, 0.0f, 36);
}
END_TEST

START_TEST(gemm_edge_tiles_are_exact) {
  use_provider(_i);
  /* A 1-column edge tile (65 = 2 * 32 + 1, the input layer of 64-D data with the time),
   * read as whole masked rows, and an edge tile too narrow for that (12 columns, rows of
   * 15), read column by column; the buffers end right after the matrices. */
  for (int ta = 0; ta < 2; ta++) {
    check_gemm(ta, 0, 21, 65, 40, 1.0f, 0.0f, 40u + ta);
    check_gemm(ta, 0, 21, 12, 40, 1.0f, 0.5f, 42u + ta);
  }
}
END_TEST

/* The shared reference activation of an activation name ("none": the identity). */
static double act(const char *name, double z, int derivative) {
  for (int a = 0; fm_activation_names[a]; a++)
    if (strcmp(name, fm_activation_names[a]) == 0)
      return derivative ? test_act_derivative((fm_activation)a, z) : test_act((fm_activation)a, z);
  return derivative ? 1 : z;
}

/* A (m, k) B (k, n) in double, for the fused products. */
static double *product(const float *a, const float *b, size_t m, size_t n, size_t k) {
  double *c = calloc(m * n, sizeof *c);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++)
      for (size_t p = 0; p < k; p++) c[i * n + j] += (double)a[i * k + p] * b[p * n + j];
  return c;
}

/* The fused forward product (h = act(A B + bias), d = act'(same); and h alone, with d
 * NULL, as sampling runs it) and backward product (g = (A B) * d) against a double
 * reference. Act none has only the h-alone form. */
static void check_fused(size_t m, size_t n, size_t k, const char *name) {
  fm_device *dev = test_device();
  float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b);
  float *params = malloc((n + 3) * sizeof *params), *d = malloc(m * n * sizeof *d);
  test_fill_uniform(a, m * k, 40, -1, 1);
  test_fill_uniform(b, k * n, 41, -1, 1);
  test_fill_uniform(params, n + 3, 42, -1, 1);
  test_fill_uniform(d, m * n, 43, -3, 3);
  int none = strcmp(name, "none") == 0;
  double *ab = product(a, b, m, n, k), *want_d = malloc(m * n * sizeof *want_d);
  double *want_h = malloc(m * n * sizeof *want_h), *want_g = malloc(m * n * sizeof *want_g);
  for (size_t i = 0; i < m * n; i++) {
    double z = ab[i] + params[3 + i % n];
    want_h[i] = act(name, z, 0);
    want_d[i] = none ? d[i] : act(name, z, 1);
    want_g[i] = ab[i] * d[i];
  }
  cl_mem da = test_upload(a, m * k), db = test_upload(b, k * n), dp = test_upload(params, n + 3);
  cl_mem dd = test_upload(d, m * n), dh = test_zeros(m * n), din = test_upload(d, m * n);
  cl_mem dg = test_zeros(m * n), dh_alone = test_zeros(m * n);
  fm_matrix ma = {da, 0, k}, mb = {db, 0, n};
  if (!none) ck_fm(fm_gemm_bias_act(dev, m, n, k, ma, mb, dp, 3, name, dd, dh, n));
  ck_fm(fm_gemm_bias_act(dev, m, n, k, ma, mb, dp, 3, name, NULL, dh_alone, n));
  ck_fm(fm_gemm_times(dev, m, n, k, ma, mb, din, dg, n));
  float *gd = test_download(dd, m * n), *gh = test_download(none ? dh_alone : dh, m * n);
  float *gh_alone = test_download(dh_alone, m * n), *gg = test_download(dg, m * n);
  char what[64];
  snprintf(what, sizeof what, "bias+%s %zux%zux%zu h", name, m, n, k);
  ck_assert_uint_eq(test_mismatches(what, gh, want_h, m * n, 1e-5, 1e-4), 0);
  snprintf(what, sizeof what, "bias+%s %zux%zux%zu d", name, m, n, k);
  ck_assert_uint_eq(test_mismatches(what, gd, want_d, m * n, 1e-5, 1e-4), 0);
  /* Without d the same h, to the bit. */
  ck_assert_int_eq(memcmp(gh_alone, gh, m * n * sizeof *gh), 0);
  snprintf(what, sizeof what, "times d %zux%zux%zu", m, n, k);
  ck_assert_uint_eq(test_mismatches(what, gg, want_g, m * n, 1e-5, 1e-4), 0);
  free(a), free(b), free(params), free(d), free(ab), free(want_d), free(want_h), free(want_g);
  free(gd), free(gh), free(gh_alone), free(gg);
  cl_mem bufs[] = {da, db, dp, dd, dh, din, dg, dh_alone};
  for (int i = 0; i < 8; i++) fm_device_release(dev, bufs[i]);
}

START_TEST(fused_bias_activation_and_derivative_epilogues_match_reference) {
  const char *names[] = {"none", "silu", "relu", "tanh", "gelu"};
  for (int i = 0; i < 5; i++) {
    check_fused(37, 45, 29, names[i]); /* partial tiles both ways */
    check_fused(16, 64, 8, names[i]);  /* full tiles */
  }
  check_fused(37, 2, 29, "none"); /* the output layer */
}
END_TEST

START_TEST(weight_gradient_with_column_sums_matches_reference) {
  /* Tiled (partial and full tiles), thin m (output layer), thin n (input layer), and
   * tiles plus thin columns past the last whole tile (65 = 64 + 1, 40 = 32 + 8). */
  const size_t shapes[7][3] = {{37, 45, 29}, {64, 64, 100}, {2, 40, 37}, {45, 3, 37},
                               {8, 16, 5},   {37, 65, 29},  {21, 40, 33}};
  for (int s = 0; s < 7; s++) {
    size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    float *a = malloc(k * m * sizeof *a), *b = malloc(k * n * sizeof *b);
    test_fill_uniform(a, k * m, 50, -1, 1);
    test_fill_uniform(b, k * n, 51, -1, 1);
    double *want = calloc(m * n, sizeof *want), *want_sums = calloc(m + 5, sizeof *want_sums);
    for (size_t p = 0; p < k; p++)
      for (size_t i = 0; i < m; i++) {
        want_sums[5 + i] += a[p * m + i];
        for (size_t j = 0; j < n; j++) want[i * n + j] += (double)a[p * m + i] * b[p * n + j];
      }
    cl_mem da = test_upload(a, k * m), db = test_upload(b, k * n), dc = test_zeros(m * n);
    cl_mem ds = test_zeros(m + 5);
    fm_matrix ma = {da, 0, m}, mb = {db, 0, n}, mc = {dc, 0, n};
    ck_fm(fm_gemm_tn_colsum(test_device(), m, n, k, ma, mb, mc, ds, 5));
    float *got = test_download(dc, m * n), *sums = test_download(ds, m + 5);
    ck_assert_uint_eq(test_mismatches("TN+colsum C", got, want, m * n, 1e-5, 1e-4), 0);
    ck_assert_uint_eq(test_mismatches("TN+colsum sums", sums, want_sums, m + 5, 1e-5, 1e-4), 0);
    free(a), free(b), free(want), free(want_sums), free(got), free(sums);
    fm_device_release(test_device(), da), fm_device_release(test_device(), db);
    fm_device_release(test_device(), dc), fm_device_release(test_device(), ds);
  }
}
END_TEST

/* The weight and bias gradients from the transposed output gradient (NN with row sums)
 * equal those of the tiled A^T B with column sums to the bit, at full and partial tiles. */
START_TEST(rowsum_product_gives_the_weight_gradient_bits) {
  const size_t shapes[2][3] = {{64, 96, 100}, {37, 45, 29}};
  for (int s = 0; s < 2; s++) {
    size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    float *a = malloc(k * m * sizeof *a), *at = malloc(m * k * sizeof *at);
    float *b = malloc(k * n * sizeof *b);
    test_fill_uniform(a, k * m, 70, -1, 1);
    test_fill_uniform(b, k * n, 71, -1, 1);
    for (size_t p = 0; p < k; p++)
      for (size_t i = 0; i < m; i++) at[i * k + p] = a[p * m + i];
    cl_mem da = test_upload(a, k * m), dat = test_upload(at, m * k), db = test_upload(b, k * n);
    cl_mem c1 = test_zeros(m * n), c2 = test_zeros(m * n), s1 = test_zeros(m), s2 = test_zeros(m);
    fm_matrix ma = {da, 0, m}, mat = {dat, 0, k}, mb = {db, 0, n};
    fm_matrix mc1 = {c1, 0, n}, mc2 = {c2, 0, n};
    ck_fm(fm_gemm_tn_colsum(test_device(), m, n, k, ma, mb, mc1, s1, 0));
    ck_fm(fm_gemm_nn_rowsum(test_device(), m, n, k, mat, mb, mc2, s2, 0));
    float *g1 = test_download(c1, m * n), *g2 = test_download(c2, m * n);
    float *h1 = test_download(s1, m), *h2 = test_download(s2, m);
    ck_assert_int_eq(memcmp(g1, g2, m * n * sizeof *g1), 0);
    ck_assert_int_eq(memcmp(h1, h2, m * sizeof *h1), 0);
    double *want = calloc(m * n, sizeof *want);
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < n; j++)
        for (size_t p = 0; p < k; p++) want[i * n + j] += (double)a[p * m + i] * b[p * n + j];
    ck_assert_uint_eq(test_mismatches("NN+rowsum C", g2, want, m * n, 1e-5, 1e-4), 0);
    free(a), free(at), free(b), free(g1), free(g2), free(h1), free(h2), free(want);
    cl_mem bufs[] = {da, dat, db, c1, c2, s1, s2};
    for (int i = 0; i < 7; i++) fm_device_release(test_device(), bufs[i]);
  }
}
END_TEST

START_TEST(thin_output_layer_product_matches_reference) {
  const size_t shapes[3][3] = {{37, 2, 45}, {16, 8, 64}, {5, 1, 7}};
  for (int s = 0; s < 3; s++) {
    size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    float *a = malloc(m * k * sizeof *a), *w = malloc((n * k + 2) * sizeof *w);
    test_fill_uniform(a, m * k, 60, -1, 1);
    test_fill_uniform(w, n * k + 2, 61, -1, 1);
    /* The parameters hold W (n, k) at offset 2 and the bias right after it. */
    float *params = malloc((n * k + 2 + n) * sizeof *params);
    memcpy(params, w, (n * k + 2) * sizeof *params);
    test_fill_uniform(params + n * k + 2, n, 62, -1, 1);
    double *want = malloc(m * n * sizeof *want);
    for (size_t i = 0; i < m; i++)
      for (size_t c = 0; c < n; c++) {
        double z = params[n * k + 2 + c];
        for (size_t p = 0; p < k; p++) z += (double)a[i * k + p] * params[2 + c * k + p];
        want[i * n + c] = z;
      }
    cl_mem da = test_upload(a, m * k), dp = test_upload(params, n * k + 2 + n);
    cl_mem dz = test_zeros(m * n);
    fm_matrix ma = {da, 0, k}, mw = {dp, 2, k};
    ck_fm(fm_gemm_nt_bias(test_device(), m, n, k, ma, mw, dp, n * k + 2, dz, n));
    float *got = test_download(dz, m * n);
    ck_assert_uint_eq(test_mismatches("NT+bias thin", got, want, m * n, 1e-5, 1e-4), 0);
    free(a), free(w), free(params), free(want), free(got);
    fm_device_release(test_device(), da), fm_device_release(test_device(), dp);
    fm_device_release(test_device(), dz);
  }
}
END_TEST

/* fmcl's GPU forward product (h = act(A W^T + bias) with W stored (n, k), d = act') and
 * backward product (g = (A B) * d with the column sums of g per row tile), default tile
 * (loop 0) and a small one (loop 1) at sizes of several partial tiles. */
START_TEST(gpu_fused_epilogues_match_reference) {
  fm_gpu_tile tile = _i == 0 ? fm_gpu_tile_default() : tiles[3];
  ck_fm(fm_gpu_tile_fit(test_device(), &tile));
  const size_t m = 77, n = 45, k = 29;
  fm_device *dev = test_device();
  float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b), *w = malloc(n * k * sizeof *w);
  float *params = malloc((n + 3) * sizeof *params), *d = malloc(m * n * sizeof *d);
  test_fill_uniform(a, m * k, 70, -1, 1);
  test_fill_uniform(b, k * n, 71, -1, 1);
  test_fill_uniform(params, n + 3, 72, -1, 1);
  test_fill_uniform(d, m * n, 73, -3, 3);
  for (size_t p = 0; p < k; p++)
    for (size_t j = 0; j < n; j++) w[j * k + p] = b[p * n + j];
  double *ab = product(a, b, m, n, k);
  for (int act_i = 0; fm_activation_names[act_i]; act_i++) {
    const char *name = fm_activation_names[act_i];
    double *want_h = malloc(m * n * sizeof *want_h), *want_d = malloc(m * n * sizeof *want_d);
    for (size_t i = 0; i < m * n; i++) {
      want_h[i] = act(name, ab[i] + params[3 + i % n], 0);
      want_d[i] = act(name, ab[i] + params[3 + i % n], 1);
    }
    cl_mem da = test_upload(a, m * k), dw = test_upload(w, n * k), dp = test_upload(params, n + 3);
    cl_mem dd = test_zeros(m * n), dh = test_zeros(m * n);
    fm_matrix ma = {da, 0, k}, mw = {dw, 0, k};
    ck_fm(fm_gpu_gemm_bias_act(dev, &tile, m, n, k, ma, mw, dp, 3, name, dd, dh, n));
    float *gh = test_download(dh, m * n), *gd = test_download(dd, m * n);
    ck_assert_uint_eq(test_mismatches(name, gh, want_h, m * n, 1e-5, 1e-4), 0);
    ck_assert_uint_eq(test_mismatches(name, gd, want_d, m * n, 1e-5, 1e-4), 0);
    free(gh), free(gd), free(want_h), free(want_d);
    cl_mem bufs[] = {da, dw, dp, dd, dh};
    for (int i = 0; i < 5; i++) fm_device_release(dev, bufs[i]);
  }
  size_t tiles_m = fm_gpu_row_tiles(&tile, m), ldp = n + 4, at = 3;
  ck_assert_uint_gt(tiles_m, 1);
  cl_mem da = test_upload(a, m * k), db = test_upload(b, k * n), dd = test_upload(d, m * n);
  cl_mem dg = test_zeros(m * n), partial = test_zeros(tiles_m * ldp);
  fm_matrix ma = {da, 0, k}, mb = {db, 0, n};
  ck_fm(fm_gpu_gemm_times(dev, &tile, m, n, k, ma, mb, dd, dg, n, partial, ldp, at));
  float *gg = test_download(dg, m * n), *gp = test_download(partial, tiles_m * ldp);
  double *want_g = malloc(m * n * sizeof *want_g), *want_p = calloc(tiles_m * ldp, sizeof *want_p);
  size_t tm = (size_t)tile.wg_m * tile.item_m;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      want_g[i * n + j] = ab[i * n + j] * d[i * n + j];
      want_p[(i / tm) * ldp + at + j] += want_g[i * n + j];
    }
  ck_assert_uint_eq(test_mismatches("times d", gg, want_g, m * n, 1e-5, 1e-4), 0);
  for (size_t r = 0; r < tiles_m; r++) /* the columns around the layer's are not written */
    for (size_t j = 0; j < ldp; j++)
      if (j < at || j >= at + n) gp[r * ldp + j] = 0;
  ck_assert_uint_eq(test_mismatches("row tile sums", gp, want_p, tiles_m * ldp, 1e-4, 1e-4), 0);
  free(gg), free(gp), free(want_g), free(want_p);
  cl_mem bufs[] = {da, db, dd, dg, partial};
  for (int i = 0; i < 5; i++) fm_device_release(dev, bufs[i]);
  free(a), free(b), free(w), free(params), free(d), free(ab);
}
END_TEST

START_TEST(a_tile_the_device_cannot_run_is_refused_with_its_sizes) {
  fm_gpu_tile huge = {128, 128, 1, 1, 16}; /* 16384 work-items: more than any device allows */
  ck_assert(!fm_gpu_tile_fits(test_device(), &huge));
  fm_gemm_impl big = {FM_GEMM_FMCL_GPU, huge};
  cl_mem x = test_zeros(64);
  fm_matrix m8 = {x, 0, 8};
  ck_assert_int_eq(fm_gemm_by(test_device(), &big, 0, 0, 8, 8, 8, 1.0f, m8, m8, 0.0f, m8),
                   FM_ERR_INVALID);
  ck_assert_msg(strstr(fm_error_message(), "16384 work-items") &&
                    strstr(fm_error_message(), "local memory"),
                "%s", fm_error_message());
  fm_error_clear();
  fm_device_release(test_device(), x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gemm");
  TCase *tc = tcase_create("gemm");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, gemm_matches_reference_for_every_transpose, 0, 3);
  tcase_add_loop_test(tc, gemm_applies_alpha_and_beta, 0, 3);
  tcase_add_loop_test(tc, gemm_handles_the_model_shapes, 0, 3);
  tcase_add_loop_test(tc, gemm_edge_tiles_are_exact, 0, 3);
  tcase_add_loop_test(tc, gpu_products_match_reference_in_every_tile_shape, 0, 4);
  tcase_add_loop_test(tc, gpu_fused_epilogues_match_reference, 0, 2);
  tcase_add_test(tc, a_tile_the_device_cannot_run_is_refused_with_its_sizes);
  tcase_add_test(tc, fused_bias_activation_and_derivative_epilogues_match_reference);
  tcase_add_test(tc, weight_gradient_with_column_sums_matches_reference);
  tcase_add_test(tc, thin_output_layer_product_matches_reference);
  tcase_add_test(tc, rowsum_product_gives_the_weight_gradient_bits);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
