/* Matrix products against a double-precision reference: every transpose combination,
 * odd sizes, offsets into buffers, padded rows, alpha and beta. */
#include <stdlib.h>

#include "support.h"

static fm_gemm_provider provider;

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
  ck_fm(fm_gemm(test_device(), provider, ta, tb, m, n, k, alpha, ma, mb, beta, mc));
  float *got = test_download(dc, off + m * ldc);
  char what[64];
  snprintf(what, sizeof what, "%s gemm %c%c %zux%zux%zu", fm_gemm_provider_name(provider),
           ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k);
  /* Padding and the offset region must be untouched: they are compared too. */
  ck_assert_uint_eq(test_mismatches(what, got, want, off + m * ldc, 1e-5, 1e-4), 0);
  free(a), free(b), free(c), free(want), free(got);
  fm_device_release(test_device(), da), fm_device_release(test_device(), db);
  fm_device_release(test_device(), dc);
}

/* Each test runs for both providers (the loop index selects one). */
static void use_provider(int i) { provider = i == 0 ? FM_GEMM_CLBLAST : FM_GEMM_FMCL; }

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

int main(void) {
  Suite *s = suite_create("gemm");
  TCase *tc = tcase_create("gemm");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, gemm_matches_reference_for_every_transpose, 0, 2);
  tcase_add_loop_test(tc, gemm_applies_alpha_and_beta, 0, 2);
  tcase_add_loop_test(tc, gemm_handles_the_model_shapes, 0, 2);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
